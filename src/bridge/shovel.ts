/**
 * One running shovel: opens its source and destination, moves every delivery (mapped, with a
 * stable id) and settles it at the source only as its ack-mode says — on-confirm after the
 * destination confirmed, on-publish once sent, no-ack never (the source dropped it on delivery).
 * Any error closes both ends (unsettled messages stay at the source), shows the error in the
 * status, waits reconnect-delay (doubled on each failure in a row, up to 16 times it or a minute)
 * and starts again. A message the destination refuses for good (PermanentRefusal) is counted per
 * stable id; with a dead-letter destination it goes there (with why, in headers) after
 * dead-letter-after-attempts refusals and is then taken off the source, so the shovel moves on.
 * src-delete-after ends it after N messages (or the queue's depth at start) and asks to have its
 * definition removed, as RabbitMQ's shovel does.
 */
import { createHash } from 'node:crypto';
import { AmqpDestination, AmqpSource, redact } from './amqp-endpoint.js';
import {
  DEAD_LETTER_HEADERS,
  type Delivery,
  EndpointUnavailable,
  type LocalListeners,
  PermanentRefusal,
  type ShovelDestination,
  type ShovelSource,
  STABLE_ID_HEADER,
} from './endpoint.js';
import { type KafkaAddress, KafkaDestination, KafkaSource, kafkaAddressOf } from './kafka-endpoint.js';
import type { BridgeMessage } from './message-mapping.js';
import type { EndpointLocation, ShovelDefinition } from './shovel-definition.js';
import { type SqsAddress, SqsDestination, SqsSource, sqsAddressOf } from './sqs-endpoint.js';

export type ShovelState = 'starting' | 'running' | 'terminated';

/** Back-off after failures in a row: reconnect-delay × 2^(n-1), at most × 16 (and a minute unless reconnect-delay is longer). */
const MAX_BACKOFF_FACTOR = 16;
const MAX_BACKOFF_MS = 60_000;
/** A start that ran this long before failing counts as a success: the back-off starts over. */
const HEALTHY_RUN_MS = 30_000;
/**
 * After a failure, how long sends already under way may finish (and their messages be settled at
 * the source) before both ends close: without it, messages sent along with a refused one would be
 * requeued and sent again on every retry, never leaving the source.
 */
const DRAIN_MS = 5_000;
/** Refusal counts kept per stable id (the oldest are forgotten beyond this). */
const MAX_TRACKED_REFUSALS = 10_000;

