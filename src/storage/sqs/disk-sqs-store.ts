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
 * segment is sealed, the live records of sparse older segments are rewritten at the log's head and
 * the old ones acked once the copies are durable (relocateSparseSegments). A crash in between leaves
 * two records of one message; recovery keeps the later. Recovery returns a queue's messages in log
 * order, FIFO queues' sorted by sequence number (a standard queue's order after a restart is
 * best-effort, as SQS's is).
 *
 * A removed message is an ack of its record. recordReceive appends a 24-byte SQS_RECEIVE record
 * (the message's location, count, first-receive time) rather than rewriting the message record in
 * place: the segment files stay append-only with whole-record CRCs, and nothing is waited for. The
 * receive record a newer one supersedes is acked once the newer one is durable (so a crash never
 * loses both); recovery applies, per message, the newest receive record in log order, and acks
 * receive records of removed messages.
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
import { DiskDedupStore } from '../disk-dedup-store.js';
import { fsyncDir, type GroupCommitter, mkdirDurable } from '../group-commit.js';
import { type LogLocation, QueueLog } from '../queue-log.js';
import type { StorageFs } from '../storage-fs.js';
import {
  decodeSqsMessageRecord,
  decodeSqsReceiveRecord,
  encodeSqsMessageRecord,
  encodeSqsReceiveRecord,
  SQS_MESSAGE_RECORD_TYPE,
  SQS_RECEIVE_RECORD_BYTES,
  SQS_RECEIVE_RECORD_TYPE,
  setSqsMessageRecordReceives,
  sqsMessageRecordLength,
  sqsMessageRecordPrefix,
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

/** What recovery read of a message record and its queue needs to index it (until the queue opens). */
interface RecoveredSummary {
  readonly sentAtMs: number;
  readonly visibleFromMs: number;
  readonly sizeBytes: number;
  readonly messageGroupId: string | undefined;
  readonly sequenceNumber: string | undefined;
}

/**
 * A message's storageRef: where its record is, its newest receive record if any (and the count and
 * time it recorded, which relocation writes again), and its links in its queue's list of live
 * records (send order), so deleting the queue can ack them all. It holds no content: the queue
 * keeps that in memory while its memory window has room, and load() reads the record back.
 */
class SqsStoredRef implements LogLocation {
  receive: LogLocation | undefined;
  removed = false;
  prev: SqsStoredRef | undefined;
  next: SqsStoredRef | undefined;
  receiveCount = 0;
  firstReceivedAtMs = 0;
  /** From recovery until the queue takes its index (recoverIndex), then dropped. */
  summary: RecoveredSummary | undefined;
  /** segmentId and position change when relocation moves the record (the queue keeps this ref). */
  constructor(
    public segmentId: number,
    public position: number,
  ) {}
}

/** One queue's live records in send order (intrusive: no allocation per message). */
class SqsRefList {
  head: SqsStoredRef | undefined;
  tail: SqsStoredRef | undefined;
  push(ref: SqsStoredRef): void {
    ref.prev = this.tail;
    ref.next = undefined;
    if (this.tail) this.tail.next = ref;
    else this.head = ref;
    this.tail = ref;
  }

  unlink(ref: SqsStoredRef): void {
    if (ref.prev) ref.prev.next = ref.next;
    else if (this.head === ref) this.head = ref.next;
    if (ref.next) ref.next.prev = ref.prev;
    else if (this.tail === ref) this.tail = ref.prev;
    ref.prev = undefined;
    ref.next = undefined;
  }

  /** Puts `fresh` where `old` is (a relocated record keeps its place in send order). */
  replace(old: SqsStoredRef, fresh: SqsStoredRef): void {
    fresh.prev = old.prev;
    fresh.next = old.next;
    if (old.prev) old.prev.next = fresh;
    else this.head = fresh;
    if (old.next) old.next.prev = fresh;
    else this.tail = fresh;
    old.prev = undefined;
    old.next = undefined;
  }

  /** Acks every record of the list in `log` and empties it. */
  ackAll(log: QueueLog): void {
    for (let ref = this.head; ref; ref = ref.next) {
      ref.removed = true;
      log.ack(ref);
      if (ref.receive) log.ack(ref.receive);
    }
    this.head = undefined;
    this.tail = undefined;
  }
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
    idle: Map<string, SqsRefList>,
    private readonly onSealed: () => void,
  ) {
    this.idle = idle;
  }

  /** Appends `message`'s record (queue id prefix `prefix`) and returns its ref. */
  appendMessage(prefix: Buffer, message: SqsMessage): SqsStoredRef {
    const log = this.log;
    const offset = log.beginAppend(SQS_MESSAGE_RECORD_TYPE, sqsMessageRecordLength(prefix, message));
    encodeSqsMessageRecord(log.appendBuffer, offset, prefix, message);
    const location = log.endAppend();
    this.noteSegment(location.segmentId);
    const ref = new SqsStoredRef(location.segmentId, location.position);
    ref.receiveCount = message.receiveCount;
    ref.firstReceivedAtMs = message.firstReceivedAtMs;
    return ref;
  }

  /**
   * Appends a copy of the record at `ref` carrying its newest receive count (relocation); undefined
   * when it cannot be read.
   */
  copyMessage(ref: SqsStoredRef): LogLocation | undefined {
    const record = this.log.readAt(ref);
    if (record === undefined || record.type !== SQS_MESSAGE_RECORD_TYPE) return undefined;
    setSqsMessageRecordReceives(record.payload, ref.receiveCount, ref.firstReceivedAtMs);
    const location = this.log.append(SQS_MESSAGE_RECORD_TYPE, record.payload);
    this.noteSegment(location.segmentId);
    return location;
  }

  /** The whole message recorded at `ref`, with the receive count and time last recorded. */
  loadMessage(ref: SqsStoredRef): SqsMessage {
    const record = this.closed ? undefined : this.log.readAt(ref);
    if (record === undefined || record.type !== SQS_MESSAGE_RECORD_TYPE) {
      throw new Error(
        `sqs store ${this.log.dir}: the message record at segment ${ref.segmentId} byte ${ref.position} cannot be read (gone or corrupt)`,
      );
    }
    const { message } = decodeSqsMessageRecord(record.payload);
    message.receiveCount = ref.receiveCount;
    message.firstReceivedAtMs = ref.firstReceivedAtMs;
    return message;
  }

  /** Appends a receive record with `ref`'s count for the message record at `ref`. */
  appendReceive(ref: SqsStoredRef): LogLocation {
    const log = this.log;
    const offset = log.beginAppend(SQS_RECEIVE_RECORD_TYPE, SQS_RECEIVE_RECORD_BYTES);
    encodeSqsReceiveRecord(
      log.appendBuffer,
      offset,
      ref.segmentId,
      ref.position,
      ref.receiveCount,
      ref.firstReceivedAtMs,
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

/** One SQS queue's view of the shared log. */
export class DiskSqsMessageStore implements SqsMessageStore {
  readonly queueId: string;
  private readonly shared: SqsSharedLog;
  private readonly log: QueueLog;
  /** Version and queue id, the first bytes of each of this queue's message records. */
  private readonly prefix: Buffer;
  private readonly live: SqsRefList;
  /** recoverIndex() not called yet. */
  private recoverPending = true;
  /** Superseded receive records of this turn, acked once this turn's writes are durable. */
  private supersededReceives: LogLocation[] | undefined;
  /** Messages whose removal waits for durability (removeAfterDurable). */
  private readonly removalsWaiting = new Set<SqsStoredRef>();
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
    this.prefix = sqsMessageRecordPrefix(queueId);
    this.live = live;
  }

  /** Segment files of the shared log (for tests and metrics). */
  get segmentCount(): number {
    return this.log.segmentCount;
  }

  recoverIndex(): SqsRecoveredMessage[] {
    if (!this.recoverPending || this.closed) return [];
    this.recoverPending = false;
    const recovered: SqsRecoveredMessage[] = [];
    for (let ref = this.live.head; ref; ref = ref.next) {
      // Records handed back by a queue closed in this process have no summary left: read them.
      const summary = ref.summary ?? summarize(this.shared.loadMessage(ref));
      ref.summary = undefined;
      recovered.push({
        storageRef: ref,
        receiveCount: ref.receiveCount,
        firstReceivedAtMs: ref.firstReceivedAtMs,
        sentAtMs: summary.sentAtMs,
        visibleFromMs: summary.visibleFromMs,
        sizeBytes: summary.sizeBytes,
        messageGroupId: summary.messageGroupId,
        sequenceNumber: summary.sequenceNumber,
      });
    }
    // Relocation moves records to the log's head: a FIFO queue's order is its sequence numbers'.
    if (recovered.some((m, i) => i > 0 && compareSequence(recovered[i - 1]!, m) > 0))
      recovered.sort(compareSequence);
    return recovered;
  }

  /** The whole messages recoverIndex() names, read back (tests and tools; queues page them in). */
  recover(): SqsMessage[] {
    return this.recoverIndex().map((stored) => {
      const message = this.load(stored);
      message.storageRef = stored.storageRef;
      return message;
    });
  }

  load(stored: SqsStoredMessage): SqsMessage {
    return this.shared.loadMessage(stored.storageRef as SqsStoredRef);
  }

  append(message: SqsMessage): void {
    const ref = this.shared.appendMessage(this.prefix, message);
    this.live.push(ref);
    message.storageRef = ref;
  }

  recordReceive(message: SqsStoredMessage): void {
    const ref = message.storageRef as SqsStoredRef | undefined;
    if (!ref || ref.removed || this.closed) return;
    const previous = ref.receive;
    ref.receiveCount = message.receiveCount;
    ref.firstReceivedAtMs = message.firstReceivedAtMs;
    ref.receive = this.shared.appendReceive(ref);
    if (previous) this.ackWhenDurable(previous);
  }

  /**
   * Rewrites at the log's head every live record of this queue that sits in one of `sparse`
   * segments (see DiskSqsStorage.relocateSparseSegments), adding the refs it replaced to `replaced`.
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
    const ref = message.storageRef as SqsStoredRef | undefined;
    if (ref) this.removeRef(ref);
  }

  private removeRef(ref: SqsStoredRef): void {
    if (ref.removed || this.closed) return;
    ref.removed = true;
    this.live.unlink(ref);
    this.removalsWaiting.delete(ref);
    this.log.ack(ref);
    if (ref.receive) this.log.ack(ref.receive);
  }

  removeAfterDurable(message: SqsStoredMessage): void {
    const ref = message.storageRef as SqsStoredRef | undefined;
    if (!ref || ref.removed || this.closed) return;
    // Acking now could let the ack (or the deletion of a fully acked segment, which is immediate)
    // reach the disk before the copy written to another queue in this turn.
    this.removalsWaiting.add(ref);
    this.committer.afterDurable(() => {
      if (this.removalsWaiting.delete(ref)) this.removeRef(ref);
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
    for (const ref of this.removalsWaiting) this.removeRef(ref);
    this.removalsWaiting.clear();
    this.closed = true;
    this.recoverPending = false;
    this.onRelease(this.live, false);
  }
}

function summarize(message: SqsMessage): RecoveredSummary {
  return {
    sentAtMs: message.sentAtMs,
    visibleFromMs: message.visibleFromMs,
    sizeBytes: message.sizeBytes,
    messageGroupId: message.messageGroupId,
    sequenceNumber: message.sequenceNumber,
  };
}

/** FIFO messages by sequence number (20 digits); others (no number) keep their order. */
function compareSequence(a: SqsRecoveredMessage, b: SqsRecoveredMessage): number {
  if (a.sequenceNumber === undefined || b.sequenceNumber === undefined) return 0;
  if (a.sequenceNumber.length !== b.sequenceNumber.length)
    return a.sequenceNumber.length - b.sequenceNumber.length;
  return a.sequenceNumber < b.sequenceNumber ? -1 : a.sequenceNumber > b.sequenceNumber ? 1 : 0;
}

/**
 * Rewrites the live records of `list` found in `sparse` segments at the log's head: the message
 * record (its bytes copied) and its newest receive record pointing at the copy; the ref moves to
 * the copy in place. The caller acks the old records (`replaced`) once the copies are durable; a
 * crash before that finds both, and recovery keeps the later copy. Messages whose removal waits
 * are left alone. Returns the messages moved.
 */
function relocateList(
  shared: SqsSharedLog,
  list: SqsRefList,
  sparse: ReadonlySet<number>,
  replaced: LogLocation[],
  removalsWaiting?: ReadonlySet<SqsStoredRef>,
): number {
  let moved = 0;
  for (let ref = list.head; ref; ref = ref.next) {
    const pinning =
      sparse.has(ref.segmentId) || (ref.receive !== undefined && sparse.has(ref.receive.segmentId));
    const copy = pinning && !removalsWaiting?.has(ref) ? shared.copyMessage(ref) : undefined;
    if (!copy) continue;
    // The ref moves to the copy in place (its queue holds it); the old records are acked later.
    replaced.push({ segmentId: ref.segmentId, position: ref.position });
    if (ref.receive) replaced.push(ref.receive);
    ref.segmentId = copy.segmentId;
    ref.position = copy.position;
    if (ref.receive) ref.receive = shared.appendReceive(ref);
    moved++;
  }
  return moved;
}

/**
 * Reads every unacked record of the shared log: each queue's messages in log order with their
 * newest receive applied. Acks what is garbage (undecodable records, receive records of removed
 * messages, superseded ones, unknown record types).
 */
function recoverSharedLog(log: QueueLog, logger: (line: string) => void): Map<string, SqsRefList> {
  const byQueue = new Map<string, SqsRefList>();
  // segmentId → position → message, for the receive records (which always follow their message).
  const bySegment = new Map<number, Map<number, SqsStoredRef>>();
  // Queue id + message id → its record: a relocated message whose old record was not acked yet.
  const byMessageId = new Map<string, SqsStoredRef>();
  // One string per MessageGroupId, however many messages share it.
  const groupIds = new Map<string, string>();
  let dropped = 0;
  for (;;) {
    const records = log.readNext(RECOVERY_READ_RECORDS, RECOVERY_READ_BYTES);
    if (records.length === 0) break;
    for (const record of records) {
      const location: LogLocation = { segmentId: record.segmentId, position: record.position };
      if (record.type === SQS_MESSAGE_RECORD_TYPE) {
        let queueId: string;
        let message: SqsMessage;
        try {
          ({ queueId, message } = decodeSqsMessageRecord(record.payload));
        } catch (err) {
          logger(`sqs store ${log.dir}: dropping undecodable message record: ${(err as Error).message}`);
          log.ack(location);
          continue;
        }
        const ref = new SqsStoredRef(record.segmentId, record.position);
        ref.receiveCount = message.receiveCount;
        ref.firstReceivedAtMs = message.firstReceivedAtMs;
        const groupId = message.messageGroupId;
        let sharedGroupId = groupId;
        if (groupId !== undefined) {
          sharedGroupId = groupIds.get(groupId);
          if (sharedGroupId === undefined) {
            sharedGroupId = groupId;
            groupIds.set(groupId, groupId);
          }
        }
        ref.summary = { ...summarize(message), messageGroupId: sharedGroupId };
        let list = byQueue.get(queueId);
        if (!list) {
          list = new SqsRefList();
          byQueue.set(queueId, list);
        }
        const key = `${queueId}\n${message.messageId}`;
        const older = byMessageId.get(key);
        if (older) {
          // The later copy is the relocated one (with the newest receive count): the older goes.
          list.unlink(older);
          bySegment.get(older.segmentId)?.delete(older.position);
          log.ack(older);
          if (older.receive) log.ack(older.receive);
        }
        byMessageId.set(key, ref);
        list.push(ref);
        let positions = bySegment.get(record.segmentId);
        if (!positions) {
          positions = new Map();
          bySegment.set(record.segmentId, positions);
        }
        positions.set(record.position, ref);
        continue;
      }
      const receive =
        record.type === SQS_RECEIVE_RECORD_TYPE ? decodeSqsReceiveRecord(record.payload) : undefined;
      const ref = receive && bySegment.get(receive.segmentId)?.get(receive.position);
      if (!receive || !ref) {
        if (!receive) dropped++;
        log.ack(location);
        continue;
      }
      if (ref.receive) log.ack(ref.receive);
      ref.receive = location;
      ref.receiveCount = receive.receiveCount;
      ref.firstReceivedAtMs = receive.firstReceivedAtMs;
    }
  }
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
    this.shared = new SqsSharedLog(log, recoverSharedLog(log, logger), () => this.scheduleRelocation());
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
    const live = shared.idle.get(queueId) ?? new SqsRefList();
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
      if (!list.head) return;
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
