/**
 * Delayed messages: the exchange type `x-delayed-message` of the rabbitmq_delayed_message_exchange
 * plugin. A message published with an `x-delay` header (ms) greater than 0 is stored and routed
 * through the exchange's bindings (as its `x-delayed-type`) once it falls due; without one, or
 * with 0 or a negative value, it is routed at once. When it fires, its `x-delay` header becomes
 * the negated delay, as the plugin does, so consumers can tell it was delayed.
 *
 * Unlike the plugin (whose Erlang timers stop at 2^32-1 ms, about 49 days, routing longer delays
 * at once), any delay up to MAX_DELAY_MS is honoured: timers are re-armed in steps of at most
 * 2^31-1 ms, the most a JS timer can wait.
 *
 * Scale: one timer per exchange, set for the earliest message; pending messages are indexed in a
 * DelayHeap (16 bytes each, O(log n) per message) and their bodies stay in the DelayStore (on
 * disk for brokers with storage) until they fire.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { DelayHeap } from '../delay-heap.js';
import type { Message } from '../message.js';
import type { DelayStore } from './delay-store.js';
import { BrokerError, preconditionFailed } from './errors.js';
import type { Arguments, Exchange } from './exchange.js';
import type { MessagePropertiesCodec } from './message-properties.js';

export const DELAYED_EXCHANGE_TYPE = 'x-delayed-message';
/** Exchange types a delayed exchange can route as (its `x-delayed-type`). */
export const DELAYED_ROUTING_TYPES = ['direct', 'fanout', 'topic', 'headers'] as const;
/** The longest delay honoured (about 8,900 years, RabbitMQ's largest TTL); longer ones are capped. */
export const MAX_DELAY_MS = 2 ** 32 * 65_536 - 1;
/** The longest a JS timer can wait; longer waits re-arm. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Messages routed per timer callback, so a backlog (e.g. after a restart) does not block the loop. */
export const FIRE_BATCH = 5_000;

/**
 * Checks the arguments of a new `x-delayed-message` exchange; throws with the plugin's reply
 * texts (406), or RabbitMQ's 503 for an unknown type.
 */
export function validateDelayedExchangeArguments(args: Arguments): void {
  const type = args['x-delayed-type'];
  if (type === DELAYED_EXCHANGE_TYPE) {
    throw preconditionFailed(`Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'`);
  }
  if (typeof type !== 'string') {
    throw preconditionFailed(`Invalid argument, 'x-delayed-type' must be an existing exchange type`);
  }
  if (!(DELAYED_ROUTING_TYPES as readonly string[]).includes(type)) {
    throw new BrokerError('command-invalid', `unknown exchange type '${type}'`);
  }
}

/**
 * The `x-delay` header as the plugin reads it: integers as they are, floats and decimals
 * truncated, strings of digits parsed; anything else means no delay.
 */
export function delayHeaderMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) return Number(value);
  return undefined;
}

/** What the scheduler needs from its vhost. */
export interface DelayedMessagesHost {
  readonly clock: Clock;
  readonly codec: MessagePropertiesCodec;
  /** Routes a message that fell due through the exchange's bindings (as they are now). */
  routeDue(exchange: Exchange, message: Message): void;
}

/** The pending delayed messages of one exchange and the timer that fires them. */
export class DelayedMessages {
  private readonly heap = new DelayHeap();
  private timer: TimerHandle | undefined;
  /** Due time the timer was set for; Infinity when no timer is set. */
  private timerDueMs = Number.POSITIVE_INFINITY;
  /**
   * Due time of the last message fired: new messages are never due before it, so the (due, ref)
   * order stays the firing order even if the wall clock steps back (the store relies on it).
   */
  private firedUpToMs: number;
  /** Observer of every fired message (the delayed-message bench measures lateness with it). */
  onFired: ((dueAtMs: number, firedAtMs: number) => void) | undefined;

  constructor(
    readonly exchange: Exchange,
    private readonly store: DelayStore,
    private readonly host: DelayedMessagesHost,
  ) {
    this.firedUpToMs = store.recover((dueAtMs, ref) => this.heap.push(dueAtMs, ref));
    this.arm();
  }

  /** Messages waiting to fire. */
  get pendingCount(): number {
    return this.heap.size;
  }

  /** Bytes of the in-memory index (bodies are in the store). */
  get indexBytes(): number {
    return this.heap.capacityBytes;
  }

  /** Stores a message to be routed `delayMs` from now. */
  schedule(message: Message, delayMs: number): void {
    const dueAtMs = Math.max(this.host.clock.now() + Math.min(delayMs, MAX_DELAY_MS), this.firedUpToMs);
    const ref = this.store.add(message, dueAtMs);
    this.heap.push(dueAtMs, ref);
    if (dueAtMs < this.timerDueMs) this.arm();
  }

  /** One timer, for the earliest pending message (re-armed in steps when that is far away). */
  private arm(): void {
    const dueMs = this.heap.minDueMs;
    const clock = this.host.clock;
    if (this.timer !== undefined) {
      if (dueMs === this.timerDueMs) return;
      clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.timerDueMs = Number.POSITIVE_INFINITY;
    }
    if (dueMs === Number.POSITIVE_INFINITY || this.store.closed) return;
    const waitMs = Math.min(Math.max(0, dueMs - clock.now()), MAX_TIMER_MS);
    this.timerDueMs = dueMs;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.timerDueMs = Number.POSITIVE_INFINITY;
      this.fireDue();
    }, waitMs);
  }

  /** Routes the messages that are due, earliest first, at most FIRE_BATCH per call. */
  private fireDue(): void {
    if (this.store.closed) return;
    const heap = this.heap;
    const nowMs = this.host.clock.now();
    let count = 0;
    let lastDueMs = 0;
    let lastRef = 0;
    while (heap.size > 0 && heap.minDueMs <= nowMs && count < FIRE_BATCH) {
      lastDueMs = heap.minDueMs;
      lastRef = heap.minRef;
      heap.pop();
      count++;
      const message = this.store.take(lastRef);
      if (!message) continue;
      this.host.routeDue(this.exchange, this.dueMessage(message));
      this.onFired?.(lastDueMs, nowMs);
    }
    if (count > 0) {
      this.firedUpToMs = lastDueMs;
      this.store.fired(lastDueMs, lastRef);
    }
    this.arm();
  }

  /** The message as routed when due: `x-delay` negated (as the plugin does), TTL re-read. */
  private dueMessage(message: Message): Message {
    const codec = this.host.codec;
    let properties = message.properties;
    try {
      const headers = codec.headers(properties);
      const delayMs = headers ? delayHeaderMs(headers['x-delay']) : undefined;
      if (headers && delayMs !== undefined) {
        properties = codec.withHeaders(properties, { ...headers, 'x-delay': -delayMs });
      }
    } catch {
      // Properties that cannot be re-encoded are routed as they were published.
    }
    const expiration = codec.expiration(properties);
    const expirationMs =
      expiration !== undefined && /^\d+$/.test(expiration) ? Number(expiration) : undefined;
    return { ...message, properties, expirationMs };
  }

  /** Drops every pending message and the stored data (the exchange was deleted). */
  destroy(): void {
    this.stopTimer();
    this.heap.clear();
    this.store.destroy();
  }

  /** Stops the timer and closes the store, keeping its data (broker shutdown). */
  close(): void {
    this.stopTimer();
    this.store.close();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueMs = Number.POSITIVE_INFINITY;
  }
}
