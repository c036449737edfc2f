/**
 * A vhost on a manual clock with in-memory stores, and consumers that behave as an AMQP channel
 * does (prefetch window; ack, nack and requeue followed by a dispatch), for core tests of the
 * Queue's rules without a socket. Message properties are JSON ({ headers, expiration }): enough
 * for the core to read headers and add x-death when it dead-letters.
 */
import type { Arguments } from '../../../src/core/amqp/exchange.js';
import { MemoryQueueStore } from '../../../src/core/amqp/memory-queue-store.js';
import type { MessagePropertiesCodec } from '../../../src/core/amqp/message-properties.js';
import type { Queue, QueueConsumer } from '../../../src/core/amqp/queue.js';
import { type PublishOutcome, VirtualHost } from '../../../src/core/amqp/vhost.js';
import { discardDefinitions } from '../../../src/core/definitions.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import type { Message, QueuedMessage } from '../../../src/core/message.js';

interface JsonProperties {
  headers?: Arguments;
  expiration?: string;
}

const decode = (properties: Buffer): JsonProperties =>
  properties.length === 0 ? {} : (JSON.parse(properties.toString('utf8')) as JsonProperties);
const encode = (properties: JsonProperties): Buffer => Buffer.from(JSON.stringify(properties), 'utf8');

export const JSON_PROPERTIES: MessagePropertiesCodec = {
  headers: (properties) => decode(properties).headers,
  expiration: (properties) => decode(properties).expiration,
  withHeadersWithoutExpiration: (_properties, headers) => encode({ headers }),
  withHeaders: (properties, headers) => encode({ ...decode(properties), headers }),
};

/** Lets scheduled dispatches (microtasks) run. */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const bodyOf = (queued: QueuedMessage): string => queued.message.body!.toString('utf8');

/** One x-death entry as the test reads it. */
export interface Death {
  readonly reason: unknown;
  readonly queue: unknown;
  readonly count: unknown;
}

export interface PublishOptions {
  readonly priority?: number;
  /** The AMQP `expiration` property, in ms. */
  readonly expirationMs?: number;
}

export class QueueFixture {
  readonly clock = new ManualClock();
  readonly vhost = new VirtualHost('/', {
    clock: this.clock,
    createStore: () => new MemoryQueueStore(),
    definitions: discardDefinitions,
    codec: JSON_PROPERTIES,
  });

  declare(name: string, args: Arguments = {}, options: { autoDelete?: boolean } = {}): Queue {
    return this.vhost.declareQueue({
      name,
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: options.autoDelete ?? false,
      arguments: args,
      owner: undefined,
    });
  }

  /** Declares `dlq` and `name`, whose messages dead-letter through the default exchange into `dlq`. */
  declareWithDeadLetters(name: string, args: Arguments = {}): { queue: Queue; dlq: Queue } {
    const dlq = this.declare(`${name}-dlq`);
    const queue = this.declare(name, {
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': `${name}-dlq`,
      ...args,
    });
    return { queue, dlq };
  }

  /** Publishes `body` to the queue `queueName` through the default exchange. */
  publish(queueName: string, body: string, options: PublishOptions = {}): PublishOutcome {
    const bytes = Buffer.from(body, 'utf8');
    const properties =
      options.expirationMs === undefined
        ? Buffer.alloc(0)
        : encode({ expiration: String(options.expirationMs) });
    const message: Message = {
      exchange: '',
      routingKey: queueName,
      properties,
      body: bytes,
      bodySizeBytes: bytes.length,
      persistent: false,
      publishedAtMs: this.clock.now(),
      priority: options.priority ?? 0,
      expirationMs: options.expirationMs,
    };
    return this.vhost.publish(this.vhost.getExchange(''), message);
  }

  /** Takes every ready message with basic.get and acks it: the bodies in delivery order. */
  drain(queue: Queue): string[] {
    const bodies: string[] = [];
    for (let queued = queue.get(); queued; queued = queue.get()) {
      bodies.push(bodyOf(queued));
      queue.settle(queued);
    }
    return bodies;
  }

  /** Drains a dead-letter queue: each body with the reason and queue of its latest death. */
  drainDeaths(dlq: Queue): { body: string; reason: unknown; queue: unknown; firstReason: unknown }[] {
    const out: { body: string; reason: unknown; queue: unknown; firstReason: unknown }[] = [];
    for (let queued = dlq.get(); queued; queued = dlq.get()) {
      const headers = JSON_PROPERTIES.headers(queued.message.properties) ?? {};
      const deaths = (headers['x-death'] ?? []) as Death[];
      out.push({
        body: bodyOf(queued),
        reason: deaths[0]?.reason,
        queue: deaths[0]?.queue,
        firstReason: headers['x-first-death-reason'],
      });
      dlq.settle(queued);
    }
    return out;
  }
}

/**
 * A consumer as an AMQP channel drives one: it accepts while it holds fewer than `prefetch`
 * unacknowledged deliveries, and after an ack, nack or requeue asks the queue to dispatch again.
 */
export class TestConsumer implements QueueConsumer {
  readonly exclusive = false;
  /** Unacknowledged deliveries, in delivery order. */
  readonly leases: QueuedMessage[] = [];
  /** Every delivery: the body, with ' (redelivered)' when the queue had delivered it before. */
  readonly received: string[] = [];
  deletedQueue: Queue | undefined;

  constructor(
    readonly tag: string,
    private readonly prefetch = Number.POSITIVE_INFINITY,
    readonly priority = 0,
  ) {}

  canAccept(): boolean {
    return this.leases.length < this.prefetch;
  }

  deliver(queued: QueuedMessage, _queue: Queue): void {
    this.leases.push(queued);
    this.received.push(`${bodyOf(queued)}${queued.deliveryCount > 1 ? ' (redelivered)' : ''}`);
  }

  queueDeleted(queue: Queue): void {
    this.deletedQueue = queue;
  }

  private takeLease(body: string): QueuedMessage {
    const index = this.leases.findIndex((queued) => bodyOf(queued) === body);
    if (index < 0) throw new Error(`${this.tag} holds no lease on '${body}'`);
    return this.leases.splice(index, 1)[0]!;
  }

  ack(queue: Queue, body: string): void {
    queue.settle(this.takeLease(body));
    queue.scheduleDispatch();
  }

  /** basic.nack / basic.reject: requeued, or rejected (dead-lettered when the queue has a DLX). */
  nack(queue: Queue, body: string, requeue: boolean): void {
    const queued = this.takeLease(body);
    if (requeue) queue.release(queued);
    else queue.reject(queued);
    queue.scheduleDispatch();
  }

  /** What a closing channel does after cancelling: requeues every lease, in delivery order. */
  releaseAll(queue: Queue): void {
    for (const queued of this.leases.splice(0)) queue.release(queued);
    queue.scheduleDispatch();
  }
}
