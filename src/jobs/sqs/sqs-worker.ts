/**
 * SqsWorker<T>: the AMQP Worker's API over SQS. Long-polls up to `concurrency` jobs at a time;
 * while a job runs its visibility timeout is pushed back every half-timeout (a heartbeat), so a
 * long job is not handed to another worker. A failed attempt is hidden for its backoff
 * (ChangeMessageVisibility) and comes back with its receive count up; the attempt that reaches the
 * job's `attempts` sends a copy with the error to the DLQ and deletes the job. The redrive policy
 * (maxReceiveCount = the queue's maxAttempts) catches jobs whose worker died on every attempt.
 */
import { EventEmitter } from 'node:events';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { type BackoffFunction, backoffDelayMs } from '../backoff.js';
import { type ActiveJob, describeError, type JobEvent } from '../job.js';
import {
  callMetricHook,
  type JobMetricEvent,
  type JobMetrics,
  type JobTracer,
  type TraceContextExtractor,
} from '../job-metrics.js';
import { MemoryProcessedIds, type ProcessedIdStore } from '../processed-ids.js';
import { type RateLimit, RateLimiter } from '../rate-limiter.js';
import { AttemptAbort, runAttempt } from '../run-attempt.js';
import { type StandardSchemaV1, ValidationError, validatePayload } from '../standard-schema.js';
import {
  createSqsTopology,
  JOB_ATTRIBUTE,
  MAX_DELAY_SECONDS,
  MAX_VISIBILITY_SECONDS,
  queueNames,
  readSqsMeta,
  type SqsJobMeta,
  type SqsTopology,
  type SqsTopologyOptions,
  wholeSeconds,
} from './sqs-topology.js';

export type SqsProcessor<T, R> = (job: ActiveJob<T>) => Promise<R> | R;

export interface SqsWorkerOptions<T> extends SqsTopologyOptions {
  readonly schema?: StandardSchemaV1<unknown, T>;
  /** Jobs run at once; default 1. Each receive asks for at most the free slots (≤ 10). */
  readonly concurrency?: number;
  readonly processedIds?: ProcessedIdStore | false;
  readonly backoffStrategies?: Readonly<Record<string, BackoffFunction>>;
  readonly limiter?: RateLimit;
  readonly closeTimeoutMs?: number;
  readonly handleSignals?: boolean;
  /** Long-poll wait per receive, seconds (0-20); default 20. */
  readonly waitTimeSeconds?: number;
  /**
   * Counters and histograms (job-metrics.ts), as on the AMQP Worker: completed, failed, retried,
   * dead-lettered, duration. `lost` is never called: SQS counts a crashed attempt as a receive,
   * indistinguishable from a failed one.
   */
  readonly metrics?: JobMetrics;
  /** An OpenTelemetry tracer (or anything shaped like one): one span per attempt. */
  readonly tracer?: JobTracer;
  /**
   * Reads a job's trace context back (see TraceContextExtractor in job-metrics.ts), e.g.
   * `(carrier) => propagation.extract(ROOT_CONTEXT, carrier)`: the attempt's span is its child.
   */
  readonly extractTraceContext?: TraceContextExtractor;
}

interface Running {
  readonly message: Message;
  readonly controller: AttemptAbort;
  released: boolean;
}

export class SqsWorker<T, R = unknown> extends EventEmitter {
  private topology!: SqsTopology;
  private readonly polling = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly running = new Set<Running>();
  private readonly processedIds: ProcessedIdStore | undefined;
  private readonly limiter: RateLimiter | undefined;
  private readonly concurrency: number;
  private slotFreed: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private readonly onSignal = () => void this.close();

