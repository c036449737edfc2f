import { randomBytes } from 'node:crypto';
import { BrokerError } from '../../core/amqp/errors.js';
import type { Arguments } from '../../core/amqp/exchange.js';
import type { Queue } from '../../core/amqp/queue.js';
import { amqpTypeName } from '../../core/amqp/queue-arguments.js';
import { StreamQueue } from '../../core/amqp/stream-queue.js';
import type { VirtualHost } from '../../core/amqp/vhost.js';
import { AscendingKeyMap } from '../../core/ascending-key-map.js';
import type { Clock } from '../../core/clock.js';
import type { DurabilityBarrier } from '../../core/durability.js';
import type { Message, QueuedMessage } from '../../core/message.js';
import type { AmqpStats } from '../../core/stats.js';
import type { AmqpAccess } from './access.js';
import { AckTimeout, ackTimeoutText } from './ack-timeout.js';
import {
  type AmqpMethod,
  type BasicPublish,
  decodeContentHeader,
  decodeMethod,
  decodeProperties,
  encodeContentMethod,
  encodeDeliver,
  encodeMethodFrame,
  encodeProperties,
  type FieldTable,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  ReplyCode,
  readDeliveryMode,
  readExpiration,
  readPriority,
  readReplyTo,
} from './codec/index.js';
import { AmqpConsumer } from './consumer.js';
import {
  exchangeBind,
  exchangeDeclare,
  exchangeDelete,
  exchangeUnbind,
  type MethodNamed,
  queueBind,
  queueDeclare,
  queueDelete,
  queuePurge,
  queueUnbind,
} from './declarations.js';
import { DirectReplyRegistry, REPLY_TO_QUEUE } from './direct-reply-to.js';
import { type AmqpError, channelError, connectionError, fromBrokerError } from './errors.js';
import { PublisherConfirms } from './publisher-confirms.js';
import { AmqpStreamConsumer, streamConsumeStart } from './stream-consumer.js';

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly vhost: VirtualHost;
  /** The user's permissions in the vhost (access.ts). */
  readonly access: AmqpAccess;
  readonly frameMaxBytes: number;
  readonly maxMessageSizeBytes: number;
  /** Consumers a channel may have; Infinity for no limit. */
  readonly maxConsumersPerChannel: number;
  /** An unacked delivery older than this closes the channel; 0 disables. */
  readonly consumerTimeoutMs: number;
  readonly durability: DurabilityBarrier;
  readonly clock: Clock;
  /** The client announced consumer_cancel_notify: it understands a server-sent basic.cancel. */
  readonly consumerCancelNotify: boolean;
  /** Reply consumers of the listener (direct reply-to). */
  readonly directReply: DirectReplyRegistry;
  /** Message counters for the metrics (the broker's, core/stats.ts). */
  readonly stats: AmqpStats;
  /** Identity used for exclusive queues: the connection. */
  readonly owner: unknown;
  send(frame: Buffer): void;
  sendAll(frames: Buffer[]): void;
  /** False while the socket's write buffer is over its limit: stop deliveries until it drains. */
  isWritable(): boolean;
  /** The channel finished closing; its number may be reused. */
  channelClosed(id: number): void;
  log(line: string): void;
}

/** A channel's state for the management API. */
export interface ChannelDescription {
  readonly number: number;
  readonly prefetchCount: number;
  readonly globalPrefetchCount: number;
  readonly unacknowledged: number;
  readonly unconfirmed: number;
  readonly consumerCount: number;
  readonly confirm: boolean;
  readonly transactional: boolean;
  readonly uncommitted: number;
  readonly acksUncommitted: number;
  readonly state: 'running' | 'closing';
}

/** A delivery awaiting ack on this channel: the lease of one message from one queue. */
interface Unacked {
  readonly queue: Queue;
  readonly queued: QueuedMessage;
  /** Undefined for basic.get deliveries. */
  readonly consumer: AmqpConsumer | undefined;
  /** For the consumer acknowledgement timeout. */
  readonly deliveredAtMs: number;
}

/** A publish waiting for its header and body frames. */
interface PendingContent {
  readonly publish: BasicPublish;
  properties: Buffer;
  bodySizeBytes: number;
  parts: Buffer[];
  receivedBytes: number;
}

type TxOperation =
  | { kind: 'publish'; publish: BasicPublish; properties: Buffer; body: Buffer }
  | { kind: 'settle'; method: AmqpMethod };

enum State {
  Open,
  /** We sent channel.close and ignore everything until close-ok. */
  Closing,
  Closed,
}

