/**
 * Kafka's transaction coordinator (KIP-98) for a one-broker cluster: transactional ids, their
 * producer id and epoch, the partitions and groups of the current transaction, and its two-phase
 * end. The rules follow Kafka's TransactionCoordinator and TransactionMetadata (apache/kafka 3.x):
 *
 * - InitProducerId with a transactional id bumps the epoch (fencing older instances); an Ongoing
 *   transaction is first aborted with a bumped epoch and the caller gets CONCURRENT_TRANSACTIONS
 *   until that abort is complete (it retries). A v3+ request naming its producer id and epoch
 *   (KIP-360) must name the current ones, else PRODUCER_FENCED. The epoch wraps to a new producer
 *   id before it reaches 32767.
 * - AddPartitionsToTxn / AddOffsetsToTxn move Empty/Complete* to Ongoing (with a timer for
 *   `timeoutMs` on the injected clock: a transaction still Ongoing then is aborted by the broker,
 *   with an epoch bump, so its producer is fenced).
 * - EndTxn: Ongoing → Prepare{Commit,Abort} written durably, then a marker (a control batch) is
 *   appended to every partition of the transaction and, on commit, the pending group offsets are
 *   written; once all of that is durable, Complete{Commit,Abort} is recorded (with the aborted
 *   ranges) and the request is answered. Requests meanwhile get CONCURRENT_TRANSACTIONS.
 * - A request that fails a check changes nothing.
 *
 * Recovery (recover(), at start, before the listener): a transaction left in Prepare* is
 * completed, one left Ongoing is aborted with an epoch bump. Until their markers are durable the
 * affected partitions' last stable offset is held at the transactions' start, so a read_committed
 * reader never sees half a transaction.
 *
 * No I/O here: markers are written by `writeMarker` (the protocol encodes the control batch),
 * offsets by `commitOffsets`, state by the TransactionLog; all share one durability barrier.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { DurabilityBarrier } from '../durability.js';
import type { OffsetCommitEntry } from './group-offsets.js';
import { PartitionTransactions } from './partition-transactions.js';
import type { TopicLookup, TopicPartition } from './topic.js';
import type {
  AbortedRange,
  PendingGroupOffsets,
  StoredTransaction,
  TransactionLog,
  TransactionPartition,
  TransactionState,
} from './transaction-log.js';

/** Kafka's transaction.max.timeout.ms default: 15 minutes. */
export const DEFAULT_TRANSACTION_MAX_TIMEOUT_MS = 900_000;
/** Epochs are int16; Kafka moves to a new producer id before the epoch reaches Short.MaxValue. */
const MAX_EPOCH = 32_767;

export type TxnErrorName =
  | 'NONE'
  | 'INVALID_REQUEST'
  | 'INVALID_TRANSACTION_TIMEOUT'
  | 'CONCURRENT_TRANSACTIONS'
  | 'PRODUCER_FENCED'
  | 'INVALID_PRODUCER_EPOCH'
  | 'INVALID_PRODUCER_ID_MAPPING'
  | 'INVALID_TXN_STATE'
  | 'TRANSACTIONAL_ID_NOT_FOUND'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'OPERATION_NOT_ATTEMPTED'
  | 'COORDINATOR_NOT_AVAILABLE'
  | 'UNKNOWN_SERVER_ERROR';

export interface TxnRefusal {
  readonly error: TxnErrorName;
  readonly message: string;
}

export interface TransactionCoordinatorOptions {
  readonly clock: Clock;
  readonly log: TransactionLog;
  readonly topics: TopicLookup;
  readonly durability: DurabilityBarrier;
  /** A producer id never handed out before (the broker's id blocks). */
  readonly nextProducerId: () => number;
  /** Appends a commit or abort marker for the producer to the partition; returns its offset. */
  readonly writeMarker: (
    partition: TopicPartition,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
    nowMs: number,
  ) => number;
  /** Writes a committed transaction's offsets for a group (staged at once, durable with the barrier). */
  readonly commitOffsets: (groupId: string, entries: readonly OffsetCommitEntry[]) => void;
  /** transaction.max.timeout.ms. */
  readonly maxTimeoutMs?: number;
  readonly log_?: (line: string) => void;
}