  constructor(
    readonly name: string,
    private readonly processor: SqsProcessor<T, R>,
    private readonly options: SqsWorkerOptions<T>,
  ) {
    super();
    this.concurrency = options.concurrency ?? 1;
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1))
      throw new RangeError(`concurrency must be an integer ≥ 1, not ${this.concurrency}`);
    this.processedIds =
      options.processedIds === false ? undefined : (options.processedIds ?? new MemoryProcessedIds());
    this.limiter = options.limiter ? new RateLimiter(options.limiter) : undefined;
  }

  async run(): Promise<void> {
    if (this.closing) throw new Error(`worker for ${this.name} is closed`);
    this.topology = await createSqsTopology(this.name, this.options);
    this.loop = this.poll();
    if (this.options.handleSignals) {
      process.once('SIGTERM', this.onSignal);
      process.once('SIGINT', this.onSignal);
    }
  }

  private reportError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private async poll(): Promise<void> {
    const { client } = this.options;
    const signal = this.polling.signal;
    while (!signal.aborted) {
      const free = this.concurrency - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
        });
        continue;
      }
      let messages: Message[];
      try {
        const answer = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.topology.queueUrl,
            MaxNumberOfMessages: Math.min(10, free),
            WaitTimeSeconds: this.options.waitTimeSeconds ?? 20,
            // All: the job's own attribute and the trace context's (named by the app's propagator).
            MessageAttributeNames: this.options.extractTraceContext ? ['All'] : [JOB_ATTRIBUTE],
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: signal },
        );
        messages = answer.Messages ?? [];
      } catch (error) {
        if (signal.aborted) return;
        this.reportError(error);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      for (const message of messages) {
        const running: Running = { message, controller: new AttemptAbort(), released: false };
        this.running.add(running);
        void this.handle(running).finally(() => {
          this.running.delete(running);
          const freed = this.slotFreed;
          this.slotFreed = undefined;
          freed?.();
        });
      }
    }
  }

  private async handle(running: Running): Promise<void> {
    try {
      await this.process(running);
    } catch (error) {
      this.reportError(error);
    }
  }

  private async changeVisibility(message: Message, seconds: number): Promise<void> {
    await this.options.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.topology.queueUrl,
        ReceiptHandle: message.ReceiptHandle!,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, seconds)),
      }),
    );
  }

  private async delete(message: Message): Promise<void> {
    await this.options.client.send(
      new DeleteMessageCommand({ QueueUrl: this.topology.queueUrl, ReceiptHandle: message.ReceiptHandle! }),
    );
  }

  private async process(running: Running): Promise<void> {
    const { message } = running;
    const meta = readSqsMeta(
      message.MessageAttributes?.[JOB_ATTRIBUTE]?.StringValue,
      message.MessageId ?? '?',
    );
    const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    if (meta.notBeforeMs !== undefined && meta.notBeforeMs > Date.now()) {
      await this.requeueLater(message, meta);
      return;
    }
    if (this.limiter) await this.limiter.acquire(running.controller.signal).catch(() => {});
    if (running.released) return;
    // Received before: it may have completed elsewhere (a shared store reads its latest state).
    if (this.processedIds && (await this.processedIds.has(meta.id, { mayHaveRun: receives > 1 }))) {
      await this.delete(message);
      this.emit('duplicate', meta.id);
      return;
    }
    // Receives count attempts: a crashed or released attempt counts too (SQS cannot tell them apart).
    const attempt = receives;
    let data: T;
    try {
      data = await validatePayload(
        this.options.schema,
        JSON.parse(message.Body ?? ''),
        `queue ${this.name}, job ${meta.id}`,
      );
    } catch (error) {
      const reason =
        error instanceof ValidationError
          ? error
          : new ValidationError([{ message: String(error) }], `job ${meta.id}`);
      await this.deadLetter(message, meta, attempt, reason, 'invalid-payload');
      return;
    }
    const active: ActiveJob<T> = {
      id: meta.id,
      name: meta.name,
      data,
      attempt,
      attempts: meta.attempts,
      addedAtMs: meta.addedAtMs,
      history: meta.history ?? [],
      get signal() {
        return running.controller.signal;
      },
      updateProgress: async (progress) => {
        await this.publishEvent(meta, { event: 'progress', attempt, progress });
      },
      extendLease: async (ms) => {
        await this.changeVisibility(message, wholeSeconds(ms, MAX_VISIBILITY_SECONDS));
      },
    };
    this.emit('active', active);
    const span = this.options.tracer?.startSpan(
      `${this.name} process`,
      {
        kind: 5,
        attributes: {
          'messaging.system': 'aws_sqs',
          'messaging.destination.name': queueNames(this.name, this.options).queue,
          'messaging.message.id': meta.id,
          'job.name': meta.name,
          'job.attempt': attempt,
        },
      },
      this.traceContextOf(message),
    );
    const startedMs = Date.now();
    // The heartbeat: the job stays hidden while it runs.
    const visibility = this.topology.visibilityTimeoutSeconds;
    const heartbeat = setInterval(
      () => {
        this.changeVisibility(message, visibility).catch((error) => this.reportError(error));
      },
      // Every half timeout: a lost or slow heartbeat still leaves the other half.
      Math.max(250, (visibility * 1000) / 2),
    );
    let outcome: Awaited<ReturnType<typeof runAttempt<R>>>;
    try {
      outcome = await runAttempt(() => this.processor(active), running.controller, meta.timeoutMs);
    } finally {
      clearInterval(heartbeat);
    }
    const durationMs = Date.now() - startedMs;
    if (span) {
      if (!outcome.ok) {
        const failure = describeError(outcome.error);
        span.recordException(outcome.error instanceof Error ? outcome.error : failure.message);
        span.setStatus({ code: 2, message: failure.message });
      } else span.setStatus({ code: 1 });
      span.end();
    }
    const about: JobMetricEvent = { queue: this.name, jobId: meta.id, name: meta.name, attempt, durationMs };
    this.metric('duration', { ...about, outcome: outcome.ok ? 'completed' : 'failed' });
    if (running.released) {
      // The handler finished although the job was given back (close): remember it, so the
      // message, visible again, is deleted as a duplicate instead of running twice.
      if (outcome.ok) await this.processedIds?.add(meta.id);
      return;
    }
    if (outcome.ok) {
      this.metric('completed', about);
      await this.processedIds?.add(meta.id);
      await this.delete(message);
      await this.publishEvent(meta, { event: 'completed', attempt, result: outcome.result });
      return;
    }
    const failure = describeError(outcome.error);
    this.metric('failed', { ...about, error: failure.message });
    await this.publishEvent(meta, { event: 'failed', attempt, error: failure.message });
    if (attempt >= meta.attempts) {
      await this.deadLetter(message, meta, attempt, outcome.error, 'attempts-exhausted');
      return;
    }
    let delayMs: number;
    try {
      delayMs = backoffDelayMs(meta.backoff, attempt, outcome.error, this.options.backoffStrategies);
    } catch (error) {
      await this.deadLetter(message, meta, attempt, error, 'backoff-failed');
      return;
    }
    // Hidden for the backoff (whole seconds, at most 12 h), then received again with the count up.
    await this.changeVisibility(message, wholeSeconds(delayMs, MAX_VISIBILITY_SECONDS));
    this.metric('retried', { ...about, delayMs, error: failure.message });
    await this.publishEvent(meta, { event: 'retrying', attempt, error: failure.message, delayMs });
  }

  /** A delay past SQS's 900 s: sent again with the rest of it (up to 900 s more), this copy deleted. */
  private async requeueLater(message: Message, meta: SqsJobMeta): Promise<void> {
    const remainingMs = (meta.notBeforeMs ?? 0) - Date.now();
    await this.options.client.send(
      new SendMessageCommand({
        QueueUrl: this.topology.queueUrl,
        MessageBody: message.Body ?? 'null',
        MessageAttributes: { [JOB_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(meta) } },
        DelaySeconds: wholeSeconds(remainingMs, MAX_DELAY_SECONDS),
      }),
    );
    await this.delete(message);
  }

  private async deadLetter(
    message: Message,
    meta: SqsJobMeta,
    attempt: number,
    error: unknown,
    reason: string,
  ): Promise<void> {
    const failure = describeError(error);
    const dead: SqsJobMeta = {
      ...meta,
      reason,
      error: failure.message,
      history: [
        ...(meta.history ?? []),
        { attempt, error: failure.message, stack: failure.stack?.slice(0, 2_000), atMs: Date.now() },
      ].slice(-10),
    };
    await this.options.client.send(
      new SendMessageCommand({
        QueueUrl: this.topology.deadLetterQueueUrl,
        MessageBody: message.Body ?? 'null',
        MessageAttributes: { [JOB_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(dead) } },
        ...(this.topology.fifo
          ? { MessageGroupId: meta.id, MessageDeduplicationId: `${meta.id}-dead-${attempt}` }
          : {}),
      }),
    );
    await this.delete(message);
    this.metric('deadLettered', {
      queue: this.name,
      jobId: meta.id,
      name: meta.name,
      attempt,
      error: failure.message,
      reason,
    });
    await this.publishEvent(meta, { event: 'dead-lettered', attempt, error: failure.message });
  }

  /** The producer's trace context from the message's String attributes, through extractTraceContext. */
  private traceContextOf(message: Message): unknown {
    const extract = this.options.extractTraceContext;
    if (!extract) return undefined;
    const carrier: Record<string, string> = {};
    for (const [key, value] of Object.entries(message.MessageAttributes ?? {}))
      if (key !== JOB_ATTRIBUTE && value.StringValue !== undefined) carrier[key] = value.StringValue;
    try {
      return extract(carrier);
    } catch (error) {
      this.reportError(error);
      return undefined;
    }
  }

  /** Calls one metrics hook; one that throws is reported as 'error' and otherwise ignored. */
  private metric<K extends keyof JobMetrics>(
    kind: K,
    event: Parameters<NonNullable<JobMetrics[K]>>[0],
  ): void {
    callMetricHook(this.options.metrics, kind, event, (error) => this.reportError(error));
  }

  private async publishEvent(
    meta: SqsJobMeta,
    fields: Omit<JobEvent, 'jobId' | 'name' | 'atMs'>,
  ): Promise<void> {
    const event: JobEvent = { jobId: meta.id, name: meta.name, atMs: Date.now(), ...fields };
    this.emit(event.event, event);
    if (!meta.replyTo) return;
    // Events are advice: a producer that went away (its events queue deleted) does not fail the job.
    await this.options.client
      .send(new SendMessageCommand({ QueueUrl: meta.replyTo, MessageBody: JSON.stringify(event) }))
      .catch(() => {});
  }

  close(timeoutMs = this.options.closeTimeoutMs ?? 30_000): Promise<void> {
    this.closing ??= this.shutDown(timeoutMs);
    return this.closing;
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
    this.polling.abort();
    this.slotFreed?.();
    await this.loop;
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.slotFreed = resolve;
        timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
      clearTimeout(timer);
    }
    // Still running: visible again at once, for another worker (this receive counted as an attempt).
    await Promise.all(
      [...this.running].map(async (running) => {
        running.released = true;
        running.controller.abort(new Error('job released: the worker closed before it finished'));
        await this.changeVisibility(running.message, 0).catch(() => {});
      }),
    );
  }
}
