/**
 * A Fetch long poll: waits until a poll finds enough data, re-polling whenever the high watermark
 * of a requested partition moves, or until maxWaitMs passes on the injected clock. A connection
 * that closes ends the wait without an answer. One timer and one watcher per partition per wait,
 * all released when it ends; the listener limits the requests in flight per connection.
 */
import type { Clock } from '../../../core/clock.js';
import type { TopicPartition } from '../../../core/kafka/topic.js';
import { type KafkaAnswer, type KafkaSession, NO_RESPONSE } from '../kafka-api.js';
import { untilSessionCloses } from '../session-close.js';

export interface HighWatermarkWait {
  /** What wakes the wait: partitions' high watermarks (or anything else with the same watch). */
  readonly partitions: Iterable<Pick<TopicPartition, 'watchHighWatermark'>>;
  readonly clock: Clock;
  readonly maxWaitMs: number;
  readonly session: KafkaSession;
  /** Reads again; returns the answer once it is good enough to send, else undefined. */
  poll(): KafkaAnswer | undefined;
  /** The answer when time is up. */
  onTimeout(): KafkaAnswer;
}

export function waitForHighWatermarks(wait: HighWatermarkWait): Promise<KafkaAnswer> {
  if (wait.session.closed) return Promise.resolve(NO_RESPONSE);
  return new Promise<KafkaAnswer>((resolve) => {
    let done = false;
    const finish = (answer: KafkaAnswer) => {
      if (done) return;
      done = true;
      for (const unwatch of unwatchers) unwatch();
      wait.clock.clearTimeout(timer);
      stopClose();
      resolve(answer);
    };
    const onAdvance = () => {
      if (done) return;
      const answer = wait.poll();
      if (answer !== undefined) finish(answer);
    };
    const unwatchers = [...wait.partitions].map((p) => p.watchHighWatermark(onAdvance));
    const timer = wait.clock.setTimeout(() => finish(wait.onTimeout()), wait.maxWaitMs);
    const stopClose = untilSessionCloses(wait.session, () => finish(NO_RESPONSE));
  });
}
