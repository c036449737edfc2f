/**
 * How much SQS message content (bodies, attributes, digests and ids) the broker's queues hold in
 * memory, and the limit for durable queues. A durable queue keeps only a small index entry per
 * message; the content of a message is kept in memory only while the window has room, and
 * otherwise read back from the queue's store when the message is received (core/sqs/queue.ts).
 * Memory-only queues (no store) cannot page: their content is counted but never refused.
 */
export class SqsMemoryWindow {
  /** Estimated bytes of content held now (sizeBytes plus MESSAGE_OVERHEAD_BYTES per message). */
  usedBytes = 0;
  /** Contents read back from a store since start (a paged-out message received). */
  pageIns = 0;

  constructor(readonly limitBytes: number) {}

  /** Takes room for `bytes` if the window has it. */
  tryTake(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limitBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** Counts `bytes` whether or not there is room (memory-only queues). */
  take(bytes: number): void {
    this.usedBytes += bytes;
  }

  release(bytes: number): void {
    this.usedBytes -= bytes;
  }
}

/**
 * What one in-memory message costs beyond its sizeBytes (the message object, its id, digests and
 * sender strings): an estimate, so a window of small messages is not 3-4 times its setting.
 */
export const MESSAGE_OVERHEAD_BYTES = 256;

/** Default --sqs-memory-window-bytes. */
export const DEFAULT_SQS_MEMORY_WINDOW_BYTES = 64 * 1024 * 1024;