function newConsumerTag(): string {
  return `amq.ctag-${randomBytes(16).toString('base64url').slice(0, 22)}`;
}

/**
 * One AMQP channel: reassembles published content, routes it, manages consumers and the leases of
 * unacknowledged deliveries, publisher confirms and transactions.
 */
/** Handles one decoded method on a channel. */
type MethodHandler<Name extends AmqpMethod['method']> = (channel: Channel, method: MethodNamed<Name>) => void;

export class Channel {
  private state = State.Open;
  /** Has published since it opened (rabbitmq_global_publishers). */
  private publisher = false;
  private content: PendingContent | undefined;
  private readonly consumers = new Map<string, AmqpConsumer>();
  /** Delivery tag → lease, in tag order (tags only grow). Not a Map: see AscendingKeyMap. */
  private readonly unacked = new AscendingKeyMap<Unacked>();
  private lastDeliveryTag = 0;
  /** basic.qos global=false: prefetch for consumers created afterwards (RabbitMQ semantics). */
  private consumerPrefetch = 0;
  /** basic.qos global=true: a window shared by every consumer on the channel. */
  private channelPrefetch = 0;
  private unackedByConsumers = 0;

  /** Set by confirm.select. */
  private confirms: PublisherConfirms | undefined;
  /** Direct reply-to: this channel's reply consumer tag and reply address, once it consumes. */
  private replyConsumerTag: string | undefined;
  private replyAddress: string | undefined;

  private txMode = false;
  private txOperations: TxOperation[] = [];
  private readonly ackTimeout: AckTimeout;

  constructor(
    readonly id: number,
    private readonly host: ChannelHost,
  ) {
    this.ackTimeout = new AckTimeout(
      host.clock,
      host.consumerTimeoutMs,
      () => this.unacked.first()?.deliveredAtMs,
      () => this.onAckTimeout(),
    );
  }

  get isOpen(): boolean {
    return this.state === State.Open;
  }

  /** What the management API shows of this channel (/api/channels). */
  describe(): ChannelDescription {
    let uncommittedPublishes = 0;
    for (const op of this.txOperations) if (op.kind === 'publish') uncommittedPublishes++;
    return {
      number: this.id,
      prefetchCount: this.consumerPrefetch,
      globalPrefetchCount: this.channelPrefetch,
      unacknowledged: this.unacked.size,
      unconfirmed: this.confirms?.unconfirmed ?? 0,
      consumerCount: this.consumers.size,
      confirm: this.confirms !== undefined,
      transactional: this.txMode,
      uncommitted: uncommittedPublishes,
      acksUncommitted: this.txOperations.length - uncommittedPublishes,
      state: this.state === State.Open ? 'running' : 'closing',
    };
  }

  // ---- frame handling --------------------------------------------------------------------

  /** Handles one frame addressed to this channel. Throws AmqpError for protocol errors. */
  handleFrame(type: number, payload: Buffer): void {
    if (this.state === State.Closing) {
      // After sending channel.close, only close and close-ok matter; the rest is discarded.
      if (type === FRAME_METHOD) {
        const method = decodeMethod(payload);
        if (method.method === 'channel.close-ok') this.finishClose();
        else if (method.method === 'channel.close')
          this.host.send(encodeMethodFrame(this.id, { method: 'channel.close-ok' }));
      }
      return;
    }
    if (type === FRAME_METHOD) {
      if (this.content) {
        throw connectionError(
          ReplyCode.UNEXPECTED_FRAME,
          `expected content header for class 60, got non content header frame instead`,
        );
      }
      const method = decodeMethod(payload);
      try {
        this.handleMethod(method);
      } catch (error) {
        throw toAmqpError(error);
      }
    } else if (type === FRAME_HEADER) {
      this.handleContentHeader(payload);
    } else if (type === FRAME_BODY) {
      this.handleBody(payload);
    } else {
      throw connectionError(ReplyCode.FRAME_ERROR, `unexpected frame type ${type} on channel ${this.id}`);
    }
  }

