/**
 * One running shovel: opens its source and destination, moves every delivery (mapped, with a
 * stable id) and settles it at the source only as its ack-mode says — on-confirm after the
 * destination confirmed, on-publish once sent, no-ack never (the source dropped it on delivery).
 * Any error closes both ends (unsettled messages stay at the source), shows the error in the
 * status, waits reconnect-delay and starts again. src-delete-after ends it after N messages (or
 * the queue's depth at start) and asks to have its definition removed, as RabbitMQ's shovel does.
 */
import { createHash } from 'node:crypto';
import { AmqpDestination, AmqpSource, redact } from './amqp-endpoint.js';
import {
  type Delivery,
  EndpointUnavailable,
  type LocalListeners,
  type ShovelDestination,
  type ShovelSource,
  STABLE_ID_HEADER,
} from './endpoint.js';
import { type KafkaAddress, KafkaDestination, KafkaSource, kafkaAddressOf } from './kafka-endpoint.js';
import type { BridgeMessage } from './message-mapping.js';
import type { EndpointLocation, ShovelDefinition } from './shovel-definition.js';
import { type SqsAddress, SqsDestination, SqsSource, sqsAddressOf } from './sqs-endpoint.js';

export type ShovelState = 'starting' | 'running' | 'terminated';

export interface ShovelStatus {
  readonly vhost: string;
  readonly name: string;
  readonly state: ShovelState;
  readonly messagesMoved: number;
  readonly lastError: string | undefined;
  readonly lastErrorAtMs: number | undefined;
  readonly source: string;
  readonly destination: string;
}

export class Shovel {
  private state: ShovelState = 'starting';
  private moved = 0;
  private lastError: string | undefined;
  private lastErrorAtMs: number | undefined;
  private source: ShovelSource | undefined;
  private destination: ShovelDestination | undefined;
  /** Bumped on each (re)start: callbacks of an older attempt are ignored. */
  private attempt = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private remaining: number | undefined;

  constructor(
    readonly definition: ShovelDefinition,
    private readonly local: LocalListeners,
    private readonly log: (line: string) => void,
    /** Called when src-delete-after is reached: the owner removes the definition. */
    private readonly finished: (shovel: Shovel) => void,
  ) {}

  start(): void {
    void this.run();
  }

  status(): ShovelStatus {
    const d = this.definition;
    return {
      vhost: d.vhost,
      name: d.name,
      state: this.state,
      messagesMoved: this.moved,
      lastError: this.lastError,
      lastErrorAtMs: this.lastErrorAtMs,
      source: describeLocation(d.source.at),
      destination: describeLocation(d.destination.at),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.attempt++;
    clearTimeout(this.retryTimer);
    await this.closeEnds();
    this.state = 'terminated';
  }

  private async run(): Promise<void> {
    const attempt = ++this.attempt;
    this.state = 'starting';
    const fail = (error: Error) => {
      if (attempt === this.attempt && !this.stopped) void this.failed(attempt, error);
    };
    try {
      this.destination = this.makeDestination();
      await this.destination.open(fail);
      this.source = this.makeSource();
      if (attempt !== this.attempt) return;
      await this.source.open((delivery) => this.forward(attempt, delivery, fail), fail);
      if (this.definition.deleteAfter === 'queue-length' && this.remaining === undefined) {
        this.remaining = (await this.source.depth?.()) ?? 0;
        if (this.remaining === 0) return this.finish();
      } else if (typeof this.definition.deleteAfter === 'number' && this.remaining === undefined) {
        this.remaining = this.definition.deleteAfter;
      }
      if (attempt === this.attempt) this.state = 'running';
    } catch (error) {
      fail(error as Error);
    }
  }

  private forward(attempt: number, delivery: Delivery, fail: (error: Error) => void): void {
    const destination = this.destination;
    if (attempt !== this.attempt || !destination) return;
    const message = this.withShovelHeaders(delivery);
    const stableId = message.headers[STABLE_ID_HEADER] as string;
    const ackMode = this.definition.ackMode;
    const sent = destination.send(message, stableId);
    if (ackMode === 'on-publish') void delivery.settle().catch(fail);
    sent
      .then(
        async () => {
          if (attempt !== this.attempt) return;
          if (ackMode === 'on-confirm') await delivery.settle();
          this.moved++;
          if (this.remaining !== undefined && --this.remaining <= 0) this.finish();
        },
        (error: Error) => fail(error),
      )
      .catch(fail);
  }

  /** The stable id (kept when an earlier shovel set one) and RabbitMQ's forward headers when asked. */
  private withShovelHeaders(delivery: Delivery): BridgeMessage {
    const d = this.definition;
    const message = delivery.message;
    const headers = { ...message.headers };
    if (typeof headers[STABLE_ID_HEADER] !== 'string') headers[STABLE_ID_HEADER] = this.stableIdOf(delivery);
    if (d.addForwardHeaders) {
      const previous = Array.isArray(headers['x-shovelled']) ? headers['x-shovelled'] : [];
      headers['x-shovelled'] = [
        ...previous,
        {
          'shovel-name': d.name,
          'shovel-type': 'dynamic',
          'shovel-vhost': d.vhost,
          'src-uri': describeLocation(d.source.at),
          'dest-uri': describeLocation(d.destination.at),
        },
      ];
    }
    if (d.addTimestampHeader) headers['x-shovelled-timestamp'] = Math.floor(Date.now() / 1000);
    return { ...message, headers };
  }

  /**
   * Kafka offsets and SQS message ids name a message for good. An AMQP queue message has only its
   * message-id, if the publisher set one; without it the id is a hash of key, properties and body
   * (identical messages then share an id: publishers that send identical messages should set message-id).
   */
  private stableIdOf(delivery: Delivery): string {
    const prefix = `${this.definition.vhost}/${this.definition.name}/`;
    const m = delivery.message;
    if (!delivery.sourceId.startsWith('amqp/')) return prefix + delivery.sourceId;
    if (m.messageId) return `${prefix}amqp/${m.messageId}`;
    const hash = createHash('sha256');
    hash.update(m.key ?? '');
    hash.update(JSON.stringify([m.contentType, m.correlationId, m.timestampMs, Object.keys(m.headers)]));
    hash.update(m.body);
    return `${prefix}sha256/${hash.digest('hex').slice(0, 32)}`;
  }

  private async failed(attempt: number, error: Error): Promise<void> {
    if (attempt !== this.attempt) return;
    this.attempt++;
    this.state = 'terminated';
    this.lastError = error.message;
    this.lastErrorAtMs = Date.now();
    const d = this.definition;
    this.log(
      `shovel '${d.name}' in vhost '${d.vhost}': ${error.message}; retrying in ${d.reconnectDelayMs} ms`,
    );
    await this.closeEnds();
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => void this.run(), Math.max(d.reconnectDelayMs, 10));
  }

