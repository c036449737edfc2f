/**
 * Durable SQS queues (core/sqs/store.ts) under `<dataDir>/sqs/`:
 *
 *   log/                 ONE QueueLog for the messages of every SQS queue: SQS_MESSAGE records
 *                        (carrying their queue id) and SQS_RECEIVE records (message-record.ts)
 *   <queue dir>/dedup/   a FIFO queue's deduplication ids (DiskDedupStore)
 *
 * Why one log: with fsync 'always' the group committer fdatasyncs every file written in a round,
 * so a log per queue cost one fdatasync per busy queue per round (64 queues: 64 syncs, rounds of
 * 20-30 ms and the kernel's sync time doubling the broker's CPU per message). The shared log costs
 * one fdatasync per round whatever the number of queues. Each queue's DiskSqsMessageStore is a
 * view over it that knows its own live records.
 *
 * A segment is deleted when every record in it is acked, so one long-lived message (in any queue)
 * would keep its whole segment, with the removed messages of every other queue around it, on disk
 * until it is deleted or expires (retention, up to 14 days). Relocation prevents that: after a
 * segment is sealed, the live records of sparse older segments are rewritten at the log's head as
 * SQS_MESSAGE_COPY records naming their source, and the old ones acked once the copies are durable
 * (relocateSparseSegments). A crash in between leaves both; recovery keeps the copy and acks the
 * source. Recovery returns a queue's messages in log order, FIFO queues' sorted by sequence number
 * (a standard queue's order after a restart is best-effort, as SQS's is).
 *
 * A removed message is an ack of its record. recordReceive appends a 24-byte SQS_RECEIVE record
 * (the message's location, count, first-receive time) rather than rewriting the message record in
 * place: the segment files stay append-only with whole-record CRCs, and nothing is waited for. The
 * receive record a newer one supersedes is acked once the newer one is durable (so a crash never
 * loses both); recovery applies, per message, the newest receive record in log order, and acks
 * receive records of removed messages.
 *
 * Memory: each live message record is one slot of a table of typed arrays (SqsRefTable: its
 * location and its links in its queue's list, 17 bytes), plus an entry in a Map for messages with
 * a receive record. Recovery reads the log once, keeping per record only its slot (no decoded
 * record, no message id); a queue, when it opens, reads its records back one at a time
 * (recoverIndex) to build its own index.
 *
 * The log is opened and recovered once, on first use; recovery groups the live messages by queue
 * id and each view takes its group when its queue opens. Deleting a queue acks its live records
 * (other queues' data is untouched); removeOrphans acks the groups of queues that no longer exist,
 * so a queue deleted just before a crash (its acks lost) does not come back.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { SqsMessage } from '../../core/sqs/message.js';
import type {
  SqsMessageStore,
  SqsRecoveredMessage,
  SqsStorage,
  SqsStoredMessage,
} from '../../core/sqs/store.js';
import { grownArray, grownCapacity } from '../../util/typed-arrays.js';
import { DiskDedupStore } from '../disk-dedup-store.js';
import { fsyncDir, type GroupCommitter, mkdirDurable } from '../group-commit.js';
import { type LogLocation, QueueLog } from '../queue-log.js';
import type { StorageFs } from '../storage-fs.js';
import {
  decodeSqsMessageRecord,
  decodeSqsMessageSummary,
  decodeSqsReceiveRecord,
  encodeSqsMessageRecord,
  encodeSqsReceiveRecord,
  SQS_COPY_HEADER_BYTES,
  SQS_MESSAGE_COPY_RECORD_TYPE,
  SQS_MESSAGE_RECORD_TYPE,
  SQS_RECEIVE_RECORD_BYTES,
  SQS_RECEIVE_RECORD_TYPE,
  type SqsMessageSummary,
  setSqsMessageRecordReceives,
  sqsMessageRecordLength,
  sqsMessageRecordPrefix,
  sqsMessageRecordQueueIdBytes,
} from './message-record.js';

export interface SqsStoreOptions {
  segmentSizeBytes?: number;
  logger?: (line: string) => void;
  /** Sealed segments with at most this fraction of their records live are relocated (default 0.05). */
  relocateMaxLiveFraction?: number;
}

const LOG_DIR = 'log';
const DEDUP_DIR = 'dedup';
/** Records per read while recovering (payload bytes bound each read too). */
const RECOVERY_READ_RECORDS = 4096;
const RECOVERY_READ_BYTES = 16 * 1024 * 1024;
/**
 * A sealed segment whose live records are at most this fraction of its records has them rewritten
 * at the log's head so the file can go: copying ≤ 5 % of a segment frees all of it, and a backlog
 * being drained (its oldest segment emptying) is rarely copied needlessly.
 */