  private handleContentHeader(payload: Buffer): void {
    const content = this.content;
    if (!content || content.parts.length > 0 || content.properties.length > 0) {
      throw connectionError(
        ReplyCode.UNEXPECTED_FRAME,
        `expected method frame, got non method frame instead`,
      );
    }
    const header = decodeContentHeader(payload);
    if (header.classId !== 60) {
      throw connectionError(
        ReplyCode.FRAME_ERROR,
        `content header for class ${header.classId} does not match basic.publish`,
      );
    }
    if (header.bodySizeBytes > this.host.maxMessageSizeBytes) {
      this.content = undefined;
      throw channelError(
        ReplyCode.PRECONDITION_FAILED,
        `message size ${header.bodySizeBytes} is larger than configured max size ${this.host.maxMessageSizeBytes}`,
      );
    }
    // Copy: the payload is a slice of a socket read buffer that should not be kept alive.
    content.properties = Buffer.from(header.properties);
    content.bodySizeBytes = header.bodySizeBytes;
    if (content.bodySizeBytes === 0) this.completeContent(content, Buffer.alloc(0));
  }

  private handleBody(payload: Buffer): void {
    const content = this.content;
    if (!content || content.properties.length === 0) {
      throw connectionError(
        ReplyCode.UNEXPECTED_FRAME,
        `expected method frame, got non method frame instead`,
      );
    }
    content.receivedBytes += payload.length;
    if (content.receivedBytes > content.bodySizeBytes) {
      throw connectionError(
        ReplyCode.FRAME_ERROR,
        `body of ${content.receivedBytes} bytes exceeds the ${content.bodySizeBytes} bytes announced in the content header`,
      );
    }
    content.parts.push(payload);
    if (content.receivedBytes === content.bodySizeBytes) {
      const body = content.parts.length === 1 ? ownBody(content.parts[0]!) : Buffer.concat(content.parts);
      this.completeContent(content, body);
    }
  }

  private completeContent(content: PendingContent, body: Buffer): void {
    this.content = undefined;
    try {
      if (this.txMode) {
        this.checkPublishable(content.publish);
        this.txOperations.push({
          kind: 'publish',
          publish: content.publish,
          properties: content.properties,
          body,
        });
      } else {
        this.publish(content.publish, content.properties, body);
      }
    } catch (error) {
      throw toAmqpError(error);
    }
  }

  // ---- methods ---------------------------------------------------------------------------

  /**
   * The channel's methods, one line each (what takes more, a method of its own); the table is
   * typed so that each handler sees its own method's fields.
   */
  private static readonly METHODS: { [Name in AmqpMethod['method']]?: MethodHandler<Name> } = {
    'basic.publish': (c, m) => c.startContent(m),
    'basic.ack': (c, m) => (c.txMode ? c.txSettle(m) : c.ack(m.deliveryTag, m.multiple)),
    'basic.nack': (c, m) => (c.txMode ? c.txSettle(m) : c.reject(m.deliveryTag, m.multiple, m.requeue)),
    'basic.reject': (c, m) => (c.txMode ? c.txSettle(m) : c.reject(m.deliveryTag, false, m.requeue)),
    'basic.qos': (c, m) => c.qos(m),
    'basic.consume': (c, m) =>
      c.consume(m.queue, m.consumerTag, m.noAck, m.exclusive, m.nowait, m.arguments as Arguments),
    'basic.cancel': (c, m) => c.cancel(m),
    'basic.get': (c, m) => c.get(m.queue, m.noAck),
    'basic.recover': (c, m) => c.recover(m.requeue, true),
    'basic.recover-async': (c, m) => c.recover(m.requeue, false),
    'channel.close': (c) => c.closeByClient(),
    'channel.close-ok': () => {},
    'channel.open': () => {
      throw connectionError(ReplyCode.CHANNEL_ERROR, `second 'channel.open' seen`);
    },
    'channel.flow': (c, m) => c.flow(m.active),
    'channel.flow-ok': () => {},
    'exchange.declare': (c, m) => c.answer(exchangeDeclare(c.host.vhost, m)),
    'exchange.delete': (c, m) => c.answer(exchangeDelete(c.host.vhost, m)),
    'exchange.bind': (c, m) => c.answer(exchangeBind(c.host.vhost, c.host.owner, m)),
    'exchange.unbind': (c, m) => c.answer(exchangeUnbind(c.host.vhost, c.host.owner, m)),
    'queue.declare': (c, m) => c.answer(queueDeclare(c.host.vhost, c.host.owner, m)),
    'queue.bind': (c, m) => c.answer(queueBind(c.host.vhost, c.host.owner, m)),
    'queue.unbind': (c, m) => c.answer(queueUnbind(c.host.vhost, c.host.owner, m)),
    'queue.purge': (c, m) => c.answer(queuePurge(c.host.vhost, c.host.owner, m)),
    'queue.delete': (c, m) => c.answer(queueDelete(c.host.vhost, c.host.owner, m)),
    'confirm.select': (c, m) => c.selectConfirms(m.nowait),
    'tx.select': (c) => c.selectTx(),
    'tx.commit': (c) => c.txCommit(),
    'tx.rollback': (c) => c.txRollback(),
    'access.request': (c) => c.reply({ method: 'access.request-ok' }),
  };

