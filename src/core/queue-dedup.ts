/**
 * Queue-level deduplication (`x-message-deduplication: true` on a queue), with the semantics of
 * the rabbitmq-message-deduplication plugin: a message whose `x-deduplication-header` equals that
 * of a message still in the queue (ready or unacknowledged) is a duplicate and is not enqueued.
 * The id is forgotten when its message leaves the queue (ack, reject, expiry, drop, purge). As in
 * LavinMQ, `x-cache-size` bounds the ids kept (the oldest is forgotten first) and `x-cache-ttl`
 * (or a per-message `x-cache-ttl` header) limits how long an id blocks duplicates.
 *
 * The cache lives in memory: after a restart the ids of recovered messages are not known, so a
 * duplicate of a message recovered from disk is accepted once (the plugin behaves the same).
 */
import type { Clock } from './clock.js';
import { DedupCache, dedupKey, messageCacheTtlMs } from './dedup-cache.js';
import type { Message, QueuedMessage } from './message.js';
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

export class QueueDeduplicator {
  private readonly cache: DedupCache<Message>;
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

  /** Records the id of a message that entered the queue. */
  remember(message: Message): void {
    const id = this.idOf(message);
    if (id) this.cache.set(id.key, message, id.ttlMs);
  }

  /** A message left the queue: its id no longer blocks duplicates. */
  departed(message: Message): void {
    const id = this.idOf(message);
    if (id) this.cache.deleteIf(id.key, message);
  }

  clear(): void {
    this.cache.clear();
  }

  /** Wraps the queue's stores so that every message leaving through settle() or purge() is seen. */
  track(stores: readonly QueueStore[]): QueueStore[] {
    return stores.map((store) => new DepartureTrackingStore(store, this));
  }
}

/** A QueueStore that tells the deduplicator about messages leaving the queue. */
class DepartureTrackingStore implements QueueStore {
  constructor(
    private readonly inner: QueueStore,
    private readonly dedup: QueueDeduplicator,
  ) {}

  get readyCount(): number {
    return this.inner.readyCount;
  }

  get readyBytes(): number {
    return this.inner.readyBytes;
  }

  push(message: Message, expiresAtMs?: number): QueuedMessage {
    return this.inner.push(message, expiresAtMs);
  }

  shift(): QueuedMessage | undefined {
    return this.inner.shift();
  }

  peek(): QueuedMessage | undefined {
    return this.inner.peek();
  }

  markDelivered(queued: QueuedMessage): void {
    this.inner.markDelivered(queued);
  }

  settle(queued: QueuedMessage): void {
    this.inner.settle(queued);
    this.dedup.departed(queued.message);
  }

  settleAfterDurable(queued: QueuedMessage): void {
    this.inner.settleAfterDurable(queued);
    this.dedup.departed(queued.message);
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
