/**
 * An SQS queue's settable attributes, parsed (the protocol layer validates and formats them:
 * src/protocol/sqs/queue-attributes.ts). The raw text of JSON documents is kept as given.
 */

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

export type RedrivePermission = 'allowAll' | 'denyAll' | 'byQueue';

export interface RedriveAllowPolicy {
  redrivePermission: RedrivePermission;
  sourceQueueArns?: string[];
}

/** The settable attributes of a queue, parsed. The raw text of JSON documents is kept as given. */
export interface SqsQueueSettings {
  delaySeconds: number;
  maximumMessageSizeBytes: number;
  messageRetentionPeriodSeconds: number;
  receiveMessageWaitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  redrivePolicy?: RedrivePolicy;
  redrivePolicyText?: string;
  redriveAllowPolicy?: RedriveAllowPolicy;
  redriveAllowPolicyText?: string;
  fifoQueue: boolean;
  contentBasedDeduplication: boolean;
  deduplicationScope: 'messageGroup' | 'queue';
  fifoThroughputLimit: 'perQueue' | 'perMessageGroupId';
  policy?: string;
  kmsMasterKeyId?: string;
  kmsDataKeyReusePeriodSeconds: number;
  sqsManagedSseEnabled: boolean;
}

/** The defaults AWS gives a new queue. */
export function defaultQueueSettings(fifoQueue: boolean): SqsQueueSettings {
  return {
    delaySeconds: 0,
    maximumMessageSizeBytes: 1_048_576,
    messageRetentionPeriodSeconds: 345_600,
    receiveMessageWaitTimeSeconds: 0,
    visibilityTimeoutSeconds: 30,
    fifoQueue,
    contentBasedDeduplication: false,
    deduplicationScope: 'queue',
    fifoThroughputLimit: 'perQueue',
    kmsDataKeyReusePeriodSeconds: 300,
    sqsManagedSseEnabled: true,
  };
}