  private finish(): void {
    this.finished(this);
  }

  private async closeEnds(): Promise<void> {
    const source = this.source;
    const destination = this.destination;
    this.source = undefined;
    this.destination = undefined;
    await source?.close().catch(() => {});
    await destination?.close().catch(() => {});
  }

  private amqpUrl(at: EndpointLocation): string {
    if (!at.local) return at.uri;
    const url = this.local.amqpUrl(this.definition.vhost, at.user, at.password);
    if (url === undefined) throw new EndpointUnavailable('a local AMQP endpoint');
    return url;
  }

  private kafkaAddress(at: EndpointLocation): KafkaAddress {
    if (!at.local) return kafkaAddressOf(at.uri);
    if (this.local.kafkaBootstrap === undefined) throw new EndpointUnavailable('a local Kafka endpoint');
    return {
      brokers: [this.local.kafkaBootstrap],
      ...(this.local.kafkaSasl ? { sasl: { ...this.local.kafkaSasl } } : {}),
    };
  }

  private sqsAddress(at: EndpointLocation): SqsAddress {
    if (!at.local) return sqsAddressOf(at.uri);
    const sqs = this.local.sqs;
    if (sqs === undefined) throw new EndpointUnavailable('a local SQS endpoint');
    return {
      endpoint: sqs.endpoint,
      region: sqs.region,
      credentials: { accessKeyId: sqs.accessKeyId, secretAccessKey: sqs.secretAccessKey },
    };
  }

  private makeSource(): ShovelSource {
    const d = this.definition;
    const s = d.source;
    switch (s.kind) {
      case 'amqp-queue':
        return new AmqpSource(
          this.amqpUrl(s.at),
          { queue: s.queue },
          d.prefetchCount,
          d.ackMode === 'no-ack',
        );
      case 'amqp-exchange':
        return new AmqpSource(
          this.amqpUrl(s.at),
          { exchange: s.exchange, key: s.key },
          d.prefetchCount,
          d.ackMode === 'no-ack',
        );
      case 'kafka-topic':
        return new KafkaSource(this.kafkaAddress(s.at), s.topic, s.group, d.ackMode === 'no-ack');
      case 'sqs-queue':
        return new SqsSource(this.sqsAddress(s.at), s.queue, d.ackMode === 'no-ack');
    }
  }

  private makeDestination(): ShovelDestination {
    const d = this.definition;
    const t = d.destination;
    switch (t.kind) {
      case 'amqp':
        return new AmqpDestination(this.amqpUrl(t.at), t);
      case 'kafka-topic':
        return new KafkaDestination(
          this.kafkaAddress(t.at),
          t.topic,
          t.partition,
          d.ackMode === 'on-confirm' ? -1 : 1,
        );
      case 'sqs-queue':
        return new SqsDestination(this.sqsAddress(t.at), t.queue, d.name);
    }
  }
}

function describeLocation(at: EndpointLocation): string {
  return at.local ? 'local' : redact(at.uri);
}
