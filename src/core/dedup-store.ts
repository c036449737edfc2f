/** A message's deduplication id as a store keeps it (queue-dedup.ts). */
export interface StoredDedupId {
  readonly key: string;
  /** When the id stops blocking duplicates (x-cache-ttl), 0 = never. */
  readonly expiresAtMs: number;
}

/** A recovered message's deduplication id, with the sequence the store gives that message. */
export interface RecoveredDedupId extends StoredDedupId {
  readonly sequence: number;
}

/**
 * Where a durable deduplicating exchange keeps the ids of its cache, so that a restart (graceful
 * or a crash) does not let a duplicate through. The exchange's cache stays the authority; the
 * store is its write-ahead log: every id the cache takes is added, and when the log has grown
 * well past the cache the deduplicator rewrites it with the live entries.
 *
 * One implementation: DiskDedupStore (storage/disk-dedup-store.ts). Exchanges without a store (not
 * durable, or a broker without storage) keep their cache in memory only.
 */
export interface DedupStore {
  /** The ids stored before this open, oldest first; handed over once (then empty). */
  recover(): StoredDedupId[];
  /** Records an id taken by the cache; durable with the group commit of this event-loop turn. */
  add(id: StoredDedupId): void;
  /** Records in the log: grows with add(), falls to the live count with rewrite(). */
  readonly recordCount: number;
  /** Replaces everything stored by `live` (oldest first): compaction. */
  rewrite(live: Iterable<StoredDedupId>): void;
  /** Deletes the store's data (the exchange was deleted). */
  destroy(): void;
  /** Releases resources and keeps the data (broker shutdown). */
  close(): void;
}

/** Opens (recovering) the store of a durable deduplicating exchange. */
export type DedupStoreFactory = (vhost: string, exchange: string) => DedupStore;
