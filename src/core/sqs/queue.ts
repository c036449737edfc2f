import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import { DedupCache } from '../dedup-cache.js';
import type { DedupStore } from '../dedup-store.js';
import { DelayHeap } from '../delay-heap.js';
import { type SqsEntry, type SqsEntryState, VisibleLine } from './entry.js';
import { SqsCoreError } from './errors.js';
import { FifoGroups } from './fifo-groups.js';
import { MESSAGE_OVERHEAD_BYTES, SqsMemoryWindow } from './memory-window.js';
import type { SqsMessage, SqsReceivedMessage, SqsSendInput } from './message.js';
import type { SqsQueueSettings } from './settings.js';
import type { SqsMessageStore, SqsRecoveredMessage } from './store.js';

/** What a queue needs from the registry around it. */
export interface SqsQueueHost {
  readonly clock: Clock;
  /**
   * Moves a message past its redrive policy's maxReceiveCount to the dead-letter queue (a copy is
   * sent there in this turn). False when the dead-letter queue does not exist: the message stays.
   */
  deadLetter(source: SqsQueue, message: SqsMessage): boolean;
  /** The broker's window for message content in memory; none: unbounded (tests). */
  readonly memory?: SqsMemoryWindow | undefined;
}

export interface SqsReceiveRequest {
  /** MaxNumberOfMessages, 1-10 (checked by the protocol layer). */
  readonly maxMessages: number;
  /** VisibilityTimeout for these messages; undefined = the queue's. */
  readonly visibilityTimeoutSeconds?: number | undefined;
  /** FIFO: a retried receive with the same id gets the same messages back while they are in flight. */
  readonly receiveRequestAttemptId?: string | undefined;
}

/** How a lease operation (DeleteMessage, ChangeMessageVisibility) went. */
export type SqsLeaseResult =
  /** Done. */
  | 'ok'
  /** The handle is not one this queue issued (ReceiptHandleIsInvalid). */
  | 'invalid'
  /** The lease is over: the message was received again since (or, on FIFO, is visible again). */
  | 'expired'
  /** ChangeMessageVisibility on a message that is no longer in the queue. */
  | 'gone'
  /** ChangeMessageVisibility on a message that is visible again (MessageNotInflight). */
  | 'not-inflight'
  /** ChangeMessageVisibility past 12 hours from the receive (AWS's limit on one lease). */
  | 'too-long';

/** A long poll in progress; cancel() when the HTTP request goes away. */
export interface SqsPendingReceive {
  cancel(): void;
}

export interface SqsQueueCounts {
  /** ApproximateNumberOfMessages: visible now. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received, lease not over. */
  readonly inFlight: number;
  /** ApproximateNumberOfMessagesDelayed: sent with a delay not yet passed. */
  readonly delayed: number;
}

interface Waiter {
  readonly request: SqsReceiveRequest;
  readonly done: (received: SqsReceivedMessage[]) => void;
  timer: TimerHandle | undefined;
}

interface Attempt {
  readonly entries: readonly SqsEntry[];
  readonly leases: readonly number[];
  readonly received: SqsReceivedMessage[];
}

interface DedupHit {
  readonly messageId: string;
  readonly sequenceNumber: string;
}

/** SQS's deduplication interval and the life of a ReceiveRequestAttemptId. */
export const FIFO_DEDUP_WINDOW_MS = 5 * 60_000;
const PURGE_INTERVAL_MS = 60_000;
/** A lease ends at most 12 hours after its receive, however often it is extended. */
export const MAX_LEASE_MS = 12 * 3600_000;
/** Most deduplication ids a FIFO queue remembers (AWS does not say; 300,000 = 1,000 sends/s for 5 min). */
const MAX_DEDUP_IDS = 300_000;

/**
 * One SQS queue, standard or FIFO: an index entry per live message in memory, the content of a
 * durable queue's messages in memory only while the broker's memory window has room (the store,
 * the write-ahead log, has it and load() reads it back), visibility-timeout leases on the injected clock, delays, retention, long polls, FIFO
 * message groups and the deduplication window, and redrive to a dead-letter queue.
 */
/** NumberOfMessagesSent, NumberOfMessagesReceived, NumberOfMessagesDeleted, NumberOfEmptyReceives. */
export interface SqsQueueStats {
  messagesSent: number;
  messagesReceived: number;
  messagesDeleted: number;
  emptyReceives: number;
  /** Messages whose stored content could not be read back (corrupt or missing) and were dropped. */
  unreadableDropped: number;
}