export interface ShovelStatus {
  readonly vhost: string;
  readonly name: string;
  readonly state: ShovelState;
  readonly messagesMoved: number;
  readonly lastError: string | undefined;
  readonly lastErrorAtMs: number | undefined;
  readonly source: string;
  readonly destination: string;
  /** Refusals for good (PermanentRefusal) so far, counting each attempt. */
  readonly messagesRefused: number;
  readonly messagesDeadLettered: number;
  /** Where refused messages go ('local queue q', …), or undefined. */
  readonly deadLetter: string | undefined;
  readonly lastDeadLetterReason: string | undefined;
  /** Failures since the last confirmed message (the back-off grows with them). */
  readonly failuresInRow: number;
  /** When the next start is due while the shovel waits out its back-off. */
  readonly nextRetryAtMs: number | undefined;
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
  private deadLetterDestination: ShovelDestination | undefined;
  private refused = 0;
  private deadLettered = 0;
  private lastDeadLetterReason: string | undefined;
  private failuresInRow = 0;
  private nextRetryAtMs: number | undefined;
  private runningSinceMs = 0;
  /** Permanent refusals per stable id, while the message is still at its source. */
  private readonly refusals = new Map<string, number>();
  /** Dead-letterings under way: a restart waits for them so their source settle is not lost. */
  private readonly deadLettering = new Set<Promise<void>>();
  /** Sends under way (until settled at the source or failed). */
  private readonly inFlight = new Set<Promise<void>>();

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
      messagesRefused: this.refused,
      messagesDeadLettered: this.deadLettered,
      deadLetter: d.deadLetter ? `local ${d.deadLetter.kind} '${d.deadLetter.name}'` : undefined,
      lastDeadLetterReason: this.lastDeadLetterReason,
      failuresInRow: this.failuresInRow,
      nextRetryAtMs: this.nextRetryAtMs,
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
    this.nextRetryAtMs = undefined;
    this.runningSinceMs = Date.now();
    const fail = (error: Error) => {
      if (attempt === this.attempt && !this.stopped) void this.failed(attempt, error);
    };
    try {
      this.destination = this.makeDestination();
      await this.destination.open(fail);
      if (this.definition.deadLetter) {
        this.deadLetterDestination = this.makeDeadLetterDestination();
        await this.deadLetterDestination.open(fail);
      }
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
    const source = this.source;
    if (attempt !== this.attempt || !destination) return;
    const message = this.withShovelHeaders(delivery);
    const stableId = message.headers[STABLE_ID_HEADER] as string;
    const ackMode = this.definition.ackMode;
    const sent = destination.send(message, stableId);
    if (ackMode === 'on-publish') void delivery.settle().catch(fail);
    const work = sent
      .then(
        async () => {
          // Also after a failure of this attempt, while its ends are still open (failed() waits
          // for this): the confirmed message leaves the source instead of being sent again.
          if (this.source !== source || this.stopped) return;
          if (ackMode === 'on-confirm') await delivery.settle();
          this.refusals.delete(stableId);
          if (attempt === this.attempt) this.failuresInRow = 0;
          this.moved++;
          this.countDown();
        },
        (error: Error) => {
          if (attempt !== this.attempt) return;
          if (error instanceof PermanentRefusal) this.refusedForGood(attempt, delivery, message, error, fail);
          else fail(error);
        },
      )
      .catch(fail)
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  /**
   * The destination refused this message for good. Counted per stable id (it comes back after
   * each restart while on-confirm keeps it at the source); at dead-letter-after-attempts (at once
   * when the source has let go already: on-publish, no-ack) it goes to the dead-letter
   * destination and is then settled, and the shovel carries on. Otherwise the shovel fails,
   * backs off and tries again with the message still at its source.
   */
  private refusedForGood(
    attempt: number,
    delivery: Delivery,
    message: BridgeMessage,
    refusal: PermanentRefusal,
    fail: (error: Error) => void,
  ): void {
    const stableId = message.headers[STABLE_ID_HEADER] as string;
    const attempts = (this.refusals.get(stableId) ?? 0) + 1;
    this.refused++;
    this.refusals.delete(stableId);
    this.refusals.set(stableId, attempts);
    if (this.refusals.size > MAX_TRACKED_REFUSALS) this.refusals.delete(this.refusals.keys().next().value!);
    const deadLetter = this.definition.deadLetter;
    const dead = this.deadLetterDestination;
    const sourceKeepsIt = this.definition.ackMode === 'on-confirm';
    if (!deadLetter || !dead || (sourceKeepsIt && attempts < deadLetter.afterAttempts)) {
      const limit = deadLetter ? ` of ${deadLetter.afterAttempts} before dead-lettering` : '';
      fail(new Error(`message ${stableId} refused (attempt ${attempts}${limit}): ${refusal.message}`));
      return;
    }
    const d = this.definition;
    const copy: BridgeMessage = {
      ...message,
      headers: {
        ...message.headers,
        [DEAD_LETTER_HEADERS.reason]: refusal.message,
        [DEAD_LETTER_HEADERS.shovel]: `${d.vhost}/${d.name}`,
        [DEAD_LETTER_HEADERS.source]: describeSource(d),
        [DEAD_LETTER_HEADERS.destination]: describeDestination(d),
        [DEAD_LETTER_HEADERS.attempts]: attempts,
      },
    };
    const work = dead
      .send(copy, stableId)
      .then(async () => {
        if (sourceKeepsIt) await delivery.settle();
        this.refusals.delete(stableId);
        this.deadLettered++;
        this.lastDeadLetterReason = refusal.message;
        this.log(
          `shovel '${d.name}' in vhost '${d.vhost}': message ${stableId} dead-lettered to ${deadLetter.kind} '${deadLetter.name}' after ${attempts} refusal(s): ${refusal.message}`,
        );
        if (attempt === this.attempt) this.countDown();
      })
      .catch((error: Error) =>
        fail(
          new Error(
            `dead-lettering message ${stableId} failed: ${error.message} (it was refused: ${refusal.message})`,
          ),
        ),
      )
      .finally(() => this.deadLettering.delete(work));
    this.deadLettering.add(work);
  }

  private countDown(): void {
    if (this.remaining !== undefined && --this.remaining <= 0) this.finish();
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
    if (Date.now() - this.runningSinceMs >= HEALTHY_RUN_MS) this.failuresInRow = 0;
    this.failuresInRow++;
    const d = this.definition;
    const delayMs = backoffMs(d.reconnectDelayMs, this.failuresInRow);
    this.nextRetryAtMs = Date.now() + delayMs;
    this.log(
      `shovel '${d.name}' in vhost '${d.vhost}': ${error.message}; retrying in ${delayMs} ms (failure ${this.failuresInRow} in a row)`,
    );
    // Confirmed sends and dead-lettered copies are settled at the source while it is still open.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight, ...this.deadLettering]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, DRAIN_MS);
      }),
    ]);
    clearTimeout(timer);
    await this.closeEnds();
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => void this.run(), delayMs);
  }

  private finish(): void {
    this.finished(this);
  }

  private async closeEnds(): Promise<void> {
    const source = this.source;
    const destination = this.destination;
    const deadLetter = this.deadLetterDestination;
    this.source = undefined;
    this.destination = undefined;
    this.deadLetterDestination = undefined;
    await source?.close().catch(() => {});
    await destination?.close().catch(() => {});
    await deadLetter?.close().catch(() => {});
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
        // With a dead-letter destination an unroutable message comes back (mandatory) and is
        // dead-lettered; without one it is dropped at the destination, as RabbitMQ's shovel does.
        return new AmqpDestination(this.amqpUrl(t.at), t, d.deadLetter !== undefined);
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

  /** The dead-letter destination: a queue or topic on this Pier, in the shovel's vhost. */
  private makeDeadLetterDestination(): ShovelDestination {
    const d = this.definition;
    const dl = d.deadLetter!;
    const here: EndpointLocation = { local: true };
    switch (dl.kind) {
      case 'amqp-queue':
        return new AmqpDestination(this.amqpUrl(here), {
          exchange: '',
          key: dl.name,
          queue: dl.name,
          queueArguments: {},
        });
      case 'kafka-topic':
        return new KafkaDestination(this.kafkaAddress(here), dl.name, undefined, -1);
      case 'sqs-queue':
        return new SqsDestination(this.sqsAddress(here), dl.name, d.name);
    }
  }
}

