/**
 * Durable SQS queues (core/sqs-store.ts) under `<dataDir>/sqs/<queue dir>/`:
 *
 *   messages/   a QueueLog of SQS_MESSAGE and SQS_RECEIVE records (sqs-message-record.ts)
 *   dedup/      the FIFO deduplication ids (DiskDedupStore)
 *
 * A removed message is an ack of its record; a segment whose records are all acked is deleted
 * (QueueLog), so disk use follows the live messages, not the history.
 *
 * recordReceive appends a 24-byte SQS_RECEIVE record (the message's location, count, first-receive
 * time) rather than rewriting the message record in place: the segment files stay append-only
 * with whole-record CRCs, and nothing is waited for. The receive record a newer one supersedes is
 * acked once the newer one is durable (so a crash never loses both); recovery applies, per message,
 * the newest receive record in log order, and acks receive records of removed messages.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { SqsMessage } from '../core/sqs-message.js';
import type { SqsMessageStore, SqsStorage } from '../core/sqs-store.js';
import { DiskDedupStore } from './dedup-store.js';
import { fsyncDir, type GroupCommitter } from './group-commit.js';
import { type LogLocation, QueueLog } from './queue-log.js';
import {
  decodeSqsMessageRecord,
  decodeSqsReceiveRecord,
  encodeSqsMessageRecord,
  encodeSqsReceiveRecord,
  SQS_MESSAGE_RECORD_TYPE,
  SQS_RECEIVE_RECORD_BYTES,
  SQS_RECEIVE_RECORD_TYPE,
  sqsMessageRecordLength,
} from './sqs-message-record.js';

export interface SqsStoreOptions {
  segmentSizeBytes?: number;
  logger?: (line: string) => void;
}

const MESSAGES_DIR = 'messages';
const DEDUP_DIR = 'dedup';
/** Records per read while recovering (payload bytes bound each read too). */
const RECOVERY_READ_RECORDS = 4096;
const RECOVERY_READ_BYTES = 16 * 1024 * 1024;

/** A message's storageRef: where its record is, and its newest receive record if any. */
class SqsStoredRef implements LogLocation {
  receive: LogLocation | undefined;
  removed = false;
  constructor(
    readonly segmentId: number,
    readonly position: number,
  ) {}
}

export class DiskSqsMessageStore implements SqsMessageStore {
  readonly dir: string;
  private readonly log: QueueLog;
  private recovered: SqsMessage[];
  /** Superseded receive records of this turn, acked once this turn's writes are durable. */
  private supersededReceives: LogLocation[] | undefined;
  /** Messages whose removal waits for durability (removeAfterDurable). */
  private readonly removalsWaiting = new Set<SqsMessage>();
  private closed = false;

  private constructor(
    dir: string,
    log: QueueLog,
    recovered: SqsMessage[],
    private readonly committer: GroupCommitter,
    private readonly onRelease: () => void,
  ) {
    this.dir = dir;
    this.log = log;
    this.recovered = recovered;
  }

  /** Opens (creating or recovering) the store whose files are in `dir`. */
  static open(
    dir: string,
    committer: GroupCommitter,
    options: SqsStoreOptions = {},
    onRelease: () => void = () => {},
  ): DiskSqsMessageStore {
    const logger = options.logger ?? (() => {});
    const log = QueueLog.open(join(dir, MESSAGES_DIR), committer, {
      segmentSizeBytes: options.segmentSizeBytes,
      logger,
    });
    const recovered = recoverMessages(log, dir, logger);
    return new DiskSqsMessageStore(dir, log, recovered, committer, onRelease);
  }

  /** Segment files kept (for tests and metrics). */
  get segmentCount(): number {
    return this.log.segmentCount;
  }

  recover(): SqsMessage[] {
    const messages = this.recovered;
    this.recovered = [];
    return messages;
  }

