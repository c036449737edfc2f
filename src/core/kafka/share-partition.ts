/**
 * One share-partition (KIP-932): the state a share group keeps for one topic partition, as Kafka's
 * SharePartition does. Records from the share-partition start offset (SPSO) to the end of the
 * in-flight window are AVAILABLE, ACQUIRED (locked by one member until acknowledged or until the
 * acquisition lock times out), ACKNOWLEDGED or ARCHIVED; each carries a delivery count, raised on
 * every acquisition. A record released (explicitly, by lock timeout or by its member's session
 * closing) whose delivery count reached the limit is ARCHIVED instead of AVAILABLE. The SPSO moves
 * past a prefix of ACKNOWLEDGED/ARCHIVED records. Acquisition is by offset: the caller returns the
 * stored batches covering the acquired ranges and the client delivers only the acquired offsets.
 *
 * Pure state over an injected clock (lock timers); every change is handed to `persist` as a
 * snapshot (Kafka writes share-partition state to __share_group_state; Pier to its own store).
 */
import type { Clock, TimerHandle } from '../clock.js';

/** Kafka's RecordState ids, as persisted. */
export const RecordState = { AVAILABLE: 0, ACQUIRED: 1, ACKNOWLEDGED: 2, ARCHIVED: 4 } as const;
export type RecordStateId = (typeof RecordState)[keyof typeof RecordState];

/** AcknowledgeType in ShareFetch/ShareAcknowledge: 0 is a gap (an offset with no record). */
export const AcknowledgeType = { GAP: 0, ACCEPT: 1, RELEASE: 2, REJECT: 3 } as const;

export interface AcquiredRange {
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly deliveryCount: number;
}

export interface AcknowledgementBatch {
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** One type for the whole batch, or one per offset. */
  readonly acknowledgeTypes: readonly number[];
}

/** A persisted share-partition: the SPSO, where acquisition of new records resumes, and the states between. */
export interface SharePartitionSnapshot {
  readonly startOffset: number;
  readonly endOffset: number;
  /** [firstOffset, lastOffset, state, deliveryCount], runs of equal state and count; ACQUIRED is stored as AVAILABLE. */
  readonly ranges: ReadonlyArray<readonly [number, number, RecordStateId, number]>;
}

export interface SharePartitionSettings {
  /** share.record.lock.duration.ms (group config; broker default group.share.record.lock.duration.ms). */
  lockDurationMs(): number;
  /** group.share.delivery.count.limit (share.delivery.count.limit on the group). */
  deliveryCountLimit(): number;
  /** group.share.partition.max.record.locks: records in flight (SPSO to end offset) before new ones wait. */
  maxInFlightRecords(): number;
}

export type AcknowledgeError = 'NONE' | 'INVALID_RECORD_STATE' | 'INVALID_REQUEST';

interface InFlight {
  state: RecordStateId;
  deliveryCount: number;
  memberId: string | null;
  /** Which acquisition holds the lock, so a timer of an earlier acquisition leaves it alone. */
  acquisition: number;
}

