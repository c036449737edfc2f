/**
 * SqsQueue<T>: the producer side over SQS (Pier's SQS listener or AWS) with the AMQP Queue's API:
 * add, addBulk (SendMessageBatch, 10 a call), job events and results through a per-Queue events
 * queue, dead letters and re-drive.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { checkBackoff } from '../backoff.js';
import { FinishedJobs } from '../finished-jobs.js';
import { type AddedJob, checkJobOptions, type JobEvent, type JobOptions } from '../job.js';
import { injectedTraceContext, type TraceContextInjector } from '../job-metrics.js';
import { type RepeatHandle, type RepeatSchedule, startRepeat } from '../repeat.js';
import { type StandardSchemaV1, validatePayload } from '../standard-schema.js';
import {
  createSqsTopology,
  JOB_ATTRIBUTE,
  MAX_DELAY_SECONDS,
  queueNames,
  readSqsMeta,
  type SqsJobMeta,
  type SqsTopology,
  type SqsTopologyOptions,
  wholeSeconds,
} from './sqs-topology.js';

export interface SqsQueueOptions<T> extends SqsTopologyOptions {
  readonly schema?: StandardSchemaV1<unknown, T>;
  readonly defaultJobOptions?: JobOptions;
  /** Create an events queue for results and job events of the jobs this Queue adds; default true. */
  readonly events?: boolean;
  /**
   * Writes the adding code's trace context into each job (see TraceContextInjector in
   * job-metrics.ts), e.g. `(carrier) => propagation.inject(context.active(), carrier)`.
   */
  readonly injectTraceContext?: TraceContextInjector;
}

export interface SqsBulkJob<T> {
  readonly name: string;
  readonly data: T;
  readonly options?: JobOptions;
}

/** SendMessageBatch calls in flight at once during addBulk. */
const BATCHES_IN_FLIGHT = 8;

export class SqsQueue<T, R = unknown> extends EventEmitter {
  private opened: Promise<void> | undefined;
  private topology!: SqsTopology;
  private eventsQueueUrl: string | undefined;
  private readonly finished = new FinishedJobs();
  private readonly polling = new AbortController();
  private pollLoop: Promise<void> | undefined;
  private closed = false;
  private readonly repeats = new Set<RepeatHandle>();

  constructor(
    readonly name: string,
    private readonly options: SqsQueueOptions<T>,
  ) {
    super();
    queueNames(name, options);
    checkBackoff(options.defaultJobOptions?.backoff);
  }

  open(): Promise<void> {
    this.opened ??= this.connect();
    return this.opened;
  }

  private async connect(): Promise<void> {
    this.topology = await createSqsTopology(this.name, this.options);
    if (this.options.events !== false) {
      const { queue } = queueNames(this.name, { ...this.options, fifo: false });
      const created = await this.options.client.send(
        new CreateQueueCommand({
          QueueName: `${queue}-events-${randomUUID().slice(0, 8)}`,
          Attributes: { MessageRetentionPeriod: '3600' },
        }),
      );
      this.eventsQueueUrl = created.QueueUrl!;
      this.pollLoop = this.pollEvents(this.eventsQueueUrl);
    }
  }

