/**
 * `pier handover sqs`: hands Pier's SQS queues over to another SQS endpoint (AWS, or anything that
 * speaks SQS). Each step is safe to repeat, so an interrupted run is simply run again:
 *   1. plan: Pier's queues (ListQueues, their attributes and tags), the chosen ones plus their
 *      dead-letter queues, dead-letter queues first (sqs-plan.ts);
 *   2. create: each queue at the target (or its attributes brought in line where it exists), then
 *      the ARN-bearing attributes once the target's ARNs are known, then the tags;
 *   3. move: receive at Pier, SendMessageBatch to the target, delete at Pier only what the target
 *      acknowledged; FIFO messages keep their group and deduplication id and, per group, their
 *      order (a failed entry holds back the rest of its group);
 *   4. verify: the target's attributes and tags compared with the plan, and each queue's depth.
 */
import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SetQueueAttributesCommand,
  type SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { inParallel } from './in-parallel.js';
import {
  arnAttributes,
  arnPrefix,
  compareSqsQueue,
  creationAttributes,
  planSqsQueues,
  type SqsAttributes,
  type SqsQueueSnapshot,
} from './sqs-plan.js';

export interface SqsHandoverOptions {
  readonly source: SQSClient;
  readonly target: SQSClient;
  /** Only queues whose name matches (their dead-letter queues come along). */
  readonly queues?: RegExp;
  readonly dryRun?: boolean;
  /** How long a received message stays leased to the hand-over at Pier (s): after a kill, it is back this much later. */
  readonly visibilityTimeoutS?: number;
  /** How long to wait for messages in flight or delayed at Pier before giving up on a queue (ms). */
  readonly maxWaitMs?: number;
  /** Queues moved at the same time. */
  readonly parallelQueues?: number;
  readonly progress: (line: string) => void;
}

export interface SqsQueueAccount {
  readonly name: string;
  readonly fifo: boolean;
  /** Messages at Pier when the move started (visible, in flight and delayed). */
  readonly atStart: number;
  readonly moved: number;
  /** At Pier after the move (visible, in flight and delayed). */
  readonly remaining: number | undefined;
  /** Visible and delayed on the target after the move. */
  readonly onTarget: number | undefined;
  /** Attributes or tags the target has otherwise than planned. */
  readonly problems: readonly string[];
  readonly error?: string;
}

export interface SqsHandoverReport {
  readonly dryRun: boolean;
  readonly notes: readonly string[];
  readonly queues: readonly SqsQueueAccount[];
  readonly complete: boolean;
}

export class SqsHandoverError extends Error {
  override name = 'SqsHandoverError';
}

const PROGRESS_INTERVAL_MS = 1000;
/** SendMessageBatch refuses more than 256 KiB of bodies and attributes in one call. */
const MAX_BATCH_BYTES = 256 * 1024;
/** Batches refused in a row (nothing accepted) before the queue is given up. */
const MAX_FAILED_BATCHES = 5;