export class SharePartition {
  private start: number;
  /** One past the last offset ever acquired: new records are taken from here. */
  private end: number;
  /** Offsets in [start, end) with their state; absent offsets below `end` do not exist. */
  private readonly inFlight = new Map<number, InFlight>();
  private readonly timers = new Map<number, TimerHandle>();
  private acquisitions = 0;
  /** Woken when records become available again (released, lock expired): a waiting ShareFetch. */
  private readonly availableWatchers = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private readonly settings: SharePartitionSettings,
    initial: SharePartitionSnapshot,
    private readonly persist: (snapshot: SharePartitionSnapshot, onDurable: () => void) => void,
  ) {
    this.start = initial.startOffset;
    this.end = initial.endOffset;
    for (const [first, last, state, deliveryCount] of initial.ranges) {
      for (let o = first; o <= last; o++) {
        // A record stored AVAILABLE may have been locked when the broker stopped: its lock is gone,
        // which counts as a release, so one that reached the delivery limit is archived.
        const released = state === RecordState.ACQUIRED || state === RecordState.AVAILABLE;
        const restored = !released
          ? state
          : deliveryCount >= settings.deliveryCountLimit()
            ? RecordState.ARCHIVED
            : RecordState.AVAILABLE;
        this.inFlight.set(o, { state: restored, deliveryCount, memberId: null, acquisition: 0 });
      }
    }
    this.advanceStart();
  }

  /** The share-partition start offset: every record before it is acknowledged or archived. */
  get startOffset(): number {
    return this.start;
  }

  /** One past the last record acquired so far. */
  get endOffset(): number {
    return this.end;
  }

  /** The state of one offset (tests, describe); undefined outside the window. */
  stateOf(
    offset: number,
  ): { state: RecordStateId; deliveryCount: number; memberId: string | null } | undefined {
    if (offset < this.start) return { state: RecordState.ACKNOWLEDGED, deliveryCount: 0, memberId: null };
    const entry = this.inFlight.get(offset);
    return entry && { state: entry.state, deliveryCount: entry.deliveryCount, memberId: entry.memberId };
  }

  /**
   * Acquires up to `maxRecords` records for `memberId`: AVAILABLE ones first (redeliveries), then new
   * ones from the end offset up to `highWatermark`, while the in-flight window has room. Records
   * before `logStartOffset` (deleted by retention or DeleteRecords) are archived first.
   */
  acquire(
    memberId: string,
    maxRecords: number,
    logStartOffset: number,
    highWatermark: number,
  ): AcquiredRange[] {
    let changed = this.skipDeleted(logStartOffset);
    const acquisition = ++this.acquisitions;
    const taken: Array<{ offset: number; deliveryCount: number }> = [];
    for (const [offset, entry] of this.inFlight) {
      if (taken.length >= maxRecords) break;
      if (entry.state !== RecordState.AVAILABLE) continue;
      entry.state = RecordState.ACQUIRED;
      entry.deliveryCount++;
      entry.memberId = memberId;
      entry.acquisition = acquisition;
      taken.push({ offset, deliveryCount: entry.deliveryCount });
    }
    const windowEnd = this.start + this.settings.maxInFlightRecords();
    while (taken.length < maxRecords && this.end < highWatermark && this.end < windowEnd) {
      this.inFlight.set(this.end, { state: RecordState.ACQUIRED, deliveryCount: 1, memberId, acquisition });
      taken.push({ offset: this.end, deliveryCount: 1 });
      this.end++;
    }
    if (taken.length > 0) {
      taken.sort((a, b) => a.offset - b.offset);
      const timer = this.clock.setTimeout(
        () => this.lockExpired(acquisition),
        this.settings.lockDurationMs(),
      );
      this.timers.set(acquisition, timer);
      changed = true;
    }
    if (changed) this.save(() => {});
    return toRanges(taken);
  }

  /**
   * Applies acknowledgements from `memberId`. Every offset named must be ACQUIRED by that member;
   * otherwise nothing is applied (INVALID_RECORD_STATE), as Kafka rolls a failed batch back.
   * `onDurable` runs once the new state is stored.
   */
  acknowledge(
    memberId: string,
    batches: readonly AcknowledgementBatch[],
    onDurable: () => void,
  ): AcknowledgeError {
    for (const batch of batches) {
      const count = batch.lastOffset - batch.firstOffset + 1;
      if (count <= 0 || (batch.acknowledgeTypes.length !== 1 && batch.acknowledgeTypes.length !== count))
        return 'INVALID_REQUEST';
      if (batch.acknowledgeTypes.some((t) => t < AcknowledgeType.GAP || t > AcknowledgeType.REJECT))
        return 'INVALID_REQUEST';
      for (let o = batch.firstOffset; o <= batch.lastOffset; o++) {
        const entry = this.inFlight.get(o);
        if (!entry || entry.state !== RecordState.ACQUIRED || entry.memberId !== memberId)
          return 'INVALID_RECORD_STATE';
      }
    }
    for (const batch of batches) {
      for (let o = batch.firstOffset; o <= batch.lastOffset; o++) {
        const type = batch.acknowledgeTypes[batch.acknowledgeTypes.length === 1 ? 0 : o - batch.firstOffset]!;
        const entry = this.inFlight.get(o)!;
        if (type === AcknowledgeType.ACCEPT) entry.state = RecordState.ACKNOWLEDGED;
        else if (type === AcknowledgeType.RELEASE) this.release(entry);
        else entry.state = RecordState.ARCHIVED; // REJECT, or a gap
        entry.memberId = null;
      }
    }
    this.advanceStart();
    this.save(onDurable);
    this.notifyAvailable();
    return 'NONE';
  }

  /** Releases every record `memberId` holds (its share session closed). */
  releaseMember(memberId: string): void {
    let changed = false;
    for (const entry of this.inFlight.values()) {
      if (entry.state !== RecordState.ACQUIRED || entry.memberId !== memberId) continue;
      this.release(entry);
      changed = true;
    }
    if (!changed) return;
    this.advanceStart();
    this.save(() => {});
    this.notifyAvailable();
  }

  /** Calls `listener` whenever released records become available again; returns an unsubscribe. */
  watchAvailable(listener: () => void): () => void {
    this.availableWatchers.add(listener);
    return () => this.availableWatchers.delete(listener);
  }

  /** Stops the lock timers (the broker is closing; the stored state makes locked records available). */
  close(): void {
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer);
    this.timers.clear();
  }

  snapshot(): SharePartitionSnapshot {
    const ranges: Array<[number, number, RecordStateId, number]> = [];
    for (let o = this.start; o < this.end; o++) {
      const entry = this.inFlight.get(o);
      if (!entry) continue;
      const state = entry.state === RecordState.ACQUIRED ? RecordState.AVAILABLE : entry.state;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === o - 1 && last[2] === state && last[3] === entry.deliveryCount) last[1] = o;
      else ranges.push([o, o, state, entry.deliveryCount]);
    }
    return { startOffset: this.start, endOffset: this.end, ranges };
  }

  /** Records in flight that are not yet acknowledged or archived (describe, lag). */
  get unsettledRecords(): number {
    let n = 0;
    for (const entry of this.inFlight.values())
      if (entry.state === RecordState.AVAILABLE || entry.state === RecordState.ACQUIRED) n++;
    return n;
  }

  private release(entry: InFlight): void {
    // Kafka's InFlightState.tryUpdateState: back to AVAILABLE unless the delivery count reached the limit.
    entry.state =
      entry.deliveryCount >= this.settings.deliveryCountLimit()
        ? RecordState.ARCHIVED
        : RecordState.AVAILABLE;
    entry.memberId = null;
  }

  private lockExpired(acquisition: number): void {
    this.timers.delete(acquisition);
    let changed = false;
    for (const entry of this.inFlight.values()) {
      if (entry.state !== RecordState.ACQUIRED || entry.acquisition !== acquisition) continue;
      this.release(entry);
      changed = true;
    }
    if (!changed) return;
    this.advanceStart();
    this.save(() => {});
    this.notifyAvailable();
  }

  private notifyAvailable(): void {
    for (const listener of [...this.availableWatchers]) listener();
  }

  /** Archives offsets the log no longer holds. */
  private skipDeleted(logStartOffset: number): boolean {
    if (this.start >= logStartOffset) return false;
    for (let o = this.start; o < logStartOffset; o++) this.inFlight.delete(o);
    this.start = logStartOffset;
    if (this.end < this.start) this.end = this.start;
    return true;
  }

  private advanceStart(): void {
    for (;;) {
      if (this.start >= this.end) return;
      const entry = this.inFlight.get(this.start);
      if (entry && entry.state !== RecordState.ACKNOWLEDGED && entry.state !== RecordState.ARCHIVED) return;
      this.inFlight.delete(this.start);
      this.start++;
    }
  }

  private save(onDurable: () => void): void {
    this.persist(this.snapshot(), onDurable);
  }
}

/** Consecutive offsets with the same delivery count as one AcquiredRecords entry. */
function toRanges(taken: ReadonlyArray<{ offset: number; deliveryCount: number }>): AcquiredRange[] {
  const ranges: AcquiredRange[] = [];
  for (const { offset, deliveryCount } of taken) {
    const last = ranges[ranges.length - 1];
    if (last && last.lastOffset === offset - 1 && last.deliveryCount === deliveryCount)
      ranges[ranges.length - 1] = { ...last, lastOffset: offset };
    else ranges.push({ firstOffset: offset, lastOffset: offset, deliveryCount });
  }
  return ranges;
}
