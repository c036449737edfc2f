/** Kinds of durable definitions. Each entry is keyed by a string unique within its kind. */
export type DefinitionKind =
  | 'vhost'
  | 'user'
  | 'permission'
  | 'exchange'
  | 'queue'
  | 'binding'
  | 'policy'
  /** A runtime parameter: vhost limits, an operator policy, a shovel (core/amqp/runtime-parameters.ts). */
  | 'parameter'
  | 'global-parameter'
  | 'topic-permission'
  /** A Kafka topic (core/kafka/topic-registry.ts). */
  | 'topic'
  /** A Kafka ACL (core/kafka/acls.ts). */
  | 'kafka-acl'
  /** An SQS queue (core/sqs/registry.ts). */
  | 'sqs-queue'
  /** An SQS queue name deleted less than 60 s ago (QueueDeletedRecently; core/sqs/registry.ts). */
  | 'sqs-deleted-queue'
  /** A user's SQS access key (core/access-keys.ts). */
  | 'access-key'
  | 'meta';

export interface DefinitionEntry {
  kind: DefinitionKind;
  key: string;
  value: unknown;
}

/** Where the core records durable definitions; the storage layer's DiskDefinitionsStore implements it. */
export interface DefinitionWriter {
  put(kind: DefinitionKind, key: string, value: unknown): void;
  delete(kind: DefinitionKind, key: string): void;
  /**
   * Runs `fn` with its changes written but not yet durable; the caller must call syncDeferred()
   * before it acknowledges any of them (group commit of one event-loop turn's declares).
   */
  deferSyncs?<T>(fn: () => T): T;
  /** Makes the changes written under deferSyncs() durable (throws if storage has failed). */
  syncDeferred?(): void;
}

export const discardDefinitions: DefinitionWriter = { put() {}, delete() {} };

/**
 * Makes protocol-decoded argument values JSON-safe and comparable: bigints become numbers,
 * Buffers strings, Dates epoch seconds. Arguments are stored as JSON and compared after a restart.
 */
export function normalizeArguments(args: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!args) return out;
  for (const [key, value] of Object.entries(args)) out[key] = normalizeValue(value);
  return out;
}

function normalizeValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (value && typeof value === 'object') {
    const inner = value as Record<string, unknown>;
    // A typed value wrapper from the codec ({ type, value }) counts as its value.
    if ('type' in inner && 'value' in inner && Object.keys(inner).length === 2)
      return normalizeValue(inner.value);
    return normalizeArguments(inner);
  }
  if (value === undefined) return null;
  return value;
}
