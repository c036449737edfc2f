/**
 * What happens to a message at an exchange before routing: deduplication (the exchange argument
 * `x-message-deduplication`, as LavinMQ) and delays (the `x-delayed-message` exchange type). The
 * VirtualHost calls in at four points: declare (validate), exchange created or restored (added),
 * exchange deleted (removed) and publish (intercept).
 *
 * A durable deduplicating exchange writes every id its cache takes to a DedupStore (when the
 * broker gives it a factory), so the cache survives a restart minus the ids that expired.
 */
import type { Clock } from '../clock.js';
import { DedupCache } from '../dedup-cache.js';
import type { DedupStore, DedupStoreFactory } from '../dedup-store.js';
import type { Message } from '../message.js';
import type { DelayStoreFactory } from './delay-store.js';
import {
  DELAYED_EXCHANGE_TYPE,
  DelayedMessages,
  delayHeaderMs,
  validateDelayedExchangeArguments,
} from './delayed-exchange.js';
import { preconditionFailed } from './errors.js';
import type { Arguments, Exchange } from './exchange.js';
import type { MessagePropertiesCodec } from './message-properties.js';
import { DEDUP_HEADER, DEFAULT_DEDUP_CACHE_ENTRIES, readDedupId } from './queue-dedup.js';
import type { PublishOutcome } from './vhost.js';

/** Deduplication settings as x-arguments, from the exchange's arguments or else its policy. */
function dedupSettings(exchange: Exchange): Arguments | undefined {
  const args = exchange.options.arguments;
  if (args['x-message-deduplication'] !== undefined)
    return args['x-message-deduplication'] === true ? args : undefined;
  const policy = exchange.policy?.definition;
  if (policy?.['message-deduplication'] !== true) return undefined;
  return { 'x-cache-size': policy['cache-size'], 'x-cache-ttl': policy['cache-ttl'] };
}

/** What the extensions need from their vhost. */
export interface ExtensionsHost {
  readonly name: string;
  readonly clock: Clock;
  readonly codec: MessagePropertiesCodec;
  /** Routes and enqueues a message (the vhost's publish). */
  publish(exchange: Exchange, message: Message): PublishOutcome;
}

/** A duplicate is not routed: publisher confirms ack it, mandatory publishes get it back. */
const DUPLICATE: PublishOutcome = { routed: false, rejected: false, needsDisk: false };

/** A stored id log is rewritten once it holds twice the live ids (plus this many records). */
const COMPACT_SLACK_RECORDS = 1024;

/** Exchange-level deduplication: an id seen within the cache's TTL is not routed again. */
class ExchangeDeduplicator {
  private readonly cache: DedupCache<true>;
  private readonly header: string;

  constructor(
    args: Arguments,
    clock: Clock,
    private readonly store: DedupStore | undefined,
  ) {
    const size = args['x-cache-size'];
    const ttl = args['x-cache-ttl'];
    this.cache = new DedupCache(
      clock,
      typeof size === 'number' ? size : DEFAULT_DEDUP_CACHE_ENTRIES,
      typeof ttl === 'number' ? ttl : undefined,
    );
    const header = args['x-deduplication-header'];
    this.header = typeof header === 'string' ? header : DEDUP_HEADER;
    if (store) for (const id of store.recover()) this.cache.setUntil(id.key, true, id.expiresAtMs);
  }

  /** True for a duplicate; otherwise remembers the message's id (when it has one). */
  check(headers: Arguments | undefined): boolean {
    const id = readDedupId(headers, this.header);
    if (!id) return false;
    if (this.cache.has(id.key)) return true;
    const expiresAtMs = this.cache.expiryFor(id.ttlMs);
    this.cache.setUntil(id.key, true, expiresAtMs);
    const store = this.store;
    if (store) {
      store.add({ key: id.key, expiresAtMs });
      // The log holds every id ever taken; rewriting it with the live ones keeps it bounded.
      if (store.recordCount >= 2 * this.cache.size + COMPACT_SLACK_RECORDS) store.rewrite(this.cache.live());
    }
    return false;
  }

  destroy(): void {
    this.store?.destroy();
  }

  close(): void {
    this.store?.close();
  }
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

export class ExchangeExtensions {
  private readonly delayed = new Map<Exchange, DelayedMessages>();
  private readonly deduplicators = new Map<Exchange, ExchangeDeduplicator>();
  /** Set while a due delayed message is being routed: it is not deduplicated or delayed again. */
  private routingDue = false;

  constructor(
    private readonly host: ExtensionsHost,
    private readonly createDelayStore: DelayStoreFactory,
    /** Where durable deduplicating exchanges keep their ids; without it caches are memory-only. */
    private readonly createDedupStore?: DedupStoreFactory,
  ) {}