const RELOCATE_MAX_LIVE_FRACTION = 0.05;
/** The most recently sealed segment is left alone: its records are usually about to be deleted. */
const RELOCATE_SKIP_NEWEST_SEGMENTS = 1;
const NONE = -1;
const MIN_CAPACITY = 64;

/** A message's newest receive record, and the count and time it recorded (relocation writes them again). */
interface ReceiveRef extends LogLocation {
  segmentId: number;
  position: number;
  receiveCount: number;
  firstReceivedAtMs: number;
}

/**
 * Every live message record of the shared log, one slot each (a message's storageRef is its slot
 * number): where the record is, and its links in its queue's list of live records (send order),
 * so deleting the queue can ack them all. No content and no object per message: the queue keeps
 * content in memory while its memory window has room, and load() reads the record back.
 */
class SqsRefTable {
  capacity = 0;
  /** segmentId and position change when relocation moves the record (the queue keeps the slot). */
  segmentId = new Uint32Array(0);
  position = new Uint32Array(0);
  prev = new Int32Array(0);
  next = new Int32Array(0);
  /** 1 while the slot holds a live record. */
  live = new Uint8Array(0);
  /** The newest receive record of messages that have one (a redrive policy's queues). */
  readonly receives = new Map<number, ReceiveRef>();
  private freeHead = NONE;
  /** Slots freed while recovery runs: reused only after it (recovery finds records by slot order). */
  private deferred: number[] | undefined;

  alloc(segmentId: number, position: number): number {
    if (this.freeHead === NONE) this.grow();
    const slot = this.freeHead;
    this.freeHead = this.next[slot]!;
    this.segmentId[slot] = segmentId;
    this.position[slot] = position;
    this.prev[slot] = NONE;
    this.next[slot] = NONE;
    this.live[slot] = 1;
    return slot;
  }

  /** Frees a slot (its record is acked; it is unlinked from its list). */
  release(slot: number): void {
    this.live[slot] = 0;
    this.receives.delete(slot);
    if (this.deferred) {
      this.deferred.push(slot);
      return;
    }
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
  }

  location(slot: number): LogLocation {
    return { segmentId: this.segmentId[slot]!, position: this.position[slot]! };
  }

  isLive(slot: unknown): slot is number {
    return typeof slot === 'number' && slot >= 0 && slot < this.capacity && this.live[slot] === 1;
  }

  deferFrees(): void {
    this.deferred = [];
  }

  endDeferFrees(): void {
    const deferred = this.deferred ?? [];
    this.deferred = undefined;
    for (const slot of deferred) this.release(slot);
  }

  /** Makes room for `count` slots in all (recovery knows the log's unacked records: no growth garbage). */
  reserve(count: number): void {
    if (count > this.capacity) this.grow(count);
  }

  private grow(minCapacity = 0): void {
    const old = this.capacity;
    const capacity = grownCapacity(old, minCapacity, MIN_CAPACITY);
    this.segmentId = grownArray(this.segmentId, capacity);
    this.position = grownArray(this.position, capacity);
    this.prev = grownArray(this.prev, capacity);
    this.next = grownArray(this.next, capacity);
    this.live = grownArray(this.live, capacity);
    for (let slot = capacity - 1; slot >= old; slot--) {
      this.next[slot] = this.freeHead;
      this.freeHead = slot;
    }
    this.capacity = capacity;
  }
}

/** One queue's live records in send order: a doubly linked list through the table's slots. */
class SqsRefList {
  head = NONE;
  tail = NONE;
  count = 0;
  constructor(private readonly table: SqsRefTable) {}

  push(slot: number): void {
    const t = this.table;
    t.prev[slot] = this.tail;
    t.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else t.next[this.tail] = slot;
    this.tail = slot;
    this.count++;
  }

  unlink(slot: number): void {
    const t = this.table;
    const prev = t.prev[slot]!;
    const next = t.next[slot]!;
    if (prev === NONE) this.head = next;
    else t.next[prev] = next;
    if (next === NONE) this.tail = prev;
    else t.prev[next] = prev;
    t.prev[slot] = NONE;
    t.next[slot] = NONE;
    this.count--;
  }

  /** The slots in list order (a snapshot: the list may change while it is used). */
  slots(): Int32Array {
    const out = new Int32Array(this.count);
    let i = 0;
    for (let slot = this.head; slot !== NONE && i < out.length; slot = this.table.next[slot]!)
      out[i++] = slot;
    return out;
  }

