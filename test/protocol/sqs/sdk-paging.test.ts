/**
 * Durable SQS queues far beyond the broker's memory window (--sqs-memory-window-bytes), with
 * @aws-sdk/client-sqs over real sockets: bodies and attributes come back byte-exact (the SDK checks
 * every MD5 too), a standard queue answers in send order, FIFO groups keep their order, visibility
 * timeouts, ChangeMessageVisibility, DeleteMessageBatch, redrive to a DLQ, purge and a restart work
 * as before, while the content held in memory (pier_sqs_memory_bytes on /metrics) stays within
 * the window and the rest is read back from disk (pier_sqs_page_ins_total).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ManualClock } from '../../../src/index.js';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';
import { scrape, value } from '../../metrics/scrape.js';

/** Room for a few dozen of these messages: every queue below holds 10-40 times that. */
const WINDOW_BYTES = 64 * 1024;
const clock = new ManualClock(Date.now());
const dataDir = tempDir('pier-sqs-paging-');
let broker: TestBroker;
let sqs: SQSClient;

async function start(): Promise<void> {
  broker = await startTestBroker({
    amqpPort: false,
    sqsPort: 0,
    prometheusPort: 0,
    clock,
    dataDir,
    sqs: { memoryWindowBytes: WINDOW_BYTES },
  });
  sqs = new SQSClient({
    endpoint: broker.sqs!.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
  });
}

async function stop(): Promise<void> {
  sqs.destroy();
  await broker.stop();
}

before(start);
after(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The broker's SQS memory gauges, scraped from /metrics. */
async function memory(): Promise<{ used: number; window: number; pageIns: number }> {
  const s = await scrape(broker.prometheus!.url);
  return {
    used: value(s, 'pier_sqs_memory_bytes'),
    window: value(s, 'pier_sqs_memory_window_bytes'),
    pageIns: value(s, 'pier_sqs_page_ins_total'),
  };
}

async function assertWithinWindow(when: string): Promise<void> {
  const m = await memory();
  assert.equal(m.window, WINDOW_BYTES);
  assert.ok(
    m.used <= WINDOW_BYTES,
    `${when}: ${m.used} bytes of message content in memory > ${WINDOW_BYTES}`,
  );
}

/** A body of 600-1000 bytes of mixed UTF-8 (1-4 bytes per character), distinct per index. */
function body(tag: string, i: number): string {
  return `${tag}#${i}:${'aé漢🙂'.repeat(60 + (i % 40))}${'z'.repeat(i % 13)}`;
}

/** String, Number and Binary attributes, distinct per index. */
function attributes(i: number): Record<string, MessageAttributeValue> {
  const blob = Buffer.alloc(32 + (i % 64));
  for (let b = 0; b < blob.length; b++) blob[b] = (i * 31 + b * 7) & 0xff;
  return {
    index: { DataType: 'Number', StringValue: String(i) },
    note: { DataType: 'String', StringValue: `n${'ü'.repeat(i % 50)}` },
    blob: { DataType: 'Binary', BinaryValue: blob },
  };
}

function assertExact(message: Message, tag: string, i: number): void {
  assert.equal(message.Body, body(tag, i), `body of message ${tag}#${i}`);
  const want = attributes(i);
  const got = message.MessageAttributes ?? {};
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  assert.equal(got.index?.StringValue, want.index!.StringValue);
  assert.equal(got.note?.StringValue, want.note!.StringValue);
  assert.ok(
    Buffer.from(got.blob!.BinaryValue!).equals(Buffer.from(want.blob!.BinaryValue!)),
    `binary attribute of ${tag}#${i}`,
  );
}

function indexOf(message: Message, tag: string): number {
  const match = new RegExp(`^${tag}#(\\d+):`).exec(message.Body ?? '');
  assert.ok(match, `unexpected body ${message.Body?.slice(0, 40)}`);
  return Number(match[1]);
}

async function createQueue(name: string, attrs: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attrs }));
  return QueueUrl!;
}