  /** Checks the arguments of an exchange about to be created; throws 406 (or 503) naming the problem. */
  validate(name: string, type: string, args: Arguments): void {
    if (type === DELAYED_EXCHANGE_TYPE) validateDelayedExchangeArguments(args);
    const dedup = args['x-message-deduplication'];
    if (dedup === undefined) return;
    const fail = (detail: string): never => {
      throw preconditionFailed(`${detail} for exchange '${name}' in vhost '${this.host.name}'`);
    };
    if (typeof dedup !== 'boolean') fail(`Invalid argument, 'x-message-deduplication' must be a boolean`);
    if (!dedup) return;
    const size = args['x-cache-size'];
    if (size !== undefined && !(isNonNegativeInteger(size) && size > 0))
      fail(`Invalid argument, 'x-cache-size' must be an integer greater than 0`);
    const ttl = args['x-cache-ttl'];
    if (ttl !== undefined && !isNonNegativeInteger(ttl))
      fail(`Invalid argument, 'x-cache-ttl' must be a non-negative integer`);
    const header = args['x-deduplication-header'];
    if (header !== undefined && typeof header !== 'string')
      fail(`Invalid argument, 'x-deduplication-header' must be a string`);
  }

  /** An exchange was created or restored: opens its delay store (recovering it) and dedup cache. */
  added(exchange: Exchange): void {
    if (exchange.type === DELAYED_EXCHANGE_TYPE && !this.delayed.has(exchange)) {
      const store = this.createDelayStore(this.host.name, exchange.name, exchange.options.durable);
      this.delayed.set(
        exchange,
        new DelayedMessages(exchange, store, {
          clock: this.host.clock,
          codec: this.host.codec,
          routeDue: (x, message) => this.routeDue(x, message),
        }),
      );
    }
    exchange.onPolicyChange = () => this.refreshDeduplication(exchange);
    this.refreshDeduplication(exchange);
  }

  /**
   * Deduplication is on when the exchange's `x-message-deduplication` argument says so or, without
   * that argument, when its policy's `message-deduplication` does (with `cache-size`/`cache-ttl`).
   */
  private refreshDeduplication(exchange: Exchange): void {
    const settings = dedupSettings(exchange);
    const current = this.deduplicators.get(exchange);
    if (settings && !current) {
      const store = exchange.options.durable
        ? this.createDedupStore?.(this.host.name, exchange.name)
        : undefined;
      this.deduplicators.set(exchange, new ExchangeDeduplicator(settings, this.host.clock, store));
    } else if (!settings && current) {
      current.destroy();
      this.deduplicators.delete(exchange);
    }
  }

  /** An exchange was deleted: its pending delayed messages, its dedup ids and their data go with it. */
  removed(exchange: Exchange): void {
    this.delayed.get(exchange)?.destroy();
    this.delayed.delete(exchange);
    this.deduplicators.get(exchange)?.destroy();
    this.deduplicators.delete(exchange);
  }

  /** The delayed messages of an exchange (for inspection, metrics and the bench). */
  delayedMessages(exchange: Exchange): DelayedMessages | undefined {
    return this.delayed.get(exchange);
  }

  /**
   * Deduplication, then delay. Returns the outcome when the message is not to be routed now
   * (a duplicate, or held for later), undefined when it should be routed as usual.
   *
   * A delayed message counts as unrouted, as in the plugin: a mandatory publish gets a
   * basic.return (NO_ROUTE) although it will be routed when due. Publisher confirms wait for
   * the stored copy when the exchange is durable and the message persistent.
   */
  /** Whether messages routed to `exchange` must go through intercept() (delayed or deduplicating). */
  holdsMessages(exchange: Exchange): boolean {
    return !this.routingDue && (this.delayed.has(exchange) || this.deduplicators.has(exchange));
  }

  intercept(exchange: Exchange, message: Message): PublishOutcome | undefined {
    if (this.routingDue || (this.delayed.size === 0 && this.deduplicators.size === 0)) return undefined;
    const dedup = this.deduplicators.get(exchange);
    const delayed = this.delayed.get(exchange);
    if (!dedup && !delayed) return undefined;
    let headers: Arguments | undefined;
    try {
      headers = this.host.codec.headers(message.properties);
    } catch {
      return undefined; // routing reports malformed properties its own way
    }
    if (dedup?.check(headers)) return DUPLICATE;
    if (!delayed || !headers) return undefined;
    const delayMs = delayHeaderMs(headers['x-delay']);
    if (delayMs === undefined || delayMs <= 0) return undefined;
    delayed.schedule(message, delayMs);
    return {
      routed: false,
      rejected: false,
      needsDisk: message.persistent && exchange.options.durable,
    };
  }

  /** Routes a delayed message that fell due, through the exchange's bindings as they are now. */
  private routeDue(exchange: Exchange, message: Message): void {
    this.routingDue = true;
    try {
      this.host.publish(exchange, message);
    } finally {
      this.routingDue = false;
    }
  }

  /** Drops every delayed and deduplicating exchange's data (the vhost is deleted). */
  destroy(): void {
    for (const exchange of [...this.delayed.keys(), ...this.deduplicators.keys()]) this.removed(exchange);
  }

  /** Stops every delay timer and closes the stores (broker shutdown). */
  close(): void {
    for (const delayed of this.delayed.values()) delayed.close();
    for (const dedup of this.deduplicators.values()) dedup.close();
  }
}
