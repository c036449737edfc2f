/**
 * What `pier handover sqs` creates at the target, pure: which queues (the chosen ones and, so no
 * redrive points nowhere, their dead-letter queues), in which order (a dead-letter queue before
 * the queues that redrive into it), with which attributes (those a queue is created with; the
 * queue ARNs inside RedrivePolicy, RedriveAllowPolicy and Policy rewritten to the target's), and
 * the check afterwards: the target's attributes and tags compared with the wanted ones.
 */
import { canonical } from './definitions-plan.js';

export type SqsAttributes = Readonly<Record<string, string>>;

export interface SqsQueueSnapshot {
  readonly name: string;
  /** All of the queue's attributes at Pier (GetQueueAttributes All). */
  readonly attributes: SqsAttributes;
  readonly tags: Readonly<Record<string, string>>;
}

/** Attributes a queue is created with, copied when Pier reports them (the rest are counters or read-only). */
export const CREATION_ATTRIBUTES = [
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
] as const;

/** Attributes that name queues by ARN: set once the target's ARNs are known. */
export const ARN_ATTRIBUTES = ['RedrivePolicy', 'RedriveAllowPolicy', 'Policy'] as const;

/** Attributes that hold JSON documents: compared as documents, not as text. */
const JSON_ATTRIBUTES = new Set<string>(ARN_ATTRIBUTES);

/** `arn:aws:sqs:region:account:` of a queue ARN (everything but the name). */
export function arnPrefix(arn: string): string {
  const cut = arn.lastIndexOf(':');
  if (cut < 0) throw new Error(`'${arn}' is not a queue ARN`);
  return arn.slice(0, cut + 1);
}

export function nameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

function deadLetterTargetOf(queue: SqsQueueSnapshot): string | undefined {
  const policy = queue.attributes.RedrivePolicy;
  if (!policy) return undefined;
  try {
    const target = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    return typeof target === 'string' ? nameOfArn(target) : undefined;
  } catch {
    return undefined;
  }
}

export interface SqsPlan {
  /** In creation order: every dead-letter queue before the queues that redrive into it. */
  readonly queues: readonly SqsQueueSnapshot[];
  readonly notes: readonly string[];
}

/**
 * The chosen queues plus the dead-letter queues they redrive into (also when --queues left those
 * out), ordered so each dead-letter queue comes first. A redrive cycle is broken where it closes.
 */
export function planSqsQueues(all: readonly SqsQueueSnapshot[], chosen: (name: string) => boolean): SqsPlan {
  const notes: string[] = [];
  const byName = new Map(all.map((q) => [q.name, q]));
  const ordered: SqsQueueSnapshot[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (queue: SqsQueueSnapshot, why: string | undefined) => {
    if (placed.has(queue.name) || visiting.has(queue.name)) return;
    visiting.add(queue.name);
    const dlq = deadLetterTargetOf(queue);
    if (dlq !== undefined) {
      const target = byName.get(dlq);
      if (target === undefined) {
        notes.push(
          `queue '${queue.name}' redrives into '${dlq}', which Pier does not have: its RedrivePolicy is not copied`,
        );
      } else {
        place(target, queue.name);
      }
    }
    visiting.delete(queue.name);
    placed.add(queue.name);
    ordered.push(queue);
    if (why !== undefined && !chosen(queue.name)) {
      notes.push(`queue '${queue.name}' included: it is the dead-letter queue of '${why}'`);
    }
  };
  for (const queue of all) if (chosen(queue.name)) place(queue, undefined);
  return { queues: ordered, notes };
}

/** The attributes a queue is created with at the target (no ARN-bearing ones). */
export function creationAttributes(queue: SqsQueueSnapshot): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CREATION_ATTRIBUTES) {
    const value = queue.attributes[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * RedrivePolicy, RedriveAllowPolicy and Policy with every queue ARN of Pier's account and region
 * rewritten to the target's (same queue name). A RedrivePolicy into a queue Pier lacks is dropped.
 */
export function arnAttributes(
  queue: SqsQueueSnapshot,
  sourcePrefix: string,
  targetPrefix: string,
  known: (name: string) => boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ARN_ATTRIBUTES) {
    const value = queue.attributes[name];
    if (value === undefined || value === '') continue;
    if (name === 'RedrivePolicy') {
      const dlq = deadLetterTargetOf(queue);
      if (dlq !== undefined && !known(dlq)) continue;
    }
    out[name] = value.split(sourcePrefix).join(targetPrefix);
  }
  return out;
}

/** One line per attribute or tag the target has otherwise than wanted. */
export function compareSqsQueue(
  name: string,
  wanted: SqsAttributes,
  wantedTags: Readonly<Record<string, string>>,
  actual: SqsAttributes,
  actualTags: Readonly<Record<string, string>>,
): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    if (!sameAttribute(key, value, actual[key])) {
      problems.push(
        `queue '${name}': ${key} is ${JSON.stringify(actual[key] ?? null)} on the target, ${JSON.stringify(value)} wanted`,
      );
    }
  }
  for (const [key, value] of Object.entries(wantedTags)) {
    if (actualTags[key] !== value) {
      problems.push(
        `queue '${name}': tag ${key} is ${JSON.stringify(actualTags[key] ?? null)} on the target, ${JSON.stringify(value)} wanted`,
      );
    }
  }
  return problems;
}

function sameAttribute(key: string, wanted: string, actual: string | undefined): boolean {
  if (actual === undefined)
    return wanted === '' || (key === 'ContentBasedDeduplication' && wanted === 'false');
  if (!JSON_ATTRIBUTES.has(key)) return wanted === actual;
  try {
    return canonical(leavesAsText(JSON.parse(wanted))) === canonical(leavesAsText(JSON.parse(actual)));
  } catch {
    return wanted === actual;
  }
}

/** SQS writes maxReceiveCount as a number or a string by version: both mean the same. */
function leavesAsText(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(leavesAsText);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, leavesAsText(v)]));
  }
  return value === null ? null : String(value);
}
