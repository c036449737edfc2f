/**
 * Worker<T>: runs a handler for each job of a queue over AMQP 0-9-1, `concurrency` at a time
 * (prefetch = concurrency), and applies the job's policy when an attempt fails: retry after its
 * backoff through the delayed retry exchange (Pier) or a TTL wait queue (RabbitMQ without the
 * plugin), then the dead-letter queue with the error and attempt history. The original delivery
 * is acknowledged only after the retry or dead-letter copy is confirmed, so a crash in between
 * leaves the job in the queue (a retry may then exist twice: the processed-id store drops the
 * second run once either completed).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { AckBatcher } from './ack-batcher.js';
import { type AmqpConnectionOption, openConnection, publishConfirmed } from './amqp-connection.js';
import { type HeldDelivery, LeaseQueue } from './amqp-lease.js';
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
import {
  appendHistory,
  attemptNumber,
  failedAttemptHeaders,
  HEADER,
  type JobMeta,
  lostAttemptHeaders,
  readJobMeta,
} from './job-headers.js';
import {
  callMetricHook,
  type JobMetricEvent,
  type JobMetrics,
  type JobSpan,
  type JobTracer,
  type TraceContextExtractor,
} from './job-metrics.js';
import { type HasOptions, MemoryProcessedIds, type ProcessedIdStore } from './processed-ids.js';
import { type RateLimit, RateLimiter } from './rate-limiter.js';
import { AttemptAbort, type AttemptOutcome, runAttempt } from './run-attempt.js';
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
  /**
   * The broker's consumer timeout (RabbitMQ's consumer_timeout, Pier's --consumer-timeout-ms);
   * default 30 min, both brokers' default. A job still running after half of it is moved to a fresh
   * delivery (amqp-lease.ts), so long jobs are not killed by it. 0 turns lease extension off.
   */
  readonly consumerTimeoutMs?: number;
  /**
   * How long a claim in the processed-id store lasts (renewed every third of it while the job
   * runs); default 60 s. A worker that crashed holding a claim delays that job's other copies by
   * up to this long.
   */
  readonly claimLeaseMs?: number;
  /** Counters and histograms (job-metrics.ts): completed, failed, retried, dead-lettered, lost, duration. */
  readonly metrics?: JobMetrics;
  /** An OpenTelemetry tracer (or anything shaped like one): one span per attempt. */
  readonly tracer?: JobTracer;
  /**
   * Reads a job's trace context back (see TraceContextExtractor in job-metrics.ts), e.g.
   * `(carrier) => propagation.extract(ROOT_CONTEXT, carrier)`: the attempt's span is its child.
   */
  readonly extractTraceContext?: TraceContextExtractor;
}

interface InFlight {
  /** The delivery from the job queue: the job's content and properties. */
  readonly message: ConsumeMessage;
  /** What to ack when the job ends: that delivery, or its latest lease copy. */
  holder: HeldDelivery;
  /** When the holder was delivered (the consumer timeout counts from then). */
  heldSinceMs: number;
  /** A lease renewal under way: the job's outcome waits for it. */
  renewing: Promise<void> | undefined;
  /** Whether its heartbeat runs (startHeartbeat), and when it last renewed its claim. */
  beating: boolean;
  claimRenewedMs: number;
  /** The job's id once known, and whether this worker holds its claim in the processed-id store. */
  id: string | undefined;
  claimed: boolean;
  /** Holds one of the `concurrency` handler slots. */
  hasSlot: boolean;
  /** Who holds the claim: this delivery (two copies of a job in one worker must not both run). */
  readonly ownerId: string;
  readonly controller: AttemptAbort;
  /** Acked, nacked, or its channel is gone: nothing more is sent for it. */
  settled: boolean;
  /** Given back by close() or a lost connection: its outcome is dropped. */
  released: boolean;
}

/**
 * Whether a store's answer is still to come. Answers are awaited only then: the in-memory store
 * answers synchronously, and an await per step was a good part of a no-op job's cost.
 */
function isPending<V>(answer: V | PromiseLike<V>): answer is PromiseLike<V> {
  return typeof answer === 'object' && answer !== null && 'then' in answer;
}

/** has()'s options, made once: a delivery's own object per job was garbage for the common case. */
const MAY_HAVE_RUN: HasOptions = { mayHaveRun: true };
const FIRST_RUN: HasOptions = { mayHaveRun: false };

