import type { Clock } from './clock.js';

interface Entry<V> {
  value: V;
  /** 0 = never expires. */
  expiresAtMs: number;
}

/**
 * The deduplication cache of an exchange or queue: message ids with a value, bounded by a number
 * of entries and expiring by TTL on the injected clock. All operations are O(1): the Map keeps
 * insertion order, so the oldest entry (evicted when full) is its first key, and expired entries
 * are dropped when looked up and swept from the front as new ones arrive.
 */
export class DedupCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly clock: Clock,
    /** Most entries kept; adding one more evicts the oldest. */
    readonly maxEntries: number,
    /** TTL of an entry added without its own; undefined = entries do not expire. */
    readonly defaultTtlMs?: number,
  ) {
    if (!(maxEntries >= 1)) throw new RangeError(`dedup cache size must be at least 1, got ${maxEntries}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value stored under `key`, unless absent or expired. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs !== 0 && entry.expiresAtMs <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** When an entry added now with `ttlMs` (or the default TTL) expires; 0 = never. */
  expiryFor(ttlMs?: number): number {
    const ttl = ttlMs ?? this.defaultTtlMs;
    return ttl === undefined ? 0 : this.clock.now() + ttl;
  }

  /** Adds (or replaces, as the newest) an entry; `ttlMs` overrides the default TTL. */
  set(key: string, value: V, ttlMs?: number): void {
    this.setUntil(key, value, this.expiryFor(ttlMs));
  }

  /**
   * Adds (or replaces, as the newest) an entry expiring at `expiresAtMs` (0 = never). Restoring
   * stored entries oldest first this way rebuilds the cache (an entry already expired is skipped).
   */
  setUntil(key: string, value: V, expiresAtMs: number): void {
    const nowMs = this.clock.now();
    this.entries.delete(key);
    if (expiresAtMs !== 0 && expiresAtMs <= nowMs) return;
    this.sweep(nowMs);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAtMs });
  }

  /** The entries not expired, oldest first, with their expiry times (0 = never). */
  *live(): IterableIterator<{ key: string; value: V; expiresAtMs: number }> {
    const nowMs = this.clock.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAtMs === 0 || entry.expiresAtMs > nowMs)
        yield { key, value: entry.value, expiresAtMs: entry.expiresAtMs };
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Deletes the entry only if it still holds `value` (a newer entry under the key stays). */
  deleteIf(key: string, value: V): void {
    if (this.entries.get(key)?.value === value) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Drops up to two expired entries from the front, so dead entries do not pile up between evictions. */
  private sweep(nowMs: number): void {
    for (let i = 0; i < 2; i++) {
      const first = this.entries.entries().next().value as [string, Entry<V>] | undefined;
      if (!first || first[1].expiresAtMs === 0 || first[1].expiresAtMs > nowMs) return;
      this.entries.delete(first[0]);
    }
  }
}

/**
 * The cache key for a deduplication header value: type-tagged so that the string "1" and the
 * number 1 are different ids, as in the RabbitMQ plugin. Undefined when the value cannot be an id
 * (absent, void, tables and arrays).
 */
export function dedupKey(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return `s:${value}`;
    case 'number':
    case 'bigint':
      return `n:${value}`;
    case 'boolean':
      return `b:${value}`;
    case 'object':
      if (Buffer.isBuffer(value)) return `s:${value.toString('utf8')}`;
      if (value instanceof Date) return `t:${value.getTime()}`;
      return undefined;
    default:
      return undefined;
  }
}

/** A per-message `x-cache-ttl` header as ms, or undefined when absent or not a non-negative integer. */
export function messageCacheTtlMs(value: unknown): number | undefined {
  const n =
    typeof value === 'bigint'
      ? Number(value)
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}
