import type { SqsQueue } from './queue.js';
import type { SqsQueueRegistry } from './registry.js';

/** An SQS queue's depth, as `pier sqs list` shows it (the numbers GetQueueAttributes and CloudWatch give). */
export interface SqsQueueDepth {
  readonly name: string;
  /** The AWS region the queue belongs to: one name may be a queue in each region. */
  readonly region: string;
  readonly fifo: boolean;
  /** ApproximateNumberOfMessages: visible, waiting for a receive. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received, not deleted, lease running. */
  readonly inFlight: number;
  /** ApproximateNumberOfMessagesDelayed. */
  readonly delayed: number;
  /** ApproximateAgeOfOldestMessage in seconds, 0 when empty. */
  readonly oldestAgeSeconds: number;
  /** The queue its redrive policy sends messages to, if any. */
  readonly deadLetterQueue: string | undefined;
}

export function sqsQueueDepth(
  registry: Pick<SqsQueueRegistry, 'queueNameOfArn' | 'regionOf'>,
  queue: SqsQueue,
  nowMs: number,
): SqsQueueDepth {
  const counts = queue.counts();
  const oldestMs = queue.oldestSentAtMs();
  const dlqArn = queue.settings.redrivePolicy?.deadLetterTargetArn;
  return {
    name: queue.name,
    region: registry.regionOf(queue),
    fifo: queue.isFifo,
    visible: counts.visible,
    inFlight: counts.inFlight,
    delayed: counts.delayed,
    oldestAgeSeconds: oldestMs === undefined ? 0 : Math.max(0, Math.floor((nowMs - oldestMs) / 1000)),
    deadLetterQueue: dlqArn === undefined ? undefined : registry.queueNameOfArn(dlqArn),
  };
}

export function sqsQueueDepths(registry: SqsQueueRegistry, nowMs: number): SqsQueueDepth[] {
  return registry.list().map((queue) => sqsQueueDepth(registry, queue, nowMs));
}