  /** Acks every record of the list in `log`, frees the slots and empties it. */
  ackAll(log: QueueLog): void {
    const t = this.table;
    for (let slot = this.head; slot !== NONE; ) {
      const next = t.next[slot]!;
      log.ack(t.location(slot));
      const receive = t.receives.get(slot);
      if (receive) log.ack(receive);
      t.release(slot);
      slot = next;
    }
    this.head = NONE;
    this.tail = NONE;
    this.count = 0;
  }
}

/** The payload of a message record (SQS_MESSAGE, or the message inside an SQS_MESSAGE_COPY). */
function messagePayload(record: { type: number; payload: Buffer } | undefined): Buffer | undefined {
  if (record === undefined) return undefined;
  if (record.type === SQS_MESSAGE_RECORD_TYPE) return record.payload;
  if (record.type === SQS_MESSAGE_COPY_RECORD_TYPE && record.payload.length > SQS_COPY_HEADER_BYTES)
    return record.payload.subarray(SQS_COPY_HEADER_BYTES);
  return undefined;
}

/** The shared log while it is open, and the live records of queues that no view holds. */
class SqsSharedLog {
  closed = false;
  /** Queue id → live records, for queues not open (recovered and not yet opened, or closed). */
  readonly idle: Map<string, SqsRefList>;
  /** The segment the last append went to: a change means a segment was sealed. */
  private lastSegmentId = 0;

  constructor(
    readonly log: QueueLog,
    readonly table: SqsRefTable,
    idle: Map<string, SqsRefList>,
    private readonly onSealed: () => void,
  ) {
    this.idle = idle;
  }

  /** Appends `message`'s record (queue id prefix `prefix`) and returns its slot. */
  appendMessage(prefix: Buffer, message: SqsMessage): number {
    const log = this.log;
    const offset = log.beginAppend(SQS_MESSAGE_RECORD_TYPE, sqsMessageRecordLength(prefix, message));
    encodeSqsMessageRecord(log.appendBuffer, offset, prefix, message);
    const location = log.endAppend();
    this.noteSegment(location.segmentId);
    return this.table.alloc(location.segmentId, location.position);
  }

  /**
   * Appends a copy of the message record in `slot` naming it as its source and carrying its
   * newest receive count (relocation); undefined when it cannot be read.
   */
  copyMessage(slot: number): LogLocation | undefined {
    const source = this.table.location(slot);
    const record = this.log.readAt(source);
    const inner = messagePayload(record);
    if (record === undefined || inner === undefined) return undefined;
    // A copy of the bytes first: the read may point into a buffer the append reuses.
    const payload = Buffer.allocUnsafe(SQS_COPY_HEADER_BYTES + inner.length);
    // The copy names the message's first record (a copy of a copy names what its source names).
    if (record.type === SQS_MESSAGE_COPY_RECORD_TYPE)
      record.payload.copy(payload, 0, 0, SQS_COPY_HEADER_BYTES);
    else {
      payload.writeDoubleLE(source.segmentId, 0);
      payload.writeUInt32LE(source.position, 8);
    }
    inner.copy(payload, SQS_COPY_HEADER_BYTES);
    const receive = this.table.receives.get(slot);
    if (receive)
      setSqsMessageRecordReceives(
        payload.subarray(SQS_COPY_HEADER_BYTES),
        receive.receiveCount,
        receive.firstReceivedAtMs,
      );
    const location = this.log.append(SQS_MESSAGE_COPY_RECORD_TYPE, payload);
    this.noteSegment(location.segmentId);
    return location;
  }

  /** The payload of the message record in `slot`; throws when it cannot be read. */
  private readMessage(slot: number): Buffer {
    const payload = this.closed ? undefined : messagePayload(this.log.readAt(this.table.location(slot)));
    if (payload === undefined) {
      throw new Error(
        `sqs store ${this.log.dir}: the message record at segment ${this.table.segmentId[slot]} byte ${this.table.position[slot]} cannot be read (gone or corrupt)`,
      );
    }
    return payload;
  }

  /** The whole message recorded in `slot`, with the receive count and time last recorded. */
  loadMessage(slot: number): SqsMessage {
    const { message } = decodeSqsMessageRecord(this.readMessage(slot));
    const receive = this.table.receives.get(slot);
    if (receive) {
      message.receiveCount = receive.receiveCount;
      message.firstReceivedAtMs = receive.firstReceivedAtMs;
    }
    return message;
  }

  /** The index fields of the message in `slot` (into `out`), with the newest receive applied. */
  loadSummary(slot: number, out: SqsMessageSummary): SqsMessageSummary {
    decodeSqsMessageSummary(this.readMessage(slot), out);
    const receive = this.table.receives.get(slot);
    if (receive) {
      out.receiveCount = receive.receiveCount;
      out.firstReceivedAtMs = receive.firstReceivedAtMs;
    }
    return out;
  }

