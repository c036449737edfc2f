import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { DedupStoreFactory } from '../dedup-store.js';
import { type DefinitionWriter, normalizeArguments } from '../definitions.js';
import type { DurabilityBarrier } from '../durability.js';
import type { Message, QueuedMessage } from '../message.js';
import { AmqpStats } from '../stats.js';
import type { StreamStoreFactory } from '../stream/stream-store.js';
import { deadLetteredMessage, isDeadLetterCycle } from './dead-letter.js';
import type { DelayStoreFactory } from './delay-store.js';
import { accessRefused, BrokerError, notFound, preconditionFailed, resourceLocked } from './errors.js';
import {
  type Arguments,
  type Binding,
  type BindingTarget,
  bindingId,
  EXCHANGE_TYPES,
  Exchange,
  type ExchangeOptions,
  type ExchangeType,
} from './exchange.js';
import { ExchangeExtensions } from './exchange-extensions.js';
import { MemoryDelayStore } from './memory-delay-store.js';
import type { MessagePropertiesCodec } from './message-properties.js';
import { type AppliedPolicy, mergeOperatorPolicy, PolicyTable } from './policies.js';
import { type DeadLetterReason, Queue, type QueueHost, type QueueOptions } from './queue.js';
import { amqpTypeName, validateQueueArguments } from './queue-arguments.js';
import type { QueueStore } from './queue-store.js';
import { Router } from './routing.js';
import { senderSelectedKeys } from './sender-selected-keys.js';
import { isStreamArguments, StreamQueue } from './stream-queue.js';
import {
  isStreamViewArguments,
  type StreamViewClient,
  type StreamViewFactory,
  type StreamViewOperation,
  StreamViewQueue,
  VIEW_TOPIC_ARGUMENT,
} from './stream-view-queue.js';

/**
 * Creates the store for a queue: on disk for durable queues, in memory otherwise. A priority
 * queue has one store per level; `level` is 0 for all other queues.
 */
export type QueueStoreFactory = (
  vhost: string,
  queueName: string,
  durable: boolean,
  level: number,
) => QueueStore;

/** The parts of the broker a vhost works with. */
export interface VirtualHostContext {
  readonly clock: Clock;
  readonly createStore: QueueStoreFactory;
  readonly definitions: DefinitionWriter;
  readonly codec: MessagePropertiesCodec;
  /** Where delayed exchanges keep their messages; default: in memory. */
  readonly createDelayStore?: DelayStoreFactory;
  /** Stores for stream queues (`x-queue-type: stream`); in memory when absent (core tests). */
  readonly createStreamStore?: StreamStoreFactory;
  /**
   * Opens the log a stream view (`x-kafka-topic`) reads (composition: a Kafka partition); absent
   * (core tests, no Kafka): such a declaration is refused.
   */
  readonly streamViews?: StreamViewFactory;
  /** Where durable deduplicating exchanges keep their ids; in memory only when absent. */
  readonly createDedupStore?: DedupStoreFactory;
  /** Counters for the metrics; a vhost of its own when absent (core tests). */
  readonly stats?: AmqpStats;
  /**
   * Group commit of the stores (composition: the storage committer): stream queues show consumers
   * only what it has made durable. Absent (core tests, in-memory stores): everything is readable.
   */
  readonly durability?: DurabilityBarrier;
}

/** What became of a published message. */
export interface PublishOutcome {
  /** It matched at least one queue (else mandatory messages are returned). */
  readonly routed: boolean;
  /** A queue refused it (overflow reject-publish): publisher confirms nack it. */
  readonly rejected: boolean;
  /** It went into a durable queue as a persistent message: confirms wait for the disk. */
  readonly needsDisk: boolean;
}

export interface ExchangeDeclaration extends ExchangeOptions {
  readonly name: string;
  readonly type: string;
  readonly passive: boolean;
}

export interface QueueDeclaration {
  readonly name: string;
  readonly passive: boolean;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: Arguments;
  /** The declaring connection: owner of an exclusive queue. */
  readonly owner: unknown;
}

const NOT_ROUTED: PublishOutcome = { routed: false, rejected: false, needsDisk: false };

/** Exchanges every vhost has, as RabbitMQ creates them. */
const STANDARD_EXCHANGES: ReadonlyArray<[string, ExchangeType]> = [
  ['', 'direct'],
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];

const DURABLE_SYSTEM_EXCHANGE: ExchangeOptions = {
  durable: true,
  autoDelete: false,
  internal: false,
  arguments: {},
};

