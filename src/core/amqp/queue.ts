import type { Clock, TimerHandle } from '../clock.js';
import type { DurabilityBarrier } from '../durability.js';
import type { Message, QueuedMessage } from '../message.js';
import type { Arguments } from './exchange.js';
import type { MessagePropertiesCodec } from './message-properties.js';
import type { AppliedPolicy } from './policies.js';
import { type QueueSettings, resolveQueueSettings } from './queue-arguments.js';
import { QueueDeduplicator } from './queue-dedup.js';
import type { QueueStore } from './queue-store.js';

/** Something that takes deliveries from a queue: an AMQP consumer, later an SQS long poll. */
export interface QueueConsumer {
  readonly tag: string;
  readonly exclusive: boolean;
  /** Consumer priority (AMQP `x-priority`): higher ones get messages first; default 0. */
  readonly priority: number;
  /** Whether it can take another delivery now (prefetch window, socket backpressure). */
  canAccept(): boolean;
  /**
   * Hands over a message, already leased to this consumer. The consumer settles it later through
   * the queue (ack) or releases it (requeue), or settles it at once when it does not acknowledge.
   */
  deliver(queued: QueuedMessage, queue: Queue): void;
  /** The queue was deleted under the consumer (AMQP sends basic.cancel to clients that accept it). */
  queueDeleted(queue: Queue): void;
}

export interface QueueOptions {
  readonly durable: boolean;
  /** Connection that owns an exclusive queue; undefined for shared queues. */
  readonly exclusiveOwner: unknown;
  readonly autoDelete: boolean;
  readonly arguments: Arguments;
}

/** Why a message left a queue other than by acknowledgement (x-death `reason`). */
export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

/** What a queue needs from its surroundings: time, dead-lettering and removal of itself. */
export interface QueueHost {
  readonly clock: Clock;
  /** Reads message headers (x-deduplication-header); without it queues cannot deduplicate. */
  readonly codec?: MessagePropertiesCodec;
  /** Routes a message the queue has let go of to its dead-letter exchange, if it has one. */
  deadLetter(queue: Queue, queued: QueuedMessage, reason: DeadLetterReason): void;
  /** Deletes the queue: auto-delete after its last consumer, or `x-expires` after being unused. */
  remove(queue: Queue): void;
  /** When writes are durable: a stream queue's consumers read only that far. Absent: at once. */
  readonly durability?: DurabilityBarrier | undefined;
}

/** What happened to a published message at this queue. */
export type EnqueueResult = 'queued' | 'rejected' | 'duplicate';

/**
 * A destructive queue: each message is leased to one consumer at a time; settling removes it,
 * releasing returns it ahead of newer messages (in its original position, as RabbitMQ does) and
 * counts a redelivery.
 *
 * Features, as RabbitMQ's classic queue: message TTL (queue and per message; expired messages
 * leave from the head), queue TTL (`x-expires`), max length in messages or bytes with overflow
 * drop-head / reject-publish / reject-publish-dlx, dead-lettering, priorities (one store per
 * level), single active consumer, consumer priorities, and quorum's delivery limit.
 */