  /** Appends a receive record for the message record in `slot` with the given count and time. */
  appendReceive(slot: number, receiveCount: number, firstReceivedAtMs: number): LogLocation {
    const log = this.log;
    const offset = log.beginAppend(SQS_RECEIVE_RECORD_TYPE, SQS_RECEIVE_RECORD_BYTES);
    encodeSqsReceiveRecord(
      log.appendBuffer,
      offset,
      this.table.segmentId[slot]!,
      this.table.position[slot]!,
      receiveCount,
      firstReceivedAtMs,
    );
    const location = log.endAppend();
    this.noteSegment(location.segmentId);
    return location;
  }

  private noteSegment(segmentId: number): void {
    if (segmentId === this.lastSegmentId) return;
    this.lastSegmentId = segmentId;
    this.onSealed();
  }
}

function emptySummary(): SqsMessageSummary {
  return {
    queueId: '',
    sentAtMs: 0,
    visibleFromMs: 0,
    firstReceivedAtMs: 0,
    receiveCount: 0,
    sizeBytes: 0,
    messageGroupId: undefined,
    sequenceNumber: undefined,
  };
}

/** A sequence number (decimal digits) as two exact doubles: all but the last 10 digits, and those. */
function sequenceHigh(sequence: string): number {
  return sequence.length > 10 ? Number(sequence.slice(0, -10)) : 0;
}
function sequenceLow(sequence: string): number {
  return Number(sequence.slice(-10));
}

/** One SQS queue's view of the shared log. */
export class DiskSqsMessageStore implements SqsMessageStore {
  readonly queueId: string;
  private readonly shared: SqsSharedLog;
  private readonly log: QueueLog;
  private readonly table: SqsRefTable;
  /** Version and queue id, the first bytes of each of this queue's message records. */
  private readonly prefix: Buffer;
  private readonly live: SqsRefList;
  /** recoverIndex() not called yet. */
  private recoverPending = true;
  /** Superseded receive records of this turn, acked once this turn's writes are durable. */
  private supersededReceives: LogLocation[] | undefined;
  /** Messages (slots) whose removal waits for durability (removeAfterDurable). */
  private readonly removalsWaiting = new Set<number>();
  private closed = false;

  /** Opened by DiskSqsStorage.openMessageStore. */
  constructor(
    queueId: string,
    shared: SqsSharedLog,
    live: SqsRefList,
    private readonly committer: GroupCommitter,
    private readonly onRelease: (live: SqsRefList, destroyed: boolean) => void,
  ) {
    this.queueId = queueId;
    this.shared = shared;
    this.log = shared.log;
    this.table = shared.table;
    this.prefix = sqsMessageRecordPrefix(queueId);
    this.live = live;
  }

  /** Segment files of the shared log (for tests and metrics). */
  get segmentCount(): number {
    return this.log.segmentCount;
  }

  /** Where the record of a stored message is now (tests). */
  locationOf(message: SqsStoredMessage): LogLocation | undefined {
    return this.table.isLive(message.storageRef) ? this.table.location(message.storageRef) : undefined;
  }

  pendingRecoveryCount(): number {
    return this.recoverPending && !this.closed ? this.live.count : 0;
  }

  recoverIndex(visit: (message: SqsRecoveredMessage) => void): void {
    if (!this.recoverPending || this.closed) return;
    this.recoverPending = false;
    let slots = this.live.slots();
    const summary = emptySummary();
    // Relocation moves records to the log's head: a FIFO queue's order is its sequence numbers'.
    // A FIFO queue's records are read twice (once for the numbers), a standard queue's once.
    const first = slots.length > 0 ? this.trySummary(slots[0]!, summary) : undefined;
    if (first?.sequenceNumber !== undefined) slots = this.inSequenceOrder(slots, summary);
    const recovered = {
      storageRef: 0 as unknown,
      receiveCount: 0,
      firstReceivedAtMs: 0,
      sentAtMs: 0,
      visibleFromMs: 0,
      sizeBytes: 0,
      messageGroupId: undefined as string | undefined,
      sequenceNumber: undefined as string | undefined,
    };
    for (const slot of slots) {
      if (!this.table.isLive(slot) || this.trySummary(slot, summary) === undefined) continue;
      recovered.storageRef = slot;
      recovered.receiveCount = summary.receiveCount;
      recovered.firstReceivedAtMs = summary.firstReceivedAtMs;
      recovered.sentAtMs = summary.sentAtMs;
      recovered.visibleFromMs = summary.visibleFromMs;
      recovered.sizeBytes = summary.sizeBytes;
      recovered.messageGroupId = summary.messageGroupId;
      recovered.sequenceNumber = summary.sequenceNumber;
      visit(recovered);
    }
  }