async function sendAll(
  url: string,
  tag: string,
  count: number,
  groupOf?: (i: number) => string,
): Promise<void> {
  for (let first = 0; first < count; first += 10) {
    const entries = [];
    for (let i = first; i < Math.min(count, first + 10); i++) {
      entries.push({
        Id: `e${i}`,
        MessageBody: body(tag, i),
        MessageAttributes: attributes(i),
        ...(groupOf ? { MessageGroupId: groupOf(i), MessageDeduplicationId: `${tag}-${i}` } : {}),
      });
    }
    const { Failed = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    assert.deepEqual(Failed, []);
  }
}

async function receive(url: string, visibilityTimeout = 60): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: visibilityTimeout,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages;
}

async function deleteAll(url: string, messages: readonly Message[]): Promise<void> {
  for (let first = 0; first < messages.length; first += 10) {
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: messages
          .slice(first, first + 10)
          .map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    assert.deepEqual(Failed, []);
  }
}

async function visibleCount(url: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages);
}

test('a standard queue 30 times the window: send order, exact content, visibility, batch delete', async () => {
  const count = 1500;
  const url = await createQueue('paged-standard');
  const before = await memory();
  await sendAll(url, 'std', count);
  await assertWithinWindow('after the sends');
  assert.equal(await visibleCount(url), count);

  // The first 100 are received and left in flight; #5 and #17 are given back at once
  // (ChangeMessageVisibility 0): they are next, ahead of every later message, as before paging.
  const leased: Message[] = [];
  while (leased.length < 100) leased.push(...(await receive(url)));
  assert.deepEqual(
    leased.map((m) => indexOf(m, 'std')),
    Array.from({ length: 100 }, (_, i) => i),
  );
  for (const i of [5, 17]) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: leased[i]!.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
  }
  const again = await receive(url);
  assert.deepEqual(
    again.slice(0, 2).map((m) => indexOf(m, 'std')),
    [5, 17],
  );
  for (const m of again.slice(0, 2)) {
    assertExact(m, 'std', indexOf(m, 'std'));
    assert.equal(m.Attributes?.ApproximateReceiveCount, '2');
  }
  await deleteAll(url, again);
  // The other 98 of the first 100 are deleted with the batch call, with their first handles.
  await deleteAll(
    url,
    leased.filter((_, i) => i !== 5 && i !== 17),
  );
  const done = new Set([...leased, ...again].map((m) => indexOf(m, 'std')));

  // The rest, received with a 30 s visibility timeout and not deleted, in send order.
  const pending: number[] = [];
  for (let batch = await receive(url, 30); batch.length > 0; batch = await receive(url, 30)) {
    for (const m of batch) {
      const i = indexOf(m, 'std');
      assertExact(m, 'std', i);
      if (!done.has(i)) pending.push(i);
    }
    if (pending.length % 200 < 10) await assertWithinWindow('while receiving');
  }
  const expected = Array.from({ length: count }, (_, i) => i).filter((i) => !done.has(i));
  assert.deepEqual(pending, expected, 'send order');

  // Their visibility timeout passes: every one comes back, in send order, read from disk again.
  clock.advance(31_000);
  const redelivered: number[] = [];
  for (let batch = await receive(url); batch.length > 0; batch = await receive(url)) {
    for (const m of batch) {
      const i = indexOf(m, 'std');
      assertExact(m, 'std', i);
      assert.equal(m.Attributes?.ApproximateReceiveCount, '2');
      redelivered.push(i);
    }
    await deleteAll(url, batch);
  }
  assert.deepEqual(redelivered, expected);
  assert.equal(await visibleCount(url), 0);
  const after = await memory();
  assert.ok(after.pageIns - before.pageIns >= count, `${after.pageIns - before.pageIns} page-ins`);
  assert.ok(after.used <= WINDOW_BYTES);
});

