/**
 * Queue<T>: the producer side over AMQP 0-9-1 — add and addBulk (publisher confirms), job events,
 * results, dead-letter inspection and re-drive. Works on Pier and on RabbitMQ (see amqp-topology.ts
 * for what each broker gives and the fallbacks).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { type AmqpConnectionOption, openConnection, publishConfirmed } from './amqp-connection.js';
import {
  type BrokerFeatures,
  declareTopology,
  declareWaitQueue,
  detectFeatures,
  JOB_ROUTING_KEY,
  type Topology,
  type TopologyOptions,
  topologyOf,
} from './amqp-topology.js';
import { checkBackoff } from './backoff.js';
import { FinishedJobs } from './finished-jobs.js';
import { type AddedJob, checkJobOptions, type JobEvent, type JobOptions } from './job.js';
import { HEADER, newJobHeaders } from './job-headers.js';
import { injectedTraceContext, type TraceContextInjector } from './job-metrics.js';
import { type RepeatHandle, type RepeatSchedule, startRepeat } from './repeat.js';
import { type StandardSchemaV1, validatePayload } from './standard-schema.js';

export interface QueueOptions<T> extends TopologyOptions {
  readonly connection: AmqpConnectionOption;
  /** Validates payloads before they are sent (a Standard Schema: zod, valibot, arktype, ...). */
  readonly schema?: StandardSchemaV1<unknown, T>;
  /** Options every job gets unless add() says otherwise. */
  readonly defaultJobOptions?: JobOptions;
  /**
   * Subscribe to the queue's events (job events and waitUntilFinished); default true. Costs one
   * exclusive queue on the broker while the Queue is open.
   */
  readonly events?: boolean;
  /**
   * How long add()/addBulk() keep retrying a publish the broker did not confirm (a lost connection,
   * a broker restart), reconnecting with backoff; default 60 s. Only for connections the Queue opened
   * itself (a URL). A retried job may be added twice; a jobId deduplicates it.
   */
  readonly retryAddForMs?: number;
  /**
   * Writes the adding code's trace context into each job (see TraceContextInjector in
   * job-metrics.ts), e.g. `(carrier) => propagation.inject(context.active(), carrier)`.
   */
  readonly injectTraceContext?: TraceContextInjector;
}

export interface BulkJob<T> {
  readonly name: string;
  readonly data: T;
  readonly options?: JobOptions;
}

/** Publishes in flight at most during addBulk (then it waits for their confirms). */
const BULK_WINDOW = 1_000;
/** Retries of an unconfirmed add wait 250 ms, 500 ms, ... up to this. */
const MAX_ADD_RETRY_DELAY_MS = 5_000;

export class Queue<T, R = unknown> extends EventEmitter {
  private opened: Promise<void> | undefined;
  /** Connected, topology declared, channel not lost: adds publish without awaiting open(). */
  private ready = false;
  private connection!: ChannelModel;
  private ownsConnection = false;
  private channel!: ConfirmChannel;
  private topology!: Topology;
  private readonly finished = new FinishedJobs();
  /** Fallback wait queues declared, with when (they are re-declared to keep them from expiring). */
  private readonly waitQueues = new Map<string, number>();
  private closed = false;
  private readonly repeats = new Set<RepeatHandle>();

  constructor(
    readonly name: string,
    private readonly options: QueueOptions<T>,
  ) {
    super();
    checkBackoff(options.defaultJobOptions?.backoff);
  }

  /** Connects and declares the queue's objects; add() does it on first use. */
  open(): Promise<void> {
    if (!this.opened) {
      const opening = this.connect();
      this.opened = opening;
      // A failed connect is tried again by the next open() (add() retries through it).
      opening.catch(() => {
        if (this.opened === opening) this.opened = undefined;
      });
    }
    return this.opened;
  }

  /** What the broker was found to offer (after open). */
  get features(): BrokerFeatures {
    return this.topology.features;
  }