  private async pollEvents(url: string): Promise<void> {
    const { client } = this.options;
    while (!this.polling.signal.aborted) {
      let messages: Message[] = [];
      try {
        const answer = await client.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }),
          { abortSignal: this.polling.signal },
        );
        messages = answer.Messages ?? [];
      } catch (error) {
        if (this.polling.signal.aborted) return;
        if (this.listenerCount('error') > 0) this.emit('error', error);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      if (messages.length === 0) continue;
      for (const message of messages) {
        try {
          this.onEvent(JSON.parse(message.Body ?? '') as JobEvent);
        } catch {}
      }
      await client
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        )
        .catch(() => {});
    }
  }

  private onEvent(event: JobEvent): void {
    if (event.event === 'completed') this.finished.settle(event.jobId, { ok: true, result: event.result });
    else if (event.event === 'dead-lettered') {
      this.finished.settle(event.jobId, { ok: false, reason: event.error ?? 'dead-lettered' });
    }
    this.emit(event.event, event);
  }

  async add(name: string, data: T, options: JobOptions = {}): Promise<AddedJob<T, R>> {
    const [job] = await this.addBulk([{ name, data, options }]);
    return job!;
  }

  /** Validates every job, then sends them with SendMessageBatch (10 a call, 8 calls at once). */
  async addBulk(jobs: readonly SqsBulkJob<T>[]): Promise<AddedJob<T, R>[]> {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
    await this.open();
    const { topology } = this;
    const entries: SendMessageBatchRequestEntry[] = [];
    const added: AddedJob<T, R>[] = [];
    for (const job of jobs) {
      const options = { ...this.options.defaultJobOptions, ...job.options };
      checkJobOptions(options, undefined);
      checkBackoff(options.backoff);
      if ((options.attempts ?? 1) > topology.maxAttempts) {
        throw new RangeError(
          `attempts ${options.attempts} exceeds the queue's maxAttempts ${topology.maxAttempts} (its redrive policy's maxReceiveCount)`,
        );
      }
      if (topology.fifo && options.delayMs) {
        throw new RangeError(
          'SQS FIFO queues take no per-message delay: use a standard queue for delayed jobs',
        );
      }
      const data = await validatePayload(
        this.options.schema,
        job.data,
        `queue ${this.name}, job '${job.name}'`,
      );
      const id = options.jobId ?? randomUUID();
      const nowMs = Date.now();
      const delayMs = options.delayMs ?? 0;
      const meta: SqsJobMeta = {
        id,
        name: job.name,
        attempts: options.attempts ?? 1,
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        addedAtMs: nowMs,
        ...(delayMs > MAX_DELAY_SECONDS * 1000 ? { notBeforeMs: nowMs + delayMs } : {}),
        ...(this.eventsQueueUrl ? { replyTo: this.eventsQueueUrl } : {}),
      };
      entries.push({
        Id: String(entries.length),
        MessageBody: JSON.stringify(data ?? null),
        MessageAttributes: {
          // SQS allows 10 attributes a message: the trace context gets up to 9 (traceparent, ...).
          ...Object.fromEntries(
            Object.entries(injectedTraceContext(this.options.injectTraceContext) ?? {})
              .slice(0, 9)
              .map(([key, value]) => [key, { DataType: 'String', StringValue: value }]),
          ),
          [JOB_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(meta) },
        },
        ...(delayMs > 0 ? { DelaySeconds: wholeSeconds(delayMs, MAX_DELAY_SECONDS) } : {}),
        ...(topology.fifo ? { MessageGroupId: id, MessageDeduplicationId: id } : {}),
      });
      if (this.eventsQueueUrl) this.finished.track(id);
      added.push({
        id,
        name: job.name,
        data,
        options,
        waitUntilFinished: (timeoutMs?: number) => this.waitUntilFinished(id, timeoutMs),
      });
    }
    const batches: SendMessageBatchRequestEntry[][] = [];
    for (let i = 0; i < entries.length; i += 10) batches.push(entries.slice(i, i + 10));
    let next = 0;
    const sender = async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const answer = await this.options.client.send(
          new SendMessageBatchCommand({ QueueUrl: topology.queueUrl, Entries: batch }),
        );
        if (answer.Failed && answer.Failed.length > 0) {
          const first = answer.Failed[0]!;
          throw new Error(
            `SQS refused ${answer.Failed.length} of ${batch.length} jobs (first: ${first.Code}: ${first.Message}); the others were sent`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCHES_IN_FLIGHT, batches.length) }, sender));
    return added;
  }

  waitUntilFinished(jobId: string, timeoutMs?: number): Promise<R> {
    if (this.options.events === false) {
      return Promise.reject(
        new Error(`queue ${this.name} was opened with events: false: it sees no results`),
      );
    }
    return this.finished.wait<R>(jobId, timeoutMs);
  }

  /** SQS's approximate counts. */
  async counts(): Promise<{ waiting: number; inFlight: number; delayed: number; deadLettered: number }> {
    await this.open();
    const names = [
      'ApproximateNumberOfMessages',
      'ApproximateNumberOfMessagesNotVisible',
      'ApproximateNumberOfMessagesDelayed',
    ] as const;
    const main = await this.options.client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.topology.queueUrl, AttributeNames: [...names] }),
    );
    const dlq = await this.options.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.topology.deadLetterQueueUrl,
        AttributeNames: [names[0]],
      }),
    );
    return {
      waiting: Number(main.Attributes?.[names[0]] ?? 0),
      inFlight: Number(main.Attributes?.[names[1]] ?? 0),
      delayed: Number(main.Attributes?.[names[2]] ?? 0),
      deadLettered: Number(dlq.Attributes?.[names[0]] ?? 0),
    };
  }

  /**
   * Up to 10 dead-lettered jobs, left in the DLQ (received with visibility 0, so each look counts as
   * a receive of the DLQ's copy; SQS has no peek).
   */
  async deadLetters(limit = 10): Promise<
    Array<{
      id: string;
      name: string;
      data: unknown;
      reason: string;
      error?: string;
      history: readonly unknown[];
    }>
  > {
    await this.open();
    const answer = await this.options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.topology.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(10, limit),
        VisibilityTimeout: 0,
        MessageAttributeNames: [JOB_ATTRIBUTE],
        WaitTimeSeconds: 0,
      }),
    );
    return (answer.Messages ?? []).map((message) => {
      const meta = readSqsMeta(
        message.MessageAttributes?.[JOB_ATTRIBUTE]?.StringValue,
        message.MessageId ?? '?',
      );
      let data: unknown;
      try {
        data = JSON.parse(message.Body ?? 'null');
      } catch {
        data = message.Body;
      }
      return {
        id: meta.id,
        name: meta.name,
        data,
        // Without the worker's copy (a crash loop moved it by the redrive policy) the reason is the receive count.
        reason: meta.reason ?? 'max-receive-count',
        ...(meta.error !== undefined ? { error: meta.error } : {}),
        history: meta.history ?? [],
      };
    });
  }

  /** Moves dead-lettered jobs back to the job queue with fresh receive counts; resolves with how many. */
  async redriveDeadLetters(limit = Number.POSITIVE_INFINITY): Promise<number> {
    await this.open();
    const { client } = this.options;
    let moved = 0;
    while (moved < limit) {
      const answer = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.topology.deadLetterQueueUrl,
          MaxNumberOfMessages: Math.min(10, limit - moved),
          MessageAttributeNames: [JOB_ATTRIBUTE],
          WaitTimeSeconds: 0,
        }),
      );
      const messages = answer.Messages ?? [];
      if (messages.length === 0) break;
      for (const message of messages) {
        const meta = readSqsMeta(
          message.MessageAttributes?.[JOB_ATTRIBUTE]?.StringValue,
          message.MessageId ?? '?',
        );
        const { reason: _reason, error: _error, notBeforeMs: _notBefore, ...fresh } = meta;
        await client.send(
          new SendMessageCommand({
            QueueUrl: this.topology.queueUrl,
            MessageBody: message.Body ?? 'null',
            MessageAttributes: {
              [JOB_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(fresh) },
            },
            ...(this.topology.fifo
              ? { MessageGroupId: meta.id, MessageDeduplicationId: `${meta.id}-redrive-${randomUUID()}` }
              : {}),
          }),
        );
        await client.send(
          new DeleteMessageCommand({
            QueueUrl: this.topology.deadLetterQueueUrl,
            ReceiptHandle: message.ReceiptHandle!,
          }),
        );
        moved++;
      }
    }
    return moved;
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

  /** Deletes the job queue and its DLQ, then closes. */
  async destroy(): Promise<void> {
    await this.open();
    await this.options.client.send(new DeleteQueueCommand({ QueueUrl: this.topology.queueUrl }));
    await this.options.client.send(new DeleteQueueCommand({ QueueUrl: this.topology.deadLetterQueueUrl }));
    await this.close();
  }

  /** Stops polling events and deletes this Queue's events queue. The SQSClient is the caller's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const repeat of this.repeats) repeat.stop();
    this.repeats.clear();
    this.finished.abandon(`queue ${this.name} was closed before the job finished`);
    if (!this.opened) return;
    await this.opened.catch(() => {});
    this.polling.abort();
    await this.pollLoop;
    if (this.eventsQueueUrl) {
      await this.options.client
        .send(new DeleteQueueCommand({ QueueUrl: this.eventsQueueUrl }))
        .catch(() => {});
    }
  }
}