interface Txn {
  stored: StoredTransaction;
  /** A state change is being made durable or the transaction is completing: refuse meanwhile. */
  busy: boolean;
  timer: TimerHandle | undefined;
  /** Callers waiting for the end of the current completion (EndTxn answers). */
  waiters: (() => void)[];
}

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface TransactionView extends StoredTransaction {}

export class TransactionCoordinator {
  private readonly clock: Clock;
  private readonly log: TransactionLog;
  private readonly topics: TopicLookup;
  private readonly durability: DurabilityBarrier;
  private readonly options: TransactionCoordinatorOptions;
  readonly maxTimeoutMs: number;
  private readonly txns = new Map<string, Txn>();
  private readonly byProducerId = new Map<number, Txn>();
  /** Keyed by the partition's stream: a re-created topic has new streams, so a fresh index. */
  private readonly partitionState = new WeakMap<object, PartitionTransactions>();
  /** Aborted ranges from the log, by `${topicId}:${partition}`, until the partition is first used. */
  private readonly abortedByPartition = new Map<string, AbortedRange[]>();
  private closed = false;

  constructor(options: TransactionCoordinatorOptions) {
    this.options = options;
    this.clock = options.clock;
    this.log = options.log;
    this.topics = options.topics;
    this.durability = options.durability;
    this.maxTimeoutMs = options.maxTimeoutMs ?? DEFAULT_TRANSACTION_MAX_TIMEOUT_MS;
  }

  // ---- restart ---------------------------------------------------------------------------------

  /** Loads the log and finishes what a crash interrupted. Call after the topics are restored. */
  recover(): void {
    for (const range of this.log.aborted) {
      const key = `${range.topicId}:${range.partition}`;
      const list = this.abortedByPartition.get(key);
      if (list) list.push(range);
      else this.abortedByPartition.set(key, [range]);
    }
    for (const stored of this.log.transactions.values()) {
      const txn: Txn = { stored, busy: false, timer: undefined, waiters: [] };
      this.txns.set(stored.transactionalId, txn);
      this.byProducerId.set(stored.producerId, txn);
    }
    for (const txn of this.txns.values()) {
      const state = txn.stored.state;
      if (state !== 'Ongoing' && state !== 'PrepareCommit' && state !== 'PrepareAbort') continue;
      // Hold every partition's LSO at the transaction's start until its marker is durable.
      for (const p of txn.stored.partitions) {
        const partition = this.partitionOf(p);
        if (partition) this.stateOf(partition).hold(txn.stored.producerId, p.startOffset);
      }
      if (state === 'Ongoing') {
        // Nobody can finish it now: abort, and fence the producer that began it.
        this.beginEnd(txn, false, true);
      } else {
        txn.busy = true;
        this.writeMarkers(txn, state === 'PrepareCommit');
      }
    }
  }

  // ---- InitProducerId --------------------------------------------------------------------------

