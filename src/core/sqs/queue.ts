import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import { DedupCache } from '../dedup-cache.js';
import type { DedupStore } from '../dedup-store.js';
import { DelayHeap } from '../delay-heap.js';
import {
  DELAYED,
  FREE,
  INFLIGHT,
  NONE,
  type SqsEntryState,
  SqsEntryTable,
  stateName,
  VISIBLE,
  VisibleLine,
} from './entry.js';
import { SqsCoreError } from './errors.js';
import { FifoGroups } from './fifo-groups.js';
import { MESSAGE_OVERHEAD_BYTES, SqsMemoryWindow } from './memory-window.js';
import type { SqsMessage, SqsReceivedMessage, SqsSendInput } from './message.js';
import type { SqsQueueSettings } from './settings.js';
import type { SqsMessageStore, SqsRecoveredMessage, SqsStoredMessage } from './store.js';

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
  readonly slots: readonly number[];
  readonly keys: readonly number[];
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
/** A receipt handle's text: queue id : incarnation : slot : key : lease : serial. */
const HANDLE_FIELDS = 6;

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
  /** Every live message: one slot each, linked in send order (which retention uses). */
  private readonly table: SqsEntryTable;
  /** Standard queues: visible messages (new ones in arrival order, returned ones in send order). */
  private readonly visible: VisibleLine;
  /** FIFO queues: messages by group. */
  private readonly groups: FifoGroups;
  /** What the store is handed for a slot (one object, refilled per call). */
  private readonly storedScratch: SqsStoredMessage = {
    storageRef: undefined,
    receiveCount: 0,
    firstReceivedAtMs: 0,
  };
  /** When delayed and in-flight messages become visible (stale items are skipped when popped). */
  private readonly timeline = new DelayHeap();
  private timelineTimer: TimerHandle | undefined;
  private timelineTimerAtMs = Number.POSITIVE_INFINITY;
  private retentionTimer: TimerHandle | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly dedup: DedupCache<DedupHit>;
  /**
   * Whether the cache may hold ids recorded under each DeduplicationScope (a group-scoped key has
   * the group and a NUL before the id; ids cannot contain NUL). Set when one is recorded, cleared
   * by a purge: the lookup under the other scope is skipped while that scope recorded nothing.
   */
  private dedupScopesSeen = { queue: false, messageGroup: false };
  private readonly attempts: DedupCache<Attempt>;
  private nextKey = 0;
  private handleSerial = 0;
  /** The slot and key peekVisible() last returned, so takeForMove() finds it without a search. */
  private peekedSlot = NONE;
  private peekedKey = -1;
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
    // A queue stays FIFO or standard for life (FifoQueue cannot be changed).
    this.table = new SqsEntryTable(options.settings.fifoQueue);
    this.visible = new VisibleLine(this.table);
    this.groups = new FifoGroups(this.table);
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
    const head = this.table.head;
    return head === NONE ? undefined : this.table.sentAtMs[head];
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
      const otherScopeSeen = byGroup ? this.dedupScopesSeen.queue : this.dedupScopesSeen.messageGroup;
      const hit =
        this.dedup.get(dedupKey) ??
        (otherScopeSeen ? this.dedup.get(byGroup ? queueKey : groupKey) : undefined);
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
      this.dedupScopesSeen[this.settings.deduplicationScope] = true;
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
    const t = this.table;
    const slot = parsed.slot;
    // Deleting a message that is already gone succeeds, as on AWS (deletes are idempotent).
    if (!t.holds(slot, parsed.key)) return 'ok';
    const lease = t.receiveCount[slot]!;
    // A FIFO queue takes only the current lease's handle while it lasts: once the message is visible
    // again or received again, the handle has expired (AWS docs, "Amazon SQS FIFO queue delivery
    // logic": a message whose visibility timeout expired may be received again, and the old receipt
    // handle is refused as expired). A standard queue deletes the message with any handle it issued
    // for it, an older receive's too (AWS docs, DeleteMessage: "Amazon SQS can delete a message from a
    // queue even if a visibility timeout setting causes the message to be locked by another consumer
    // ... If you use an old ReceiptHandle, the request will succeed").
    if (this.isFifo && (lease !== parsed.lease || t.state[slot] !== INFLIGHT)) return 'expired';
    if (lease < parsed.lease) return 'expired';
    this.store?.remove(this.stored(slot));
    this.removeEntry(slot);
    this.stats.messagesDeleted++;
    if (this.isFifo) this.wakeWaiters();
    return 'ok';
  }

  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): SqsLeaseResult {
    const parsed = this.parseHandle(receiptHandle);
    if (!parsed) return 'invalid';
    if (parsed === 'stale') return 'expired';
    const t = this.table;
    const slot = parsed.slot;
    // A deleted message: AWS's "Message does not exist or is not available for visibility timeout
    // change." as an invalid ReceiptHandle value.
    if (!t.holds(slot, parsed.key) || t.state[slot] === DELAYED) return 'gone';
    const lease = t.receiveCount[slot]!;
    if (this.isFifo) {
      if (lease !== parsed.lease) return 'expired';
      if (t.state[slot] !== INFLIGHT) return 'not-inflight';
    } else if (lease < parsed.lease) {
      return 'expired';
    }
    // A standard queue takes any handle of the message, an older receive's too, and a message whose
    // lease ran out is hidden again: on AWS, ChangeMessageVisibility after the visibility timeout
    // succeeds on a standard queue (as issue 14's recorded AWS runs show; LocalStack does the same).
    const nowMs = this.clock.now();
    if (nowMs + visibilityTimeoutSeconds * 1000 > t.leasedAtMs[slot]! + MAX_LEASE_MS) return 'too-long';
    if (t.state[slot] !== INFLIGHT) {
      if (visibilityTimeoutSeconds <= 0) return 'ok';
      this.hideAgain(slot);
    }
    if (visibilityTimeoutSeconds <= 0) {
      this.makeVisible(slot);
      this.wakeWaiters();
    } else {
      t.visibleAtMs[slot] = nowMs + visibilityTimeoutSeconds * 1000;
      this.schedule(slot);
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
    for (let slot = this.table.head; slot !== NONE; slot = this.table.head) {
      this.store?.remove(this.stored(slot));
      this.removeEntry(slot);
    }
    this.visible.clear();
    // A purge forgets the deduplication ids too: a message sent again after a purge is a new message
    // (as AWS does, per issue 14's recorded AWS runs; AWS docs, PurgeQueue: "deletes all messages").
    if (this.isFifo) {
      this.dedup.clear();
      this.dedupScopesSeen = { queue: false, messageGroup: false };
      this.dedupStore?.rewrite([]);
    }
  }

  /**
   * Up to `max` live messages in send order with where each stands, for the management API's peek:
   * nothing changes (no receive counted, no lease taken, nothing hidden).
   */
  inspect(max: number): { message: SqsMessage; state: SqsEntryState; visibleAtMs: number }[] {
    const found: { message: SqsMessage; state: SqsEntryState; visibleAtMs: number }[] = [];
    const t = this.table;
    for (let slot = t.head; slot !== NONE; slot = t.next[slot]!) {
      if (found.length >= max) break;
      const message = this.contentOf(slot);
      if (message)
        found.push({ message, state: stateName(t.state[slot]!), visibleAtMs: t.visibleAtMs[slot]! });
    }
    return found;
  }

  /** The next visible message (read back from the store if paged out), nothing changed. */
  peekVisible(): SqsMessage | undefined {
    for (;;) {
      const slot = this.isFifo ? this.firstVisibleFifo() : this.visible.peek();
      const message = slot === NONE ? undefined : this.contentOf(slot);
      if (slot !== NONE && !message) {
        this.dropUnreadable(slot);
        continue;
      }
      this.peekedSlot = slot;
      this.peekedKey = slot === NONE ? -1 : this.table.key[slot]!;
      this.peekedMessage = message;
      return message;
    }
  }

  takeForMove(message: SqsMessage): void {
    const t = this.table;
    let slot = NONE;
    let key = -1;
    if (this.peekedMessage === message) {
      slot = this.peekedSlot;
      key = this.peekedKey;
    } else {
      for (let candidate = t.head; candidate !== NONE; candidate = t.next[candidate]!) {
        if (t.content.get(candidate) === message) {
          slot = candidate;
          key = t.key[candidate]!;
          break;
        }
      }
    }
    this.peekedSlot = NONE;
    this.peekedMessage = undefined;
    if (slot === NONE || !t.holds(slot, key)) return;
    this.store?.removeAfterDurable(this.stored(slot));
    this.removeEntry(slot);
    if (this.isFifo) this.wakeWaiters();
  }

  private firstVisibleFifo(): number {
    const t = this.table;
    for (let slot = t.head; slot !== NONE; slot = t.next[slot]!) if (t.state[slot] === VISIBLE) return slot;
    return NONE;
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
    for (let slot = this.table.head; slot !== NONE; slot = this.table.next[slot]!) this.dropContent(slot);
  }

  /** The store's view of a slot (one scratch object: the store must not keep it). */
  private stored(slot: number): SqsStoredMessage {
    const t = this.table;
    const scratch = this.storedScratch;
    const ref = t.storageRef[slot]!;
    scratch.storageRef = ref === NONE ? undefined : ref;
    (scratch as { receiveCount: number }).receiveCount = t.receiveCount[slot]!;
    (scratch as { firstReceivedAtMs: number }).firstReceivedAtMs = t.firstReceivedAtMs[slot]!;
    return scratch;
  }

  /**
   * The whole message in `slot`, with its receive count and time: in memory, or read back from
   * the store (paged out). Undefined when the stored copy cannot be read (corrupt or missing).
   */
  private contentOf(slot: number): SqsMessage | undefined {
    const t = this.table;
    let message = t.content.get(slot);
    if (message === undefined) {
      if (!this.store || t.storageRef[slot] === NONE) return undefined;
      try {
        message = this.store.load(this.stored(slot));
      } catch {
        return undefined;
      }
      this.memory.pageIns++;
    }
    message.receiveCount = t.receiveCount[slot]!;
    message.firstReceivedAtMs = t.firstReceivedAtMs[slot]!;
    return message;
  }

  /** Lets the content of a durable queue's message go from memory (the store has it). */
  private dropContent(slot: number): void {
    const message = this.table.content.get(slot);
    if (message === undefined) return;
    this.memory.release(message.sizeBytes + MESSAGE_OVERHEAD_BYTES);
    this.table.content.delete(slot);
  }

  /** A message whose stored copy cannot be read is dropped (never served damaged), and counted. */
  private dropUnreadable(slot: number): void {
    this.store?.remove(this.stored(slot));
    this.removeEntry(slot);
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
    this.table.reserve(this.store?.pendingRecoveryCount?.() ?? 0);
    this.store?.recoverIndex((stored) => {
      if (stored.sequenceNumber !== undefined) {
        const sequence = BigInt(stored.sequenceNumber);
        if (sequence > this.lastSequence) this.lastSequence = sequence;
      }
      this.index(stored, undefined);
    });
    for (const stored of this.dedupStore?.recover() ?? []) {
      const [key, messageId, sequenceNumber] = stored.key.split('\n');
      if (key === undefined || messageId === undefined) continue;
      this.dedup.setUntil(key, { messageId, sequenceNumber: sequenceNumber ?? '' }, stored.expiresAtMs);
      this.dedupScopesSeen[key.includes('\u0000') ? 'messageGroup' : 'queue'] = true;
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
    const t = this.table;
    const slot = t.alloc(this.nextKey++);
    const groupId = stored.messageGroupId;
    if (content !== undefined) t.content.set(slot, content);
    const ref = stored.storageRef;
    t.storageRef[slot] = typeof ref === 'number' ? ref : NONE;
    t.sentAtMs[slot] = stored.sentAtMs;
    if (this.isFifo) t.group[slot] = this.groups.numberOf(groupId ?? '');
    t.receiveCount[slot] = stored.receiveCount;
    t.firstReceivedAtMs[slot] = stored.firstReceivedAtMs;
    t.visibleAtMs[slot] = stored.visibleFromMs;
    t.leasedAtMs[slot] = 0;
    if (stored.visibleFromMs > nowMs) {
      t.state[slot] = DELAYED;
      this.delayedCount++;
      if (this.isFifo) this.groups.add(slot);
      this.schedule(slot);
    } else {
      t.state[slot] = VISIBLE;
      this.visibleCount++;
      if (this.isFifo) this.groups.add(slot);
      else this.visible.push(slot);
      this.wakeWaiters();
    }
    if (t.size === 1) this.armRetention();
  }

  /** Leases up to request.maxMessages visible messages (dead-lettering those past maxReceiveCount). */
  private take(request: SqsReceiveRequest): SqsReceivedMessage[] {
    const attemptId = this.isFifo ? request.receiveRequestAttemptId : undefined;
    if (attemptId !== undefined) {
      const retried = this.retriedAttempt(attemptId);
      if (retried) return retried;
    }
    const t = this.table;
    const max = Math.max(1, request.maxMessages);
    // The content of each taken slot, in the order taken.
    const contents: SqsMessage[] = [];
    const consider = (slot: number): 'take' | 'drop' => {
      const message = this.contentOf(slot);
      if (message === undefined) {
        this.store?.remove(this.stored(slot));
        this.removeEntry(slot, true);
        this.stats.unreadableDropped++;
        return 'drop';
      }
      const redrive = this.settings.redrivePolicy;
      if (redrive && t.receiveCount[slot]! >= redrive.maxReceiveCount) {
        if (this.host.deadLetter(this, message)) {
          this.store?.removeAfterDurable(this.stored(slot));
          this.removeEntry(slot, true);
          return 'drop';
        }
      }
      contents.push(message);
      return 'take';
    };
    let taken: number[];
    if (this.isFifo) {
      taken = this.groups.take(max, consider);
    } else {
      taken = [];
      while (taken.length < max) {
        const slot = this.visible.shift();
        if (slot === NONE) break;
        if (consider(slot) === 'take') taken.push(slot);
      }
    }
    if (taken.length === 0) return [];
    const nowMs = this.clock.now();
    const timeoutSeconds = request.visibilityTimeoutSeconds ?? this.settings.visibilityTimeoutSeconds;
    const logReceives = this.settings.redrivePolicy !== undefined;
    const received: SqsReceivedMessage[] = [];
    for (let i = 0; i < taken.length; i++) {
      const slot = taken[i]!;
      const message = contents[i]!;
      t.receiveCount[slot]++;
      if (t.firstReceivedAtMs[slot] === 0) t.firstReceivedAtMs[slot] = nowMs;
      message.receiveCount = t.receiveCount[slot]!;
      message.firstReceivedAtMs = t.firstReceivedAtMs[slot]!;
      // Receive counts are logged only where they decide something (a redrive policy): elsewhere a
      // restart resets ApproximateReceiveCount, and each receive costs no log record and ack.
      if (logReceives) this.store?.recordReceive(this.stored(slot));
      // Handed out: a durable queue reads it back if it is received again (the window is for
      // messages waiting to be received).
      if (this.store) this.dropContent(slot);
      t.leasedAtMs[slot] = nowMs;
      t.state[slot] = INFLIGHT;
      this.visibleCount--;
      this.inFlightCount++;
      t.visibleAtMs[slot] = nowMs + timeoutSeconds * 1000;
      received.push({ message, receiptHandle: this.receiptHandleOf(slot) });
    }
    // A visibility timeout of 0 leaves the messages visible at once (received, count incremented).
    if (timeoutSeconds <= 0) for (const slot of taken) this.makeVisible(slot);
    else for (const slot of taken) this.schedule(slot);
    if (attemptId !== undefined) {
      this.attempts.set(attemptId, {
        slots: taken,
        keys: taken.map((slot) => t.key[slot]!),
        leases: taken.map((slot) => t.receiveCount[slot]!),
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
    const t = this.table;
    const unchanged = attempt.slots.every(
      (slot, i) =>
        t.holds(slot, attempt.keys[i]!) &&
        t.state[slot] === INFLIGHT &&
        t.receiveCount[slot] === attempt.leases[i],
    );
    if (unchanged) return attempt.received;
    this.attempts.delete(attemptId);
    return undefined;
  }

  /**
   * The handle names the slot, the message's key there and its lease (the receive count); the
   * serial makes every handle distinct. Handles are not secrets (anyone who may receive may
   * delete), so no random bytes per message: they cost a tenth of the broker's receive path.
   */
  private receiptHandleOf(slot: number): string {
    const t = this.table;
    const text = `${this.handlePrefix}${slot}:${t.key[slot]}:${t.receiveCount[slot]}:${(this.handleSerial++).toString(36)}`;
    return Buffer.from(text, 'latin1').toString('base64');
  }

  /** The slot, key and lease a handle names; 'stale' for a handle from before a restart. */
  private parseHandle(handle: string): { slot: number; key: number; lease: number } | 'stale' | undefined {
    if (handle.length === 0 || handle.length > 1024) return undefined;
    const text = Buffer.from(handle, 'base64').toString('utf8');
    if (!text.startsWith(this.handlePrefix)) {
      return text.startsWith(`${this.id}:`) && text.split(':').length === HANDLE_FIELDS ? 'stale' : undefined;
    }
    const parts = text.slice(this.handlePrefix.length).split(':');
    if (parts.length !== HANDLE_FIELDS - 2) return undefined;
    const slot = Number(parts[0]);
    const key = Number(parts[1]);
    const lease = Number(parts[2]);
    if (!Number.isSafeInteger(slot) || !Number.isSafeInteger(key) || !Number.isSafeInteger(lease))
      return undefined;
    return { slot, key, lease };
  }

  /** A delayed or in-flight message becomes visible (delay passed, lease over or given up). */
  private makeVisible(slot: number): void {
    const t = this.table;
    const previous = t.state[slot];
    if (previous === VISIBLE) return;
    t.state[slot] = VISIBLE;
    t.visibleAtMs[slot] = 0;
    this.visibleCount++;
    if (previous === DELAYED) {
      this.delayedCount--;
      if (this.isFifo) this.groups.becameVisible(slot);
      else this.visible.push(slot);
    } else {
      this.inFlightCount--;
      if (this.isFifo) this.groups.returned(slot);
      else this.visible.returnToPlace(slot);
    }
  }

  /** A visible message of a standard queue is in flight again (ChangeMessageVisibility after its lease). */
  private hideAgain(slot: number): void {
    this.visible.unlink(slot);
    this.table.state[slot] = INFLIGHT;
    this.visibleCount--;
    this.inFlightCount++;
  }

  /** Takes a message out of every structure and frees its slot (the store is the caller's). */
  private removeEntry(slot: number, alreadyTaken = false): void {
    const t = this.table;
    const state = t.state[slot];
    if (state === FREE) return;
    this.dropContent(slot);
    if (state === VISIBLE) this.visibleCount--;
    else if (state === INFLIGHT) this.inFlightCount--;
    else this.delayedCount--;
    if (this.isFifo) {
      // A head taken out by groups.take is no longer in its group's waiting run.
      if (!alreadyTaken) this.groups.removed(slot, state === INFLIGHT);
    } else {
      this.visible.unlink(slot);
    }
    t.release(slot);
  }

  private schedule(slot: number): void {
    const dueMs = this.table.visibleAtMs[slot]!;
    this.timeline.push(dueMs, slot);
    if (dueMs < this.timelineTimerAtMs) this.armTimeline();
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
    const t = this.table;
    let due: number[] | undefined;
    while (this.timeline.size > 0 && this.timeline.minDueMs <= nowMs) {
      const dueMs = this.timeline.minDueMs;
      const slot = this.timeline.minRef;
      this.timeline.pop();
      // Stale items: the message left, was made visible, or its lease was changed since.
      if (t.state[slot] === FREE || t.state[slot] === VISIBLE || t.visibleAtMs[slot] !== dueMs) continue;
      due ??= [];
      due.push(slot);
    }
    if (due !== undefined) {
      // The heap orders ties by slot; messages due together become visible in send order.
      due.sort((a, b) => t.visibleAtMs[a]! - t.visibleAtMs[b]! || t.key[a]! - t.key[b]!);
      for (const slot of due) this.makeVisible(slot);
    }
    this.armTimeline();
    if (due !== undefined) this.wakeWaiters();
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
    const oldest = this.table.head;
    if (oldest === NONE) return;
    const expiresAtMs = this.table.sentAtMs[oldest]! + this.settings.messageRetentionPeriodSeconds * 1000;
    this.retentionTimer = this.clock.setTimeout(
      () => this.onRetention(),
      Math.max(0, expiresAtMs - this.clock.now()),
    );
  }

  private onRetention(): void {
    this.retentionTimer = undefined;
    const cutoffMs = this.clock.now() - this.settings.messageRetentionPeriodSeconds * 1000;
    const t = this.table;
    for (let slot = t.head; slot !== NONE; slot = t.head) {
      if (t.sentAtMs[slot]! > cutoffMs) break;
      this.store?.remove(this.stored(slot));
      this.removeEntry(slot);
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