function describe(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * A namespace of exchanges, queues and bindings, with the declare/delete/bind rules RabbitMQ
 * applies (reserved `amq.` names, equivalence checks, exclusive ownership, idempotent deletes).
 */
export class VirtualHost implements QueueHost {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  /**
   * Exclusive queues by owning connection, so a connection's close finds its own without walking
   * every queue of the vhost (10,000 queues × 1,000 closing connections was 10 million checks).
   */
  private readonly exclusiveQueues = new Map<unknown, Set<Queue>>();
  readonly clock: Clock;
  /** Message and churn counters (shared by every vhost of a broker). */
  readonly stats: AmqpStats;
  private readonly createStore: QueueStoreFactory;
  private readonly definitions: DefinitionWriter;
  readonly codec: MessagePropertiesCodec;
  readonly durability: DurabilityBarrier | undefined;
  /** Delayed (x-delayed-message) and deduplicating exchanges: exchange-extensions.ts. */
  readonly extensions: ExchangeExtensions;
  /** Policies of this vhost (core/amqp/policies.ts); set and cleared through core/amqp/management.ts. */
  readonly policies = new PolicyTable();
  /** Operator policies (runtime parameters of component operator_policy), merged into queues' policies. */
  readonly operatorPolicies = new PolicyTable();
  /** max-connections / max-queues (the vhost-limits parameter); absent: no limit. */
  limits: { readonly maxConnections?: number; readonly maxQueues?: number } = {};
  private readonly createStreamStore: StreamStoreFactory | undefined;
  private readonly streamViewFactory: StreamViewFactory | undefined;
  /** Finds the queues a message reaches: routing.ts. */
  private readonly router: Router;

  constructor(
    readonly name: string,
    context: VirtualHostContext,
  ) {
    this.clock = context.clock;
    this.stats = context.stats ?? new AmqpStats();
    this.createStore = context.createStore;
    this.definitions = context.definitions;
    this.codec = context.codec;
    this.durability = context.durability;
    this.extensions = new ExchangeExtensions(
      this,
      context.createDelayStore ?? (() => new MemoryDelayStore()),
      context.createDedupStore,
    );
    this.createStreamStore = context.createStreamStore;
    this.streamViewFactory = context.streamViews;
    this.router = new Router(this, (exchange) => this.extensions.holdsMessages(exchange));
    for (const [exchangeName, type] of STANDARD_EXCHANGES) {
      this.exchanges.set(exchangeName, new Exchange(name, exchangeName, type, DURABLE_SYSTEM_EXCHANGE));
    }
  }

  /** The policy in effect for a queue (with the operator policy merged in) or exchange of this name. */
  policyFor(kind: 'queue' | 'exchange', name: string): AppliedPolicy | undefined {
    const policy = this.policies.match(kind, name);
    if (kind === 'exchange' || this.operatorPolicies.size === 0) return policy;
    return mergeOperatorPolicy(policy, this.operatorPolicies.match('queue', name));
  }

  private where(): string {
    return `in vhost '${this.name}'`;
  }

  // ---- exchanges -------------------------------------------------------------------------

  getExchange(name: string): Exchange {
    const exchange = this.exchanges.get(name);
    if (!exchange) throw notFound(`no exchange '${name}' ${this.where()}`);
    return exchange;
  }

  declareExchange(decl: ExchangeDeclaration): Exchange {
    const existing = this.exchanges.get(decl.name);
    if (decl.passive) {
      if (!existing) throw notFound(`no exchange '${decl.name}' ${this.where()}`);
      return existing;
    }
    if (decl.name === '') throw accessRefused(`operation not permitted on the default exchange`);
    if (!EXCHANGE_TYPES.includes(decl.type as ExchangeType)) {
      throw new BrokerError('command-invalid', `unknown exchange type '${decl.type}'`);
    }
    const args = normalizeArguments(decl.arguments);
    const alternate = args['alternate-exchange'];
    if (alternate !== undefined && typeof alternate !== 'string') {
      throw preconditionFailed(
        `invalid type '${amqpTypeName(alternate)}' for arg 'alternate-exchange' in exchange '${decl.name}' ${this.where()}`,
      );
    }
    if (existing) {
      const what = `exchange '${decl.name}' ${this.where()}`;
      this.checkEquivalent(what, 'type', decl.type, existing.type);
      this.checkEquivalent(what, 'durable', decl.durable, existing.options.durable);
      this.checkEquivalent(what, 'auto_delete', decl.autoDelete, existing.options.autoDelete);
      this.checkEquivalent(what, 'internal', decl.internal, existing.options.internal);
      this.checkArgumentsEquivalent(what, args, existing.options.arguments);
      return existing;
    }
    if (decl.name.startsWith('amq.')) {
      throw accessRefused(`exchange name '${decl.name}' contains reserved prefix 'amq.*'`);
    }
    this.extensions.validate(decl.name, decl.type, args);
    const options: ExchangeOptions = {
      durable: decl.durable,
      autoDelete: decl.autoDelete,
      internal: decl.internal,
      arguments: args,
    };
    const exchange = new Exchange(this.name, decl.name, decl.type as ExchangeType, options);
    exchange.applyPolicy(this.policyFor('exchange', decl.name));
    this.exchanges.set(decl.name, exchange);
    this.extensions.added(exchange);
    if (decl.durable) {
      this.definitions.put('exchange', this.key(decl.name), {
        vhost: this.name,
        name: decl.name,
        type: decl.type,
        ...options,
      });
    }
    return exchange;
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '') throw accessRefused('operation not permitted on the default exchange');
    if (name.startsWith('amq.'))
      throw accessRefused(`deletion of system exchange '${name}' ${this.where()} not allowed`);
    const exchange = this.exchanges.get(name);
    if (!exchange) return; // RabbitMQ: exchange.delete is idempotent
    if (ifUnused && exchange.bindingCount > 0)
      throw preconditionFailed(`exchange '${name}' ${this.where()} in use`);
    this.removeExchange(exchange);
  }

  private removeExchange(exchange: Exchange): void {
    this.exchanges.delete(exchange.name);
    this.extensions.removed(exchange);
    if (exchange.options.durable) this.definitions.delete('exchange', this.key(exchange.name));
    for (const binding of [...exchange.allBindings()]) this.forgetBinding(exchange, binding);
    const target: BindingTarget = { kind: 'exchange', name: exchange.name };
    for (const source of [...this.exchanges.values()]) {
      for (const binding of source.removeBindingsTo(target)) this.afterBindingRemoved(source, binding);
    }
  }

  // ---- queues ----------------------------------------------------------------------------

  /** Finds a queue, enforcing exclusive ownership for the connection asking. */
  getQueue(name: string, owner: unknown): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw notFound(`no queue '${name}' ${this.where()}`);
    this.checkOwner(queue, owner);
    return queue;
  }

  private checkOwner(queue: Queue, owner: unknown): void {
    const exclusiveOwner = queue.options.exclusiveOwner;
    if (exclusiveOwner !== undefined && exclusiveOwner !== owner) {
      throw resourceLocked(
        `cannot obtain exclusive access to locked queue '${queue.name}' ${this.where()}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
      );
    }
  }

  declareQueue(decl: QueueDeclaration): Queue {
    let name = decl.name;
    if (decl.passive) {
      return this.getQueue(name, decl.owner);
    }
    this.stats.queuesDeclared++;
    if (name === '') name = `amq.gen-${randomBytes(16).toString('base64url').slice(0, 22)}`;
    const existing = this.queues.get(name);
    const args = normalizeArguments(decl.arguments);
    validateQueueArguments(name, this.name, args, decl);
    if (existing) {
      this.checkOwner(existing, decl.owner);
      existing.touch();
      const what = `queue '${name}' ${this.where()}`;
      this.checkEquivalent(what, 'durable', decl.durable, existing.options.durable);
      this.checkEquivalent(what, 'auto_delete', decl.autoDelete, existing.options.autoDelete);
      this.checkEquivalent(what, 'exclusive', decl.exclusive, existing.options.exclusiveOwner !== undefined);
      this.checkArgumentsEquivalent(what, args, existing.options.arguments);
      return existing;
    }
    if (name.startsWith('amq.') && decl.name !== '') {
      throw accessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`);
    }
    const maxQueues = this.limits.maxQueues;
    if (maxQueues !== undefined && maxQueues >= 0 && this.queues.size >= maxQueues) {
      throw preconditionFailed(
        `cannot declare queue '${name}': queue limit ${this.where()} (${maxQueues}) is reached`,
      );
    }
    if (isStreamArguments(args) && isStreamViewArguments(args))
      this.streamViews(name).check(this.name, name, args);
    const options: QueueOptions = {
      durable: decl.durable,
      exclusiveOwner: decl.exclusive ? decl.owner : undefined,
      autoDelete: decl.autoDelete,
      arguments: args,
    };
    const queue = this.addQueue(name, options);
    this.stats.queuesCreated++;
    if (this.isPersisted(queue)) {
      this.definitions.put('queue', this.key(name), {
        vhost: this.name,
        name,
        durable: true,
        autoDelete: decl.autoDelete,
        arguments: args,
      });
    }
    return queue;
  }

  /** Creates a queue without checks: used by declare and by recovery at start-up. */
  addQueue(name: string, options: QueueOptions): Queue {
    // ---- streams: a StreamQueue lives in the same map, so routing and deletion need no change.
    if (isStreamArguments(options.arguments) && isStreamViewArguments(options.arguments)) {
      const view = this.streamViews(name).open(this.name, name, options.arguments);
      return this.register(new StreamViewQueue(this.name, name, options, this, view));
    }
    if (isStreamArguments(options.arguments)) {
      return this.register(new StreamQueue(this.name, name, options, this, this.createStreamStore));
    }
    const persisted = options.durable && options.exclusiveOwner === undefined;
    const maxPriority = Number(options.arguments['x-max-priority'] ?? 0);
    const stores: QueueStore[] = [];
    for (let level = 0; level <= maxPriority; level++)
      stores.push(this.createStore(this.name, name, persisted, level));
    return this.register(new Queue(this.name, name, options, stores, this, this.policyFor('queue', name)));
  }

  private register<Q extends Queue>(queue: Q): Q {
    this.queues.set(queue.name, queue);
    const owner = queue.options.exclusiveOwner;
    if (owner !== undefined) {
      const owned = this.exclusiveQueues.get(owner);
      if (owned) owned.add(queue);
      else this.exclusiveQueues.set(owner, new Set([queue]));
    }
    return queue;
  }

  /**
   * Why the viewed log's own access rules refuse `client` this operation on the stream view
   * declared with `args` (Kafka ACLs), or undefined when allowed or not a view.
   */
  streamViewRefusal(
    client: StreamViewClient,
    args: Arguments,
    operation: StreamViewOperation,
  ): string | undefined {
    if (!isStreamViewArguments(args)) return undefined;
    return this.streamViewFactory?.refusal?.(client, args, operation);
  }

  private streamViews(queueName: string): StreamViewFactory {
    if (this.streamViewFactory) return this.streamViewFactory;
    throw preconditionFailed(
      `invalid arg '${VIEW_TOPIC_ARGUMENT}' for queue '${queueName}' ${this.where()}: this broker has no Kafka topics to view`,
    );
  }

  // ---- QueueHost: what queues ask of their vhost -----------------------------------------

  remove(queue: Queue): void {
    this.removeQueue(queue);
  }

  deadLetter(queue: Queue, queued: QueuedMessage, reason: DeadLetterReason): void {
    const { deadLetterExchange, deadLetterRoutingKey } = queue.settings;
    if (deadLetterExchange === undefined || queued.message.body === null) return;
    const exchange = this.exchanges.get(deadLetterExchange);
    if (!exchange) return; // RabbitMQ drops the message when the DLX does not exist.
    if (reason === 'rejected') this.stats.deadLetteredRejected++;
    else if (reason === 'expired') this.stats.deadLetteredExpired++;
    else if (reason === 'maxlen') this.stats.deadLetteredMaxlen++;
    else this.stats.deadLetteredDeliveryLimit++;
    const message = deadLetteredMessage(
      queued.message,
      queue.name,
      reason,
      deadLetterExchange,
      deadLetterRoutingKey,
      this.clock.now(),
      this.codec,
    );
    if (this.extensions.intercept(exchange, message)) return; // a delayed or deduplicating DLX
    const targets = new Set<Queue>();
    const headers = this.codec.headers(message.properties);
    // Without a dead-letter routing key the message keeps its CC keys for routing, as in RabbitMQ.
    const ccKeys = deadLetterRoutingKey === undefined ? senderSelectedKeys(headers) : undefined;
    this.router.route(exchange, message.routingKey, () => headers, targets, ccKeys);
    for (const target of targets) {
      if (isDeadLetterCycle(message.properties, target.name, this.codec)) continue;
      target.enqueue(message);
    }
  }

  /** Restores a durable exchange from the definitions store at start-up. */
  restoreExchange(name: string, type: ExchangeType, options: ExchangeOptions): void {
    const exchange = new Exchange(this.name, name, type, options);
    exchange.applyPolicy(this.policyFor('exchange', name));
    this.exchanges.set(name, exchange);
    this.extensions.added(exchange);
  }

  /** Restores a binding at start-up; silently skipped if either end no longer exists. */
  restoreBinding(source: string, destination: BindingTarget, routingKey: string, args: Arguments): void {
    const exchange = this.exchanges.get(source);
    if (!exchange || !this.targetExists(destination)) return;
    exchange.addBinding({
      source,
      destination,
      routingKey,
      arguments: args,
      id: bindingId(destination, routingKey, args),
    });
  }

  private isPersisted(queue: Queue): boolean {
    return queue.options.durable && queue.options.exclusiveOwner === undefined;
  }

  /** Deletes a queue; returns the number of ready messages it held. Idempotent, as RabbitMQ. */
  deleteQueue(name: string, owner: unknown, ifUnused: boolean, ifEmpty: boolean): number {
    const queue = this.queues.get(name);
    if (!queue) return 0;
    this.checkOwner(queue, owner);
    if (ifUnused && queue.consumerCount > 0)
      throw preconditionFailed(`queue '${name}' ${this.where()} in use`);
    if (ifEmpty && queue.messageCount > 0)
      throw preconditionFailed(`queue '${name}' ${this.where()} not empty`);
    const count = queue.messageCount;
    this.removeQueue(queue);
    return count;
  }

  /** Removes a queue, its bindings and its data, and tells its consumers. */
  removeQueue(queue: Queue): void {
    if (queue.deleted || this.queues.get(queue.name) !== queue) return;
    this.queues.delete(queue.name);
    const owner = queue.options.exclusiveOwner;
    const owned = owner === undefined ? undefined : this.exclusiveQueues.get(owner);
    if (owned?.delete(queue) && owned.size === 0) this.exclusiveQueues.delete(owner);
    this.stats.queuesDeleted++;
    if (this.isPersisted(queue)) this.definitions.delete('queue', this.key(queue.name));
    const target: BindingTarget = { kind: 'queue', name: queue.name };
    for (const exchange of [...this.exchanges.values()]) {
      for (const binding of exchange.removeBindingsTo(target)) this.afterBindingRemoved(exchange, binding);
    }
    const consumers = [...queue.consumers];
    queue.destroy();
    for (const consumer of consumers) consumer.queueDeleted(queue);
  }

  /** Deletes the exclusive queues a closing connection owned. */
  removeQueuesOwnedBy(owner: unknown): void {
    const owned = this.exclusiveQueues.get(owner);
    if (owned) for (const queue of [...owned]) this.removeQueue(queue);
  }

  // ---- bindings --------------------------------------------------------------------------

  bind(
    source: string,
    destination: BindingTarget,
    routingKey: string,
    rawArgs: Arguments,
    owner: unknown,
  ): void {
    const exchange = this.bindingSource(source, destination, owner);
    const args = normalizeArguments(rawArgs);
    const binding: Binding = {
      source,
      destination,
      routingKey,
      arguments: args,
      id: bindingId(destination, routingKey, args),
    };
    if (!exchange.addBinding(binding)) return;
    if (this.isBindingDurable(exchange, destination)) {
      this.definitions.put('binding', this.bindingKey(source, binding.id), {
        vhost: this.name,
        source,
        destination,
        routingKey,
        arguments: args,
      });
    }
  }

  unbind(
    source: string,
    destination: BindingTarget,
    routingKey: string,
    rawArgs: Arguments,
    owner: unknown,
  ): void {
    const exchange = this.bindingSource(source, destination, owner);
    const binding = exchange.removeBinding(bindingId(destination, routingKey, normalizeArguments(rawArgs)));
    if (binding) this.afterBindingRemoved(exchange, binding);
  }

  /** The checks bind and unbind share; returns the source exchange. */
  private bindingSource(source: string, destination: BindingTarget, owner: unknown): Exchange {
    if (source === '') throw accessRefused(`operation not permitted on the default exchange`);
    this.checkTarget(destination, owner);
    return this.getExchange(source);
  }

  private checkTarget(destination: BindingTarget, owner: unknown): void {
    if (destination.kind === 'queue') this.getQueue(destination.name, owner);
    else this.getExchange(destination.name);
  }

  private targetExists(destination: BindingTarget): boolean {
    return destination.kind === 'queue'
      ? this.queues.has(destination.name)
      : this.exchanges.has(destination.name);
  }

  private isBindingDurable(exchange: Exchange, destination: BindingTarget): boolean {
    if (!exchange.options.durable) return false;
    if (destination.kind === 'exchange')
      return this.exchanges.get(destination.name)?.options.durable ?? false;
    const queue = this.queues.get(destination.name);
    return queue ? this.isPersisted(queue) : false;
  }

  private forgetBinding(exchange: Exchange, binding: Binding): void {
    exchange.removeBinding(binding.id);
    this.definitions.delete('binding', this.bindingKey(exchange.name, binding.id));
  }

  private afterBindingRemoved(exchange: Exchange, binding: Binding): void {
    this.definitions.delete('binding', this.bindingKey(exchange.name, binding.id));
    if (
      exchange.options.autoDelete &&
      exchange.bindingCount === 0 &&
      this.exchanges.get(exchange.name) === exchange
    ) {
      this.removeExchange(exchange);
    }
  }

  // ---- publishing ------------------------------------------------------------------------

  /**
   * Routes a message published to `exchange` and enqueues it in every queue it reaches, following
   * alternate exchanges when it matches nothing.
   */
  publish(exchange: Exchange, published: Message): PublishOutcome {
    let message = published;
    // Deduplicating and delayed exchanges may hold the message back (exchange-extensions.ts).
    const intercepted = this.extensions.intercept(exchange, message);
    if (intercepted) return intercepted;
    let rejected = false;
    let needsDisk = false;
    const headers = this.codec.headers(message.properties);
    const ccKeys = senderSelectedKeys(headers);
    if (ccKeys !== undefined && headers?.BCC !== undefined) {
      // BCC routes like CC but is removed before delivery, as in RabbitMQ.
      const { BCC: _bcc, ...kept } = headers;
      message = { ...message, properties: this.codec.withHeaders(message.properties, kept) };
    }
    if (exchange.name === '' && ccKeys === undefined) {
      // The default exchange: a direct lookup, no route set to build.
      const queue = this.queues.get(message.routingKey);
      if (!queue) return NOT_ROUTED;
      if (queue.enqueue(message) === 'rejected') rejected = true;
      else needsDisk = queue.confirmsAfterDisk(message);
      return { routed: true, rejected, needsDisk };
    }
    const queues = new Set<Queue>();
    // Delayed or deduplicating exchanges met through exchange-to-exchange bindings hold the
    // message themselves, as if it had been published to them.
    const held: Exchange[] = [];
    this.router.route(exchange, message.routingKey, () => headers, queues, ccKeys, held);
    for (const holder of held) {
      const outcome = this.extensions.intercept(holder, message);
      if (outcome) needsDisk ||= outcome.needsDisk;
      else {
        const keys = ccKeys === undefined ? [message.routingKey] : [message.routingKey, ...ccKeys];
        for (const key of keys)
          this.router.collectRoutes(holder, key, () => headers, queues, new Set([holder.name]));
      }
    }
    for (const queue of queues) {
      if (queue.enqueue(message) === 'rejected') rejected = true;
      else if (queue.confirmsAfterDisk(message)) needsDisk = true;
    }
    return { routed: queues.size > 0, rejected, needsDisk };
  }

  // ---- helpers ---------------------------------------------------------------------------

  private key(name: string): string {
    return `${this.name}\0${name}`;
  }

  private bindingKey(source: string, id: string): string {
    return `${this.name}\0${source}\0${id}`;
  }

  private checkEquivalent(what: string, field: string, received: unknown, current: unknown): void {
    if (received !== current) {
      throw preconditionFailed(
        `inequivalent arg '${field}' for ${what}: received '${describe(received)}' but current is '${describe(current)}'`,
      );
    }
  }

  private checkArgumentsEquivalent(what: string, received: Arguments, current: Arguments): void {
    const keys = new Set([...Object.keys(received), ...Object.keys(current)]);
    for (const key of keys) {
      if (!key.startsWith('x-')) continue;
      const a = received[key];
      const b = current[key];
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        // RabbitMQ names the type only when one side has no value at all.
        const oneMissing = a === undefined || b === undefined;
        const shown = (v: unknown) =>
          v === undefined
            ? 'none'
            : oneMissing
              ? `the value '${describe(v)}' of type '${amqpTypeName(v)}'`
              : `'${describe(v)}'`;
        throw preconditionFailed(
          `inequivalent arg '${key}' for ${what}: received ${shown(a)} but current is ${shown(b)}`,
        );
      }
    }
  }
}