  /** The summary of `slot`'s record; a record that cannot be read is dropped (never served damaged). */
  private trySummary(slot: number, out: SqsMessageSummary): SqsMessageSummary | undefined {
    try {
      return this.shared.loadSummary(slot, out);
    } catch {
      this.removeRef(slot);
      return undefined;
    }
  }

  /** `slots` sorted by their records' sequence numbers (already sorted: returned as they are). */
  private inSequenceOrder(slots: Int32Array, summary: SqsMessageSummary): Int32Array {
    // Indexed by place in `slots` (not by slot): sized by this queue, not by the whole log.
    const high = new Float64Array(slots.length);
    const low = new Float64Array(slots.length);
    let sorted = true;
    for (let i = 0; i < slots.length; i++) {
      const sequence = this.trySummary(slots[i]!, summary)?.sequenceNumber;
      high[i] = sequence === undefined ? Number.POSITIVE_INFINITY : sequenceHigh(sequence);
      low[i] = sequence === undefined ? 0 : sequenceLow(sequence);
      if (i > 0 && (high[i]! < high[i - 1]! || (high[i] === high[i - 1] && low[i]! < low[i - 1]!)))
        sorted = false;
    }
    if (sorted) return slots;
    const order = Array.from(slots.keys()).sort((a, b) => high[a]! - high[b]! || low[a]! - low[b]!);
    return Int32Array.from(order, (i) => slots[i]!);
  }

  /** The whole messages recoverIndex() names, read back (tests and tools; queues page them in). */
  recover(): SqsMessage[] {
    const messages: SqsMessage[] = [];
    this.recoverIndex((stored) => {
      const message = this.load(stored);
      message.storageRef = stored.storageRef;
      messages.push(message);
    });
    return messages;
  }

  load(stored: SqsStoredMessage): SqsMessage {
    const slot = stored.storageRef;
    if (!this.table.isLive(slot))
      throw new Error(`sqs store ${this.log.dir}: no stored record for this message (removed)`);
    return this.shared.loadMessage(slot);
  }

  append(message: SqsMessage): void {
    const slot = this.shared.appendMessage(this.prefix, message);
    this.live.push(slot);
    message.storageRef = slot;
  }

  recordReceive(message: SqsStoredMessage): void {
    const slot = message.storageRef;
    if (!this.table.isLive(slot) || this.closed) return;
    const previous = this.table.receives.get(slot);
    const location = this.shared.appendReceive(slot, message.receiveCount, message.firstReceivedAtMs);
    this.table.receives.set(slot, {
      segmentId: location.segmentId,
      position: location.position,
      receiveCount: message.receiveCount,
      firstReceivedAtMs: message.firstReceivedAtMs,
    });
    if (previous) this.ackWhenDurable({ segmentId: previous.segmentId, position: previous.position });
  }

  /**
   * Rewrites at the log's head every live record of this queue that sits in one of `sparse`
   * segments (see DiskSqsStorage.relocateSparseSegments), adding the locations it replaced to `replaced`.
   */
  relocate(sparse: ReadonlySet<number>, replaced: LogLocation[]): number {
    if (this.closed) return 0;
    return relocateList(this.shared, this.live, sparse, replaced, this.removalsWaiting);
  }

  /** One array and one callback per event-loop turn, however many receives the turn records. */
  private ackWhenDurable(location: LogLocation): void {
    let batch = this.supersededReceives;
    if (!batch) {
      const created: LogLocation[] = [];
      batch = created;
      this.supersededReceives = created;
      // The batch closes with this turn: a later turn's records are not covered by this round.
      queueMicrotask(() => {
        if (this.supersededReceives === created) this.supersededReceives = undefined;
      });
      const shared = this.shared;
      // Acked even if this queue was closed or deleted meanwhile: the log is shared and stays.
      this.committer.afterDurable(() => {
        if (shared.closed) return;
        for (const l of created) shared.log.ack(l);
      });
    }
    batch.push(location);
  }

  remove(message: SqsStoredMessage): void {
    const slot = message.storageRef;
    if (this.table.isLive(slot)) this.removeRef(slot);
  }

  private removeRef(slot: number): void {
    if (!this.table.isLive(slot) || this.closed) return;
    this.live.unlink(slot);
    this.removalsWaiting.delete(slot);
    this.log.ack(this.table.location(slot));
    const receive = this.table.receives.get(slot);
    if (receive) this.log.ack(receive);
    this.table.release(slot);
  }

  removeAfterDurable(message: SqsStoredMessage): void {
    const slot = message.storageRef;
    if (!this.table.isLive(slot) || this.closed) return;
    // Acking now could let the ack (or the deletion of a fully acked segment, which is immediate)
    // reach the disk before the copy written to another queue in this turn.
    this.removalsWaiting.add(slot);
    this.committer.afterDurable(() => {
      if (this.removalsWaiting.delete(slot)) this.removeRef(slot);
    });
  }