/** An attempt's end as attemptEnded() hands it to attemptEndedLater(). */
interface AttemptEnded<T, R> {
  readonly channel: ConfirmChannel;
  readonly job: InFlight;
  readonly meta: JobMeta;
  readonly active: ActiveJob<T>;
  readonly outcome: AttemptOutcome<R>;
  readonly durationMs: number;
  readonly span: JobSpan | undefined;
}

/** What RunningJob asks of its worker. */
interface JobHooks {
  progress(job: ActiveJob<unknown>, progress: unknown): void;
  extendLease(job: InFlight): Promise<void>;
}

/**
 * The ActiveJob a handler gets. A class, not an object literal with a getter and two arrow
 * functions: that literal was the largest allocation of a no-op job (about 1 KB each).
 */
class RunningJob<T> implements ActiveJob<T> {
  readonly attempt: number;
  readonly attempts: number;
  readonly addedAtMs: number;
  readonly history: readonly AttemptRecord[];
  // Private (#) so that logging the job (JSON, a spread) shows only what ActiveJob has.
  readonly #hooks: JobHooks;
  readonly #job: InFlight;

  constructor(
    hooks: JobHooks,
    job: InFlight,
    readonly id: string,
    readonly name: string,
    readonly data: T,
    meta: JobMeta,
  ) {
    this.#hooks = hooks;
    this.#job = job;
    this.attempt = attemptNumber(meta);
    this.attempts = meta.attempts;
    this.addedAtMs = meta.addedAtMs;
    this.history = meta.history;
  }

  get signal(): AbortSignal {
    return this.#job.controller.signal;
  }

  // Getters handing out bound functions, made only when read: a handler may destructure them
  // (`async ({ data, updateProgress }) => …`), as it could when they were own arrow functions.
  get updateProgress(): (progress: unknown) => Promise<void> {
    return async (progress) => this.#hooks.progress(this, progress);
  }

  get extendLease(): (ms: number) => Promise<void> {
    return () => this.#hooks.extendLease(this.#job);
  }
}

/** Reconnects after a lost connection wait 1 s, 2 s, ... up to this. */
const MAX_RECONNECT_DELAY_MS = 30_000;
/** RabbitMQ's and Pier's default consumer timeout. */
const DEFAULT_CONSUMER_TIMEOUT_MS = 1_800_000;
/** A claim in the processed-id store lasts this long; running jobs renew it every third of it. */
export const CLAIM_LEASE_MS = 60_000;
/** A copy of a job another worker is running comes back after this long (to see how it ended). */
const CLAIMED_ELSEWHERE_RETRY_MS = 1_000;

/** Why an attempt ended without an outcome: its worker went away while it ran. */
export const LOST_ATTEMPT_ERROR =
  'the worker running this attempt stopped before it finished (it crashed, lost its connection to the broker, or exceeded the consumer timeout)';