export class SqsQueue {
  /** Stable id for the storage directory (a queue re-created under the same name gets a new one). */
  readonly id: string;
  readonly name: string;
  readonly arn: string;
  settings: SqsQueueSettings;
  /** Counters CloudWatch's AWS/SQS metrics are made of, since this queue was created or restored. */
  readonly stats: SqsQueueStats = {
    messagesSent: 0,
    messagesReceived: 0,
    messagesDeleted: 0,
    emptyReceives: 0,
    unreadableDropped: 0,
  };
  private readonly host: SqsQueueHost;
  private readonly clock: Clock;
  private readonly store: SqsMessageStore | undefined;
  private readonly dedupStore: DedupStore | undefined;
  private readonly memory: SqsMemoryWindow;
  /** Every live message by key; a Map iterates in insertion (≈ send) order, which retention uses. */
  private readonly entries = new Map<number, SqsEntry>();
  /** Standard queues: visible messages (new ones in arrival order, returned ones in send order). */
  private readonly visible = new VisibleLine();
  /** FIFO queues: messages by group. */
  private readonly groups = new FifoGroups();
  /** When delayed and in-flight messages become visible (stale items are skipped when popped). */
  private readonly timeline = new DelayHeap();
  private timelineTimer: TimerHandle | undefined;
  private timelineTimerAtMs = Number.POSITIVE_INFINITY;
  private retentionTimer: TimerHandle | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly dedup: DedupCache<DedupHit>;
  private readonly attempts: DedupCache<Attempt>;
  private nextKey = 0;
  private handleSerial = 0;
  /** The entry peekVisible() last returned, so takeForMove() finds it without a search. */
  private peeked: SqsEntry | undefined;
  /** The message peekVisible() last returned (the content of `peeked`). */
  private peekedMessage: SqsMessage | undefined;
  private lastSequence = 0n;
  private visibleCount = 0;
  private inFlightCount = 0;
  private delayedCount = 0;
  private lastPurgeAtMs = Number.NEGATIVE_INFINITY;
  /**
   * Starts every receipt handle: the queue id (handles of a deleted and re-created queue are
   * invalid) and this run's incarnation (keys restart at a restart, so older handles are expired).
   */
  private readonly handlePrefix: string;
  private closed = false;

  constructor(options: {
    id: string;
    name: string;
    arn: string;
    settings: SqsQueueSettings;
    host: SqsQueueHost;
    store?: SqsMessageStore | undefined;
    dedupStore?: DedupStore | undefined;
  }) {
    this.id = options.id;
    this.name = options.name;
    this.arn = options.arn;
    this.settings = options.settings;
    this.host = options.host;
    this.clock = options.host.clock;
    this.store = options.store;
    this.dedupStore = options.dedupStore;
    this.memory = options.host.memory ?? new SqsMemoryWindow(Number.POSITIVE_INFINITY);
    this.handlePrefix = `${options.id}:${randomBytes(6).toString('hex')}:`;
    this.dedup = new DedupCache(this.clock, MAX_DEDUP_IDS, FIFO_DEDUP_WINDOW_MS);
    this.attempts = new DedupCache(this.clock, 10_000, FIFO_DEDUP_WINDOW_MS);
    this.recover();
  }

  get isFifo(): boolean {
    return this.settings.fifoQueue;
  }

  counts(): SqsQueueCounts {
    return { visible: this.visibleCount, inFlight: this.inFlightCount, delayed: this.delayedCount };
  }

  /** Long polls waiting on this queue now. */
  get waitingReceives(): number {
    return this.waiters.size;
  }

  /** SentTimestamp of the oldest message (ApproximateAgeOfOldestMessage), undefined when empty. */
  oldestSentAtMs(): number | undefined {
    return (this.entries.values().next().value as SqsEntry | undefined)?.sentAtMs;
  }

  /** New settings (SetQueueAttributes): retention re-armed, long polls woken (a DLQ may be gone). */
  applySettings(settings: SqsQueueSettings): void {
    this.settings = settings;
    this.armRetention();
    this.wakeWaiters();
  }