  append(message: SqsMessage): void {
    const log = this.log;
    const offset = log.beginAppend(SQS_MESSAGE_RECORD_TYPE, sqsMessageRecordLength(message));
    encodeSqsMessageRecord(log.appendBuffer, offset, message);
    const location = log.endAppend();
    message.storageRef = new SqsStoredRef(location.segmentId, location.position);
  }

  recordReceive(message: SqsMessage): void {
    const ref = message.storageRef as SqsStoredRef | undefined;
    if (!ref || ref.removed || this.closed) return;
    const log = this.log;
    const offset = log.beginAppend(SQS_RECEIVE_RECORD_TYPE, SQS_RECEIVE_RECORD_BYTES);
    encodeSqsReceiveRecord(
      log.appendBuffer,
      offset,
      ref.segmentId,
      ref.position,
      message.receiveCount,
      message.firstReceivedAtMs,
    );
    const previous = ref.receive;
    ref.receive = log.endAppend();
    if (previous) this.ackWhenDurable(previous);
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
      this.committer.afterDurable(() => {
        if (this.closed) return;
        for (const l of created) this.log.ack(l);
      });
    }
    batch.push(location);
  }

  remove(message: SqsMessage): void {
    const ref = message.storageRef as SqsStoredRef | undefined;
    if (!ref || ref.removed || this.closed) return;
    ref.removed = true;
    this.removalsWaiting.delete(message);
    this.log.ack(ref);
    if (ref.receive) this.log.ack(ref.receive);
  }

  removeAfterDurable(message: SqsMessage): void {
    const ref = message.storageRef as SqsStoredRef | undefined;
    if (!ref || ref.removed || this.closed) return;
    // Acking now could let the ack (or the deletion of a fully acked segment, which is immediate)
    // reach the disk before the copy written to another queue in this turn.
    this.removalsWaiting.add(message);
    this.committer.afterDurable(() => {
      if (this.removalsWaiting.delete(message)) this.remove(message);
    });
  }

  destroy(): void {
    const wasClosed = this.closed;
    this.closed = true;
    this.removalsWaiting.clear();
    this.recovered = [];
    this.log.destroy();
    fs.rmSync(join(this.dir, MESSAGES_DIR), { recursive: true, force: true });
    removeDirIfEmpty(this.dir);
    if (!wasClosed) this.onRelease();
  }

  close(): void {
    if (this.closed) return;
    // A clean shutdown writes the copies too (the committer flushes everything after this).
    for (const message of this.removalsWaiting) this.remove(message);
    this.removalsWaiting.clear();
    this.closed = true;
    this.recovered = [];
    this.log.close();
    this.onRelease();
  }
}

/**
 * Reads every unacked record: messages in log order with their newest receive applied. Acks what
 * is garbage (receive records of removed messages, superseded ones, unknown record types).
 */
function recoverMessages(log: QueueLog, dir: string, logger: (line: string) => void): SqsMessage[] {
  const messages: SqsMessage[] = [];
  // segmentId → position → message, for the receive records (which always follow their message).
  const bySegment = new Map<number, Map<number, SqsMessage>>();
  let dropped = 0;
  for (;;) {
    const records = log.readNext(RECOVERY_READ_RECORDS, RECOVERY_READ_BYTES);
    if (records.length === 0) break;
    for (const record of records) {
      const location: LogLocation = { segmentId: record.segmentId, position: record.position };
      if (record.type === SQS_MESSAGE_RECORD_TYPE) {
        let message: SqsMessage;
        try {
          message = decodeSqsMessageRecord(record.payload);
        } catch (err) {
          logger(`sqs store ${dir}: dropping undecodable message record: ${(err as Error).message}`);
          log.ack(location);
          continue;
        }
        message.storageRef = new SqsStoredRef(record.segmentId, record.position);
        messages.push(message);
        let positions = bySegment.get(record.segmentId);
        if (!positions) {
          positions = new Map();
          bySegment.set(record.segmentId, positions);
        }
        positions.set(record.position, message);
        continue;
      }
      const receive =
        record.type === SQS_RECEIVE_RECORD_TYPE ? decodeSqsReceiveRecord(record.payload) : undefined;
      const message = receive && bySegment.get(receive.segmentId)?.get(receive.position);
      if (!receive || !message) {
        if (!receive) dropped++;
        log.ack(location);
        continue;
      }
      const ref = message.storageRef as SqsStoredRef;
      if (ref.receive) log.ack(ref.receive);
      ref.receive = location;
      message.receiveCount = receive.receiveCount;
      message.firstReceivedAtMs = receive.firstReceivedAtMs;
    }
  }
  if (dropped > 0) logger(`sqs store ${dir}: dropped ${dropped} records of unknown type`);
  return messages;
}