export class Worker<T, R = unknown> extends EventEmitter {
  private connection: ChannelModel | undefined;
  private ownsConnection = false;
  private channel: ConfirmChannel | undefined;
  /** Acks of the main channel's deliveries, sent in groups (ack-batcher.ts). */
  private acks: AckBatcher | undefined;
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
  /**
   * The pending reconnect. Not unref'd: a worker process whose broker went away must stay alive to
   * reconnect (with nothing else on its event loop it would exit silently); close() clears it.
   */
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly onSignal = () => void this.close();
  /** Names this worker's claims and its lease queue. */
  readonly workerId = randomUUID();
  private deliveries = 0;
  private runningHandlers = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private lease: LeaseQueue | undefined;
  private readonly closedChannels = new WeakSet<Channel>();
  /** Releases publishing their copy: close() waits for them. */
  private readonly releasing = new Set<Promise<unknown>>();
  private readonly consumerTimeoutMs: number;
  private readonly claimLeaseMs: number;
  /** Jobs whose heartbeat runs, and the one timer that beats them (startHeartbeat). */
  private readonly beating = new Set<InFlight>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatSweepMs = Number.POSITIVE_INFINITY;
  /** What a running job's own methods do, made once per worker (RunningJob). */
  private readonly jobHooks: JobHooks = {
    progress: (job, progress) =>
      this.publishEvent({
        event: 'progress',
        jobId: job.id,
        name: job.name,
        attempt: job.attempt,
        atMs: Date.now(),
        progress,
      }),
    extendLease: (job) => this.renewLease(job),
  };

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
    this.consumerTimeoutMs = options.consumerTimeoutMs ?? DEFAULT_CONSUMER_TIMEOUT_MS;
    this.claimLeaseMs = options.claimLeaseMs ?? CLAIM_LEASE_MS;
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
    const acks = new AckBatcher(channel);
    this.acks = acks;
    channel.on('error', (error: Error) => this.reportError(error));
    channel.on('close', () => {
      acks.close();
      this.closedChannels.add(channel);
      this.channelLost(channel);
    });
    this.lease = new LeaseQueue(connection, this.topology.queue, this.workerId, (leaseChannel) => {
      this.closedChannels.add(leaseChannel);
      // Its copies go back to the job queue (as lost attempts): stop the jobs they held.
      for (const job of this.inFlight)
        if (job.holder.channel === leaseChannel) this.release(job, 'the lease channel closed');
    });
    await declareTopology(channel, this.topology, this.options);
    await channel.prefetch(this.concurrency);
    // Deliveries that arrive before start() returned wait for the next turn of the event loop: a
    // job runs with no await when its store answers synchronously, and its events must not fire
    // before the code that awaited run() has added its listeners.
    let early: ConsumeMessage[] | undefined = [];
    const { consumerTag } = await channel.consume(
      this.topology.queue,
      (message) => {
        if (!message) return;
        acks.delivered(message);
        if (early) early.push(message);
        else void this.handle(channel, message);
      },
      { noAck: false },
    );
    this.consumerTag = consumerTag;
    this.reconnectDelayMs = 1_000;
    setImmediate(() => {
      const waiting = early ?? [];
      early = undefined;
      // A channel closed meanwhile gave these back to the queue.
      if (this.closedChannels.has(channel)) return;
      for (const message of waiting) void this.handle(channel, message);
    });
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
    this.scheduleReconnect();
  }

  /** Reconnects after 1 s, 2 s, ... 30 s, until it works or the worker closes. */
  private scheduleReconnect(): void {
    if (this.closing || !this.ownsConnection) return;
    const delayMs = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(MAX_RECONNECT_DELAY_MS, delayMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closing) return;
      this.connection?.close().catch(() => {});
      this.start().catch((error) => {
        this.reportError(error);
        const half = this.channel;
        this.channel = undefined;
        if (half) this.closedChannels.add(half);
        this.scheduleReconnect();
      });
    }, delayMs);
  }

  /**
   * A delivery arrived: runs it as a job, then frees what it held. Not an async function, and
   * process() keeps only the common path: a suspended async call holds its whole register file, so
   * rare branches in the same function made every running job heavier (a no-op job's cost was a
   * third garbage collection).
   */
  private handle(channel: ConfirmChannel, message: ConsumeMessage): void {
    const job: InFlight = {
      message,
      holder: { channel, message },
      heldSinceMs: Date.now(),
      renewing: undefined,
      beating: false,
      claimRenewedMs: 0,
      id: undefined,
      claimed: false,
      hasSlot: false,
      ownerId: `${this.workerId}/${++this.deliveries}`,
      controller: new AttemptAbort(),
      settled: false,
      released: false,
    };
    this.inFlight.add(job);
    this.process(channel, job).then(
      () => this.finish(job),
      (error: unknown) => {
        this.reportError(error);
        if (!job.settled) this.release(job, 'the worker could not settle the job');
        this.finish(job);
      },
    );
  }

  /** A job ended (or could not run): its heartbeat, slot and claim are given up. */
  private finish(job: InFlight): void {
    this.stopHeartbeat(job);
    if (job.hasSlot) this.freeSlot();
    let released: Promise<void> | undefined;
    if (job.claimed && job.id !== undefined) {
      try {
        released = this.processedIds?.release?.(job.id, job.ownerId) ?? undefined;
      } catch (error) {
        this.reportError(error);
      }
    }
    if (isPending(released)) {
      Promise.resolve(released)
        .catch((error: unknown) => this.reportError(error))
        .finally(() => this.left(job));
    } else this.left(job);
  }

  private left(job: InFlight): void {
    this.inFlight.delete(job);
    if (this.inFlight.size === 0) this.drained?.();
  }

  private async process(channel: ConfirmChannel, job: InFlight): Promise<void> {
    const { message } = job;
    const id = String(message.properties.messageId ?? `delivery-${message.fields.deliveryTag}`);
    if (this.limiter) await this.limiter.acquire(job.controller.signal).catch(() => {});
    job.id = id;
    if (job.released) return;
    const meta = readJobMeta(message.properties.headers, Date.now());
    const admitted = this.admit(channel, job, meta, id);
    if (!(isPending(admitted) ? await admitted : admitted)) return;
    let data: T;
    try {
      const payload: unknown = JSON.parse(message.content.toString('utf8'));
      data = this.options.schema
        ? await validatePayload(this.options.schema, payload, `queue ${this.name}, job ${id}`)
        : (payload as T);
    } catch (error) {
      await this.invalidPayload(channel, job, meta, id, error);
      return;
    }
    const active = this.activeJob(job, id, data, meta);
    // A leased job's slot in the prefetch is freed by its ack: the slot count keeps `concurrency`.
    // Its heartbeat runs while it waits for a slot too (see startHeartbeat).
    this.startHeartbeat(job);
    const slot = this.takeSlot();
    if (slot) await slot;
    job.hasSlot = true;
    if (job.released) return;
    // A copy that waited for a slot while its twin ran here to completion: a duplicate now.
    const ranHere = job.claimed ? false : this.processedIds?.has(id);
    if (isPending(ranHere) ? await ranHere : ranHere) {
      this.stopHeartbeat(job);
      this.duplicate(channel, job, id);
      return;
    }
    this.emit('active', active);
    const span = this.options.tracer ? this.startSpan(message, active) : undefined;
    const startedMs = Date.now();
    const outcome = await runAttempt(() => this.processor(active), job.controller, meta.timeoutMs);
    const ended = this.attemptEnded(channel, job, meta, active, outcome, Date.now() - startedMs, span);
    if (ended) await ended;
  }

  /** Acks a job that already completed (here or elsewhere) without running it. */
  private duplicate(channel: ConfirmChannel, job: InFlight, id: string): void {
    this.ack(channel, job);
    this.emit('duplicate', id);
  }

  /**
   * Whether the job should run here: not when it completed before (a duplicate), when its last
   * attempt was lost (it is republished with that attempt counted), or when another worker holds
   * its claim. Answers synchronously when the processed-id store does.
   */
  private admit(
    channel: ConfirmChannel,
    job: InFlight,
    meta: JobMeta,
    id: string,
  ): boolean | Promise<boolean> {
    const { message } = job;
    // Delivered before and never settled, or a dead worker's lease copy: that attempt was lost.
    const lost = message.fields.redelivered || message.properties.headers?.[HEADER.leased] !== undefined;
    // A copy that may have run elsewhere: a shared store reads its latest state before answering.
    const mayHaveRun =
      lost ||
      meta.failed + meta.lost > 0 ||
      Number(message.properties.headers?.['x-delivery-count'] ?? 0) > 0;
    const done = this.processedIds?.has(id, mayHaveRun ? MAY_HAVE_RUN : FIRST_RUN);
    if (isPending(done)) return this.admitLater(channel, job, meta, id, lost, done);
    if (done) {
      this.duplicate(channel, job, id);
      return false;
    }
    if (lost) return this.attemptLost(channel, job, meta, id, this.jobName(message)).then(() => false);
    if (!this.processedIds?.claim) return true;
    const claimed = this.processedIds.claim(id, job.ownerId, this.claimLeaseMs);
    if (isPending(claimed)) return this.admitLater(channel, job, meta, id, lost, false, claimed);
    return this.claimAnswered(channel, job, id, claimed);
  }

  /** admit() once the store's answers come (a store answering with promises). */
  private async admitLater(
    channel: ConfirmChannel,
    job: InFlight,
    meta: JobMeta,
    id: string,
    lost: boolean,
    done: boolean | PromiseLike<boolean>,
    claim?: PromiseLike<boolean>,
  ): Promise<boolean> {
    if (await done) {
      this.duplicate(channel, job, id);
      return false;
    }
    if (lost) {
      await this.attemptLost(channel, job, meta, id, this.jobName(job.message));
      return false;
    }
    if (!this.processedIds?.claim) return true;
    const claimed = await (claim ?? this.processedIds.claim(id, job.ownerId, this.claimLeaseMs));
    return this.claimAnswered(channel, job, id, claimed);
  }

  /** After the claim: runs when it was taken and the job is still not done meanwhile. */
  private claimAnswered(
    channel: ConfirmChannel,
    job: InFlight,
    id: string,
    claimed: boolean,
  ): boolean | Promise<boolean> {
    if (!claimed) return this.claimedElsewhere(channel, job, id).then(() => false);
    job.claimed = true;
    const doneMeanwhile = this.processedIds!.has(id);
    if (isPending(doneMeanwhile)) {
      return Promise.resolve(doneMeanwhile).then((done) => {
        if (done) this.duplicate(channel, job, id);
        return !done;
      });
    }
    if (doneMeanwhile) this.duplicate(channel, job, id);
    return !doneMeanwhile;
  }

  /** Another worker holds the job's claim: a duplicate if it completed, else look again later. */
  private async claimedElsewhere(channel: ConfirmChannel, job: InFlight, id: string): Promise<void> {
    if (await this.processedIds!.has(id)) {
      this.duplicate(channel, job, id);
      return;
    }
    // Another worker runs a copy of this job now: look again later, its counters unchanged.
    await this.retry(channel, job, this.plainHeaders(job.message), CLAIMED_ELSEWHERE_RETRY_MS);
    this.emit('claimed-elsewhere', id);
  }

  private jobName(message: ConsumeMessage): string {
    return String(message.properties.type ?? 'job');
  }

  /** A payload that is not JSON or fails the schema: to the DLQ, never retried. */
  private async invalidPayload(
    channel: ConfirmChannel,
    job: InFlight,
    meta: JobMeta,
    id: string,
    error: unknown,
  ): Promise<void> {
    const reason =
      error instanceof ValidationError
        ? error
        : new ValidationError([{ message: String(error) }], `job ${id}`);
    const name = this.jobName(job.message);
    const attempt = attemptNumber(meta);
    await this.deadLetter(channel, job, meta, { id, name, attempt }, reason, 'invalid-payload');
  }

  /** What the handler sees of its job. */
  private activeJob(job: InFlight, id: string, data: T, meta: JobMeta): ActiveJob<T> {
    return new RunningJob(this.jobHooks, job, id, this.jobName(job.message), data, meta);
  }

  private startSpan(message: ConsumeMessage, active: ActiveJob<T>): JobSpan | undefined {
    return this.options.tracer?.startSpan(
      `${this.name} process`,
      {
        kind: 5,
        attributes: {
          'messaging.system': 'rabbitmq',
          'messaging.destination.name': this.topology.queue,
          'messaging.message.id': active.id,
          'job.name': active.name,
          'job.attempt': active.attempt,
        },
      },
      this.traceContextOf(message),
    );
  }

  /** The attempt ended: ack a completed job, retry or dead-letter a failed one. */
  private attemptEnded(
    channel: ConfirmChannel,
    job: InFlight,
    meta: JobMeta,
    active: ActiveJob<T>,
    outcome: AttemptOutcome<R>,
    durationMs: number,
    span: JobSpan | undefined,
  ): Promise<void> | undefined {
    this.stopHeartbeat(job);
    if (job.renewing || !outcome.ok || job.released)
      return this.attemptEndedLater({ channel, job, meta, active, outcome, durationMs, span });
    const { id, name, attempt } = active;
    if (span) {
      span.setStatus({ code: 1 });
      span.end();
    }
    if (this.options.metrics) {
      const about: JobMetricEvent = { queue: this.name, jobId: id, name, attempt, durationMs };
      this.metric('duration', { ...about, outcome: 'completed' });
      this.metric('completed', about);
    }
    const recorded = this.processedIds?.add(id);
    if (isPending(recorded)) return this.completedLater(channel, job, active, outcome.result, recorded);
    this.completed(channel, job, active, outcome.result);
    return undefined;
  }

  private async completedLater(
    channel: ConfirmChannel,
    job: InFlight,
    active: ActiveJob<T>,
    result: R,
    recorded: PromiseLike<void>,
  ): Promise<void> {
    await recorded;
    this.completed(channel, job, active, result);
  }

  /** The completion is recorded: the completed event, then the ack. */
  private completed(channel: ConfirmChannel, job: InFlight, active: ActiveJob<T>, result: R): void {
    job.claimed = false;
    if (this.wantsEvent('completed')) {
      const { id: jobId, name, attempt } = active;
      this.publishEvent({ event: 'completed', jobId, name, attempt, atMs: Date.now(), result });
    }
    this.ack(channel, job);
  }

  /** attemptEnded's other cases: a lease renewal under way, a failure, a job given back meanwhile. */
  private async attemptEndedLater(ended: AttemptEnded<T, R>): Promise<void> {
    const { channel, job, meta, active, outcome, durationMs, span } = ended;
    if (job.renewing) await job.renewing;
    const { id, name, attempt } = active;
    if (span) {
      if (!outcome.ok) {
        const failure = describeError(outcome.error);
        span.recordException(outcome.error instanceof Error ? outcome.error : failure.message);
        span.setStatus({ code: 2, message: failure.message });
      } else span.setStatus({ code: 1 });
      span.end();
    }
    const about: JobMetricEvent = { queue: this.name, jobId: id, name, attempt, durationMs };
    if (this.options.metrics)
      this.metric('duration', { ...about, outcome: outcome.ok ? 'completed' : 'failed' });
    if (job.released) {
      // The handler finished although its delivery was given back (lost connection, close):
      // remember it, so the copy back in the queue is acked as a duplicate, not run again.
      if (outcome.ok) await this.processedIds?.add(id);
      return;
    }
    if (outcome.ok) {
      this.metric('completed', about);
      const recorded = this.processedIds?.add(id);
      if (isPending(recorded)) await recorded;
      this.completed(channel, job, active, outcome.result);
      return;
    }
    const failure = describeError(outcome.error);
    this.metric('failed', { ...about, error: failure.message });
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
    this.metric('retried', { ...about, delayMs, error: failure.message });
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

  /**
   * A delivery whose earlier attempt never ended (its worker crashed, lost its connection or hit the
   * consumer timeout): that attempt counts. The job is republished with `x-job-lost` one higher
   * (after its backoff) before it runs again, so a job that always kills its worker ends in the
   * DLQ after `attempts` instead of being redelivered forever.
   */
  private async attemptLost(
    channel: ConfirmChannel,
    job: InFlight,
    meta: JobMeta,
    id: string,
    name: string,
  ): Promise<void> {
    const attempt = attemptNumber(meta);
    const about: JobMetricEvent = { queue: this.name, jobId: id, name, attempt, error: LOST_ATTEMPT_ERROR };
    this.metric('lost', about);
    this.publishEvent({
      event: 'failed',
      jobId: id,
      name,
      attempt,
      atMs: Date.now(),
      error: LOST_ATTEMPT_ERROR,
    });
    const lost = new Error(LOST_ATTEMPT_ERROR);
    if (attempt >= meta.attempts) {
      await this.deadLetter(channel, job, meta, { id, name, attempt }, lost, 'attempts-exhausted', {
        [HEADER.failed]: meta.failed,
        [HEADER.lost]: meta.lost + 1,
      });
      return;
    }
    let delayMs: number;
    try {
      delayMs = backoffDelayMs(meta.backoff, attempt, lost, this.options.backoffStrategies);
    } catch {
      delayMs = 0;
    }
    const record: AttemptRecord = { attempt, error: LOST_ATTEMPT_ERROR, atMs: Date.now() };
    await this.retry(channel, job, lostAttemptHeaders(meta, record), delayMs);
    this.metric('retried', { ...about, delayMs });
    this.publishEvent({
      event: 'retrying',
      jobId: id,
      name,
      attempt,
      atMs: Date.now(),
      error: LOST_ATTEMPT_ERROR,
      delayMs,
    });
  }

  /** The producer's trace context from the job's string headers, through extractTraceContext. */
  private traceContextOf(message: ConsumeMessage): unknown {
    const extract = this.options.extractTraceContext;
    if (!extract) return undefined;
    const carrier: Record<string, string> = {};
    for (const [key, value] of Object.entries(message.properties.headers ?? {})) {
      if (typeof value === 'string') carrier[key] = value;
      else if (Buffer.isBuffer(value)) carrier[key] = value.toString('utf8');
    }
    try {
      return extract(carrier);
    } catch (error) {
      this.reportError(error);
      return undefined;
    }
  }

  /** The job's headers without the marks of one delivery (lease, delay, dead-lettering). */
  private plainHeaders(message: ConsumeMessage): Record<string, unknown> {
    const headers: Record<string, unknown> = { ...message.properties.headers };
    delete headers[HEADER.leased];
    delete headers[HEADER.leaseToken];
    delete headers['x-delay'];
    delete headers['x-death'];
    delete headers['x-first-death-exchange'];
    delete headers['x-first-death-queue'];
    delete headers['x-first-death-reason'];
    return headers;
  }

  /** Takes a handler slot now (undefined) or once one is free (the promise). */
  private takeSlot(): Promise<void> | undefined {
    if (this.runningHandlers < this.concurrency) {
      this.runningHandlers++;
      return undefined;
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /** Hands the slot to the next waiting job, if any. */
  private freeSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.runningHandlers--;
  }

  /**
   * Beats for a job while it waits for a slot and runs: renews its claim every third of the claim
   * lease, and its delivery (renewLease) once it was held half the consumer timeout. One timer for
   * the worker checks every beating job every sixteenth of the consumer timeout (twelfth of the
   * claim lease) and does what falls due before its next check, so a beat is up to that much early,
   * never late; a timer per job was a measurable part of a no-op job's cost.
   */
  private startHeartbeat(job: InFlight): void {
    const sweepMs = Math.max(
      5,
      Math.min(
        this.consumerTimeoutMs > 0 ? this.consumerTimeoutMs / 16 : Number.POSITIVE_INFINITY,
        job.claimed ? this.claimLeaseMs / 12 : Number.POSITIVE_INFINITY,
      ),
    );
    if (!Number.isFinite(sweepMs)) return;
    job.beating = true;
    job.claimRenewedMs = Date.now();
    this.beating.add(job);
    if (this.heartbeatTimer === undefined || sweepMs < this.heartbeatSweepMs) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatSweepMs = sweepMs;
      this.heartbeatTimer = setInterval(() => this.beatDue(), sweepMs);
      this.heartbeatTimer.unref();
    }
  }

  private stopHeartbeat(job: InFlight): void {
    if (!job.beating) return;
    job.beating = false;
    this.beating.delete(job);
    if (this.beating.size === 0) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      this.heartbeatSweepMs = Number.POSITIVE_INFINITY;
    }
  }

  private beatDue(): void {
    // A beat due before the next sweep is done now: never later than a timer per job would.
    const dueByMs = Date.now() + this.heartbeatSweepMs;
    for (const job of this.beating) {
      if (job.claimed && job.id !== undefined && dueByMs - job.claimRenewedMs >= this.claimLeaseMs / 3) {
        job.claimRenewedMs = Date.now();
        const id = job.id;
        Promise.resolve()
          .then(() => this.processedIds?.claim?.(id, job.ownerId, this.claimLeaseMs))
          .catch((error) => this.reportError(error));
      }
      if (this.consumerTimeoutMs > 0 && dueByMs - job.heldSinceMs >= this.consumerTimeoutMs / 2) {
        // A job still waiting for a slot goes back to the queue (not counted) rather than being
        // leased, which would free its prefetch slot and pull in yet another job to wait.
        if (job.hasSlot) void this.renewLease(job);
        else this.release(job, 'it waited for a free slot past half the consumer timeout');
      }
    }
  }

  /**
   * Moves the job to a fresh delivery (a copy through this worker's lease queue) and acks the one
   * it held, so the broker's consumer timeout starts again. One renewal at a time per job.
   */
  private renewLease(job: InFlight): Promise<void> {
    if (!this.lease || job.settled || job.released) return Promise.resolve();
    job.renewing ??= (async () => {
      try {
        const fresh = await this.lease!.take(
          job.message.content,
          this.copyProperties(job.message, this.plainHeaders(job.message)),
        );
        const old = job.holder;
        job.holder = fresh;
        job.heldSinceMs = Date.now();
        if (job.settled || job.released) {
          // Settled meanwhile: the copy is not needed (the original went back or was acked).
          this.settleHolder(job, 'ack');
          return;
        }
        this.settleDelivery(old, 'ack');
      } catch (error) {
        this.reportError(error);
      } finally {
        job.renewing = undefined;
      }
    })();
    return job.renewing;
  }

  private settleHolder(job: InFlight, how: 'ack' | 'requeue' | 'dead-letter'): void {
    this.settleDelivery(job.holder, how);
  }

  /** Acks (in the main channel's next group) or nacks one delivery, unless its channel is gone. */
  private settleDelivery({ channel, message }: HeldDelivery, how: 'ack' | 'requeue' | 'dead-letter'): void {
    if (this.closedChannels.has(channel)) return;
    const acks = this.acks?.channel === channel ? this.acks : undefined;
    if (acks && how === 'ack') {
      acks.ack(message);
      return;
    }
    acks?.settledElsewhere(message);
    try {
      if (how === 'ack') channel.ack(message);
      else channel.nack(message, false, how === 'requeue');
    } catch {}
  }

  private metric<K extends keyof JobMetrics>(
    kind: K,
    event: Parameters<NonNullable<JobMetrics[K]>>[0],
  ): void {
    callMetricHook(this.options.metrics, kind, event, (error) => this.reportError(error));
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
    counters: Record<string, number> = { [HEADER.failed]: about.attempt },
  ): Promise<void> {
    const failure = describeError(error);
    const history = appendHistory(meta.history, {
      attempt: about.attempt,
      error: failure.message,
      stack: failure.stack,
      atMs: Date.now(),
    });
    const headers: Record<string, unknown> = {
      ...this.plainHeaders(job.message),
      ...counters,
      [HEADER.history]: JSON.stringify(history),
      [HEADER.reason]: reason,
      [HEADER.error]: failure.message,
    };
    delete headers[HEADER.dedup];
    await publishConfirmed(
      channel,
      '',
      this.topology.deadLetterQueue,
      job.message.content,
      this.copyProperties(job.message, headers),
    );
    this.ack(channel, job);
    this.metric('deadLettered', {
      queue: this.name,
      jobId: about.id,
      name: about.name,
      attempt: about.attempt,
      reason,
      error: failure.message,
    });
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
    // The job's other headers (its trace context: traceparent, ...) travel with every copy; the
    // library's own (x-) are the caller's to set. In place: retry() adds x-delay to this object.
    for (const [key, value] of Object.entries(p.headers ?? {}))
      if (!key.startsWith('x-') && !(key in headers)) headers[key] = value;
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

  /** Whether an event of this kind goes anywhere (the broker, or a listener here). */
  private wantsEvent(name: JobEventName): boolean {
    return this.options.events !== false || this.listenerCount(name) > 0;
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

  /** Acks the delivery the job holds (its own or its lease copy); `_channel` is where it arrived. */
  private ack(_channel: ConfirmChannel, job: InFlight): void {
    if (job.settled || job.released) return;
    job.settled = true;
    this.settleHolder(job, 'ack');
  }

  /**
   * Gives a job back to the queue (it keeps its attempt count) and aborts its handler's signal. The
   * job goes back as a confirmed copy, not a requeue: a requeued delivery comes back flagged
   * `redelivered`, which the next worker counts as a lost attempt.
   */
  private release(job: InFlight, why: string): void {
    if (job.released) return;
    job.released = true;
    this.stopHeartbeat(job);
    job.controller.abort(new Error(`job released: ${why}`));
    if (job.settled) return;
    job.settled = true;
    const main = this.channel;
    const onMain = job.holder.channel === main;
    if (!main || this.closedChannels.has(main) || this.closedChannels.has(job.holder.channel)) {
      // A lease copy dead-letters back to the job queue; a closed channel already gave it back.
      this.settleHolder(job, onMain ? 'requeue' : 'dead-letter');
      return;
    }
    const released = publishConfirmed(
      main,
      '',
      this.topology.queue,
      job.message.content,
      this.copyProperties(job.message, this.plainHeaders(job.message)),
    ).then(
      () => this.settleHolder(job, 'ack'),
      () => this.settleHolder(job, onMain ? 'requeue' : 'dead-letter'),
    );
    this.releasing.add(released);
    void released.finally(() => this.releasing.delete(released));
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
    clearTimeout(this.reconnectTimer);
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
    await Promise.allSettled([...this.releasing]);
    this.acks?.flush();
    this.channel = undefined;
    await this.lease?.close();
    await channel?.close().catch(() => {});
    if (this.ownsConnection) await this.connection?.close().catch(() => {});
  }
}