export class Queue {
  readonly consumers: QueueConsumer[] = [];
  /** Messages accepted into the queue, published or dead-lettered (rabbitmq_queue_messages_published_total). */
  messagesPublished = 0;
  /** Messages handed out by consume or get (the management API's deliver_get), redeliveries included. */
  messagesDelivered = 0;
  /** Of those, ones delivered before (the management API's redeliver). */
  messagesRedelivered = 0;
  /** Deliveries acknowledged by the client (acknowledge()). */
  messagesAcknowledged = 0;
  settings: QueueSettings;
  policy: AppliedPolicy | undefined;
  /** Released messages waiting for redelivery, sorted by level (highest first), then sequence. */
  private readonly released: QueuedMessage[] = [];
  private releasedBytes = 0;
  private leased = 0;
  private roundRobin = 0;
  private dispatchScheduled = false;
  private hadConsumers = false;
  private expiryTimer: TimerHandle | undefined;
  private expiryTimerAtMs = 0;
  private unusedTimer: TimerHandle | undefined;
  private lastUsedAtMs: number;
  /** x-message-deduplication: ids of the messages in the queue (queue-dedup.ts). */
  private dedup: QueueDeduplicator | undefined;
  /** Bumped by every operation that may change a number the queue reports (statsVersion). */
  private changes = 0;
  deleted = false;

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly options: QueueOptions,
    /** One store per priority level (index = level); a single store without priorities. */
    private stores: readonly QueueStore[],
    protected readonly host: QueueHost,
    policy?: AppliedPolicy,
  ) {
    this.policy = policy;
    this.settings = resolveQueueSettings(options.arguments, policy?.definition);
    if (this.settings.deduplication) this.switchDeduplication();
    this.lastUsedAtMs = host.clock.now();
    this.armUnusedTimer();
    this.armExpiryTimer();
  }

  /** Messages ready for delivery (not counting those leased to consumers). */
  get messageCount(): number {
    let count = this.released.length;
    for (const store of this.stores) count += store.readyCount;
    return count;
  }

  /** Body bytes of ready messages (for x-max-length-bytes). */
  get readyBytes(): number {
    let bytes = this.releasedBytes;
    for (const store of this.stores) bytes += store.readyBytes;
    return bytes;
  }

  get leasedCount(): number {
    return this.leased;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /**
   * Moves whenever a number the queue reports may have changed: depth, bytes, leases, consumers
   * and the message counters (every operation that changes them passes through this class). A view
   * built at one version is still true while the version is the same (the management API's list
   * cache, views.ts), so listing 10,000 queues need not re-read each one's numbers. A subclass
   * whose numbers change elsewhere answers NaN, never equal to itself: always re-read.
   */
  get statsVersion(): number {
    return this.changes;
  }

  get isDurable(): boolean {
    return this.options.durable;
  }

  /** Whether a publisher confirm for `message` waits for the disk (a stream overrides this). */
  confirmsAfterDisk(message: Message): boolean {
    return message.persistent && this.options.durable;
  }

  /** Re-reads the settings when the policy that applies to this queue changes. */
  applyPolicy(policy: AppliedPolicy | undefined): void {
    this.policy = policy;
    this.settings = resolveQueueSettings(this.options.arguments, policy?.definition);
    if (this.settings.deduplication !== (this.dedup !== undefined)) this.switchDeduplication();
    this.enforceMaxLength();
    this.armUnusedTimer();
    this.armExpiryTimer();
    this.scheduleDispatch();
  }

  /** Deduplication turned on (stores wrapped to see messages leave) or off (queue-dedup.ts). */
  private switchDeduplication(): void {
    this.dedup = QueueDeduplicator.forQueue(this.settings, this.host);
    this.stores = QueueDeduplicator.track(this.dedup, this.stores);
  }

  private levelOf(message: Message): number {
    const top = this.stores.length - 1;
    return Math.min(message.priority, top);
  }

  private storeOf(queued: QueuedMessage): QueueStore {
    return this.stores[this.levelOf(queued.message)]!;
  }

  /** Adds a published (or dead-lettered) message, applying TTL and the length limits. */
  enqueue(message: Message): EnqueueResult {
    if (this.dedup?.isDuplicate(message)) return 'duplicate';
    const settings = this.settings;
    if (
      settings.overflow !== 'drop-head' &&
      ((settings.maxLength !== undefined && this.messageCount >= settings.maxLength) ||
        (settings.maxLengthBytes !== undefined &&
          this.readyBytes + message.bodySizeBytes > settings.maxLengthBytes))
    ) {
      if (settings.overflow === 'reject-publish-dlx') {
        this.host.deadLetter(this, unstored(message), 'maxlen');
      }
      return 'rejected';
    }
    this.messagesPublished++;
    this.changes++;
    const ttlMs = minDefined(settings.messageTtlMs, message.expirationMs);
    const nowMs = this.host.clock.now();
    const expiresAtMs = ttlMs === undefined ? 0 : nowMs + ttlMs;
    const queued = this.stores[this.levelOf(message)]!.push(message, expiresAtMs);
    this.enforceMaxLength();
    if (ttlMs === 0) {
      // TTL 0: delivered only if a consumer can take it right now, else expired at once.
      this.dispatch();
      if (this.peekHead() === queued) {
        this.removeHead();
        this.deadLetterAndSettle(queued, 'expired');
      }
    } else {
      if (expiresAtMs !== 0 && (this.expiryTimer === undefined || expiresAtMs < this.expiryTimerAtMs))
        this.armExpiryTimer();
      this.scheduleDispatch();
    }
    return 'queued';
  }

  /** drop-head: removes (and dead-letters) messages from the head until the limits hold. */
  private enforceMaxLength(): void {
    const { maxLength, maxLengthBytes, overflow } = this.settings;
    if (overflow !== 'drop-head' || (maxLength === undefined && maxLengthBytes === undefined)) return;
    while (
      (maxLength !== undefined && this.messageCount > maxLength) ||
      (maxLengthBytes !== undefined && this.readyBytes > maxLengthBytes)
    ) {
      const head = this.removeHead();
      if (!head) return;
      this.deadLetterAndSettle(head, 'maxlen');
    }
  }

  /** The message that would be delivered next, without taking it. */
  private peekHead(): QueuedMessage | undefined {
    const released = this.released[0];
    for (let level = this.stores.length - 1; level >= 0; level--) {
      if (released && this.levelOf(released.message) >= level) return released;
      const head = this.stores[level]!.peek();
      if (head) return head;
    }
    return released;
  }

  /**
   * Up to `count` ready messages in the order they would be delivered, without taking them: no
   * lease, no delivery count, the order and the stores untouched (the management API's peek).
   * Messages whose TTL has run out are left out (they leave rather than be delivered).
   */
  peekReady(count: number): QueuedMessage[] {
    const nowMs = this.host.clock.now();
    const out: QueuedMessage[] = [];
    const live = (queued: QueuedMessage) =>
      queued.expiresAtMs === 0 || queued.expiresAtMs > nowMs || this.deliverableAtZeroTtl(queued, nowMs);
    let r = 0;
    // Delivery order: per level from the highest, its released messages, then its store's.
    for (let level = this.stores.length - 1; level >= 0 && out.length < count; level--) {
      while (r < this.released.length && out.length < count) {
        const queued = this.released[r]!;
        if (this.levelOf(queued.message) < level) break;
        r++;
        if (live(queued)) out.push(queued);
      }
      if (out.length >= count) break;
      // Asks for more than needed so expired ones can be skipped over.
      for (const queued of this.stores[level]!.peekMany(count - out.length + 16)) {
        if (out.length >= count) break;
        if (live(queued)) out.push(queued);
      }
    }
    return out;
  }

  private removeHead(): QueuedMessage | undefined {
    const head = this.peekHead();
    if (!head) return undefined;
    this.changes++;
    if (head === this.released[0]) return this.shiftReleased();
    return this.stores[this.levelOf(head.message)]!.shift();
  }

  private shiftReleased(): QueuedMessage {
    const queued = this.released.shift()!;
    this.releasedBytes -= queued.message.bodySizeBytes;
    return queued;
  }

  /** Dead-letters expired messages at the head (RabbitMQ expires from the head only). */
  private expireHead(nowMs: number): void {
    for (;;) {
      const head = this.peekHead();
      if (!head || head.expiresAtMs === 0 || head.expiresAtMs > nowMs) break;
      this.removeHead();
      this.deadLetterAndSettle(head, 'expired');
    }
  }

  /** One timer per queue, for the head message's expiry. */
  private armExpiryTimer(): void {
    if (this.deleted) return;
    const head = this.peekHead();
    const atMs = head?.expiresAtMs ?? 0;
    if (this.expiryTimer !== undefined) {
      if (atMs !== 0 && atMs === this.expiryTimerAtMs) return;
      this.host.clock.clearTimeout(this.expiryTimer);
      this.expiryTimer = undefined;
    }
    if (atMs === 0) return;
    this.expiryTimerAtMs = atMs;
    this.expiryTimer = this.host.clock.setTimeout(() => {
      this.expiryTimer = undefined;
      this.expireHead(this.host.clock.now());
      this.armExpiryTimer();
    }, atMs - this.host.clock.now());
  }

  /** Leases the next ready message (for basic.get and dispatch); increments its delivery count. */
  take(): QueuedMessage | undefined {
    const nowMs = this.host.clock.now();
    for (;;) {
      const queued = this.removeHead();
      if (!queued) return undefined;
      if (
        queued.expiresAtMs !== 0 &&
        queued.expiresAtMs <= nowMs &&
        !this.deliverableAtZeroTtl(queued, nowMs)
      ) {
        this.deadLetterAndSettle(queued, 'expired');
        continue;
      }
      if (queued.deliveryCount === 0) this.storeOf(queued).markDelivered(queued);
      queued.deliveryCount++;
      this.messagesDelivered++;
      if (queued.deliveryCount > 1) this.messagesRedelivered++;
      this.leased++; // the version moved in removeHead, within this same step
      return queued;
    }
  }

  /** A TTL-0 message may still go to a consumer in the same instant it arrived. */
  private deliverableAtZeroTtl(queued: QueuedMessage, nowMs: number): boolean {
    return queued.expiresAtMs === nowMs && queued.deliveryCount === 0;
  }

  /** basic.get: counts as use for x-expires. */
  get(): QueuedMessage | undefined {
    this.touch();
    const queued = this.take();
    this.armExpiryTimer();
    return queued;
  }

  /** Ends a lease for good: the message is acknowledged or dropped. */
  settle(queued: QueuedMessage): void {
    this.leased--;
    this.changes++;
    if (!this.deleted) this.storeOf(queued).settle(queued);
  }

  /** Ends a lease by rejecting the message without requeue: it is dead-lettered if configured. */
  reject(queued: QueuedMessage): void {
    this.leased--;
    this.changes++;
    if (!this.deleted) this.deadLetterAndSettle(queued, 'rejected');
  }

  /**
   * Removes a message that leaves the queue other than by ack and routes its dead-lettered copy.
   * With a dead-letter exchange the removal reaches the disk only once the copy is durable
   * (at-least-once dead-lettering): a crash leaves the message here, in the target or in both.
   */
  private deadLetterAndSettle(queued: QueuedMessage, reason: DeadLetterReason): void {
    const store = this.storeOf(queued);
    if (this.settings.deadLetterExchange === undefined) store.settle(queued);
    else store.settleAfterDurable(queued);
    this.host.deadLetter(this, queued, reason);
  }

  /** Ends a lease by putting the message back in its original position for redelivery. */
  release(queued: QueuedMessage): void {
    this.leased--;
    this.changes++;
    if (this.deleted) return;
    const limit = this.settings.deliveryLimit;
    if (limit !== undefined && queued.deliveryCount > limit) {
      this.deadLetterAndSettle(queued, 'delivery_limit');
      return;
    }
    const released = this.released;
    const level = this.levelOf(queued.message);
    // Usually released in order, so search from the end.
    let index = released.length;
    while (index > 0) {
      const before = released[index - 1]!;
      const beforeLevel = this.levelOf(before.message);
      if (beforeLevel > level || (beforeLevel === level && before.sequence < queued.sequence)) break;
      index--;
    }
    released.splice(index, 0, queued);
    this.releasedBytes += queued.message.bodySizeBytes;
    // A requeue may take the queue over its length limit: drop-head applies then too.
    this.enforceMaxLength();
    this.armExpiryTimer();
    this.scheduleDispatch();
  }

  /** Ends a lease because the client acknowledged the delivery. */
  acknowledge(queued: QueuedMessage): void {
    this.settle(queued); // moves the version
    this.messagesAcknowledged++;
  }

  purge(): number {
    this.changes++;
    let removed = this.released.length;
    for (const store of this.stores) removed += store.purge();
    for (const queued of this.released) this.storeOf(queued).settle(queued);
    this.released.length = 0;
    this.releasedBytes = 0;
    this.armExpiryTimer();
    return removed;
  }

  addConsumer(consumer: QueueConsumer): void {
    // Kept sorted by priority (highest first, stable) so dispatch tries the highest first.
    let index = this.consumers.length;
    if (!this.settings.singleActiveConsumer) {
      while (index > 0 && this.consumers[index - 1]!.priority < consumer.priority) index--;
    }
    this.consumers.splice(index, 0, consumer);
    this.changes++;
    this.hadConsumers = true;
    this.armUnusedTimer();
    this.scheduleDispatch();
  }

  removeConsumer(consumer: QueueConsumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return;
    this.consumers.splice(index, 1);
    this.changes++;
    if (this.consumers.length === 0 && this.hadConsumers && this.options.autoDelete && !this.deleted) {
      this.host.remove(this);
      return;
    }
    this.touch();
    this.armUnusedTimer();
    // Single active consumer: the next in line takes over.
    if (index === 0) this.scheduleDispatch();
  }

  hasExclusiveConsumer(): boolean {
    return this.consumers.some((c) => c.exclusive);
  }

  /** Whether `consumer` is the one a single-active-consumer queue delivers to. */
  isActiveConsumer(consumer: QueueConsumer): boolean {
    return !this.settings.singleActiveConsumer || this.consumers[0] === consumer;
  }

  /** Declaring or getting from a queue counts as use (x-expires restarts). */
  touch(): void {
    this.lastUsedAtMs = this.host.clock.now();
  }

  /** x-expires: deletes the queue once it has had no consumers and no use for that long. */
  private armUnusedTimer(): void {
    if (this.unusedTimer !== undefined) {
      this.host.clock.clearTimeout(this.unusedTimer);
      this.unusedTimer = undefined;
    }
    const expiresMs = this.settings.expiresMs;
    if (expiresMs === undefined || this.consumers.length > 0 || this.deleted) return;
    const dueInMs = this.lastUsedAtMs + expiresMs - this.host.clock.now();
    this.unusedTimer = this.host.clock.setTimeout(() => {
      this.unusedTimer = undefined;
      if (this.deleted || this.consumers.length > 0) return;
      if (this.host.clock.now() - this.lastUsedAtMs >= expiresMs) this.host.remove(this);
      else this.armUnusedTimer();
    }, dueInMs);
  }

  /** Delivery happens after the current batch of protocol input, so many publishes dispatch at once. */
  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.deleted) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Hands ready messages to consumers with room: highest priority first, round-robin within one. */
  dispatch(): void {
    while (!this.deleted && this.consumers.length > 0 && this.messageCount > 0) {
      const consumer = this.nextConsumer();
      if (!consumer) break;
      const queued = this.take();
      if (!queued) break;
      consumer.deliver(queued, this);
    }
    this.armExpiryTimer();
  }

  private nextConsumer(): QueueConsumer | undefined {
    const consumers = this.consumers;
    if (this.settings.singleActiveConsumer) {
      const active = consumers[0];
      return active?.canAccept() ? active : undefined;
    }
    // Groups of equal priority, highest first; round-robin inside the first group with room.
    for (let start = 0; start < consumers.length; ) {
      const priority = consumers[start]!.priority;
      let end = start + 1;
      while (end < consumers.length && consumers[end]!.priority === priority) end++;
      const size = end - start;
      for (let tried = 0; tried < size; tried++) {
        const index = start + ((this.roundRobin + tried) % size);
        const consumer = consumers[index]!;
        if (consumer.canAccept()) {
          this.roundRobin = (this.roundRobin + tried + 1) % size;
          return consumer;
        }
      }
      start = end;
    }
    return undefined;
  }

  /** Releases storage and timers when the queue is deleted. */
  destroy(): void {
    this.deleted = true;
    this.changes++;
    this.stopTimers();
    this.released.length = 0;
    this.releasedBytes = 0;
    for (const store of this.stores) store.destroy();
  }

  close(): void {
    this.stopTimers();
    for (const store of this.stores) store.close();
  }

  private stopTimers(): void {
    if (this.expiryTimer !== undefined) this.host.clock.clearTimeout(this.expiryTimer);
    if (this.unusedTimer !== undefined) this.host.clock.clearTimeout(this.unusedTimer);
    this.expiryTimer = undefined;
    this.unusedTimer = undefined;
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

/** A message that never entered the queue (rejected by overflow), shaped for dead-lettering. */
function unstored(message: Message): QueuedMessage {
  return { message, sequence: -1, deliveryCount: 0, expiresAtMs: 0, storageRef: undefined };
}