export async function handoverToSqs(options: SqsHandoverOptions): Promise<SqsHandoverReport> {
  const say = options.progress;
  const snapshots = await snapshotPier(options.source).catch((error: Error) => {
    throw new SqsHandoverError(
      `cannot list Pier's SQS queues: ${error.message || error.name}; is Pier running with its SQS listener there (--from, --sqs-port)?`,
    );
  });
  const chosen = (name: string) => options.queues === undefined || options.queues.test(name);
  const plan = planSqsQueues(snapshots.queues, chosen);
  say(`plan: ${plan.queues.length} queue(s) of ${snapshots.queues.length} at Pier`);
  for (const note of plan.notes) say(`note: ${note}`);
  const known = new Set(plan.queues.map((q) => q.name));

  if (options.dryRun) {
    const queues: SqsQueueAccount[] = [];
    for (const queue of plan.queues) {
      const atStart = depthOf(queue.attributes);
      const there = await targetUrlOf(options.target, queue.name);
      say(
        `would ${there ? 'update' : 'create'} queue '${queue.name}' (${describe(creationAttributes(queue))}) and move ${atStart} message(s)`,
      );
      queues.push({
        name: queue.name,
        fifo: isFifo(queue.attributes),
        atStart,
        moved: 0,
        remaining: atStart,
        onTarget: undefined,
        problems: [],
      });
    }
    return { dryRun: true, notes: plan.notes, queues, complete: false };
  }

  // Create in plan order (dead-letter queues first); remember what was wanted, for the check.
  const created = new Map<string, { url: string; wanted: SqsAttributes; error?: string }>();
  for (const queue of plan.queues) {
    try {
      created.set(queue.name, await createAtTarget(queue, options.target, known, say));
    } catch (error) {
      const message = (error as Error).message;
      say(`queue '${queue.name}': not created at the target: ${message}`);
      created.set(queue.name, { url: '', wanted: {}, error: message });
    }
  }

  // Move the queues that redrive first and their dead-letter queues last, so a message
  // dead-lettered at Pier during the move still goes along.
  const moveOrder = [...plan.queues].reverse();
  const accounts = await inParallel(moveOrder, options.parallelQueues ?? 4, async (queue) => {
    const target = created.get(queue.name)!;
    const sourceUrl = snapshots.urls.get(queue.name)!;
    if (target.error !== undefined) {
      const remaining = depthOf(await attributesOf(options.source, sourceUrl));
      return account(queue, remaining, 0, remaining, undefined, [], target.error);
    }
    const atStart = depthOf(await attributesOf(options.source, sourceUrl));
    say(`queue '${queue.name}': ${atStart} message(s) to move`);
    let moved = 0;
    let error: string | undefined;
    try {
      moved = await moveMessages(queue, sourceUrl, target.url, options);
    } catch (e) {
      error = (e as Error).message;
      say(`queue '${queue.name}': stopped: ${error}`);
    }
    const remaining = await attributesOf(options.source, sourceUrl)
      .then(depthOf)
      .catch(() => undefined);
    const targetAttributes = await attributesOf(options.target, target.url);
    const targetTags =
      (await options.target.send(new ListQueueTagsCommand({ QueueUrl: target.url }))).Tags ?? {};
    const problems = compareSqsQueue(queue.name, target.wanted, queue.tags, targetAttributes, targetTags);
    for (const problem of problems) say(problem);
    const onTarget =
      Number(targetAttributes.ApproximateNumberOfMessages ?? 0) +
      Number(targetAttributes.ApproximateNumberOfMessagesDelayed ?? 0);
    say(`queue '${queue.name}': moved ${moved}, ${remaining ?? '?'} left at Pier, ${onTarget} on the target`);
    return account(queue, atStart, moved, remaining, onTarget, problems, error);
  });
  const queues = plan.queues.map((q) => accounts[moveOrder.indexOf(q)]!);
  const complete = queues.every((q) => q.error === undefined && q.remaining === 0 && q.problems.length === 0);
  return { dryRun: false, notes: plan.notes, queues, complete };
}

function account(
  queue: SqsQueueSnapshot,
  atStart: number,
  moved: number,
  remaining: number | undefined,
  onTarget: number | undefined,
  problems: readonly string[],
  error: string | undefined,
): SqsQueueAccount {
  return {
    name: queue.name,
    fifo: isFifo(queue.attributes),
    atStart,
    moved,
    remaining,
    onTarget,
    problems,
    ...(error === undefined ? {} : { error }),
  };
}

const isFifo = (attributes: SqsAttributes) => attributes.FifoQueue === 'true';