  send(input: SqsSendInput): { message: SqsMessage; duplicate: boolean } {
    this.checkOpen();
    const nowMs = this.clock.now();
    let dedupKey: string | undefined;
    if (this.isFifo && input.deduplicationId !== undefined) {
      const groupKey = `${input.messageGroupId ?? ''}\u0000${input.deduplicationId}`;
      const queueKey = input.deduplicationId;
      const byGroup = this.settings.deduplicationScope === 'messageGroup';
      dedupKey = byGroup ? groupKey : queueKey;
      // Ids recorded before a change of DeduplicationScope still count (AWS keeps the ids it has:
      // a SetQueueAttributes does not open a window for duplicates): the same group and id recorded
      // under the other scope is a duplicate too.
      const hit = this.dedup.get(dedupKey) ?? this.dedup.get(byGroup ? queueKey : groupKey);
      if (hit) return { message: this.duplicateOf(input, hit, nowMs), duplicate: true };
    }
    const delaySeconds = this.isFifo
      ? this.settings.delaySeconds
      : (input.delaySeconds ?? this.settings.delaySeconds);
    const message = messageFromSend(
      input,
      randomUUID(),
      this.isFifo ? this.nextSequenceNumber(nowMs) : undefined,
      this.isFifo ? input.deduplicationId : undefined,
      nowMs,
      nowMs + delaySeconds * 1000,
    );
    if (dedupKey !== undefined) {
      const hit = { messageId: message.messageId, sequenceNumber: message.sequenceNumber ?? '' };
      this.dedup.set(dedupKey, hit);
      this.recordDedup(dedupKey, hit, nowMs + FIFO_DEDUP_WINDOW_MS);
    }
    this.admit(message);
    this.stats.messagesSent++;
    return { message, duplicate: false };
  }

  /**
   * A copy of another queue's message: a dead-lettered one keeps its MessageId; a message move task's
   * copy is a new message (`asNew`: a new MessageId, as AWS redrives it).
   */
  sendCopy(original: SqsMessage, deadLetterSourceArn: string | undefined, asNew = false): SqsMessage {
    this.checkOpen();
    const nowMs = this.clock.now();
    const message: SqsMessage = {
      ...original,
      messageId: asNew ? randomUUID() : original.messageId,
      sequenceNumber: this.isFifo ? this.nextSequenceNumber(nowMs) : undefined,
      deadLetterSourceArn,
      visibleFromMs: nowMs,
      // A dead-lettered message keeps its receive count and first-receive time: on AWS the first
      // receive from the DLQ of a message moved at maxReceiveCount 1 reports ApproximateReceiveCount
      // 2 (LocalStack's AWS-recorded snapshot of test_dead_letter_queue_message_attributes). A
      // moved-back copy (move task) is a new message and starts again.
      receiveCount: asNew ? 0 : original.receiveCount,
      firstReceivedAtMs: asNew ? 0 : original.firstReceivedAtMs,
      storageRef: undefined,
    };
    this.admit(message);
    return message;
  }

  receive(
    request: SqsReceiveRequest,
    waitTimeMs: number,
    done: (received: SqsReceivedMessage[]) => void,
  ): SqsPendingReceive {
    const received = this.closed ? [] : this.take(request);
    if (received.length > 0 || waitTimeMs <= 0 || this.closed) {
      if (received.length === 0) this.stats.emptyReceives++;
      done(received);
      return { cancel() {} };
    }
    const waiter: Waiter = { request, done, timer: undefined };
    waiter.timer = this.clock.setTimeout(() => {
      if (this.waiters.delete(waiter)) {
        this.stats.emptyReceives++;
        done([]);
      }
    }, waitTimeMs);
    this.waiters.add(waiter);
    return {
      cancel: () => {
        if (this.waiters.delete(waiter) && waiter.timer !== undefined) this.clock.clearTimeout(waiter.timer);
      },
    };
  }

