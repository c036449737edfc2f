/**
 * Queue-level deduplication (`x-message-deduplication: true` on a queue), with the semantics of
 * the rabbitmq-message-deduplication plugin: a message whose `x-deduplication-header` equals that
 * of a message still in the queue (ready or unacknowledged) is a duplicate and is not enqueued.
 * The id is forgotten when its message leaves the queue (ack, reject, expiry, drop, purge). As in
 * LavinMQ, `x-cache-size` bounds the ids kept (the oldest is forgotten first) and `x-cache-ttl`
 * (or a per-message `x-cache-ttl` header) limits how long an id blocks duplicates.
 *
 * Durable queues keep each message's id (and when it stops blocking duplicates) in the message's
 * own record, so the id lives exactly as long as the stored message. After a restart the store
 * hands back the ids of the messages it recovered and the cache is rebuilt from them
 * (`QueueStore.takeRecoveredDedupIds`), minus those whose TTL has passed.
 *
 * Cache entries name their message by (priority level, store sequence): a paged-out message is
 * read back as a new object, and a recovered one only exists as a sequence until it is read.
 */
import type { Clock } from '../clock.js';
import { DedupCache, dedupKey, messageCacheTtlMs } from '../dedup-cache.js';
import type { StoredDedupId } from '../dedup-store.js';
import type { Message, QueuedMessage } from '../message.js';
import type { MessagePropertiesCodec } from './message-properties.js';
import type { QueueSettings } from './queue-arguments.js';
import type { QueueStore } from './queue-store.js';

/** The message header that carries the id, as LavinMQ and the RabbitMQ plugin name it. */
export const DEDUP_HEADER = 'x-deduplication-header';
/** Entries kept when `x-cache-size` is not given (LavinMQ keeps 128; the plugin has no bound for queues). */
export const DEFAULT_DEDUP_CACHE_ENTRIES = 100_000;

/** The id and per-message TTL of a message, read from its headers. */
export interface DedupId {
  readonly key: string;
  readonly ttlMs: number | undefined;
}

export function readDedupId(
  headers: Record<string, unknown> | undefined,
  header = DEDUP_HEADER,
): DedupId | undefined {
  if (!headers) return undefined;
  const key = dedupKey(headers[header]);
  if (key === undefined) return undefined;
  return { key, ttlMs: messageCacheTtlMs(headers['x-cache-ttl']) };
}

/** Priority levels per queue are at most 256 (x-max-priority ≤ 255): a token packs level and sequence. */
const LEVELS = 256;

function tokenOf(level: number, sequence: number): number {
  return sequence * LEVELS + level;
}

export class QueueDeduplicator {
  /** Id → token of the message in the queue that holds it. */
  private readonly cache: DedupCache<number>;
  // The id of the message last looked at: enqueue asks twice (isDuplicate, then remember).
  private lastMessage: Message | undefined;
  private lastId: DedupId | undefined;

  constructor(
    settings: QueueSettings,
    clock: Clock,
    private readonly codec: MessagePropertiesCodec | undefined,
  ) {
    this.cache = new DedupCache(
      clock,
      Math.max(1, settings.dedupCacheSize ?? DEFAULT_DEDUP_CACHE_ENTRIES),
      settings.dedupCacheTtlMs,
    );
  }

  /** A deduplicator when the queue's settings ask for one. */
  static forQueue(
    settings: QueueSettings,
    host: { readonly clock: Clock; readonly codec?: MessagePropertiesCodec },
  ): QueueDeduplicator | undefined {
    return settings.deduplication ? new QueueDeduplicator(settings, host.clock, host.codec) : undefined;
  }

  /** Ids currently blocking duplicates (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  private idOf(message: Message): DedupId | undefined {
    if (message !== this.lastMessage) {
      this.lastMessage = message;
      let headers: Record<string, unknown> | undefined;
      try {
        headers = this.codec?.headers(message.properties);
      } catch {
        headers = undefined; // malformed properties carry no usable id
      }
      this.lastId = readDedupId(headers);
    }
    return this.lastId;
  }

  isDuplicate(message: Message): boolean {
    const id = this.idOf(message);
    return id !== undefined && this.cache.has(id.key);
  }

  /** The id to store with a message entering the queue (with its expiry), if it has one. */
  storedIdOf(message: Message): StoredDedupId | undefined {
    const id = this.idOf(message);
    return id && { key: id.key, expiresAtMs: this.cache.expiryFor(id.ttlMs) };
  }

  /** Records the id of a message that entered the queue at `level` with `sequence`. */
  remember(stored: StoredDedupId, level: number, sequence: number): void {
    this.cache.setUntil(stored.key, tokenOf(level, sequence), stored.expiresAtMs);
  }

  /** A message left the queue: its id no longer blocks duplicates. */
  departed(queued: QueuedMessage, level: number): void {
    const id = this.idOf(queued.message);
    if (id) this.cache.deleteIf(id.key, tokenOf(level, queued.sequence));
  }

  clear(): void {
    this.cache.clear();
  }

  /**
   * Wraps the queue's stores (one per priority level) so that every message entering through
   * push() and leaving through settle() or purge() is seen, and restores the ids of the messages
   * the stores recovered from disk. With `dedup` undefined (deduplication switched off) the stores
   * are unwrapped.
   */
  static track(dedup: QueueDeduplicator | undefined, stores: readonly QueueStore[]): QueueStore[] {
    return stores.map((store, level) => {
      const inner = store instanceof DedupTrackingStore ? store.inner : store;
      if (!dedup) return inner;
      const recovered = inner.takeRecoveredDedupIds?.();
      if (recovered) for (const id of recovered) dedup.remember(id, level, id.sequence);
      return new DedupTrackingStore(inner, dedup, level);
    });
  }
}

/** A QueueStore that tells the deduplicator about messages entering and leaving the queue. */
class DedupTrackingStore implements QueueStore {
  constructor(
    readonly inner: QueueStore,
    private readonly dedup: QueueDeduplicator,
    private readonly level: number,
  ) {}

  get readyCount(): number {
    return this.inner.readyCount;
  }

  get readyBytes(): number {
    return this.inner.readyBytes;
  }

  /** Stores the message with its id (a durable store keeps it in the message's record). */
  push(message: Message, expiresAtMs?: number): QueuedMessage {
    const stored = this.dedup.storedIdOf(message);
    const queued = this.inner.push(message, expiresAtMs, stored);
    if (stored) this.dedup.remember(stored, this.level, queued.sequence);
    return queued;
  }

  shift(): QueuedMessage | undefined {
    return this.inner.shift();
  }

  peek(): QueuedMessage | undefined {
    return this.inner.peek();
  }

  peekMany(count: number): QueuedMessage[] {
    return this.inner.peekMany(count);
  }

  markDelivered(queued: QueuedMessage): void {
    this.inner.markDelivered(queued);
  }

  settle(queued: QueuedMessage): void {
    this.inner.settle(queued);
    this.dedup.departed(queued, this.level);
  }

  settleAfterDurable(queued: QueuedMessage): void {
    this.inner.settleAfterDurable(queued);
    this.dedup.departed(queued, this.level);
  }

  /** Purged messages are not enumerated: forget every id, as the plugin flushes its cache. */
  purge(): number {
    this.dedup.clear();
    return this.inner.purge();
  }

  destroy(): void {
    this.inner.destroy();
  }

  close(): void {
    this.inner.close();
  }
}