test('a FIFO queue 20 times the window: each group in strict order', async () => {
  const count = 1000;
  const groups = 7;
  const url = await createQueue('paged.fifo', { FifoQueue: 'true' });
  await sendAll(url, 'fifo', count, (i) => `g${i % groups}`);
  await assertWithinWindow('after the sends');
  const lastOfGroup = new Map<string, number>();
  let received = 0;
  for (let batch = await receive(url); batch.length > 0; batch = await receive(url)) {
    // A group's messages in one receive come together (as SQS returns them).
    const runs = batch
      .map((m) => m.Attributes?.MessageGroupId)
      .filter((g, i, all) => i === 0 || all[i - 1] !== g);
    assert.equal(new Set(runs).size, runs.length, `groups interleaved in one receive: ${runs.join(',')}`);
    for (const m of batch) {
      const i = indexOf(m, 'fifo');
      assertExact(m, 'fifo', i);
      const group = m.Attributes!.MessageGroupId!;
      assert.equal(group, `g${i % groups}`);
      assert.ok(i > (lastOfGroup.get(group) ?? -1), `group ${group}: #${i} after #${lastOfGroup.get(group)}`);
      lastOfGroup.set(group, i);
    }
    received += batch.length;
    await deleteAll(url, batch);
    if (received % 100 < 10) await assertWithinWindow('while receiving');
  }
  assert.equal(received, count);
});

test('redrive: messages past maxReceiveCount move to the DLQ with their content intact', async () => {
  const count = 400;
  const dlqUrl = await createQueue('paged-dlq');
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const url = await createQueue('paged-source', {
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes.QueueArn, maxReceiveCount: 1 }),
  });
  await sendAll(url, 'dlq', count);
  // Each received once (visibility 10 s) and not deleted...
  let first = 0;
  for (let batch = await receive(url, 10); batch.length > 0; batch = await receive(url, 10))
    first += batch.length;
  assert.equal(first, count);
  // ...so the next receive moves every one to the DLQ instead of handing it out.
  clock.advance(11_000);
  assert.deepEqual(await receive(url), []);
  await assertWithinWindow('after the redrive');
  const moved: number[] = [];
  for (let batch = await receive(dlqUrl); batch.length > 0; batch = await receive(dlqUrl)) {
    for (const m of batch) {
      const i = indexOf(m, 'dlq');
      assertExact(m, 'dlq', i);
      assert.equal(
        m.Attributes?.DeadLetterQueueSourceArn,
        url.replace(/.*\/(\d+)\/(.*)$/, 'arn:aws:sqs:us-east-1:$1:$2'),
      );
      moved.push(i);
    }
    await deleteAll(dlqUrl, batch);
  }
  assert.deepEqual(
    moved,
    Array.from({ length: count }, (_, i) => i),
  );
});

test('purge empties a paged queue and its content leaves memory', async () => {
  const url = await createQueue('paged-purge');
  await sendAll(url, 'purge', 600);
  await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  assert.equal(await visibleCount(url), 0);
  assert.deepEqual(await receive(url), []);
  await assertWithinWindow('after the purge');
  // Later messages are the only ones there.
  await sendAll(url, 'after', 30);
  const got: Message[] = [];
  for (let batch = await receive(url); batch.length > 0; batch = await receive(url)) got.push(...batch);
  assert.deepEqual(
    got.map((m) => indexOf(m, 'after')),
    Array.from({ length: 30 }, (_, i) => i),
  );
});

test('a restart recovers a paged queue with nothing but its index in memory', async () => {
  const count = 1200;
  const url = await createQueue('paged-restart');
  await sendAll(url, 'rs', count);
  await stop();
  clock.advance(1000);
  await start();
  const m = await memory();
  assert.equal(m.used, 0, 'recovered messages are read from disk on receive');
  assert.equal(await visibleCount(url), count);
  const got: number[] = [];
  for (let batch = await receive(url); batch.length > 0; batch = await receive(url)) {
    for (const message of batch) {
      const i = indexOf(message, 'rs');
      assertExact(message, 'rs', i);
      got.push(i);
    }
    await deleteAll(url, batch);
  }
  assert.deepEqual(
    got,
    Array.from({ length: count }, (_, i) => i),
  );
  await assertWithinWindow('after the restart');
});