  /**
   * InitProducerId for a transactional id: resolves with the producer id and epoch to use, or the
   * error. `current` is the v3+ request's producer id and epoch (-1/-1 when not given).
   */
  async initProducer(
    transactionalId: string,
    timeoutMs: number,
    current: { producerId: number; producerEpoch: number },
  ): Promise<{ error: TxnErrorName; message?: string; producerId: number; producerEpoch: number }> {
    const refuse = (error: TxnErrorName, message: string) => ({
      error,
      message,
      producerId: -1,
      producerEpoch: -1,
    });
    if (this.closed) return refuse('COORDINATOR_NOT_AVAILABLE', 'the broker is shutting down');
    if (timeoutMs <= 0 || timeoutMs > this.maxTimeoutMs) {
      return refuse(
        'INVALID_TRANSACTION_TIMEOUT',
        `transaction timeout ${timeoutMs} ms is outside 1..${this.maxTimeoutMs} (transaction.max.timeout.ms)`,
      );
    }
    const txn = this.txns.get(transactionalId);
    if (!txn) {
      const stored = this.newStored(transactionalId, this.options.nextProducerId(), 0, timeoutMs);
      const created: Txn = { stored, busy: true, timer: undefined, waiters: [] };
      this.txns.set(transactionalId, created);
      this.byProducerId.set(stored.producerId, created);
      await this.persist(created, stored);
      created.busy = false;
      return { error: 'NONE', producerId: stored.producerId, producerEpoch: stored.producerEpoch };
    }
    if (txn.busy)
      return refuse('CONCURRENT_TRANSACTIONS', `transaction '${transactionalId}' is completing; retry`);
    const s = txn.stored;
    if (current.producerId >= 0) {
      // KIP-360: the producer asks to bump its own epoch; it must still be the current instance.
      if (current.producerId !== s.producerId || current.producerEpoch !== s.producerEpoch) {
        return refuse(
          'PRODUCER_FENCED',
          `producer ${current.producerId} epoch ${current.producerEpoch} is not the current instance of '${transactionalId}' (producer ${s.producerId} epoch ${s.producerEpoch})`,
        );
      }
    }
    if (s.state === 'Ongoing') {
      // A new instance takes over: abort what the old one left open, fencing it (epoch + 1).
      this.beginEnd(txn, false, true);
      return refuse(
        'CONCURRENT_TRANSACTIONS',
        `aborting the open transaction of '${transactionalId}' left by an earlier instance; retry`,
      );
    }
    let producerId = s.producerId;
    let producerEpoch = s.producerEpoch + 1;
    if (producerEpoch >= MAX_EPOCH - 1) {
      producerId = this.options.nextProducerId();
      producerEpoch = 0;
    }
    const stored: StoredTransaction = {
      ...this.newStored(transactionalId, producerId, producerEpoch, timeoutMs),
    };
    txn.busy = true;
    if (producerId !== s.producerId) {
      this.byProducerId.delete(s.producerId);
      this.byProducerId.set(producerId, txn);
    }
    await this.persist(txn, stored);
    txn.busy = false;
    return { error: 'NONE', producerId, producerEpoch };
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ----------------------------------------------------

  /** Checks that the request comes from the transactional id's current producer, in a usable state. */
  private check(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
  ): { txn: Txn } | TxnRefusal {
    if (this.closed) return { error: 'COORDINATOR_NOT_AVAILABLE', message: 'the broker is shutting down' };
    const txn = this.txns.get(transactionalId);
    if (!txn || txn.stored.producerId !== producerId) {
      return {
        error: 'INVALID_PRODUCER_ID_MAPPING',
        message: `transactional id '${transactionalId}' is not mapped to producer ${producerId}; call InitProducerId first`,
      };
    }
    if (producerEpoch !== txn.stored.producerEpoch) {
      return {
        error: 'PRODUCER_FENCED',
        message: `producer ${producerId} epoch ${producerEpoch} was fenced by epoch ${txn.stored.producerEpoch} of '${transactionalId}'`,
      };
    }
    if (txn.busy || txn.stored.state === 'PrepareCommit' || txn.stored.state === 'PrepareAbort') {
      return {
        error: 'CONCURRENT_TRANSACTIONS',
        message: `the previous transaction of '${transactionalId}' is completing; retry`,
      };
    }
    return { txn };
  }

  /**
   * Adds partitions to the transaction. Unknown partitions fail the whole request (they get
   * UNKNOWN_TOPIC_OR_PARTITION, the others OPERATION_NOT_ATTEMPTED) and change nothing.
   */
  async addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    refs: readonly PartitionRef[],
  ): Promise<{ error: TxnErrorName; message?: string; partitionErrors?: TxnErrorName[] }> {
    const checked = this.check(transactionalId, producerId, producerEpoch);
    if ('error' in checked) return checked;
    const { txn } = checked;
    const found = refs.map((r) => {
      const topic = this.topics.get(r.topic);
      const partition = topic?.partitions[r.partition];
      return topic && partition ? { topic, partition } : undefined;
    });
    if (found.some((f) => f === undefined)) {
      return {
        error: 'NONE',
        partitionErrors: found.map((f) => (f ? 'OPERATION_NOT_ATTEMPTED' : 'UNKNOWN_TOPIC_OR_PARTITION')),
      };
    }
    const s = txn.stored;
    const have = new Set(this.currentPartitions(s).map((p) => `${p.topic}\0${p.partition}`));
    const added: TransactionPartition[] = [];
    for (const f of found) {
      const key = `${f!.topic.name}\0${f!.partition.index}`;
      if (have.has(key)) continue;
      have.add(key);
      added.push({
        topic: f!.topic.name,
        topicId: f!.topic.id.toString('hex'),
        partition: f!.partition.index,
        startOffset: f!.partition.stream.nextOffset,
      });
    }
    if (added.length === 0 && s.state === 'Ongoing') return { error: 'NONE' };
    await this.beginOrExtend(txn, { partitions: [...this.currentPartitions(s), ...added] });
    return { error: 'NONE' };
  }