  private async connect(): Promise<void> {
    const { connection, owned } = await openConnection(this.options.connection, `jobs queue ${this.name}`);
    this.connection = connection;
    this.ownsConnection = owned;
    this.topology = topologyOf(this.name, this.options, this.options.features ?? detectFeatures(connection));
    const channel = await connection.createConfirmChannel();
    this.channel = channel;
    channel.on('error', (error: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    channel.on('close', () => {
      if (this.channel === channel) this.ready = false;
      // Lost (not closed by us): the next open() reconnects, when the connection is ours.
      if (this.channel !== channel || this.closed || !this.ownsConnection) return;
      this.opened = undefined;
      connection.close().catch(() => {});
    });
    await declareTopology(this.channel, this.topology, this.options);
    if (this.options.events !== false) await this.subscribeToEvents();
    this.ready = true;
  }

  private async subscribeToEvents(): Promise<void> {
    const { queue } = await this.channel.assertQueue('', { exclusive: true, autoDelete: true });
    await this.channel.bindQueue(queue, this.topology.eventsExchange, '#');
    await this.channel.consume(
      queue,
      (message) => {
        if (!message) return;
        let event: JobEvent;
        try {
          event = JSON.parse(message.content.toString('utf8')) as JobEvent;
        } catch {
          return;
        }
        if (event.event === 'completed')
          this.finished.settle(event.jobId, { ok: true, result: event.result });
        else if (event.event === 'dead-lettered') {
          this.finished.settle(event.jobId, { ok: false, reason: event.error ?? 'dead-lettered' });
        }
        this.emit(event.event, event);
      },
      { noAck: true },
    );
  }

  /** Adds one job; resolves once the broker has it (confirmed: on disk for Pier with fsync). */
  async add(name: string, data: T, options: JobOptions = {}): Promise<AddedJob<T, R>> {
    const [job] = await this.addBulk([{ name, data, options }]);
    return job!;
  }

  /**
   * Adds many jobs: all validated first (one bad payload adds none), then published with up to
   * 1,000 confirms outstanding; resolves once every one is confirmed.
   */
  async addBulk(jobs: readonly BulkJob<T>[]): Promise<AddedJob<T, R>[]> {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
    // The first add connects; later ones reconnect in publishRetrying when the connection was lost.
    if (!this.topology) await this.open();
    const prepared = [];
    for (const job of jobs) {
      const options = { ...this.options.defaultJobOptions, ...job.options };
      checkJobOptions(options, this.topology.maxPriority);
      checkBackoff(options.backoff);
      const data = this.options.schema
        ? await validatePayload(this.options.schema, job.data, `queue ${this.name}, job '${job.name}'`)
        : job.data;
      prepared.push({ name: job.name, data, options, id: options.jobId ?? randomUUID() });
    }
    const added: AddedJob<T, R>[] = [];
    let window: Promise<void>[] = [];
    for (const job of prepared) {
      if (this.options.events !== false) this.finished.track(job.id);
      window.push(this.publishRetrying(job.name, job.data, job.id, job.options));
      if (window.length >= BULK_WINDOW) {
        await Promise.all(window);
        window = [];
      }
      added.push({
        id: job.id,
        name: job.name,
        data: job.data,
        options: job.options,
        waitUntilFinished: (timeoutMs?: number) => this.waitUntilFinished(job.id, timeoutMs),
      });
    }
    await Promise.all(window);
    return added;
  }

  /** publish(), again after a reconnect while the broker is unreachable, for up to retryAddForMs. */
  private publishRetrying(name: string, data: T, id: string, options: JobOptions): Promise<void> {
    // Connected: publish at once (one promise per job, not an async retry loop per job).
    if (this.ready) {
      const deadlineMs = Date.now() + (this.options.retryAddForMs ?? 60_000);
      let published: Promise<void>;
      try {
        published = this.publish(name, data, id, options);
      } catch (error) {
        published = Promise.reject(error);
      }
      return published.catch((error: unknown) => this.republish(name, data, id, options, deadlineMs, error));
    }
    return this.republish(name, data, id, options, Date.now() + (this.options.retryAddForMs ?? 60_000));
  }

  private async republish(
    name: string,
    data: T,
    id: string,
    options: JobOptions,
    deadlineMs: number,
    failed?: unknown,
  ): Promise<void> {
    let delayMs = 250;
    if (failed !== undefined) {
      if (this.closed || !this.ownsConnection || Date.now() + delayMs > deadlineMs) throw failed;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs *= 2;
    }
    for (; ; delayMs = Math.min(MAX_ADD_RETRY_DELAY_MS, delayMs * 2)) {
      try {
        await this.open();
        return await this.publish(name, data, id, options);
      } catch (error) {
        if (this.closed || !this.ownsConnection || Date.now() + delayMs > deadlineMs) throw error;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /** Publishes one job on the current channel (may throw synchronously: publishRetrying catches). */
  private publish(name: string, data: T, id: string, options: JobOptions): Promise<void> {
    const { topology } = this;
    const headers: Record<string, unknown> = {
      // The trace context first: the job's own headers win over a clashing key.
      ...injectedTraceContext(this.options.injectTraceContext),
      ...newJobHeaders({
        attempts: options.attempts,
        backoff: options.backoff,
        timeoutMs: options.timeoutMs,
        addedAtMs: Date.now(),
      }),
    };
    if (options.jobId !== undefined && topology.features.deduplication) headers[HEADER.dedup] = options.jobId;
    const delayMs = options.delayMs ?? 0;
    const properties: Options.Publish = {
      persistent: true,
      contentType: 'application/json',
      messageId: id,
      type: name,
      timestamp: Math.floor(Date.now() / 1000),
      headers,
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      // The TTL counts from when the job is ready: a fallback wait queue would also expire it early.
      ...(options.ttlMs !== undefined && (delayMs === 0 || topology.features.delayedExchange)
        ? { expiration: String(options.ttlMs) }
        : {}),
    };
    const body = Buffer.from(JSON.stringify(data ?? null), 'utf8');
    if (delayMs > 0 && topology.features.delayedExchange) {
      headers['x-delay'] = delayMs;
    } else if (delayMs > 0) {
      return this.waitQueue(delayMs).then((waitQueue) =>
        publishConfirmed(this.channel, '', waitQueue, body, properties),
      );
    }
    // Only a job with an id or a delay needs the deduplicating/delayed exchange; the rest go straight
    // to the queue, which is cheaper on the broker (no header inspection at the exchange).
    if (headers[HEADER.dedup] !== undefined || headers['x-delay'] !== undefined) {
      return publishConfirmed(this.channel, topology.exchange, JOB_ROUTING_KEY, body, properties);
    }
    return publishConfirmed(this.channel, '', topology.queue, body, properties);
  }

  private async waitQueue(delayMs: number): Promise<string> {
    const name = this.topology.waitQueue(delayMs);
    const declaredAt = this.waitQueues.get(name);
    if (declaredAt === undefined || Date.now() - declaredAt > 30_000) {
      await declareWaitQueue(this.channel, this.topology, delayMs);
      this.waitQueues.set(name, Date.now());
    }
    return name;
  }

  /** Resolves with a job's result (or rejects with JobFailedError); the job must be added by this Queue. */
  waitUntilFinished(jobId: string, timeoutMs?: number): Promise<R> {
    if (this.options.events === false) {
      return Promise.reject(
        new Error(`queue ${this.name} was opened with events: false: it sees no results`),
      );
    }
    return this.finished.wait<R>(jobId, timeoutMs);
  }

  /** Jobs waiting (ready) and dead-lettered, as the broker counts them. */
  async counts(): Promise<{ waiting: number; consumers: number; deadLettered: number }> {
    await this.open();
    const main = await this.channel.checkQueue(this.topology.queue);
    const dlq = await this.channel.checkQueue(this.topology.deadLetterQueue);
    return { waiting: main.messageCount, consumers: main.consumerCount, deadLettered: dlq.messageCount };
  }

  /** Dead-lettered jobs, oldest first, without removing them (up to `limit`). */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    await this.open();
    const channel = await this.connection.createChannel();
    try {
      const found: DeadLetter[] = [];
      while (found.length < limit) {
        const message = await channel.get(this.topology.deadLetterQueue, { noAck: false });
        if (!message) break;
        found.push(deadLetterOf(message));
      }
      return found;
    } finally {
      await channel.close(); // unacked gets go back to the DLQ in order
    }
  }

  /**
   * Re-drives dead-lettered jobs: each goes back to the job queue with a fresh attempt count (its
   * history kept), up to `limit`. Resolves with how many moved.
   */
  async redriveDeadLetters(limit = Number.POSITIVE_INFINITY): Promise<number> {
    await this.open();
    let moved = 0;
    while (moved < limit) {
      const message = await this.channel.get(this.topology.deadLetterQueue, { noAck: false });
      if (!message) break;
      const headers = { ...message.properties.headers };
      headers[HEADER.failed] = 0;
      headers[HEADER.lost] = 0;
      delete headers[HEADER.leased];
      delete headers[HEADER.leaseToken];
      delete headers[HEADER.reason];
      delete headers[HEADER.error];
      delete headers[HEADER.dedup];
      delete headers['x-death'];
      delete headers['x-first-death-exchange'];
      delete headers['x-first-death-queue'];
      delete headers['x-first-death-reason'];
      await publishConfirmed(this.channel, '', this.topology.queue, message.content, {
        persistent: true,
        contentType: message.properties.contentType,
        messageId: message.properties.messageId,
        type: message.properties.type,
        timestamp: message.properties.timestamp,
        priority: message.properties.priority,
        headers,
      });
      this.channel.ack(message);
      moved++;
    }
    return moved;
  }

  /** Deletes every waiting job (not those in the DLQ or being processed). */
  async purge(): Promise<number> {
    await this.open();
    return (await this.channel.purgeQueue(this.topology.queue)).messageCount;
  }

  /**
   * Deletes the queue's objects from the broker: its jobs, dead letters and exchanges (fallback
   * wait queues expire by themselves a minute after their last use). Workers on it lose their
   * consumer. Then closes the Queue.
   */
  async destroy(): Promise<void> {
    await this.open();
    const { topology } = this;
    await this.channel.deleteQueue(topology.queue);
    await this.channel.deleteQueue(topology.deadLetterQueue);
    await this.channel.deleteExchange(topology.exchange);
    if (topology.features.delayedExchange) await this.channel.deleteExchange(topology.retryExchange);
    await this.channel.deleteExchange(topology.eventsExchange);
    await this.close();
  }

  /**
   * Adds `name` with `data` at every slot of `schedule` (every N ms, or cron in UTC) while this
   * Queue is open; each slot's jobId is `repeat:<key>:<slot ms>` (key defaults to the name), so
   * producers running the same schedule add each slot once where jobIds deduplicate.
   */
  repeat(
    name: string,
    data: T,
    schedule: RepeatSchedule,
    options: JobOptions & { readonly key?: string } = {},
  ): RepeatHandle {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
    const { key = name, ...jobOptions } = options;
    const handle = startRepeat(
      key,
      schedule,
      (_slotMs, jobId) => this.add(name, data, { ...jobOptions, jobId }),
      (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    );
    this.repeats.add(handle);
    return {
      key: handle.key,
      get nextAtMs() {
        return handle.nextAtMs;
      },
      stop: () => {
        handle.stop();
        this.repeats.delete(handle);
      },
    };
  }

  override on(event: JobEvent['event'] | 'error', listener: (event: JobEvent) => void): this {
    return super.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    for (const repeat of this.repeats) repeat.stop();
    this.repeats.clear();
    this.finished.abandon(`queue ${this.name} was closed before the job finished`);
    if (!this.opened) return;
    await this.opened.catch(() => {});
    await this.channel?.close().catch(() => {});
    if (this.ownsConnection) await this.connection?.close().catch(() => {});
  }
}

export interface DeadLetter {
  readonly id: string | undefined;
  readonly name: string | undefined;
  readonly data: unknown;
  readonly reason: string;
  readonly error: string | undefined;
  readonly history: unknown[];
}

function deadLetterOf(message: import('amqplib').GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  let data: unknown;
  try {
    data = JSON.parse(message.content.toString('utf8'));
  } catch {
    data = message.content.toString('utf8');
  }
  let history: unknown[] = [];
  try {
    history = JSON.parse(String(headers[HEADER.history] ?? '[]')) as unknown[];
  } catch {}
  const firstDeath = headers['x-first-death-reason'];
  return {
    id: message.properties.messageId as string | undefined,
    name: message.properties.type as string | undefined,
    data,
    reason: String(headers[HEADER.reason] ?? firstDeath ?? 'unknown'),
    error: headers[HEADER.error] === undefined ? undefined : String(headers[HEADER.error]),
    history,
  };
}