/** Visible, in flight and delayed: everything still at the queue. */
function depthOf(attributes: SqsAttributes): number {
  return (
    Number(attributes.ApproximateNumberOfMessages ?? 0) +
    Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

function describe(attributes: Record<string, string>): string {
  const entries = Object.entries(attributes);
  return entries.length === 0 ? 'defaults' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

async function attributesOf(client: SQSClient, url: string): Promise<SqsAttributes> {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
  );
  return Attributes;
}

async function snapshotPier(
  source: SQSClient,
): Promise<{ queues: SqsQueueSnapshot[]; urls: Map<string, string> }> {
  const urls = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await source.send(new ListQueuesCommand({ MaxResults: 1000, NextToken: token }));
    for (const url of page.QueueUrls ?? [])
      urls.set(decodeURIComponent(url.slice(url.lastIndexOf('/') + 1)), url);
    token = page.NextToken;
  } while (token);
  const queues: SqsQueueSnapshot[] = [];
  for (const [name, url] of urls) {
    const attributes = await attributesOf(source, url);
    const { Tags = {} } = await source.send(new ListQueueTagsCommand({ QueueUrl: url }));
    queues.push({ name, attributes, tags: Tags });
  }
  return { queues, urls };
}

async function targetUrlOf(target: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await target.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    const code = (error as { name?: string }).name ?? '';
    if (/NonExistentQueue|QueueDoesNotExist/.test(code)) return undefined;
    throw error;
  }
}

/**
 * Creates the queue at the target, or brings an existing one's attributes in line (FifoQueue
 * cannot change: a mismatch is an error), then sets the ARN-bearing attributes and the tags.
 */
async function createAtTarget(
  queue: SqsQueueSnapshot,
  target: SQSClient,
  known: ReadonlySet<string>,
  say: (line: string) => void,
): Promise<{ url: string; wanted: SqsAttributes }> {
  const base = creationAttributes(queue);
  let url = await targetUrlOf(target, queue.name);
  if (url === undefined) {
    const created = await target.send(
      new CreateQueueCommand({
        QueueName: queue.name,
        Attributes: base,
        ...(Object.keys(queue.tags).length > 0 ? { tags: { ...queue.tags } } : {}),
      }),
    );
    url = created.QueueUrl!;
    say(`queue '${queue.name}': created at the target`);
  } else {
    const there = await attributesOf(target, url);
    if ((there.FifoQueue === 'true') !== isFifo(queue.attributes)) {
      throw new SqsHandoverError(
        `a ${there.FifoQueue === 'true' ? 'FIFO' : 'standard'} queue of that name exists at the target; delete it there or leave this queue out with --queues`,
      );
    }
    const { FifoQueue: _fixed, ...changeable } = base;
    const differing = Object.fromEntries(Object.entries(changeable).filter(([k, v]) => there[k] !== v));
    if (Object.keys(differing).length > 0) {
      await target.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: differing }));
      say(`queue '${queue.name}': exists at the target; set ${describe(differing)}`);
    } else {
      say(`queue '${queue.name}': exists at the target with the same attributes`);
    }
    if (Object.keys(queue.tags).length > 0) {
      await target.send(new TagQueueCommand({ QueueUrl: url, Tags: { ...queue.tags } }));
    }
  }
  const targetArn = (await attributesOf(target, url)).QueueArn;
  const sourceArn = queue.attributes.QueueArn;
  let withArns: Record<string, string> = {};
  if (targetArn && sourceArn) {
    withArns = arnAttributes(queue, arnPrefix(sourceArn), arnPrefix(targetArn), (name) => known.has(name));
    if (Object.keys(withArns).length > 0) {
      await target.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: withArns }));
    }
  }
  return { url, wanted: { ...base, ...withArns } };
}

/**
 * Receive loops per queue. In a FIFO queue too: SQS gives no loop a group's next message while an
 * earlier one of that group is in flight, and a loop deletes (or returns) what it received only
 * after the target answered, so each group still arrives in order.
 */
const RECEIVE_LOOPS = 4;