  private handleMethod(m: AmqpMethod): void {
    this.host.access.check(m); // 403 ACCESS_REFUSED unless the user's permissions allow it
    const handler = Channel.METHODS[m.method] as MethodHandler<AmqpMethod['method']> | undefined;
    if (!handler) {
      throw connectionError(ReplyCode.COMMAND_INVALID, `unexpected method ${m.method} on channel ${this.id}`);
    }
    handler(this, m);
  }

  private answer(method: AmqpMethod | undefined): void {
    if (method) this.reply(method);
  }

  private startContent(publish: BasicPublish): void {
    this.content = { publish, properties: EMPTY, bodySizeBytes: 0, parts: [], receivedBytes: 0 };
  }

  private closeByClient(): void {
    this.releaseResources();
    this.host.send(encodeMethodFrame(this.id, { method: 'channel.close-ok' }));
    this.finishClose();
  }

  private flow(active: boolean): void {
    if (!active) throw connectionError(ReplyCode.NOT_IMPLEMENTED, `active=false`);
    this.reply({ method: 'channel.flow-ok', active: true });
  }

  private qos(m: MethodNamed<'basic.qos'>): void {
    if (m.prefetchSize !== 0)
      throw connectionError(ReplyCode.NOT_IMPLEMENTED, `prefetch_size!=0 (${m.prefetchSize})`);
    if (m.global) {
      // Applies to the consumers the channel has now: a raised limit lets deliveries flow at once.
      this.channelPrefetch = m.prefetchCount;
      this.scheduleDispatchAll();
    } else {
      // For consumers created from now on; existing ones keep theirs (RabbitMQ 3.x). As in
      // RabbitMQ 3.10, it also lifts a channel-wide limit set before.
      this.consumerPrefetch = m.prefetchCount;
      if (this.channelPrefetch !== 0) {
        this.channelPrefetch = 0;
        this.scheduleDispatchAll();
      }
    }
    this.reply({ method: 'basic.qos-ok' });
  }

  private cancel(m: MethodNamed<'basic.cancel'>): void {
    const consumer = this.consumers.get(m.consumerTag);
    if (consumer) this.removeConsumer(consumer);
    if (m.consumerTag === this.replyConsumerTag) this.stopReplies();
    if (!m.nowait) this.reply({ method: 'basic.cancel-ok', consumerTag: m.consumerTag });
  }

  private recover(requeue: boolean, answer: boolean): void {
    if (!requeue) throw connectionError(ReplyCode.NOT_IMPLEMENTED, `requeue=false`);
    this.releaseAll();
    if (answer) this.reply({ method: 'basic.recover-ok' });
  }

  private selectConfirms(nowait: boolean): void {
    if (this.txMode)
      throw channelError(ReplyCode.PRECONDITION_FAILED, `cannot switch from tx to confirm mode`);
    this.confirms ??= new PublisherConfirms(
      this.id,
      this.host.durability,
      (frame) => this.host.send(frame),
      () => this.state === State.Open,
      this.host.stats,
    );
    if (!nowait) this.reply({ method: 'confirm.select-ok' });
  }

  private selectTx(): void {
    if (this.confirms)
      throw channelError(ReplyCode.PRECONDITION_FAILED, `cannot switch from confirm to tx mode`);
    this.txMode = true;
    this.reply({ method: 'tx.select-ok' });
  }

  private txRollback(): void {
    if (!this.txMode) throw channelError(ReplyCode.PRECONDITION_FAILED, `channel is not transactional`);
    this.txOperations = [];
    this.reply({ method: 'tx.rollback-ok' });
  }

  private reply(method: AmqpMethod): void {
    this.host.send(encodeMethodFrame(this.id, method));
  }

  // ---- publishing ------------------------------------------------------------------------

  private checkPublishable(publish: BasicPublish): void {
    const exchange = this.host.vhost.getExchange(publish.exchange);
    if (exchange.options.internal) {
      throw channelError(
        ReplyCode.ACCESS_REFUSED,
        `cannot publish to internal exchange '${publish.exchange}' in vhost '${this.host.vhost.name}'`,
      );
    }
    if (publish.immediate) throw connectionError(ReplyCode.NOT_IMPLEMENTED, `immediate=true`);
  }