  destroy(): void {
    const wasClosed = this.closed;
    this.closed = true;
    this.removalsWaiting.clear();
    this.recoverPending = false;
    // Once closed, the records are no longer this view's: the storage acks them if still idle.
    if (!wasClosed && !this.shared.closed) this.live.ackAll(this.log);
    this.onRelease(this.live, true);
  }

  close(): void {
    if (this.closed) return;
    // A clean shutdown writes the copies too (the committer flushes everything after this).
    for (const slot of this.removalsWaiting) this.removeRef(slot);
    this.removalsWaiting.clear();
    this.closed = true;
    this.recoverPending = false;
    this.onRelease(this.live, false);
  }
}

/**
 * Rewrites the live records of `list` found in `sparse` segments at the log's head: the message
 * record (copied, naming its source) and its newest receive record pointing at the copy; the slot
 * moves to the copy in place. The caller acks the old records (`replaced`) once the copies are
 * durable; a crash before that finds both, and recovery keeps the copy. Messages whose removal
 * waits are left alone. Returns the messages moved.
 */
function relocateList(
  shared: SqsSharedLog,
  list: SqsRefList,
  sparse: ReadonlySet<number>,
  replaced: LogLocation[],
  removalsWaiting?: ReadonlySet<number>,
): number {
  const t = shared.table;
  let moved = 0;
  for (let slot = list.head; slot !== NONE; slot = t.next[slot]!) {
    const receive = t.receives.get(slot);
    const pinning =
      sparse.has(t.segmentId[slot]!) || (receive !== undefined && sparse.has(receive.segmentId));
    const copy = pinning && !removalsWaiting?.has(slot) ? shared.copyMessage(slot) : undefined;
    if (!copy) continue;
    // The slot moves to the copy in place (its queue holds it); the old records are acked later.
    replaced.push(t.location(slot));
    t.segmentId[slot] = copy.segmentId;
    t.position[slot] = copy.position;
    if (receive) {
      replaced.push({ segmentId: receive.segmentId, position: receive.position });
      const location = shared.appendReceive(slot, receive.receiveCount, receive.firstReceivedAtMs);
      receive.segmentId = location.segmentId;
      receive.position = location.position;
    }
    moved++;
  }
  return moved;
}

/**
 * Where recovery put each segment's message records: slots are taken in log order while it runs
 * (freed ones are not reused until it ends), so a segment's records hold consecutive slots with
 * increasing positions, and a record is found by binary search (no map per record).
 */
class RecoveredSegments {
  private readonly ranges = new Map<number, { start: number; end: number }>();

  constructor(private readonly table: SqsRefTable) {}

  note(segmentId: number, slot: number): void {
    const range = this.ranges.get(segmentId);
    if (range) range.end = slot + 1;
    else this.ranges.set(segmentId, { start: slot, end: slot + 1 });
  }

  /** The live slot of the message record at (segmentId, position), or NONE. */
  find(segmentId: number, position: number): number {
    const range = this.ranges.get(segmentId);
    if (!range) return NONE;
    const positions = this.table.position;
    let low = range.start;
    let high = range.end;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (positions[mid]! < position) low = mid + 1;
      else high = mid;
    }
    return low < range.end && positions[low] === position && this.table.live[low] === 1 ? low : NONE;
  }
}

/**
 * Reads every unacked record of the shared log once: each queue's message records in log order
 * (a slot each, nothing decoded kept), with their newest receive records. Acks what is garbage
 * (undecodable records, receive records of removed messages, superseded ones, the sources of
 * relocated copies, unknown record types).
 */