  /** AddOffsetsToTxn: the group's offsets may now be committed in this transaction. */
  async addOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
  ): Promise<TxnRefusal | { error: 'NONE' }> {
    const checked = this.check(transactionalId, producerId, producerEpoch);
    if ('error' in checked) return checked;
    const { txn } = checked;
    const s = txn.stored;
    const groups = s.state === 'Ongoing' ? s.groups : [];
    if (groups.includes(groupId) && s.state === 'Ongoing') return { error: 'NONE' };
    await this.beginOrExtend(txn, { groups: [...groups, groupId] });
    return { error: 'NONE' };
  }

  /**
   * TxnOffsetCommit: stages offsets for a group added with AddOffsetsToTxn. They are written to the
   * group only when the transaction commits (OffsetFetch does not see them before).
   */
  async stageOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
    entries: readonly OffsetCommitEntry[],
  ): Promise<TxnRefusal | { error: 'NONE' }> {
    if (this.closed) return { error: 'COORDINATOR_NOT_AVAILABLE', message: 'the broker is shutting down' };
    const txn = this.txns.get(transactionalId);
    // The group coordinator answers these with the partition's producer checks in Kafka.
    if (!txn || txn.stored.producerId !== producerId) {
      return {
        error: 'INVALID_PRODUCER_ID_MAPPING',
        message: `transactional id '${transactionalId}' is not mapped to producer ${producerId}`,
      };
    }
    if (producerEpoch !== txn.stored.producerEpoch) {
      return {
        error: 'INVALID_PRODUCER_EPOCH',
        message: `producer ${producerId} epoch ${producerEpoch} was fenced by epoch ${txn.stored.producerEpoch}`,
      };
    }
    const s = txn.stored;
    if (txn.busy || s.state === 'PrepareCommit' || s.state === 'PrepareAbort') {
      return { error: 'CONCURRENT_TRANSACTIONS', message: 'the transaction is completing; retry' };
    }
    if (s.state !== 'Ongoing' || !s.groups.includes(groupId)) {
      return {
        error: 'INVALID_TXN_STATE',
        message: `group '${groupId}' is not part of an ongoing transaction of '${transactionalId}'; call AddOffsetsToTxn first`,
      };
    }
    const pending = new Map<string, Map<string, OffsetCommitEntry>>();
    for (const g of s.pendingOffsets)
      pending.set(g.groupId, new Map(g.entries.map((e) => [`${e.topic}\0${e.partition}`, e])));
    const group = pending.get(groupId) ?? new Map<string, OffsetCommitEntry>();
    pending.set(groupId, group);
    for (const e of entries) group.set(`${e.topic}\0${e.partition}`, e);
    const pendingOffsets: PendingGroupOffsets[] = [...pending].map(([g, m]) => ({
      groupId: g,
      entries: [...m.values()],
    }));
    txn.busy = true;
    await this.persist(txn, { ...s, pendingOffsets, updateTimeMs: this.clock.now() });
    txn.busy = false;
    return { error: 'NONE' };
  }

  // ---- EndTxn ----------------------------------------------------------------------------------

  async endTransaction(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
  ): Promise<TxnRefusal | { error: 'NONE' }> {
    if (this.closed) return { error: 'COORDINATOR_NOT_AVAILABLE', message: 'the broker is shutting down' };
    const txn = this.txns.get(transactionalId);
    if (!txn || txn.stored.producerId !== producerId) {
      return {
        error: 'INVALID_PRODUCER_ID_MAPPING',
        message: `transactional id '${transactionalId}' is not mapped to producer ${producerId}`,
      };
    }
    const s = txn.stored;
    if (producerEpoch !== s.producerEpoch) {
      return {
        error: 'PRODUCER_FENCED',
        message: `producer ${producerId} epoch ${producerEpoch} was fenced by epoch ${s.producerEpoch}`,
      };
    }
    const verb = commit ? 'commit' : 'abort';
    if (txn.busy || s.state === 'PrepareCommit' || s.state === 'PrepareAbort') {
      // A retry of the same EndTxn while it completes: the client retries until Complete*.
      return { error: 'CONCURRENT_TRANSACTIONS', message: 'the transaction is completing; retry' };
    }
    if (s.state === 'CompleteCommit' || s.state === 'CompleteAbort') {
      // A retried EndTxn whose first answer was lost: the same outcome is fine, the other is not.
      if ((s.state === 'CompleteCommit') === commit) return { error: 'NONE' };
      return {
        error: 'INVALID_TXN_STATE',
        message: `cannot ${verb}: the last transaction of '${transactionalId}' was already ${commit ? 'aborted' : 'committed'}`,
      };
    }
    if (s.state === 'Empty') {
      return {
        error: 'INVALID_TXN_STATE',
        message: `cannot ${verb}: '${transactionalId}' has no ongoing transaction (nothing was added to it)`,
      };
    }
    await this.beginEnd(txn, commit, false);
    return { error: 'NONE' };
  }

  // ---- Produce's checks ------------------------------------------------------------------------

  /**
   * Checks a transactional batch for the partition: its producer must be the current instance of
   * a transactional id whose ongoing transaction includes the partition.
   */
  checkTransactionalAppend(
    partition: TopicPartition,
    producerId: number,
    producerEpoch: number,
  ): TxnRefusal | undefined {
    const txn = this.byProducerId.get(producerId);
    if (!txn) {
      return {
        error: 'INVALID_PRODUCER_ID_MAPPING',
        message: `producer ${producerId} has no transactional id here; call InitProducerId with one`,
      };
    }
    const s = txn.stored;
    if (producerEpoch !== s.producerEpoch) {
      return {
        error: 'INVALID_PRODUCER_EPOCH',
        message: `producer ${producerId} epoch ${producerEpoch} was fenced by epoch ${s.producerEpoch}`,
      };
    }
    // Not refused while another AddPartitions/AddOffsets of the same transaction is being written:
    // librdkafka produces to added partitions while it adds others.
    if (
      s.state !== 'Ongoing' ||
      !s.partitions.some((p) => p.topic === partition.topic && p.partition === partition.index)
    ) {
      return {
        error: 'INVALID_TXN_STATE',
        message: `${partition.topic}-${partition.index} is not part of an ongoing transaction of producer ${producerId}; call AddPartitionsToTxn first`,
      };
    }
    return undefined;
  }

  /** A transactional batch was appended at `offset` (after checkTransactionalAppend passed). */
  transactionalAppended(partition: TopicPartition, producerId: number, offset: number): void {
    this.stateOf(partition).appended(producerId, offset);
  }

  // ---- readers ---------------------------------------------------------------------------------

  lastStableOffset(partition: TopicPartition): number {
    const state = this.existingStateOf(partition);
    return state ? state.lastStableOffset(partition.highWatermark) : partition.highWatermark;
  }

  abortedBetween(partition: TopicPartition, fromOffset: number, toOffset: number): AbortedRange[] {
    return this.stateOf(partition).abortedBetween(fromOffset, toOffset);
  }

  /** The first offset of the producer's open transaction in the partition (DescribeProducers). */
  openTransactionStart(partition: TopicPartition, producerId: number): number | undefined {
    return this.existingStateOf(partition)?.openFirstOffset(producerId);
  }

  /** Whether an open or completing transaction has staged an offset for the group's partition. */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    for (const txn of this.txns.values()) {
      const s = txn.stored;
      if (s.state !== 'Ongoing' && s.state !== 'PrepareCommit' && !txn.busy) continue;
      for (const g of s.pendingOffsets) {
        if (g.groupId !== groupId) continue;
        if (g.entries.some((e) => e.topic === topic && e.partition === partition)) return true;
      }
    }
    return false;
  }

  describe(transactionalId: string): StoredTransaction | undefined {
    return this.txns.get(transactionalId)?.stored;
  }

  list(): StoredTransaction[] {
    return [...this.txns.values()].map((t) => t.stored);
  }

  close(): void {
    this.closed = true;
    for (const txn of this.txns.values()) if (txn.timer !== undefined) this.clock.clearTimeout(txn.timer);
    this.log.close();
  }

  // ---- internals -------------------------------------------------------------------------------

  private newStored(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    timeoutMs: number,
  ): StoredTransaction {
    return {
      transactionalId,
      producerId,
      producerEpoch,
      timeoutMs,
      state: 'Empty',
      startTimeMs: -1,
      updateTimeMs: this.clock.now(),
      partitions: [],
      groups: [],
      pendingOffsets: [],
    };
  }

  private currentPartitions(s: StoredTransaction): readonly TransactionPartition[] {
    return s.state === 'Ongoing' ? s.partitions : [];
  }

  /** Moves to (or stays in) Ongoing with the given partitions/groups, durably; arms the timeout. */
  private async beginOrExtend(
    txn: Txn,
    change: { partitions?: readonly TransactionPartition[]; groups?: readonly string[] },
  ): Promise<void> {
    const s = txn.stored;
    const starting = s.state !== 'Ongoing';
    const nowMs = this.clock.now();
    const next: StoredTransaction = {
      ...s,
      state: 'Ongoing',
      startTimeMs: starting ? nowMs : s.startTimeMs,
      updateTimeMs: nowMs,
      partitions: change.partitions ?? this.currentPartitions(s),
      groups: change.groups ?? (starting ? [] : s.groups),
      pendingOffsets: starting ? [] : s.pendingOffsets,
    };
    txn.busy = true;
    await this.persist(txn, next);
    txn.busy = false;
    if (starting) this.armTimeout(txn);
  }

  private armTimeout(txn: Txn): void {
    if (txn.timer !== undefined) this.clock.clearTimeout(txn.timer);
    const { startTimeMs, timeoutMs, producerEpoch } = txn.stored;
    const delayMs = Math.max(0, startTimeMs + timeoutMs - this.clock.now());
    txn.timer = this.clock.setTimeout(() => {
      txn.timer = undefined;
      const s = txn.stored;
      if (this.closed || s.state !== 'Ongoing' || s.producerEpoch !== producerEpoch) return;
      if (txn.busy) {
        // A change is being written: look again right after it.
        this.armTimeoutIn(txn, 10);
        return;
      }
      this.options.log_?.(
        `kafka: aborting transaction '${s.transactionalId}' (producer ${s.producerId}): open longer than its timeout ${s.timeoutMs} ms`,
      );
      void this.beginEnd(txn, false, true);
    }, delayMs);
  }

  private armTimeoutIn(txn: Txn, delayMs: number): void {
    const epoch = txn.stored.producerEpoch;
    txn.timer = this.clock.setTimeout(() => {
      txn.timer = undefined;
      if (txn.stored.state === 'Ongoing' && txn.stored.producerEpoch === epoch) this.armTimeout(txn);
    }, delayMs);
  }

  /**
   * Ongoing → Prepare* (durable) → markers (+ offsets) → Complete* (durable). Resolves at the end.
   * `fence`: bump the epoch first (timeouts, takeovers, recovery), so the old producer is refused.
   */
  private beginEnd(txn: Txn, commit: boolean, fence: boolean): Promise<void> {
    if (txn.timer !== undefined) {
      this.clock.clearTimeout(txn.timer);
      txn.timer = undefined;
    }
    const s = txn.stored;
    const producerEpoch = fence ? Math.min(s.producerEpoch + 1, MAX_EPOCH) : s.producerEpoch;
    const prepared: StoredTransaction = {
      ...s,
      producerEpoch,
      state: commit ? 'PrepareCommit' : 'PrepareAbort',
      updateTimeMs: this.clock.now(),
    };
    txn.busy = true;
    const done = new Promise<void>((resolve) => txn.waiters.push(resolve));
    this.persist(txn, prepared).then(() => this.writeMarkers(txn, commit));
    return done;
  }

  /** Appends the markers (and commits the offsets), then records Complete* once all is durable. */
  private writeMarkers(txn: Txn, commit: boolean): void {
    const s = txn.stored;
    const nowMs = this.clock.now();
    const aborted: AbortedRange[] = [];
    const completed: { partition: TopicPartition; range: AbortedRange | undefined }[] = [];
    for (const p of s.partitions) {
      const partition = this.partitionOf(p);
      if (!partition) continue; // the topic was deleted meanwhile: nothing to mark
      const state = this.stateOf(partition);
      const firstOffset = state.openFirstOffset(s.producerId) ?? p.startOffset;
      let markerOffset: number;
      try {
        markerOffset = this.options.writeMarker(partition, s.producerId, s.producerEpoch, commit, nowMs);
      } catch (err) {
        // Left in Prepare*: the next start completes it (the log says so durably).
        this.options.log_?.(
          `kafka: could not write the ${commit ? 'commit' : 'abort'} marker of '${s.transactionalId}' to ${p.topic}-${p.partition}: ${(err as Error).message}`,
        );
        return;
      }
      const range = commit
        ? undefined
        : {
            topicId: p.topicId,
            partition: p.partition,
            producerId: s.producerId,
            firstOffset,
            lastOffset: markerOffset,
          };
      if (range) aborted.push(range);
      completed.push({ partition, range });
    }
    if (commit) for (const g of s.pendingOffsets) this.options.commitOffsets(g.groupId, g.entries);
    const complete: StoredTransaction = {
      ...s,
      state: commit ? 'CompleteCommit' : 'CompleteAbort',
      updateTimeMs: nowMs,
      pendingOffsets: [],
    };
    let pending = 2;
    const finish = () => {
      if (--pending > 0) return;
      for (const c of completed) {
        this.stateOf(c.partition).completed(s.producerId, c.range);
        c.partition.wakeReaders();
      }
      txn.busy = false;
      const waiters = txn.waiters;
      txn.waiters = [];
      for (const w of waiters) w();
    };
    // Markers and offsets were staged before these registrations, so both cover them.
    this.durability.afterDurable(finish);
    txn.stored = complete;
    this.log.append(complete, aborted, finish);
  }

  private persist(txn: Txn, next: StoredTransaction): Promise<void> {
    txn.stored = next;
    return new Promise((resolve) => this.log.append(next, [], resolve));
  }

  private partitionOf(p: TransactionPartition): TopicPartition | undefined {
    const topic = this.topics.get(p.topic);
    if (!topic || topic.id.toString('hex') !== p.topicId) return undefined;
    return topic.partitions[p.partition];
  }

  private existingStateOf(partition: TopicPartition): PartitionTransactions | undefined {
    return this.partitionState.get(partition.stream) ?? this.loadState(partition);
  }

  private stateOf(partition: TopicPartition): PartitionTransactions {
    return this.existingStateOf(partition) ?? this.createState(partition, []);
  }

  private loadState(partition: TopicPartition): PartitionTransactions | undefined {
    const topic = this.topics.get(partition.topic);
    if (!topic) return undefined;
    const key = `${topic.id.toString('hex')}:${partition.index}`;
    const aborted = this.abortedByPartition.get(key);
    if (!aborted) return undefined;
    this.abortedByPartition.delete(key);
    return this.createState(partition, aborted);
  }

  private createState(partition: TopicPartition, aborted: readonly AbortedRange[]): PartitionTransactions {
    const state = new PartitionTransactions(aborted);
    this.partitionState.set(partition.stream, state);
    return state;
  }
}

/** For the operator views: states Kafka's ListTransactions accepts as filters. */
export const TRANSACTION_STATES: readonly TransactionState[] = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
];