function backoffMs(reconnectDelayMs: number, failuresInRow: number): number {
  const grown = reconnectDelayMs * 2 ** Math.min(failuresInRow - 1, Math.log2(MAX_BACKOFF_FACTOR));
  return Math.max(10, Math.min(grown, Math.max(reconnectDelayMs, MAX_BACKOFF_MS)));
}

function describeSource(d: ShovelDefinition): string {
  const s = d.source;
  const what =
    s.kind === 'amqp-queue'
      ? `queue '${s.queue}'`
      : s.kind === 'amqp-exchange'
        ? `exchange '${s.exchange}'`
        : s.kind === 'kafka-topic'
          ? `topic '${s.topic}'`
          : `sqs queue '${s.queue}'`;
  return `${describeLocation(s.at)} ${what}`;
}

function describeDestination(d: ShovelDefinition): string {
  const t = d.destination;
  const what =
    t.kind === 'amqp'
      ? t.queue !== undefined
        ? `queue '${t.queue}'`
        : `exchange '${t.exchange}'`
      : t.kind === 'kafka-topic'
        ? `topic '${t.topic}'`
        : `sqs queue '${t.queue}'`;
  return `${describeLocation(t.at)} ${what}`;
}

function describeLocation(at: EndpointLocation): string {
  return at.local ? 'local' : redact(at.uri);
}
