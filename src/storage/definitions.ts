/** Kinds of durable definitions. Each entry is keyed by a string unique within its kind. */
export type DefinitionKind =
  | 'vhost'
  | 'user'
  | 'permission'
  | 'exchange'
  | 'queue'
  | 'binding'
  | 'policy'
  /** A Kafka topic (src/core/topic-registry.ts). */
  | 'topic'
  /** An SQS queue (src/core/sqs-registry.ts). */
  | 'sqs-queue'
  | 'meta';

export interface DefinitionEntry {
  kind: DefinitionKind;
  key: string;
  value: unknown;
}