  /** Routes a complete message to its queues; answers mandatory returns and confirms. */
  private publish(publish: BasicPublish, published: Buffer, body: Buffer): void {
    this.checkPublishable(publish);
    const properties = this.withReplyAddress(published);
    if (publish.exchange === '' && DirectReplyRegistry.isReplyAddress(publish.routingKey)) {
      this.publishReply(publish, properties, body);
      return;
    }
    const vhost = this.host.vhost;
    const exchange = vhost.getExchange(publish.exchange);
    const message: Message = {
      exchange: publish.exchange,
      routingKey: publish.routingKey,
      properties,
      body,
      bodySizeBytes: body.length,
      persistent: readDeliveryMode(properties) === 2,
      publishedAtMs: this.host.clock.now(),
      priority: readPriority(properties) ?? 0,
      expirationMs: parseExpiration(readExpiration(properties)),
    };
    const outcome = vhost.publish(exchange, message);
    const stats = this.host.stats;
    stats.messagesReceived++;
    if (!this.publisher) this.becomePublisher();
    if (this.confirms) stats.messagesReceivedConfirm++;
    if (outcome.routed) stats.messagesRouted++;
    else if (publish.mandatory) {
      stats.messagesUnroutableReturned++;
      this.returnUnroutable(publish, properties, body);
    } else stats.messagesUnroutableDropped++;
    this.confirms?.published(outcome.needsDisk, outcome.rejected);
  }

  private returnUnroutable(publish: BasicPublish, properties: Buffer, body: Buffer): void {
    this.host.sendAll(
      encodeContentMethod(
        this.id,
        {
          method: 'basic.return',
          replyCode: ReplyCode.NO_ROUTE,
          replyText: 'NO_ROUTE',
          exchange: publish.exchange,
          routingKey: publish.routingKey,
        },
        properties,
        body,
        this.host.frameMaxBytes,
      ),
    );
  }

  // ---- direct reply-to (direct-reply-to.ts) ----------------------------------------------

  private consumeReplies(requestedTag: string, noAck: boolean, nowait: boolean): void {
    if (!noAck) throw channelError(ReplyCode.PRECONDITION_FAILED, 'reply consumer cannot acknowledge');
    if (this.replyConsumerTag !== undefined)
      throw channelError(ReplyCode.PRECONDITION_FAILED, 'reply consumer already set');
    const tag = requestedTag === '' ? newConsumerTag() : requestedTag;
    this.replyConsumerTag = tag;
    this.replyAddress = this.host.directReply.register(this);
    if (!nowait) this.reply({ method: 'basic.consume-ok', consumerTag: tag });
  }

  private stopReplies(): void {
    if (this.replyAddress !== undefined) this.host.directReply.unregister(this.replyAddress);
    this.replyAddress = undefined;
    this.replyConsumerTag = undefined;
  }

  /** A request naming `amq.rabbitmq.reply-to` as reply_to gets this channel's reply address. */
  private withReplyAddress(properties: Buffer): Buffer {
    if (readReplyTo(properties) !== REPLY_TO_QUEUE) return properties;
    if (this.replyAddress === undefined)
      throw channelError(ReplyCode.PRECONDITION_FAILED, 'fast reply consumer does not exist');
    return encodeProperties({ ...decodeProperties(properties), replyTo: this.replyAddress });
  }

  private publishReply(publish: BasicPublish, properties: Buffer, body: Buffer): void {
    const delivered = this.host.directReply.deliver(publish.routingKey, properties, body);
    this.host.stats.messagesReceived++;
    if (!this.publisher) this.becomePublisher();
    if (!delivered && publish.mandatory) this.returnUnroutable(publish, properties, body);
    this.confirms?.published(false, false);
  }

  /** Delivers a reply to this channel's reply consumer (no-ack, no queue). */
  deliverReply(routingKey: string, properties: Buffer, body: Buffer): boolean {
    if (this.state !== State.Open || this.replyConsumerTag === undefined) return false;
    this.host.sendAll(
      encodeDeliver(
        this.id,
        this.replyConsumerTag,
        ++this.lastDeliveryTag,
        false,
        '',
        routingKey,
        properties,
        body,
        this.host.frameMaxBytes,
      ),
    );
    return true;
  }

  // ---- transactions ----------------------------------------------------------------------

  private txSettle(method: AmqpMethod): void {
    this.txOperations.push({ kind: 'settle', method });
  }