/** Drains one queue at Pier into its twin; resolves with the messages moved. */
async function moveMessages(
  queue: SqsQueueSnapshot,
  sourceUrl: string,
  targetUrl: string,
  options: SqsHandoverOptions,
): Promise<number> {
  const counter = { moved: 0, lastReportMs: Date.now() };
  const loops = Array.from({ length: RECEIVE_LOOPS }, () =>
    moveLoop(queue, sourceUrl, targetUrl, options, counter),
  );
  const outcomes = await Promise.allSettled(loops);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  return counter.moved;
}

async function moveLoop(
  queue: SqsQueueSnapshot,
  sourceUrl: string,
  targetUrl: string,
  options: SqsHandoverOptions,
  counter: { moved: number; lastReportMs: number },
): Promise<void> {
  const { source, target } = options;
  const fifo = isFifo(queue.attributes);
  const contentBased = queue.attributes.ContentBasedDeduplication === 'true';
  const say = options.progress;
  const maxWaitMs = options.maxWaitMs ?? 120_000;
  let failedBatches = 0;
  let idleSinceMs: number | undefined;
  for (;;) {
    const { Messages = [] } = await source.send(
      new ReceiveMessageCommand({
        QueueUrl: sourceUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: options.visibilityTimeoutS ?? 30,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) {
      const left = await attributesOf(source, sourceUrl);
      if (depthOf(left) === 0) return;
      if (Number(left.ApproximateNumberOfMessages ?? 0) > 0) continue;
      const now = Date.now();
      idleSinceMs ??= now;
      const waiting = `${left.ApproximateNumberOfMessagesNotVisible ?? 0} in flight (received by a consumer, or by an interrupted hand-over, and back when their visibility timeout ends) and ${left.ApproximateNumberOfMessagesDelayed ?? 0} delayed`;
      if (now - idleSinceMs > maxWaitMs) {
        throw new SqsHandoverError(
          `${waiting} at Pier after waiting ${Math.round(maxWaitMs / 1000)} s; stop the consumers at Pier and run again`,
        );
      }
      if (now - counter.lastReportMs >= 5 * PROGRESS_INTERVAL_MS) {
        counter.lastReportMs = now;
        say(`queue '${queue.name}': waiting for ${waiting}`);
      }
      continue;
    }
    idleSinceMs = undefined;
    const outcome = await sendAndDelete(Messages, fifo, contentBased, sourceUrl, targetUrl, source, target);
    counter.moved += outcome.moved;
    if (outcome.moved === 0 && outcome.lastError !== undefined) {
      failedBatches++;
      if (failedBatches >= MAX_FAILED_BATCHES) {
        throw new SqsHandoverError(
          `the target refused ${MAX_FAILED_BATCHES} batches in a row: ${outcome.lastError}; the messages stay at Pier`,
        );
      }
    } else {
      failedBatches = 0;
    }
    const now = Date.now();
    if (now - counter.lastReportMs >= PROGRESS_INTERVAL_MS) {
      counter.lastReportMs = now;
      say(`queue '${queue.name}': moved ${counter.moved}`);
    }
  }
}

/**
 * One received batch: sent to the target in size-bounded batches, in order; each message the
 * target acknowledged is deleted at Pier; the rest (and, in a FIFO queue, every later message of
 * a group with a refused one) made visible again at once, to be received anew in order.
 */
async function sendAndDelete(
  messages: readonly Message[],
  fifo: boolean,
  contentBased: boolean,
  sourceUrl: string,
  targetUrl: string,
  source: SQSClient,
  target: SQSClient,
): Promise<{ moved: number; lastError?: string }> {
  const heldGroups = new Set<string>();
  const sent: Message[] = [];
  const returned: Message[] = [];
  let lastError: string | undefined;
  for (const chunk of bySize(messages)) {
    const entries: SendMessageBatchRequestEntry[] = [];
    const byId = new Map<string, Message>();
    for (const message of chunk) {
      const group = message.Attributes?.MessageGroupId;
      if (fifo && group !== undefined && heldGroups.has(group)) {
        returned.push(message);
        continue;
      }
      const id = `m${byId.size}`;
      byId.set(id, message);
      entries.push(entryFor(id, message, fifo, contentBased));
    }
    if (entries.length === 0) continue;
    let failed: { Id?: string; Message?: string; Code?: string }[];
    try {
      const answer = await target.send(
        new SendMessageBatchCommand({ QueueUrl: targetUrl, Entries: entries }),
      );
      failed = answer.Failed ?? [];
      for (const ok of answer.Successful ?? []) sent.push(byId.get(ok.Id!)!);
    } catch (error) {
      failed = entries.map((e) => ({ Id: e.Id, Message: (error as Error).message }));
    }
    for (const failure of failed) {
      const message = byId.get(failure.Id!)!;
      lastError = `${failure.Code ? `${failure.Code}: ` : ''}${failure.Message ?? 'refused'}`;
      returned.push(message);
      const group = message.Attributes?.MessageGroupId;
      if (fifo && group !== undefined) heldGroups.add(group);
    }
  }
  const moved = await deleteAtSource(source, sourceUrl, sent);
  if (returned.length > 0) {
    await source
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: sourceUrl,
          Entries: returned.map((m, i) => ({
            Id: `r${i}`,
            ReceiptHandle: m.ReceiptHandle!,
            VisibilityTimeout: 0,
          })),
        }),
      )
      .catch(() => {});
  }
  return { moved, ...(lastError === undefined ? {} : { lastError }) };
}

