/**
 * Worker<T>: runs a handler for each job of a queue over AMQP 0-9-1, `concurrency` at a time
 * (prefetch = concurrency), and applies the job's policy when an attempt fails: retry after its
 * backoff through the delayed retry exchange (Pier) or a TTL wait queue (RabbitMQ without the
 * plugin), then the dead-letter queue with the error and attempt history. The original delivery
 * is acknowledged only after the retry or dead-letter copy is confirmed, so a crash in between
 * leaves the job in the queue (a retry may then exist twice: the processed-id store drops the
 * second run once either completed).
 */
import { EventEmitter } from 'node:events';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { type AmqpConnectionOption, openConnection, publishConfirmed } from './amqp-connection.js';
import {
  declareTopology,
  declareWaitQueue,
  detectFeatures,
  JOB_ROUTING_KEY,
  type Topology,
  type TopologyOptions,
  topologyOf,
} from './amqp-topology.js';
import { type BackoffFunction, backoffDelayMs } from './backoff.js';
import {
  type ActiveJob,
  type AttemptRecord,
  describeError,
  type JobEvent,
  type JobEventName,
} from './job.js';
import { appendHistory, failedAttemptHeaders, HEADER, type JobMeta, readJobMeta } from './job-headers.js';
import { MemoryProcessedIds, type ProcessedIdStore } from './processed-ids.js';
import { type RateLimit, RateLimiter } from './rate-limiter.js';
import { runAttempt } from './run-attempt.js';
import { type StandardSchemaV1, ValidationError, validatePayload } from './standard-schema.js';

export type Processor<T, R> = (job: ActiveJob<T>) => Promise<R> | R;

export interface WorkerOptions<T> extends TopologyOptions {
  readonly connection: AmqpConnectionOption;
  /** Validates each payload before the handler sees it; a payload that fails goes to the DLQ, never retried. */
  readonly schema?: StandardSchemaV1<unknown, T>;
  /** Jobs run at once; default 1. The channel's prefetch is this number. */
  readonly concurrency?: number;
  /** Completed job ids, so a redelivered completed job is not run again; default in memory, false for none. */
  readonly processedIds?: ProcessedIdStore | false;
  /** Strategies for `backoff: { type: 'custom', name }`. */
  readonly backoffStrategies?: Readonly<Record<string, BackoffFunction>>;
  /** At most `max` job starts per `durationMs` (this worker). */
  readonly limiter?: RateLimit;
  /** How long close() lets running jobs finish before it gives them back to the queue; default 30 s. */
  readonly closeTimeoutMs?: number;
  /** Close gracefully on SIGTERM and SIGINT; default false. */
  readonly handleSignals?: boolean;
  /** Publish job events (completed, failed, retrying, dead-lettered, progress); default true. */
  readonly events?: boolean;
}

interface InFlight {
  readonly message: ConsumeMessage;
  readonly controller: AbortController;
  /** Acked, nacked, or its channel is gone: nothing more is sent for it. */
  settled: boolean;
  /** Given back by close() or a lost connection: its outcome is dropped. */
  released: boolean;
}

/** Reconnects after a lost connection wait 1 s, 2 s, ... up to this. */
const MAX_RECONNECT_DELAY_MS = 30_000;

export class Worker<T, R = unknown> extends EventEmitter {
  private connection: ChannelModel | undefined;
  private ownsConnection = false;
  private channel: ConfirmChannel | undefined;
  private topology!: Topology;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<InFlight>();
  private readonly processedIds: ProcessedIdStore | undefined;
  private readonly limiter: RateLimiter | undefined;
  private readonly concurrency: number;
  private readonly waitQueues = new Map<string, number>();
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private reconnectDelayMs = 1_000;
  private readonly onSignal = () => void this.close();