  private txCommit(): void {
    if (!this.txMode) throw channelError(ReplyCode.PRECONDITION_FAILED, `channel is not transactional`);
    const operations = this.txOperations;
    this.txOperations = [];
    for (const op of operations) {
      if (op.kind === 'publish') this.publish(op.publish, op.properties, op.body);
      else if (op.method.method === 'basic.ack') this.ack(op.method.deliveryTag, op.method.multiple);
      else if (op.method.method === 'basic.nack')
        this.reject(op.method.deliveryTag, op.method.multiple, op.method.requeue);
      else if (op.method.method === 'basic.reject')
        this.reject(op.method.deliveryTag, false, op.method.requeue);
    }
    this.host.durability.afterDurable(() => {
      if (this.state === State.Open) this.reply({ method: 'tx.commit-ok' });
    });
  }

  // ---- consuming -------------------------------------------------------------------------

  private consume(
    queueName: string,
    requestedTag: string,
    noAck: boolean,
    exclusive: boolean,
    nowait: boolean,
    args: Arguments,
  ): void {
    if (queueName === REPLY_TO_QUEUE) {
      this.consumeReplies(requestedTag, noAck, nowait);
      return;
    }
    const queue = this.host.vhost.getQueue(queueName, this.host.owner);
    // ---- stream queues (stream-consumer.ts): x-stream-offset, prefetch required, no no-ack.
    if (queue instanceof StreamQueue) {
      const start = streamConsumeStart(queue, args, noAck, this.consumerPrefetch, this.host.clock);
      const streamTag = requestedTag === '' ? newConsumerTag() : requestedTag;
      if (this.consumers.has(streamTag))
        throw connectionError(ReplyCode.NOT_ALLOWED, `attempt to reuse consumer tag '${streamTag}'`);
      const consumer = new AmqpStreamConsumer(
        this,
        queue,
        streamTag,
        false,
        exclusive,
        this.consumerPrefetch,
      );
      this.consumers.set(streamTag, consumer);
      if (!nowait) this.reply({ method: 'basic.consume-ok', consumerTag: streamTag });
      queue.addStreamConsumer(consumer, start);
      return;
    }
    const priority = consumerPriority(args, queue);
    const tag = requestedTag === '' ? newConsumerTag() : requestedTag;
    if (this.consumers.has(tag))
      throw connectionError(ReplyCode.NOT_ALLOWED, `attempt to reuse consumer tag '${tag}'`);
    if (this.consumers.size >= this.host.maxConsumersPerChannel) {
      throw connectionError(
        ReplyCode.NOT_ALLOWED,
        `reached maximum (${this.host.maxConsumersPerChannel}) of consumers per channel`,
      );
    }
    if (queue.hasExclusiveConsumer() || (exclusive && queue.consumerCount > 0)) {
      throw channelError(
        ReplyCode.ACCESS_REFUSED,
        `queue '${queue.name}' in vhost '${queue.vhost}' in exclusive use`,
      );
    }
    const consumer = new AmqpConsumer(this, queue, tag, noAck, exclusive, this.consumerPrefetch, priority);
    this.consumers.set(tag, consumer);
    // consume-ok goes out before any delivery: dispatch runs in a later microtask.
    if (!nowait) this.reply({ method: 'basic.consume-ok', consumerTag: tag });
    queue.addConsumer(consumer);
  }

  private removeConsumer(consumer: AmqpConsumer): void {
    this.consumers.delete(consumer.tag);
    consumer.queue.removeConsumer(consumer);
  }

  /** The consumer's queue was deleted: tell clients that understand a server-sent cancel. */
  consumerQueueDeleted(consumer: AmqpConsumer): void {
    if (!this.consumers.has(consumer.tag)) return;
    this.consumers.delete(consumer.tag);
    if (this.state === State.Open && this.host.consumerCancelNotify) {
      this.reply({ method: 'basic.cancel', consumerTag: consumer.tag, nowait: true });
    }
  }

  canDeliver(): boolean {
    return this.state === State.Open && this.host.isWritable();
  }

  hasGlobalPrefetchRoom(): boolean {
    return this.channelPrefetch === 0 || this.unackedByConsumers < this.channelPrefetch;
  }