  deleteMessage(receiptHandle: string): SqsLeaseResult {
    const parsed = this.parseHandle(receiptHandle);
    if (!parsed) return 'invalid';
    if (parsed === 'stale') return 'expired';
    const entry = this.entries.get(parsed.key);
    // Deleting a message that is already gone succeeds, as on AWS (deletes are idempotent).
    if (!entry) return 'ok';
    // A FIFO queue takes only the current lease's handle while it lasts: once the message is visible
    // again or received again, the handle has expired (AWS docs, "Amazon SQS FIFO queue delivery
    // logic": a message whose visibility timeout expired may be received again, and the old receipt
    // handle is refused as expired). A standard queue deletes the message with any handle it issued
    // for it, an older receive's too (AWS docs, DeleteMessage: "Amazon SQS can delete a message from a
    // queue even if a visibility timeout setting causes the message to be locked by another consumer
    // ... If you use an old ReceiptHandle, the request will succeed").
    if (this.isFifo && (entry.lease !== parsed.lease || entry.state !== 'inflight')) return 'expired';
    if (entry.lease < parsed.lease) return 'expired';
    this.removeEntry(entry);
    this.store?.remove(entry);
    this.stats.messagesDeleted++;
    if (this.isFifo) this.wakeWaiters();
    return 'ok';
  }

  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): SqsLeaseResult {
    const parsed = this.parseHandle(receiptHandle);
    if (!parsed) return 'invalid';
    if (parsed === 'stale') return 'expired';
    const entry = this.entries.get(parsed.key);
    // A deleted message: AWS's "Message does not exist or is not available for visibility timeout
    // change." as an invalid ReceiptHandle value.
    if (!entry || entry.state === 'delayed') return 'gone';
    if (this.isFifo) {
      if (entry.lease !== parsed.lease) return 'expired';
      if (entry.state !== 'inflight') return 'not-inflight';
    } else if (entry.lease < parsed.lease) {
      return 'expired';
    }
    // A standard queue takes any handle of the message, an older receive's too, and a message whose
    // lease ran out is hidden again: on AWS, ChangeMessageVisibility after the visibility timeout
    // succeeds on a standard queue (as issue 14's recorded AWS runs show; LocalStack does the same).
    const nowMs = this.clock.now();
    if (nowMs + visibilityTimeoutSeconds * 1000 > entry.leasedAtMs + MAX_LEASE_MS) return 'too-long';
    if (entry.state !== 'inflight') {
      if (visibilityTimeoutSeconds <= 0) return 'ok';
      this.hideAgain(entry);
    }
    if (visibilityTimeoutSeconds <= 0) {
      this.makeVisible(entry);
      this.wakeWaiters();
    } else {
      entry.visibleAtMs = nowMs + visibilityTimeoutSeconds * 1000;
      this.schedule(entry);
    }
    return 'ok';
  }

  purge(): void {
    const nowMs = this.clock.now();
    if (nowMs - this.lastPurgeAtMs < PURGE_INTERVAL_MS) {
      throw new SqsCoreError(
        'PurgeQueueInProgress',
        `Only one PurgeQueue operation on ${this.name} is allowed every 60 seconds.`,
      );
    }
    this.lastPurgeAtMs = nowMs;
    for (const entry of [...this.entries.values()]) {
      this.removeEntry(entry);
      this.store?.remove(entry);
    }
    this.visible.clear();
    // A purge forgets the deduplication ids too: a message sent again after a purge is a new message
    // (as AWS does, per issue 14's recorded AWS runs; AWS docs, PurgeQueue: "deletes all messages").
    if (this.isFifo) {
      this.dedup.clear();
      this.dedupStore?.rewrite([]);
    }
  }

  /**
   * Up to `max` live messages in send order with where each stands, for the management API's peek:
   * nothing changes (no receive counted, no lease taken, nothing hidden).
   */
  inspect(max: number): { message: SqsMessage; state: SqsEntryState; visibleAtMs: number }[] {
    const found: { message: SqsMessage; state: SqsEntryState; visibleAtMs: number }[] = [];
    for (const entry of this.entries.values()) {
      if (found.length >= max) break;
      const message = this.contentOf(entry);
      if (message) found.push({ message, state: entry.state, visibleAtMs: entry.visibleAtMs });
    }
    return found;
  }

  /** The next visible message (read back from the store if paged out), nothing changed. */
  peekVisible(): SqsMessage | undefined {
    for (;;) {
      const entry = this.isFifo ? this.firstVisibleFifo() : this.visible.peek();
      const message = entry && this.contentOf(entry);
      if (entry && !message) {
        this.dropUnreadable(entry);
        continue;
      }
      this.peeked = entry;
      this.peekedMessage = message;
      return message;
    }
  }

  takeForMove(message: SqsMessage): void {
    let entry = this.peekedMessage === message ? this.peeked : undefined;
    if (entry === undefined) {
      for (const candidate of this.entries.values()) {
        if (candidate.message === message) {
          entry = candidate;
          break;
        }
      }
    }
    this.peeked = undefined;
    this.peekedMessage = undefined;
    if (entry === undefined || this.entries.get(entry.key) !== entry) return;
    this.removeEntry(entry);
    this.store?.removeAfterDurable(entry);
    if (this.isFifo) this.wakeWaiters();
  }

  private firstVisibleFifo(): SqsEntry | undefined {
    for (const entry of this.entries.values()) if (entry.state === 'visible') return entry;
    return undefined;
  }

  destroy(): void {
    this.shutDown();
    this.store?.destroy();
    this.dedupStore?.destroy();
  }

  close(): void {
    this.shutDown();
    this.store?.close();
    this.dedupStore?.close();
  }

  // --- internals ---

  private checkOpen(): void {
    if (this.closed) throw new SqsCoreError('QueueDoesNotExist', 'The specified queue does not exist.');
  }

  private shutDown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiters) {
      if (waiter.timer !== undefined) this.clock.clearTimeout(waiter.timer);
      waiter.done([]);
    }
    this.waiters.clear();
    if (this.timelineTimer !== undefined) this.clock.clearTimeout(this.timelineTimer);
    if (this.retentionTimer !== undefined) this.clock.clearTimeout(this.retentionTimer);
    this.timelineTimer = undefined;
    this.retentionTimer = undefined;
    // The window is the broker's: a closed or deleted queue's contents no longer count.
    for (const entry of this.entries.values()) this.dropContent(entry);
  }

  /**
   * The whole message of `entry`, with its receive count and time: in memory, or read back from
   * the store (paged out). Undefined when the stored copy cannot be read (corrupt or missing).
   */
  private contentOf(entry: SqsEntry): SqsMessage | undefined {
    let message = entry.message;
    if (message === undefined) {
      if (!this.store) return undefined;
      try {
        message = this.store.load(entry);
      } catch {
        return undefined;
      }
      this.memory.pageIns++;
    }
    message.receiveCount = entry.receiveCount;
    message.firstReceivedAtMs = entry.firstReceivedAtMs;
    return message;
  }

  /** Lets the content of a durable queue's message go from memory (the store has it). */
  private dropContent(entry: SqsEntry): void {
    if (entry.message === undefined) return;
    this.memory.release(entry.residentBytes);
    entry.message = undefined;
  }

  /** A message whose stored copy cannot be read is dropped (never served damaged), and counted. */
  private dropUnreadable(entry: SqsEntry): void {
    this.removeEntry(entry);
    this.store?.remove(entry);
    this.stats.unreadableDropped++;
  }

  /** A duplicate send is answered with the original's id and sequence number, and is not stored. */
  private duplicateOf(input: SqsSendInput, hit: DedupHit, nowMs: number): SqsMessage {
    return messageFromSend(input, hit.messageId, hit.sequenceNumber, input.deduplicationId, nowMs, nowMs);
  }

  /** Sequence numbers grow within the queue and across restarts: at least the clock in µs-ish units. */
  private nextSequenceNumber(nowMs: number): string {
    const floor = BigInt(nowMs) * 1_000_000n;
    this.lastSequence = this.lastSequence >= floor ? this.lastSequence + 1n : floor;
    return this.lastSequence.toString().padStart(20, '0');
  }

  private recordDedup(key: string, hit: DedupHit, expiresAtMs: number): void {
    const store = this.dedupStore;
    if (!store) return;
    store.add({ key: `${key}\n${hit.messageId}\n${hit.sequenceNumber}`, expiresAtMs });
    if (store.recordCount > 2 * this.dedup.size + 10_000) {
      store.rewrite(
        [...this.dedup.live()].map((live) => ({
          key: `${live.key}\n${live.value.messageId}\n${live.value.sequenceNumber}`,
          expiresAtMs: live.expiresAtMs,
        })),
      );
    }
  }

  /** Rebuilds the queue from its store and the deduplication ids from theirs (at construction). */
  private recover(): void {
    const recovered = this.store?.recoverIndex() ?? [];
    for (const stored of recovered) {
      if (stored.sequenceNumber !== undefined) {
        const sequence = BigInt(stored.sequenceNumber);
        if (sequence > this.lastSequence) this.lastSequence = sequence;
      }
      this.index(stored, undefined);
    }
    for (const stored of this.dedupStore?.recover() ?? []) {
      const [key, messageId, sequenceNumber] = stored.key.split('\n');
      if (key === undefined || messageId === undefined) continue;
      this.dedup.setUntil(key, { messageId, sequenceNumber: sequenceNumber ?? '' }, stored.expiresAtMs);
      if (sequenceNumber) {
        const sequence = BigInt(sequenceNumber);
        if (sequence > this.lastSequence) this.lastSequence = sequence;
      }
    }
    this.armRetention();
  }

  /**
   * Adds a new message as delayed or visible: stored first (durable queues), its content kept in
   * memory while the memory window has room (always without a store).
   */
  private admit(message: SqsMessage): void {
    const residentBytes = message.sizeBytes + MESSAGE_OVERHEAD_BYTES;
    let content: SqsMessage | undefined = message;
    if (this.store) {
      this.store.append(message);
      if (!this.memory.tryTake(residentBytes)) content = undefined;
    } else {
      this.memory.take(residentBytes);
    }
    this.index(message, content);
  }

  /** Makes the index entry of a message (sent now, or recovered with `content` undefined). */
  private index(stored: SqsRecoveredMessage, content: SqsMessage | undefined): void {
    const nowMs = this.clock.now();
    const groupId = stored.messageGroupId;
    const entry: SqsEntry = {
      key: this.nextKey++,
      message: content,
      storageRef: stored.storageRef,
      sentAtMs: stored.sentAtMs,
      groupId: groupId === undefined ? undefined : this.groups.internId(groupId),
      residentBytes: stored.sizeBytes + MESSAGE_OVERHEAD_BYTES,
      receiveCount: stored.receiveCount,
      firstReceivedAtMs: stored.firstReceivedAtMs,
      state: 'delayed',
      visibleAtMs: stored.visibleFromMs,
      lease: stored.receiveCount,
      leasedAtMs: 0,
      visibleMark: 0,
    };
    this.entries.set(entry.key, entry);
    if (entry.visibleAtMs > nowMs) {
      this.delayedCount++;
      if (this.isFifo) this.groups.add(entry);
      this.schedule(entry);
    } else {
      entry.state = 'visible';
      this.visibleCount++;
      if (this.isFifo) this.groups.add(entry);
      else this.visible.push(entry);
      this.wakeWaiters();
    }
    if (this.entries.size === 1) this.armRetention();
  }

  /** Leases up to request.maxMessages visible messages (dead-lettering those past maxReceiveCount). */
  private take(request: SqsReceiveRequest): SqsReceivedMessage[] {
    const attemptId = this.isFifo ? request.receiveRequestAttemptId : undefined;
    if (attemptId !== undefined) {
      const retried = this.retriedAttempt(attemptId);
      if (retried) return retried;
    }
    const max = Math.max(1, request.maxMessages);
    // The content of each taken entry, in the order taken.
    const contents: SqsMessage[] = [];
    const consider = (entry: SqsEntry): 'take' | 'drop' => {
      const message = this.contentOf(entry);
      if (message === undefined) {
        this.removeEntry(entry, true);
        this.store?.remove(entry);
        this.stats.unreadableDropped++;
        return 'drop';
      }
      const redrive = this.settings.redrivePolicy;
      if (redrive && entry.receiveCount >= redrive.maxReceiveCount) {
        if (this.host.deadLetter(this, message)) {
          this.removeEntry(entry, true);
          this.store?.removeAfterDurable(entry);
          return 'drop';
        }
      }
      contents.push(message);
      return 'take';
    };
    let taken: SqsEntry[];
    if (this.isFifo) {
      taken = this.groups.take(max, consider);
    } else {
      taken = [];
      while (taken.length < max) {
        const entry = this.visible.shift();
        if (entry === undefined) break;
        if (consider(entry) === 'take') taken.push(entry);
      }
    }
    if (taken.length === 0) return [];
    const nowMs = this.clock.now();
    const timeoutSeconds = request.visibilityTimeoutSeconds ?? this.settings.visibilityTimeoutSeconds;
    const logReceives = this.settings.redrivePolicy !== undefined;
    const received: SqsReceivedMessage[] = [];
    for (let i = 0; i < taken.length; i++) {
      const entry = taken[i]!;
      const message = contents[i]!;
      entry.receiveCount++;
      if (entry.firstReceivedAtMs === 0) entry.firstReceivedAtMs = nowMs;
      message.receiveCount = entry.receiveCount;
      message.firstReceivedAtMs = entry.firstReceivedAtMs;
      // Receive counts are logged only where they decide something (a redrive policy): elsewhere a
      // restart resets ApproximateReceiveCount, and each receive costs no log record and ack.
      if (logReceives) this.store?.recordReceive(entry);
      // Handed out: a durable queue reads it back if it is received again (the window is for
      // messages waiting to be received).
      if (this.store) this.dropContent(entry);
      entry.lease++;
      entry.leasedAtMs = nowMs;
      entry.state = 'inflight';
      this.visibleCount--;
      this.inFlightCount++;
      entry.visibleAtMs = nowMs + timeoutSeconds * 1000;
      received.push({ message, receiptHandle: this.receiptHandleOf(entry) });
    }
    // A visibility timeout of 0 leaves the messages visible at once (received, count incremented).
    if (timeoutSeconds <= 0) for (const entry of taken) this.makeVisible(entry);
    else for (const entry of taken) this.schedule(entry);
    if (attemptId !== undefined) {
      this.attempts.set(attemptId, {
        entries: taken,
        leases: taken.map((entry) => entry.lease),
        received,
      });
    }
    this.stats.messagesReceived += received.length;
    return received;
  }

  /** A retried ReceiveRequestAttemptId gets its messages again while all are still leased to it. */
  private retriedAttempt(attemptId: string): SqsReceivedMessage[] | undefined {
    const attempt = this.attempts.get(attemptId);
    if (!attempt) return undefined;
    const unchanged = attempt.entries.every(
      (entry, i) =>
        entry.state === 'inflight' &&
        entry.lease === attempt.leases[i] &&
        this.entries.get(entry.key) === entry,
    );
    if (unchanged) return attempt.received;
    this.attempts.delete(attemptId);
    return undefined;
  }

  /**
   * The handle names the entry and its lease; the serial makes every handle distinct. Handles are
   * not secrets (anyone who may receive may delete), so no random bytes per message: they cost a
   * tenth of the broker's receive path.
   */
  private receiptHandleOf(entry: SqsEntry): string {
    const text = `${this.handlePrefix}${entry.key}:${entry.lease}:${(this.handleSerial++).toString(36)}`;
    return Buffer.from(text, 'latin1').toString('base64');
  }

  /** The entry key and lease a handle names; 'stale' for a handle from before a restart. */
  private parseHandle(handle: string): { key: number; lease: number } | 'stale' | undefined {
    if (handle.length === 0 || handle.length > 1024) return undefined;
    const text = Buffer.from(handle, 'base64').toString('utf8');
    if (!text.startsWith(this.handlePrefix)) {
      return text.startsWith(`${this.id}:`) && text.split(':').length === 5 ? 'stale' : undefined;
    }
    const parts = text.slice(this.handlePrefix.length).split(':');
    if (parts.length !== 3) return undefined;
    const key = Number(parts[0]);
    const lease = Number(parts[1]);
    if (!Number.isSafeInteger(key) || !Number.isSafeInteger(lease)) return undefined;
    return { key, lease };
  }

  /** A delayed or in-flight message becomes visible (delay passed, lease over or given up). */
  private makeVisible(entry: SqsEntry): void {
    const previous = entry.state;
    if (previous === 'visible') return;
    entry.state = 'visible';
    entry.visibleAtMs = 0;
    this.visibleCount++;
    if (previous === 'delayed') {
      this.delayedCount--;
      if (this.isFifo) this.groups.becameVisible(entry);
      else this.visible.push(entry);
    } else {
      this.inFlightCount--;
      if (this.isFifo) this.groups.returned(entry);
      else this.visible.returnToPlace(entry);
    }
  }

  /** A visible message of a standard queue is in flight again (ChangeMessageVisibility after its lease). */
  private hideAgain(entry: SqsEntry): void {
    VisibleLine.unlink(entry);
    entry.state = 'inflight';
    this.visibleCount--;
    this.inFlightCount++;
  }

  /** Takes a message out of every structure (not the store). */
  private removeEntry(entry: SqsEntry, alreadyTaken = false): void {
    if (!this.entries.delete(entry.key)) return;
    this.dropContent(entry);
    const state = entry.state;
    if (state === 'visible') this.visibleCount--;
    else if (state === 'inflight') this.inFlightCount--;
    else this.delayedCount--;
    if (this.isFifo) {
      // A head taken out by groups.take is no longer in its group's waiting run.
      if (!alreadyTaken) this.groups.removed(entry, state === 'inflight');
    } else {
      VisibleLine.unlink(entry);
    }
  }

  private schedule(entry: SqsEntry): void {
    this.timeline.push(entry.visibleAtMs, entry.key);
    if (entry.visibleAtMs < this.timelineTimerAtMs) this.armTimeline();
  }

  private armTimeline(): void {
    if (this.timelineTimer !== undefined) this.clock.clearTimeout(this.timelineTimer);
    this.timelineTimer = undefined;
    this.timelineTimerAtMs = Number.POSITIVE_INFINITY;
    if (this.timeline.size === 0 || this.closed) return;
    const dueMs = this.timeline.minDueMs;
    this.timelineTimerAtMs = dueMs;
    this.timelineTimer = this.clock.setTimeout(
      () => this.onTimeline(),
      Math.max(0, dueMs - this.clock.now()),
    );
  }

  private onTimeline(): void {
    this.timelineTimer = undefined;
    this.timelineTimerAtMs = Number.POSITIVE_INFINITY;
    const nowMs = this.clock.now();
    let woke = false;
    while (this.timeline.size > 0 && this.timeline.minDueMs <= nowMs) {
      const dueMs = this.timeline.minDueMs;
      const key = this.timeline.minRef;
      this.timeline.pop();
      const entry = this.entries.get(key);
      // Stale items: the message left, was made visible, or its lease was changed since.
      if (!entry || entry.state === 'visible' || entry.visibleAtMs !== dueMs) continue;
      this.makeVisible(entry);
      woke = true;
    }
    this.armTimeline();
    if (woke) this.wakeWaiters();
  }

  /** Hands newly visible messages to long polls, oldest poll first. */
  private wakeWaiters(): void {
    if (this.waiters.size === 0) return;
    for (const waiter of this.waiters) {
      if (this.visibleCount === 0) return;
      const received = this.take(waiter.request);
      if (received.length === 0) continue;
      this.waiters.delete(waiter);
      if (waiter.timer !== undefined) this.clock.clearTimeout(waiter.timer);
      waiter.done(received);
    }
  }

  /** Messages older than MessageRetentionPeriod are deleted, visible or not. */
  private armRetention(): void {
    if (this.retentionTimer !== undefined) this.clock.clearTimeout(this.retentionTimer);
    this.retentionTimer = undefined;
    if (this.closed) return;
    const oldest = this.entries.values().next().value as SqsEntry | undefined;
    if (!oldest) return;
    const expiresAtMs = oldest.sentAtMs + this.settings.messageRetentionPeriodSeconds * 1000;
    this.retentionTimer = this.clock.setTimeout(
      () => this.onRetention(),
      Math.max(0, expiresAtMs - this.clock.now()),
    );
  }

  private onRetention(): void {
    this.retentionTimer = undefined;
    const cutoffMs = this.clock.now() - this.settings.messageRetentionPeriodSeconds * 1000;
    for (const entry of this.entries.values()) {
      if (entry.sentAtMs > cutoffMs) break;
      this.removeEntry(entry);
      this.store?.remove(entry);
    }
    this.armRetention();
    if (this.isFifo) this.wakeWaiters();
  }
}

/** A message as a send makes it: the sender's fields, with its identity and times as given. */
function messageFromSend(
  input: SqsSendInput,
  messageId: string,
  sequenceNumber: string | undefined,
  deduplicationId: string | undefined,
  sentAtMs: number,
  visibleFromMs: number,
): SqsMessage {
  return {
    messageId,
    body: input.body,
    bodyMd5: input.bodyMd5,
    messageAttributes: input.messageAttributes,
    messageAttributesMd5: input.messageAttributesMd5,
    systemAttributes: input.systemAttributes,
    systemAttributesMd5: input.systemAttributesMd5,
    sizeBytes: input.sizeBytes,
    senderId: input.senderId,
    sentAtMs,
    messageGroupId: input.messageGroupId,
    deduplicationId,
    sequenceNumber,
    deadLetterSourceArn: undefined,
    visibleFromMs,
    receiveCount: 0,
    firstReceivedAtMs: 0,
    storageRef: undefined,
  };
}
