import type { Message } from '../message.js';

/**
 * Where one delayed exchange keeps its messages until they are due. The core keeps only a
 * compact index (due time + ref, see DelayHeap); bodies stay in the store until they fire.
 *
 * Two implementations: MemoryDelayStore (core: tests and brokers without storage) and
 * DiskDelayStore (storage: an append-only segment log; persistent messages of a durable exchange
 * survive a restart).
 *
 * Refs are numbers that grow with append order (also across restarts), so (dueAtMs, ref) is a
 * total order that keeps messages due at the same millisecond in publish order.
 */
export interface DelayStore {
  /** Stores a message due at `dueAtMs`; returns its ref. */
  add(message: Message, dueAtMs: number): number;
  /** The stored message, or undefined if it cannot be read (logged by the store). */
  take(ref: number): Message | undefined;
  /**
   * Everything up to and including (dueAtMs, ref) in (due, ref) order has been routed: the store
   * may forget it. A durable store records this only after what the routing wrote is durable,
   * so a crash may route a message twice but never loses one.
   */
  fired(dueAtMs: number, ref: number): void;
  /**
   * Calls `visit` for every message recovered at open that has not fired (in no particular
   * order); returns the due time of the last message known to have fired (-Infinity if none).
   */
  recover(visit: (dueAtMs: number, ref: number) => void): number;
  /** Whether close() or destroy() was called. */
  readonly closed: boolean;
  /** Deletes the store's data (the exchange was deleted). */
  destroy(): void;
  /** Releases resources and keeps the data (broker shutdown). */
  close(): void;
}

/** Opens the store of a delayed exchange (recovering its data) when the exchange comes to exist. */
export type DelayStoreFactory = (vhost: string, exchange: string, durable: boolean) => DelayStore;