  deliver(consumer: AmqpConsumer, queued: QueuedMessage, queue: Queue): void {
    const tag = ++this.lastDeliveryTag;
    const message = queued.message;
    const stats = this.host.stats;
    if (queued.deliveryCount > 1) stats.redelivered++;
    if (consumer.noAck) {
      stats.deliveredConsumeAutoAck++;
      queue.settle(queued);
    } else {
      stats.deliveredConsumeManualAck++;
      this.unacked.set(tag, { queue, queued, consumer, deliveredAtMs: this.host.clock.now() });
      consumer.unackedCount++;
      this.unackedByConsumers++;
      this.ackTimeout.delivered();
    }
    this.host.sendAll(
      encodeDeliver(
        this.id,
        consumer.tag,
        tag,
        queued.deliveryCount > 1,
        message.exchange,
        message.routingKey,
        deliveryProperties(queued, queue, false),
        message.body!,
        this.host.frameMaxBytes,
      ),
    );
  }

  private get(queueName: string, noAck: boolean): void {
    const queue = this.host.vhost.getQueue(queueName, this.host.owner);
    const queued = queue.get();
    const stats = this.host.stats;
    if (!queued) {
      stats.getEmpty++;
      this.reply({ method: 'basic.get-empty' });
      return;
    }
    const tag = ++this.lastDeliveryTag;
    if (queued.deliveryCount > 1) stats.redelivered++;
    if (noAck) {
      stats.deliveredGetAutoAck++;
      queue.settle(queued);
    } else {
      stats.deliveredGetManualAck++;
      this.unacked.set(tag, { queue, queued, consumer: undefined, deliveredAtMs: this.host.clock.now() });
      this.ackTimeout.delivered();
    }
    const message = queued.message;
    this.host.sendAll(
      encodeContentMethod(
        this.id,
        {
          method: 'basic.get-ok',
          deliveryTag: tag,
          redelivered: queued.deliveryCount > 1,
          exchange: message.exchange,
          routingKey: message.routingKey,
          messageCount: queue.messageCount,
        },
        deliveryProperties(queued, queue, true),
        message.body!,
        this.host.frameMaxBytes,
      ),
    );
  }

  // ---- acknowledgements ------------------------------------------------------------------

  /** Removes and returns the leases an ack/nack/reject names; unknown tags are a channel error. */
  private takeLeases(deliveryTag: number, multiple: boolean): Unacked[] {
    if (!multiple) {
      const lease = this.unacked.delete(deliveryTag);
      if (!lease) throw channelError(ReplyCode.PRECONDITION_FAILED, `unknown delivery tag ${deliveryTag}`);
      return [lease];
    }
    if (deliveryTag !== 0 && !this.unacked.has(deliveryTag)) {
      throw channelError(ReplyCode.PRECONDITION_FAILED, `unknown delivery tag ${deliveryTag}`);
    }
    return deliveryTag === 0 ? this.unacked.clear() : this.unacked.deleteUpTo(deliveryTag);
  }

  private ack(deliveryTag: number, multiple: boolean): void {
    const leases = this.takeLeases(deliveryTag, multiple);
    for (const lease of leases) {
      lease.queue.acknowledge(lease.queued);
    }
    this.host.stats.acknowledged += leases.length;
    this.afterSettle(leases);
  }

  private reject(deliveryTag: number, multiple: boolean, requeue: boolean): void {
    const leases = this.takeLeases(deliveryTag, multiple);
    // Stream queues refuse nack and reject: StreamQueue.reject throws RabbitMQ 3.10's 540.
    for (const lease of leases) if (lease.queue instanceof StreamQueue) lease.queue.reject(lease.queued);
    for (const lease of leases) {
      if (requeue) lease.queue.release(lease.queued);
      else lease.queue.reject(lease.queued);
    }
    this.afterSettle(leases);
  }

  /** Frees prefetch room and lets the affected queues deliver again. */
  private afterSettle(leases: Unacked[]): void {
    let lastQueue: Queue | undefined;
    for (const lease of leases) {
      if (lease.consumer) {
        lease.consumer.unackedCount--;
        this.unackedByConsumers--;
      }
      if (lease.queue !== lastQueue) {
        lastQueue = lease.queue;
        lease.queue.scheduleDispatch();
      }
    }
    if (this.channelPrefetch !== 0 && leases.length > 0) this.scheduleDispatchAll();
  }

  /** Requeues every unacknowledged delivery (basic.recover, channel close), in delivery order. */
  private releaseAll(): void {
    const leases = this.unacked.clear();
    for (const lease of leases) lease.queue.release(lease.queued);
    this.afterSettle(leases);
  }

  /** Called when the socket drains: queues may deliver to this channel's consumers again. */
  scheduleDispatchAll(): void {
    for (const consumer of this.consumers.values()) consumer.queue.scheduleDispatch();
  }