function recoverSharedLog(
  log: QueueLog,
  table: SqsRefTable,
  logger: (line: string) => void,
): Map<string, SqsRefList> {
  const byQueue = new Map<string, SqsRefList>();
  const segments = new RecoveredSegments(table);
  // Which list holds each slot (while recovery runs): a copy's source is unlinked from it.
  const owners: SqsRefList[] = [];
  // The newest copy of each relocated message, by its first record's location (segment * 2^32 +
  // position): copies only, few.
  const copies = new Map<number, number>();
  let dropped = 0;
  table.reserve(log.unackedCount);
  table.deferFrees();
  for (;;) {
    const records = log.readNext(RECOVERY_READ_RECORDS, RECOVERY_READ_BYTES);
    if (records.length === 0) break;
    for (const record of records) {
      const location: LogLocation = { segmentId: record.segmentId, position: record.position };
      const payload = messagePayload(record);
      if (payload !== undefined) {
        let queueId: string;
        try {
          queueId = sqsMessageRecordQueueIdBytes(payload).toString('utf8');
        } catch (err) {
          logger(`sqs store ${log.dir}: dropping undecodable message record: ${(err as Error).message}`);
          log.ack(location);
          continue;
        }
        let copyOf: number | undefined;
        if (record.type === SQS_MESSAGE_COPY_RECORD_TYPE) {
          // A relocated copy whose older records (the first, or an earlier copy) were not all acked
          // yet: the newest copy (with the newest count) stays. Acks may reach the disk in any
          // order, so the older record found is looked up by the message's first location.
          const firstSegmentId = record.payload.readDoubleLE(0);
          const firstPosition = record.payload.readUInt32LE(8);
          copyOf = firstSegmentId * 2 ** 32 + firstPosition;
          const older = copies.get(copyOf);
          const source =
            older !== undefined && table.live[older] === 1
              ? older
              : segments.find(firstSegmentId, firstPosition);
          if (source !== NONE) {
            owners[source]?.unlink(source);
            log.ack(table.location(source));
            const receive = table.receives.get(source);
            if (receive) log.ack(receive);
            table.release(source);
          }
        }
        const slot = table.alloc(record.segmentId, record.position);
        segments.note(record.segmentId, slot);
        let list = byQueue.get(queueId);
        if (!list) {
          list = new SqsRefList(table);
          byQueue.set(queueId, list);
        }
        list.push(slot);
        owners[slot] = list;
        if (copyOf !== undefined) copies.set(copyOf, slot);
        continue;
      }
      const receive =
        record.type === SQS_RECEIVE_RECORD_TYPE ? decodeSqsReceiveRecord(record.payload) : undefined;
      const slot = receive ? segments.find(receive.segmentId, receive.position) : NONE;
      if (!receive || slot === NONE) {
        if (!receive) dropped++;
        log.ack(location);
        continue;
      }
      const previous = table.receives.get(slot);
      if (previous) log.ack(previous);
      table.receives.set(slot, {
        segmentId: record.segmentId,
        position: record.position,
        receiveCount: receive.receiveCount,
        firstReceivedAtMs: receive.firstReceivedAtMs,
      });
    }
  }
  table.endDeferFrees();
  if (dropped > 0) logger(`sqs store ${log.dir}: dropped ${dropped} records of unknown type`);
  return byQueue;
}

function removeDirIfEmpty(fs: StorageFs, dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty or already gone
  }
}

/** Queue ids used as directory names as they are when safe; others by their SHA-1 ('_' prefix). */
const SAFE_DIR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function sqsQueueDirName(queueId: string): string {
  if (SAFE_DIR_NAME.test(queueId) && queueId !== LOG_DIR) return queueId;
  return `_${createHash('sha1').update(queueId).digest('hex')}`;
}

/** The SQS queues' stores under `<dataDir>/sqs`. */
export class DiskSqsStorage implements SqsStorage {
  readonly root: string;
  private shared: SqsSharedLog | undefined;
  /** Open message stores by queue id. */
  private readonly openMessageStores = new Map<string, DiskSqsMessageStore>();
  /** Open dedup stores by directory name. */
  private readonly openDedupStores = new Map<string, DiskDedupStore>();
  private relocation: NodeJS.Immediate | undefined;

  constructor(
    dataDir: string,
    private readonly committer: GroupCommitter,
    private readonly options: SqsStoreOptions = {},
  ) {
    this.root = join(dataDir, 'sqs');
    mkdirDurable(this.root, this.committer.fs, this.committer.policy === 'always');
  }

  queueDir(queueId: string): string {
    return join(this.root, sqsQueueDirName(queueId));
  }

  /** The shared log, opened and recovered on first use. */
  private sharedLog(): SqsSharedLog {
    if (this.shared) return this.shared;
    const logger = this.options.logger ?? (() => {});
    const dir = join(this.root, LOG_DIR);
    const created = !this.committer.fs.existsSync(dir);
    const log = QueueLog.open(dir, this.committer, {
      segmentSizeBytes: this.options.segmentSizeBytes,
      logger,
    });
    if (created && this.committer.policy === 'always') fsyncDir(this.root, this.committer.fs);
    const table = new SqsRefTable();
    this.shared = new SqsSharedLog(log, table, recoverSharedLog(log, table, logger), () =>
      this.scheduleRelocation(),
    );
    return this.shared;
  }

  /** After a segment is sealed: look for sparse segments once the current turn is done. */
  private scheduleRelocation(): void {
    if (this.relocation) return;
    this.relocation = setImmediate(() => {
      this.relocation = undefined;
      this.relocateSparseSegments();
    });
  }