function removeDirIfEmpty(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty (the other store of the queue is still there) or already gone
  }
}

/** Queue ids used as directory names as they are when safe; others by their SHA-1 ('_' prefix). */
const SAFE_DIR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function sqsQueueDirName(queueId: string): string {
  if (SAFE_DIR_NAME.test(queueId)) return queueId;
  return `_${createHash('sha1').update(queueId).digest('hex')}`;
}

/** The SQS queues' stores under `<dataDir>/sqs`. */
export class DiskSqsStorage implements SqsStorage {
  readonly root: string;
  private readonly openMessageStores = new Map<string, DiskSqsMessageStore>();
  private readonly openDedupStores = new Map<string, DiskDedupStore>();

  constructor(
    dataDir: string,
    private readonly committer: GroupCommitter,
    private readonly options: SqsStoreOptions = {},
  ) {
    this.root = join(dataDir, 'sqs');
    fs.mkdirSync(this.root, { recursive: true });
  }

  queueDir(queueId: string): string {
    return join(this.root, sqsQueueDirName(queueId));
  }

  private prepareDir(queueId: string): { name: string; dir: string } {
    const name = sqsQueueDirName(queueId);
    const dir = join(this.root, name);
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      if (this.committer.policy === 'always') fsyncDir(this.root);
    }
    return { name, dir };
  }

  openMessageStore(queueId: string): DiskSqsMessageStore {
    const { name, dir } = this.prepareDir(queueId);
    if (this.openMessageStores.has(name))
      throw new Error(`SQS message store of queue id '${queueId}' is already open`);
    const store = DiskSqsMessageStore.open(dir, this.committer, this.options, () =>
      this.openMessageStores.delete(name),
    );
    this.openMessageStores.set(name, store);
    return store;
  }

  openDedupStore(queueId: string): DiskDedupStore {
    const { name, dir } = this.prepareDir(queueId);
    if (this.openDedupStores.has(name))
      throw new Error(`SQS deduplication store of queue id '${queueId}' is already open`);
    const store = DiskDedupStore.open(join(dir, DEDUP_DIR), this.committer, this.options, () => {
      this.openDedupStores.delete(name);
      removeDirIfEmpty(dir);
    });
    this.openDedupStores.set(name, store);
    return store;
  }

  removeOrphans(keep: ReadonlySet<string>): void {
    const wanted = new Set<string>();
    for (const id of keep) wanted.add(sqsQueueDirName(id));
    for (const name of fs.readdirSync(this.root)) {
      if (wanted.has(name) || this.openMessageStores.has(name) || this.openDedupStores.has(name)) continue;
      this.options.logger?.(`storage: removing data of unknown SQS queue in ${join(this.root, name)}`);
      fs.rmSync(join(this.root, name), { recursive: true, force: true });
    }
  }

  /** Closes every open store (broker shutdown; the committer then syncs what they wrote). */
  close(): void {
    for (const store of [...this.openMessageStores.values()]) store.close();
    for (const store of [...this.openDedupStores.values()]) store.close();
  }
}
