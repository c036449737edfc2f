/**
 * The SQS side: per-queue gauges and counters mirroring CloudWatch's AWS/SQS metrics, named
 * pier_sqs_<CloudWatch name in snake case>{queue,region} (CloudWatch's metrics are per region too). The counters count since the queue was created
 * or the broker started (CloudWatch reports them per period; `increase()` gives the same).
 */
import type { SqsMemoryWindow } from '../core/sqs/memory-window.js';
import { sqsQueueDepth } from '../core/sqs/monitoring.js';
import type { SqsQueueRegistry } from '../core/sqs/registry.js';
import type { ExpositionWriter } from './exposition.js';

export interface SqsMetricsSource {
  readonly registry: Pick<SqsQueueRegistry, 'list' | 'queueNameOfArn' | 'regionOf'>;
  /** The broker's SQS memory window (pier_sqs_memory_bytes); absent in tests that build none. */
  readonly memory?: SqsMemoryWindow | undefined;
  nowMs(): number;
}

export function writeSqsMetrics(out: ExpositionWriter, source: SqsMetricsSource): void {
  const nowMs = source.nowMs();
  const queues = [...source.registry.list()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rows = queues.map((queue) => ({
    queue,
    depth: sqsQueueDepth(source.registry, queue, nowMs),
  }));
  out.single('pier_sqs_queues', 'gauge', 'SQS queues', rows.length);
  const memory = source.memory;
  if (memory) {
    out.single(
      'pier_sqs_memory_bytes',
      'gauge',
      'Estimated bytes of SQS message content in memory (bodies, attributes, ids); durable queues stay within pier_sqs_memory_window_bytes, memory-only ones do not',
      memory.usedBytes,
    );
    out.single(
      'pier_sqs_memory_window_bytes',
      'gauge',
      'SQS message content durable queues may hold in memory (--sqs-memory-window-bytes)',
      memory.limitBytes,
    );
    out.single(
      'pier_sqs_page_ins_total',
      'counter',
      'SQS messages whose content was read back from disk (received beyond the memory window)',
      memory.pageIns,
    );
  }
  const metrics: readonly [string, 'gauge' | 'counter', string, (r: (typeof rows)[number]) => number][] = [
    [
      'pier_sqs_approximate_number_of_messages_visible',
      'gauge',
      'Messages available for retrieval (CloudWatch ApproximateNumberOfMessagesVisible)',
      (r) => r.depth.visible,
    ],
    [
      'pier_sqs_approximate_number_of_messages_not_visible',
      'gauge',
      'Messages in flight: received, not deleted, visibility timeout running (ApproximateNumberOfMessagesNotVisible)',
      (r) => r.depth.inFlight,
    ],
    [
      'pier_sqs_approximate_number_of_messages_delayed',
      'gauge',
      'Messages delayed and not yet available (ApproximateNumberOfMessagesDelayed)',
      (r) => r.depth.delayed,
    ],
    [
      'pier_sqs_approximate_age_of_oldest_message_seconds',
      'gauge',
      'Age of the oldest message in the queue, 0 when empty (ApproximateAgeOfOldestMessage)',
      (r) => r.depth.oldestAgeSeconds,
    ],
    [
      'pier_sqs_number_of_messages_sent_total',
      'counter',
      'Messages added to the queue by SendMessage(Batch) (NumberOfMessagesSent)',
      (r) => r.queue.stats.messagesSent,
    ],
    [
      'pier_sqs_number_of_messages_received_total',
      'counter',
      'Messages returned by ReceiveMessage (NumberOfMessagesReceived)',
      (r) => r.queue.stats.messagesReceived,
    ],
    [
      'pier_sqs_number_of_messages_deleted_total',
      'counter',
      'Messages deleted by DeleteMessage(Batch) (NumberOfMessagesDeleted)',
      (r) => r.queue.stats.messagesDeleted,
    ],
    [
      'pier_sqs_number_of_empty_receives_total',
      'counter',
      'ReceiveMessage calls that returned no message (NumberOfEmptyReceives)',
      (r) => r.queue.stats.emptyReceives,
    ],
  ];
  for (const [name, type, help, read] of metrics) {
    out.family(name, type, help);
    for (const row of rows) out.sample(read(row), { queue: row.queue.name, region: row.depth.region });
  }
}