  /**
   * Lets the shared log drop segments kept only by a few long-lived messages (a dead-letter queue's,
   * say, among millions deleted around them): the live records of sealed segments holding at most
   * RELOCATE_MAX_LIVE_FRACTION live records are rewritten at the log's head, and the old records
   * acked once the copies are durable. Runs after each sealed segment; returns the records moved.
   */
  relocateSparseSegments(): number {
    const shared = this.shared;
    if (!shared || shared.closed) return 0;
    const maxLiveFraction = this.options.relocateMaxLiveFraction ?? RELOCATE_MAX_LIVE_FRACTION;
    const sparse = new Set(shared.log.sparseSegments(maxLiveFraction, RELOCATE_SKIP_NEWEST_SEGMENTS));
    if (sparse.size === 0) return 0;
    const replaced: LogLocation[] = [];
    let moved = 0;
    for (const list of shared.idle.values()) moved += relocateList(shared, list, sparse, replaced);
    for (const store of this.openMessageStores.values()) moved += store.relocate(sparse, replaced);
    if (moved === 0) return 0;
    this.committer.afterDurable(() => {
      if (shared.closed) return;
      for (const location of replaced) shared.log.ack(location);
    });
    return moved;
  }

  /** Segment files of the shared log (for tests and metrics). */
  get segmentCount(): number {
    return this.sharedLog().log.segmentCount;
  }

  openMessageStore(queueId: string): DiskSqsMessageStore {
    if (this.openMessageStores.has(queueId))
      throw new Error(`SQS message store of queue id '${queueId}' is already open`);
    const shared = this.sharedLog();
    const live = shared.idle.get(queueId) ?? new SqsRefList(shared.table);
    shared.idle.delete(queueId);
    const store = new DiskSqsMessageStore(queueId, shared, live, this.committer, (list, destroyed) => {
      if (this.openMessageStores.get(queueId) === store) this.openMessageStores.delete(queueId);
      if (shared.closed) return;
      if (destroyed) {
        // Deleted after a close: ack what the close handed back, unless a newer view holds it.
        const idle = this.openMessageStores.has(queueId) ? undefined : shared.idle.get(queueId);
        idle?.ackAll(shared.log);
        shared.idle.delete(queueId);
        return;
      }
      if (list.head === NONE) return;
      // Closed, not deleted: a later open in this process takes the records back.
      shared.idle.set(queueId, list);
    });
    this.openMessageStores.set(queueId, store);
    return store;
  }

  openDedupStore(queueId: string): DiskDedupStore {
    const name = sqsQueueDirName(queueId);
    const dir = join(this.root, name);
    if (this.openDedupStores.has(name))
      throw new Error(`SQS deduplication store of queue id '${queueId}' is already open`);
    if (!this.committer.fs.existsSync(dir)) {
      mkdirDurable(dir, this.committer.fs, this.committer.policy === 'always');
      if (this.committer.policy === 'always') fsyncDir(this.root, this.committer.fs);
    }
    const store = DiskDedupStore.open(join(dir, DEDUP_DIR), this.committer, this.options, () => {
      this.openDedupStores.delete(name);
      removeDirIfEmpty(this.committer.fs, dir);
    });
    this.openDedupStores.set(name, store);
    return store;
  }

  removeOrphans(keep: ReadonlySet<string>): void {
    const shared = this.sharedLog();
    for (const [queueId, list] of shared.idle) {
      if (keep.has(queueId)) continue;
      this.options.logger?.(`storage: removing the messages of unknown SQS queue id '${queueId}'`);
      list.ackAll(shared.log);
      shared.idle.delete(queueId);
    }
    const wanted = new Set<string>([LOG_DIR]);
    for (const id of keep) wanted.add(sqsQueueDirName(id));
    for (const id of this.openMessageStores.keys()) wanted.add(sqsQueueDirName(id));
    for (const name of this.committer.fs.readdirSync(this.root)) {
      if (wanted.has(name) || this.openDedupStores.has(name)) continue;
      this.options.logger?.(`storage: removing data of unknown SQS queue in ${join(this.root, name)}`);
      this.committer.fs.rmSync(join(this.root, name), { recursive: true, force: true });
    }
  }

  /** Closes every open store and the shared log (broker shutdown; the committer then syncs). */
  close(): void {
    for (const store of [...this.openMessageStores.values()]) store.close();
    for (const store of [...this.openDedupStores.values()]) store.close();
    if (this.relocation) clearImmediate(this.relocation);
    this.relocation = undefined;
    const shared = this.shared;
    if (!shared) return;
    this.shared = undefined;
    shared.closed = true;
    shared.idle.clear();
    shared.log.close();
  }
}