/** Deletes in batches of 10; a message whose delete failed stays at Pier and moves again later. */
async function deleteAtSource(source: SQSClient, url: string, messages: readonly Message[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < messages.length; i += 10) {
    const slice = messages.slice(i, i + 10);
    const { Successful = [] } = await source.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: slice.map((m, j) => ({ Id: `d${j}`, ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    deleted += Successful.length;
  }
  return deleted;
}

function entryFor(
  id: string,
  message: Message,
  fifo: boolean,
  contentBased: boolean,
): SendMessageBatchRequestEntry {
  const body = message.Body ?? '';
  const attributes = messageAttributes(message.MessageAttributes);
  const trace = message.Attributes?.AWSTraceHeader;
  const entry: SendMessageBatchRequestEntry = {
    Id: id,
    MessageBody: body,
    ...(attributes === undefined ? {} : { MessageAttributes: attributes }),
    ...(trace === undefined
      ? {}
      : { MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: trace } } }),
  };
  if (!fifo) return { ...entry, DelaySeconds: 0 };
  // The original deduplication id: a copy sent twice (a rerun after a kill) is dropped by the
  // target within its 5-minute window. Content-based ids are the body's SHA-256, as SQS makes them.
  const dedup =
    message.Attributes?.MessageDeduplicationId ??
    (contentBased ? createHash('sha256').update(body).digest('hex') : message.MessageId!);
  return {
    ...entry,
    MessageGroupId: message.Attributes?.MessageGroupId ?? 'default',
    MessageDeduplicationId: dedup,
  };
}

function messageAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): Record<string, MessageAttributeValue> | undefined {
  if (attributes === undefined || Object.keys(attributes).length === 0) return undefined;
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        DataType: value.DataType!,
        ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
        ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
      },
    ]),
  );
}

/** Splits a received batch, in order, into runs under SendMessageBatch's size limit. */
function bySize(messages: readonly Message[]): Message[][] {
  const chunks: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = sizeOf(message);
    if (current.length > 0 && bytes + size > MAX_BATCH_BYTES) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function sizeOf(message: Message): number {
  let size = Buffer.byteLength(message.Body ?? '');
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    size += value.StringValue === undefined ? 0 : Buffer.byteLength(value.StringValue);
    size += value.BinaryValue?.length ?? 0;
  }
  return size;
}