  // ---- closing ---------------------------------------------------------------------------

  /** Cancels consumers and requeues unacknowledged deliveries. */
  /** Counted in rabbitmq_global_publishers from the first publish until the channel closes. */
  private becomePublisher(): void {
    this.publisher = true;
    this.host.stats.publishers++;
  }

  releaseResources(): void {
    if (this.publisher) {
      this.publisher = false;
      this.host.stats.publishers--;
    }
    this.ackTimeout.stop();
    this.stopReplies();
    for (const consumer of [...this.consumers.values()]) this.removeConsumer(consumer);
    this.releaseAll();
    this.content = undefined;
    this.txOperations = [];
  }

  /** Raises a channel exception: sends channel.close and waits for close-ok. */
  closeWithError(error: AmqpError, classId: number, methodId: number): void {
    this.releaseResources();
    this.state = State.Closing;
    this.host.send(
      encodeMethodFrame(this.id, {
        method: 'channel.close',
        replyCode: error.replyCode,
        replyText: error.replyText,
        classId,
        methodId,
      }),
    );
  }

  /** The oldest unacked delivery outlived the consumer timeout: close the channel, as RabbitMQ. */
  private onAckTimeout(): void {
    if (this.state !== State.Open) return;
    const oldest = this.unacked.first();
    const timeoutMs = this.host.consumerTimeoutMs;
    this.host.log(
      `consumer ${oldest?.consumer ? `'${oldest.consumer.tag}'` : '(basic.get)'} on channel ${this.id} timed out waiting for a delivery acknowledgement after ${timeoutMs} ms; closing the channel and requeueing its unacked messages (raise --consumer-timeout-ms if consumers need longer)`,
    );
    this.closeWithError(
      channelError(ReplyCode.PRECONDITION_FAILED, ackTimeoutText(this.id, timeoutMs)),
      0,
      0,
    );
  }

  private finishClose(): void {
    this.state = State.Closed;
    this.host.channelClosed(this.id);
  }
}

const EMPTY = Buffer.alloc(0);

/** The `expiration` property as a TTL in ms; RabbitMQ refuses anything but a non-negative integer. */
function parseExpiration(expiration: string | undefined): number | undefined {
  if (expiration === undefined) return undefined;
  if (!/^-?\d+$/.test(expiration)) {
    throw channelError(ReplyCode.PRECONDITION_FAILED, `invalid expiration '${expiration}': no_integer`);
  }
  const ttlMs = Number(expiration);
  if (ttlMs < 0) {
    throw channelError(
      ReplyCode.PRECONDITION_FAILED,
      `invalid expiration '${expiration}': {value_negative,${ttlMs}}`,
    );
  }
  return ttlMs;
}

/**
 * The properties a delivery carries: as published, except that quorum queues count earlier
 * deliveries in the `x-delivery-count` header, as RabbitMQ 3.10 does: on redeliveries, and on
 * every basic.get (0 the first time).
 */
function deliveryProperties(queued: QueuedMessage, queue: Queue, viaGet: boolean): Buffer {
  const properties = queued.message.properties;
  if (queue.settings.type !== 'quorum' || (queued.deliveryCount <= 1 && !viaGet)) return properties;
  const decoded = decodeProperties(properties);
  const headers: FieldTable = { ...decoded.headers, 'x-delivery-count': queued.deliveryCount - 1 };
  return encodeProperties({ ...decoded, headers });
}

/** The consumer argument `x-priority` (an integer; default 0). */
function consumerPriority(args: Arguments | undefined, queue: Queue): number {
  const value = args?.['x-priority'];
  if (value === undefined) return 0;
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw channelError(
      ReplyCode.PRECONDITION_FAILED,
      `invalid arg 'x-priority' for queue '${queue.name}' in vhost '${queue.vhost}': "expected integer, got ${amqpTypeName(value)}"`,
    );
  }
  return n;
}

function toAmqpError(error: unknown): unknown {
  if (error instanceof BrokerError) return fromBrokerError(error);
  return error;
}

export type { FieldTable };

/**
 * A body that arrived in one frame, as the queue may keep it. The payload is a slice of a socket
 * read or of the frame parser's joined buffer: a small one is copied so that a queued message does
 * not keep a whole 64 KiB read alive; one that is at least half of the memory under it is kept as
 * it is (at most twice its size held, one copy fewer for every large message).
 */
function ownBody(payload: Buffer): Buffer {
  if (payload.length * 2 >= payload.buffer.byteLength) return payload;
  return Buffer.from(payload);
}
