/**
 * Kafka's incremental fetch sessions (KIP-227): the broker remembers a consumer's partition set
 * and the state it last answered for each partition, so the consumer sends only the partitions
 * whose fetch position changed and the broker answers only the partitions with something new.
 *
 * Request metadata, as Kafka reads it: epoch -1 is a full fetch without a session (closing the
 * one named, if any); epoch 0 is a full fetch that creates a session (closing the one named); a
 * positive epoch is an incremental fetch on the named session, which must be the session's next
 * epoch. A session that cannot be found is FETCH_SESSION_ID_NOT_FOUND, a wrong epoch
 * INVALID_FETCH_SESSION_EPOCH, a session created with topic names used with topic ids (or the
 * reverse) FETCH_SESSION_TOPIC_ID_ERROR; clients answer each with a new full fetch.
 *
 * The cache holds at most `maxSlots` sessions (Kafka's max.incremental.fetch.session.cache.slots).
 * When full, a new session takes the place of one unused for `evictionMs` (the least recently used
 * first), else of the smallest session older than `evictionMs` if the new one has more partitions; otherwise no session is created and the full fetch is answered with session id 0,
 * which tells the client to keep sending full fetches — Kafka's FetchSessionCache rules.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../../core/clock.js';

export const INVALID_SESSION_ID = 0;
export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;
/** Kafka's cache default (max.incremental.fetch.session.cache.slots). */
export const DEFAULT_FETCH_SESSION_SLOTS = 1000;
/** Kafka's min.incremental.fetch.session.eviction.ms: a session this old or idle may be replaced. */
export const FETCH_SESSION_EVICTION_MS = 120_000;

/** The epoch a client sends after `epoch` (wraps past the int32 maximum to 1, as Kafka's nextEpoch). */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  return epoch === 0x7fffffff ? 1 : epoch + 1;
}

/** One partition of a session: what the client asked for and what it was last told. */
export interface SessionPartition {
  /** Topic name (topic-name sessions) or the formatted topic id (topic-id sessions, Fetch v13+). */
  readonly topicKey: string;
  readonly partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  /** State last sent; -1 until first answered (and after an error), so the partition is sent again. */
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

export class FetchSession {
  /** The epoch the next incremental request must carry. */
  epoch = nextEpoch(INITIAL_EPOCH);
  lastUsedMs: number;
  /** Partitions in answer order: a partition answered moves to the end, so large ones take turns. */
  readonly partitions = new Map<string, SessionPartition>();

  constructor(
    readonly id: number,
    readonly usesTopicIds: boolean,
    readonly createdMs: number,
  ) {
    this.lastUsedMs = createdMs;
  }

  /** Adds or updates the requested partitions, then drops the forgotten ones (Kafka's order). */
  update(
    requested: readonly {
      topicKey: string;
      partition: number;
      fetchOffset: number;
      partitionMaxBytes: number;
    }[],
    forgotten: readonly { topicKey: string; partition: number }[],
  ): void {
    for (const r of requested) {
      const key = partitionKey(r.topicKey, r.partition);
      const cached = this.partitions.get(key);
      if (cached) {
        cached.fetchOffset = r.fetchOffset;
        cached.partitionMaxBytes = r.partitionMaxBytes;
      } else {
        this.partitions.set(key, newSessionPartition(r));
      }
    }
    for (const f of forgotten) this.partitions.delete(partitionKey(f.topicKey, f.partition));
  }

  /** Moves a partition that was just answered to the end of the session's order. */
  moveToEnd(p: SessionPartition): void {
    const key = partitionKey(p.topicKey, p.partition);
    this.partitions.delete(key);
    this.partitions.set(key, p);
  }
}

export function partitionKey(topicKey: string, partition: number): string {
  return `${topicKey}\u0000${partition}`;
}

export function newSessionPartition(r: {
  topicKey: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}): SessionPartition {
  return {
    topicKey: r.topicKey,
    partition: r.partition,
    fetchOffset: r.fetchOffset,
    partitionMaxBytes: r.partitionMaxBytes,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
  };
}

export interface FetchSessionCacheOptions {
  readonly clock: Clock;
  readonly maxSlots?: number;
  readonly evictionMs?: number;
  /** Session ids (tests pass a sequence); random positive int32 by default. */
  readonly newId?: () => number;
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private readonly clock: Clock;
  readonly maxSlots: number;
  private readonly evictionMs: number;
  private readonly newId: () => number;
  /** Sessions created and evicted since start (for tests and operators). */
  created = 0;
  evicted = 0;

  constructor(options: FetchSessionCacheOptions) {
    this.clock = options.clock;
    this.maxSlots = options.maxSlots ?? DEFAULT_FETCH_SESSION_SLOTS;
    this.evictionMs = options.evictionMs ?? FETCH_SESSION_EVICTION_MS;
    this.newId = options.newId ?? (() => randomInt(1, 0x7fffffff));
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  remove(id: number): boolean {
    return this.sessions.delete(id);
  }

  touch(session: FetchSession): void {
    session.lastUsedMs = this.clock.now();
  }

  /**
   * A new session over `partitions` (in order), or undefined when the cache is full and nothing may
   * be evicted for it; the caller then answers with session id 0.
   */
  create(usesTopicIds: boolean, partitions: readonly SessionPartition[]): FetchSession | undefined {
    if (this.maxSlots <= 0) return undefined;
    const now = this.clock.now();
    if (this.sessions.size >= this.maxSlots && !this.tryEvict(partitions.length, now)) return undefined;
    let id = this.newId();
    while (id === INVALID_SESSION_ID || this.sessions.has(id)) id = this.newId();
    const session = new FetchSession(id, usesTopicIds, now);
    for (const p of partitions) session.partitions.set(partitionKey(p.topicKey, p.partition), p);
    this.sessions.set(id, session);
    this.created++;
    return session;
  }

  /**
   * Frees a slot: the least recently used session if idle for evictionMs; else the smallest
   * session older than evictionMs, if smaller than the new one (equal sizes: the lower id, as Kafka's
   * EvictableKey orders them, in which the new session loses a tie in size).
   */
  private tryEvict(newSize: number, now: number): boolean {
    let stalest: FetchSession | undefined;
    let smallest: FetchSession | undefined;
    for (const s of this.sessions.values()) {
      if (!stalest || s.lastUsedMs < stalest.lastUsedMs) stalest = s;
      if (now - s.createdMs <= this.evictionMs) continue;
      const size = s.partitions.size;
      if (
        !smallest ||
        size < smallest.partitions.size ||
        (size === smallest.partitions.size && s.id < smallest.id)
      )
        smallest = s;
    }
    const victim =
      stalest && now - stalest.lastUsedMs > this.evictionMs
        ? stalest
        : smallest && smallest.partitions.size < newSize
          ? smallest
          : undefined;
    if (!victim) return false;
    this.sessions.delete(victim.id);
    this.evicted++;
    return true;
  }
}
