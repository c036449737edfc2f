import { Deque } from '../deque.js';
import type { Message, QueuedMessage } from '../message.js';
import type { QueueStore } from './queue-store.js';

/** Ready messages of a non-durable queue, held in memory only. */
export class MemoryQueueStore implements QueueStore {
  private readonly ready = new Deque<QueuedMessage>();
  private nextSequence = 0;
  private bytes = 0;

  get readyCount(): number {
    return this.ready.length;
  }

  get readyBytes(): number {
    return this.bytes;
  }

  push(message: Message, expiresAtMs = 0): QueuedMessage {
    const queued: QueuedMessage = {
      message,
      sequence: this.nextSequence++,
      deliveryCount: 0,
      expiresAtMs,
      storageRef: undefined,
    };
    this.ready.push(queued);
    this.bytes += message.bodySizeBytes;
    return queued;
  }

  shift(): QueuedMessage | undefined {
    const queued = this.ready.shift();
    if (queued) this.bytes -= queued.message.bodySizeBytes;
    return queued;
  }

  peek(): QueuedMessage | undefined {
    return this.ready.peek();
  }

  peekMany(count: number): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    if (count <= 0) return out;
    for (const queued of this.ready) {
      out.push(queued);
      if (out.length >= count) break;
    }
    return out;
  }

  markDelivered(_queued: QueuedMessage): void {}

  settle(_queued: QueuedMessage): void {}

  settleAfterDurable(_queued: QueuedMessage): void {}

  purge(): number {
    const removed = this.ready.length;
    this.ready.clear();
    this.bytes = 0;
    return removed;
  }

  destroy(): void {
    this.purge();
  }

  close(): void {}
}