  constructor(
    readonly name: string,
    private readonly processor: Processor<T, R>,
    private readonly options: WorkerOptions<T>,
  ) {
    super();
    this.concurrency = options.concurrency ?? 1;
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1 && this.concurrency <= 65_535))
      throw new RangeError(`concurrency must be an integer from 1 to 65535, not ${this.concurrency}`);
    this.processedIds =
      options.processedIds === false ? undefined : (options.processedIds ?? new MemoryProcessedIds());
    this.limiter = options.limiter ? new RateLimiter(options.limiter) : undefined;
  }

  /** Connects, declares the queue's objects and starts consuming. */
  async run(): Promise<void> {
    if (this.closing) throw new Error(`worker for ${this.name} is closed`);
    await this.start();
    if (this.options.handleSignals) {
      process.once('SIGTERM', this.onSignal);
      process.once('SIGINT', this.onSignal);
    }
  }

  /** Jobs running now (for tests and metrics). */
  get running(): number {
    return this.inFlight.size;
  }

  private async start(): Promise<void> {
    const { connection, owned } = await openConnection(this.options.connection, `jobs worker ${this.name}`);
    this.connection = connection;
    this.ownsConnection = owned;
    this.topology = topologyOf(this.name, this.options, this.options.features ?? detectFeatures(connection));
    const channel = await connection.createConfirmChannel();
    this.channel = channel;
    channel.on('error', (error: Error) => this.reportError(error));
    channel.on('close', () => this.channelLost(channel));
    await declareTopology(channel, this.topology, this.options);
    await channel.prefetch(this.concurrency);
    const { consumerTag } = await channel.consume(
      this.topology.queue,
      (message) => {
        if (message) void this.handle(channel, message);
      },
      { noAck: false },
    );
    this.consumerTag = consumerTag;
    this.reconnectDelayMs = 1_000;
  }

  private reportError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** The channel closed: its unacked jobs went back to the queue; reconnect unless closing. */
  private channelLost(channel: ConfirmChannel): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    for (const job of this.inFlight) this.release(job, 'the connection to the broker was lost');
    this.drained?.();
    if (this.closing || !this.ownsConnection) return;
    const delayMs = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(MAX_RECONNECT_DELAY_MS, delayMs * 2);
    setTimeout(() => {
      if (this.closing) return;
      this.connection?.close().catch(() => {});
      this.start().catch((error) => {
        this.reportError(error);
        this.channelLost(this.channel ?? channel);
      });
    }, delayMs).unref();
  }

  private async handle(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    const job: InFlight = { message, controller: new AbortController(), settled: false, released: false };
    this.inFlight.add(job);
    try {
      await this.process(channel, job);
    } catch (error) {
      this.reportError(error);
      if (!job.settled) this.release(job, 'the worker could not settle the job');
    } finally {
      this.inFlight.delete(job);
      if (this.inFlight.size === 0) this.drained?.();
    }
  }

  private async process(channel: ConfirmChannel, job: InFlight): Promise<void> {
    const { message } = job;
    const id = String(message.properties.messageId ?? `delivery-${message.fields.deliveryTag}`);
    const name = String(message.properties.type ?? 'job');
    if (this.limiter) await this.limiter.acquire(job.controller.signal).catch(() => {});
    if (job.released) return;
    if (this.processedIds && (await this.processedIds.has(id))) {
      this.ack(channel, job);
      this.emit('duplicate', id);
      return;
    }
    const meta = readJobMeta(message.properties.headers, Date.now());
    const attempt = meta.failed + 1;
    let data: T;
    try {
      data = await validatePayload(
        this.options.schema,
        JSON.parse(message.content.toString('utf8')),
        `queue ${this.name}, job ${id}`,
      );
    } catch (error) {
      const reason =
        error instanceof ValidationError
          ? error
          : new ValidationError([{ message: String(error) }], `job ${id}`);
      await this.deadLetter(channel, job, meta, { id, name, attempt }, reason, 'invalid-payload');
      return;
    }
    const active: ActiveJob<T> = {
      id,
      name,
      data,
      attempt,
      attempts: meta.attempts,
      addedAtMs: meta.addedAtMs,
      history: meta.history,
      signal: job.controller.signal,
      updateProgress: async (progress) => {
        this.publishEvent({ event: 'progress', jobId: id, name, attempt, atMs: Date.now(), progress });
      },
      extendLease: async () => {},
    };
    this.emit('active', active);
    const outcome = await runAttempt(() => this.processor(active), job.controller, meta.timeoutMs);
    if (job.released) return;
    if (outcome.ok) {
      await this.processedIds?.add(id);
      this.publishEvent({
        event: 'completed',
        jobId: id,
        name,
        attempt,
        atMs: Date.now(),
        result: outcome.result,
      });
      this.ack(channel, job);
      return;
    }
    const failure = describeError(outcome.error);
    this.publishEvent({
      event: 'failed',
      jobId: id,
      name,
      attempt,
      atMs: Date.now(),
      error: failure.message,
    });
    if (attempt >= meta.attempts) {
      await this.deadLetter(channel, job, meta, { id, name, attempt }, outcome.error, 'attempts-exhausted');
      return;
    }
    let delayMs: number;
    try {
      delayMs = backoffDelayMs(meta.backoff, attempt, outcome.error, this.options.backoffStrategies);
    } catch (error) {
      await this.deadLetter(channel, job, meta, { id, name, attempt }, error, 'backoff-failed');
      return;
    }
    const record: AttemptRecord = { attempt, error: failure.message, stack: failure.stack, atMs: Date.now() };
    await this.retry(channel, job, failedAttemptHeaders(meta, record), delayMs);
    this.publishEvent({
      event: 'retrying',
      jobId: id,
      name,
      attempt,
      atMs: Date.now(),
      error: failure.message,
      delayMs,
    });
  }

  /** Republishes the job for its next attempt after `delayMs`, then acks this delivery. */
  private async retry(
    channel: ConfirmChannel,
    job: InFlight,
    headers: Record<string, unknown>,
    delayMs: number,
  ): Promise<void> {
    const { message } = job;
    const properties = this.copyProperties(message, headers);
    const { topology } = this;
    if (delayMs <= 0) {
      await publishConfirmed(channel, '', topology.queue, message.content, properties);
    } else if (topology.features.delayedExchange) {
      headers['x-delay'] = delayMs;
      await publishConfirmed(channel, topology.retryExchange, JOB_ROUTING_KEY, message.content, properties);
    } else {
      const waitQueue = await this.waitQueue(channel, delayMs);
      await publishConfirmed(channel, '', waitQueue, message.content, properties);
    }
    this.ack(channel, job);
  }

  private async deadLetter(
    channel: ConfirmChannel,
    job: InFlight,
    meta: JobMeta,
    about: { id: string; name: string; attempt: number },
    error: unknown,
    reason: string,
  ): Promise<void> {
    const failure = describeError(error);
    const history = appendHistory(meta.history, {
      attempt: about.attempt,
      error: failure.message,
      stack: failure.stack,
      atMs: Date.now(),
    });
    const headers: Record<string, unknown> = {
      ...job.message.properties.headers,
      [HEADER.failed]: about.attempt,
      [HEADER.history]: JSON.stringify(history),
      [HEADER.reason]: reason,
      [HEADER.error]: failure.message,
    };
    delete headers[HEADER.dedup];
    delete headers['x-delay'];
    await publishConfirmed(
      channel,
      '',
      this.topology.deadLetterQueue,
      job.message.content,
      this.copyProperties(job.message, headers),
    );
    this.ack(channel, job);
    this.publishEvent({
      event: 'dead-lettered',
      jobId: about.id,
      name: about.name,
      attempt: about.attempt,
      atMs: Date.now(),
      error: failure.message,
    });
  }

  private copyProperties(message: ConsumeMessage, headers: Record<string, unknown>): Options.Publish {
    const p = message.properties;
    return {
      persistent: true,
      contentType: p.contentType,
      messageId: p.messageId,
      type: p.type,
      timestamp: p.timestamp,
      ...(p.priority !== undefined ? { priority: p.priority } : {}),
      headers,
    };
  }

  private async waitQueue(channel: ConfirmChannel, delayMs: number): Promise<string> {
    const name = this.topology.waitQueue(delayMs);
    const declaredAt = this.waitQueues.get(name);
    if (declaredAt === undefined || Date.now() - declaredAt > 30_000) {
      await declareWaitQueue(channel, this.topology, delayMs);
      this.waitQueues.set(name, Date.now());
    }
    return name;
  }

  private publishEvent(event: JobEvent): void {
    this.emit(event.event satisfies JobEventName, event);
    const channel = this.channel;
    if (this.options.events === false || !channel) return;
    try {
      channel.publish(this.topology.eventsExchange, event.event, Buffer.from(JSON.stringify(event)), {
        contentType: 'application/json',
      });
    } catch (error) {
      this.reportError(error);
    }
  }

  private ack(channel: ConfirmChannel, job: InFlight): void {
    if (job.settled || job.released) return;
    job.settled = true;
    if (this.channel === channel) channel.ack(job.message);
  }

  /** Gives a job back to the queue (it keeps its attempt count) and aborts its handler's signal. */
  private release(job: InFlight, why: string): void {
    if (job.released) return;
    job.released = true;
    job.controller.abort(new Error(`job released: ${why}`));
    if (job.settled) return;
    job.settled = true;
    const channel = this.channel;
    if (!channel) return; // a closed channel already gave it back
    try {
      channel.nack(job.message, false, true);
    } catch {}
  }

  /**
   * Stops taking jobs, lets running ones finish for up to closeTimeoutMs (or `timeoutMs`), then
   * gives the rest back to the queue, where another worker takes them, and disconnects.
   */
  close(timeoutMs = this.options.closeTimeoutMs ?? 30_000): Promise<void> {
    this.closing ??= this.shutDown(timeoutMs);
    return this.closing;
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
    const channel = this.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => {});
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.drained = undefined;
    }
    for (const job of this.inFlight) this.release(job, 'the worker closed before the job finished');
    this.channel = undefined;
    await channel?.close().catch(() => {});
    if (this.ownsConnection) await this.connection?.close().catch(() => {});
  }
}
