import type { Message } from '../message.js';
import type { DelayStore } from './delay-store.js';

/** Delayed messages held in memory (bodies included); nothing survives a restart. */
export class MemoryDelayStore implements DelayStore {
  private readonly messages = new Map<number, Message>();
  private nextRef = 0;
  closed = false;

  add(message: Message, _dueAtMs: number): number {
    const ref = this.nextRef++;
    this.messages.set(ref, message);
    return ref;
  }

  take(ref: number): Message | undefined {
    const message = this.messages.get(ref);
    this.messages.delete(ref);
    return message;
  }

  fired(): void {}

  recover(): number {
    return Number.NEGATIVE_INFINITY;
  }

  /** Messages held (for tests). */
  get size(): number {
    return this.messages.size;
  }

  destroy(): void {
    this.messages.clear();
    this.closed = true;
  }

  close(): void {
    this.closed = true;
  }
}
