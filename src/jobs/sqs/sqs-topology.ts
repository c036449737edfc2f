/**
 * The SQS queues of one job queue, created the same way by its Queue and Workers:
 *   <prefix><name>[.fifo]        the jobs; RedrivePolicy → the DLQ after maxReceiveCount = attempts receives
 *   <prefix><name>-dlq[.fifo]    jobs that failed for good (the worker's copy carries the error)
 *   <prefix><name>-events-<id>   one per Queue while it is open: the events of the jobs it added
 * and how a job travels: its payload as the body, everything else in ONE String message attribute
 * `x-job` (SQS allows 10 attributes a message; the AMQP flavour's headers would not fit).
 */
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Backoff } from '../backoff.js';
import type { AttemptRecord } from '../job.js';

export interface SqsTopologyOptions {
  readonly client: SQSClient;
  /** Prefix of the queues' names; default 'jobs-'. */
  readonly prefix?: string;
  /** A FIFO queue: jobIds deduplicate through MessageDeduplicationId (5 minutes, SQS's window). No per-job delays. */
  readonly fifo?: boolean;
  /** The most attempts a job may ask for: the redrive policy's maxReceiveCount. Default 3. */
  readonly maxAttempts?: number;
  /** How long a received job is hidden before another worker may take it; workers extend it while a job runs. Default 30 s. */
  readonly visibilityTimeoutSeconds?: number;
}

export const JOB_ATTRIBUTE = 'x-job';
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;
/** SQS's longest DelaySeconds and visibility timeout. */
export const MAX_DELAY_SECONDS = 900;
export const MAX_VISIBILITY_SECONDS = 43_200;

/** What rides in the `x-job` attribute. */
export interface SqsJobMeta {
  readonly id: string;
  readonly name: string;
  readonly attempts: number;
  readonly backoff?: Backoff;
  readonly timeoutMs?: number;
  readonly addedAtMs: number;
  /** Not to run before (ms since the epoch): delays past 900 s are sent again until due. */
  readonly notBeforeMs?: number;
  /** The producer's events queue URL. */
  readonly replyTo?: string;
  /** Dead-lettered copies: why, the error, and the failed attempt. */
  readonly reason?: string;
  readonly error?: string;
  readonly history?: readonly AttemptRecord[];
}

export interface SqsTopology {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly fifo: boolean;
  readonly maxAttempts: number;
  readonly visibilityTimeoutSeconds: number;
}

export function queueNames(name: string, options: SqsTopologyOptions): { queue: string; dlq: string } {
  const base = `${options.prefix ?? 'jobs-'}${name}`;
  if (!/^[A-Za-z0-9_-]{1,70}$/.test(base)) {
    throw new TypeError(`SQS job queue '${base}': names are 1-70 letters, digits, '-' and '_'`);
  }
  const suffix = options.fifo ? '.fifo' : '';
  return { queue: `${base}${suffix}`, dlq: `${base}-dlq${suffix}` };
}

export async function createSqsTopology(name: string, options: SqsTopologyOptions): Promise<SqsTopology> {
  const { client } = options;
  const names = queueNames(name, options);
  const fifo = options.fifo === true;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1 && maxAttempts <= 1000))
    throw new RangeError(
      `maxAttempts must be an integer from 1 to 1000 (SQS's maxReceiveCount), not ${maxAttempts}`,
    );
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
  const fifoAttributes: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: names.dlq,
      Attributes: { ...fifoAttributes, MessageRetentionPeriod: '1209600' },
    }),
  );
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const main = await client.send(
    new CreateQueueCommand({
      QueueName: names.queue,
      Attributes: {
        ...fifoAttributes,
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes!.QueueArn,
          maxReceiveCount: maxAttempts,
        }),
      },
    }),
  );
  return {
    queueUrl: main.QueueUrl!,
    deadLetterQueueUrl: dlq.QueueUrl!,
    fifo,
    maxAttempts,
    visibilityTimeoutSeconds,
  };
}

export function readSqsMeta(attribute: string | undefined, fallbackId: string): SqsJobMeta {
  try {
    const meta = JSON.parse(attribute ?? '') as SqsJobMeta;
    if (meta && typeof meta.id === 'string') return meta;
  } catch {}
  return { id: fallbackId, name: 'job', attempts: 1, addedAtMs: Date.now() };
}

/** Seconds for an SQS delay or visibility: whole, rounded up, within [0, max]. */
export function wholeSeconds(ms: number, max: number): number {
  return Math.min(max, Math.max(0, Math.ceil(ms / 1000)));
}
