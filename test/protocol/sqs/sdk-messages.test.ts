/**
 * The message actions as @aws-sdk/client-sqs (JSON protocol) uses them, over real sockets against an
 * in-process broker whose clock the test moves: the SDK's MD5 checks pass on every send and
 * receive; visibility timeouts expire and redeliver; a long poll is woken by a send; FIFO keeps
 * group order, blocks a group while it has messages in flight and deduplicates; a message past
 * maxReceiveCount lands in its DLQ and a move task brings it back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ManualClock } from '../../../src/index.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';

let broker: TestBroker;
let sqs: SQSClient;
const clock = new ManualClock(Date.now());

before(async () => {
  broker = await startTestBroker({ amqpPort: false, sqsPort: 0, clock });
  sqs = new SQSClient({
    endpoint: broker.sqs!.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
  });
});
after(async () => {
  sqs.destroy();
  await broker.stop();
});

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  assert.ok(QueueUrl);
  return QueueUrl;
}

async function receive(queueUrl: string, extra: Record<string, unknown> = {}): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, ...extra }),
  );
  return Messages ?? [];
}

async function counts(queueUrl: string): Promise<[number, number, number]> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return [
    Number(Attributes.ApproximateNumberOfMessages),
    Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    Number(Attributes.ApproximateNumberOfMessagesDelayed),
  ];
}

/** Resolves once the broker has `count` long polls waiting on the queue (it answers in order). */
async function pollsWaiting(queueName: string, count: number): Promise<void> {
  while (broker.sqsQueues.get(queueName)?.waitingReceives !== count) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('send and receive with message attributes: the SDK checks every MD5 and accepts ours', async () => {
  const url = await createQueue('attrs');
  const sent = await sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: 'hello ☃ 🌍',
      MessageAttributes: {
        color: { DataType: 'String', StringValue: 'blue' },
        count: { DataType: 'Number.int', StringValue: '42' },
        raw: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 255]) },
      },
      MessageSystemAttributes: {
        AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe' },
      },
    }),
  );
  assert.match(sent.MessageId ?? '', /^[0-9a-f-]{36}$/);
  assert.ok(sent.MD5OfMessageAttributes && sent.MD5OfMessageSystemAttributes);
  const [message] = await receive(url, {
    MessageAttributeNames: ['All'],
    MessageSystemAttributeNames: ['All'],
  });
  assert.ok(message);
  assert.equal(message.Body, 'hello ☃ 🌍');
  assert.equal(message.MessageId, sent.MessageId);
  assert.equal(message.MessageAttributes?.color?.StringValue, 'blue');
  assert.equal(message.MessageAttributes?.count?.DataType, 'Number.int');
  assert.deepEqual([...(message.MessageAttributes?.raw?.BinaryValue ?? [])], [0, 1, 2, 255]);
  assert.equal(message.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
  assert.equal(message.Attributes?.ApproximateReceiveCount, '1');
  assert.equal(message.Attributes?.SentTimestamp, String(clock.now()));
  assert.equal(message.Attributes?.AWSTraceHeader, 'Root=1-5759e988-bd862e3fe');
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
  assert.deepEqual(await counts(url), [0, 0, 0]);
});

test('visibility timeout: an unfinished lease redelivers; old handles still work on a standard queue', async () => {
  const url = await createQueue('visibility', { VisibilityTimeout: '30' });
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'job' }));
  const [first] = await receive(url);
  assert.ok(first);
  assert.deepEqual(await counts(url), [0, 1, 0]);
  assert.deepEqual(await receive(url), []);
  clock.advance(30_000);
  const [second] = await receive(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
  assert.equal(second?.MessageId, first.MessageId);
  assert.equal(second?.Attributes?.ApproximateReceiveCount, '2');
  // The first receive's handle changes the current lease, as AWS lets it on a standard queue.
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: url,
      ReceiptHandle: first.ReceiptHandle,
      VisibilityTimeout: 30,
    }),
  );
  await assert.rejects(
    sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'garbage' })),
    (err: Error) => err.name === 'ReceiptHandleIsInvalid',
  );
  // Extend, then give up the lease: visible again at once.
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: url,
      ReceiptHandle: second!.ReceiptHandle,
      VisibilityTimeout: 600,
    }),
  );
  clock.advance(300_000);
  assert.deepEqual(await counts(url), [0, 1, 0]);
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: url,
      ReceiptHandle: second!.ReceiptHandle,
      VisibilityTimeout: 0,
    }),
  );
  // Visible again: the handle hides it again (AWS lets ChangeMessageVisibility after the lease).
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: url,
      ReceiptHandle: second!.ReceiptHandle,
      VisibilityTimeout: 5,
    }),
  );
  assert.deepEqual(await counts(url), [0, 1, 0]);
  clock.advance(5_000);
  const [third] = await receive(url);
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: third!.ReceiptHandle }));
  assert.deepEqual(await counts(url), [0, 0, 0]);
  // A deleted message: InvalidParameterValue with AWS's text.
  await assert.rejects(
    sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: third!.ReceiptHandle,
        VisibilityTimeout: 5,
      }),
    ),
    (err: Error & { Code?: string; $metadata?: { httpStatusCode?: number } }) =>
      err.name === 'InvalidParameterValue' &&
      err.Code === 'InvalidParameterValue' &&
      err.$metadata?.httpStatusCode === 400 &&
      err.message ===
        `Value ${third!.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
  );
});

test('a long poll waits and is answered as soon as a message is sent', async () => {
  const url = await createQueue('long-poll');
  const startedAtMs = clock.now();
  const polling = receive(url, { WaitTimeSeconds: 20 });
  await pollsWaiting('long-poll', 1);
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake up' }));
  const messages = await polling;
  assert.deepEqual(
    messages.map((m) => m.Body),
    ['wake up'],
  );
  assert.equal(clock.now(), startedAtMs, 'answered by the send, not by the 20 s wait running out');
  // With nothing sent the poll ends empty when its wait runs out.
  const empty = receive(url, { WaitTimeSeconds: 20 });
  await pollsWaiting('long-poll', 1);
  clock.advance(20_000);
  assert.deepEqual(await empty, []);
});

test('batches: partial failures reported per entry; delete and change visibility in batches', async () => {
  const url = await createQueue('batches', { DelaySeconds: '0' });
  const batch = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: [
        { Id: 'a', MessageBody: 'one' },
        { Id: 'b', MessageBody: 'two', DelaySeconds: 10 },
        { Id: 'bad', MessageBody: 'three', DelaySeconds: 901 },
        { Id: 'c', MessageBody: 'four' },
      ],
    }),
  );
  assert.deepEqual(batch.Successful?.map((s) => s.Id).sort(), ['a', 'b', 'c']);
  assert.equal(batch.Failed?.[0]?.Id, 'bad');
  assert.equal(batch.Failed?.[0]?.SenderFault, true);
  assert.deepEqual(await counts(url), [2, 0, 1]);
  await assert.rejects(
    sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'x', MessageBody: '1' },
          { Id: 'x', MessageBody: '2' },
        ],
      }),
    ),
    (err: Error) => err.name === 'BatchEntryIdsNotDistinct',
  );
  await assert.rejects(
    sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' })),
      }),
    ),
    (err: Error) => err.name === 'TooManyEntriesInBatchRequest',
  );
  assert.deepEqual(await counts(url), [2, 0, 1], 'refused batches stored nothing');
  clock.advance(10_000);
  const received = await receive(url);
  assert.equal(received.length, 3);
  const changed = await sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: url,
      Entries: [
        { Id: 'first', ReceiptHandle: received[0]!.ReceiptHandle, VisibilityTimeout: 0 },
        { Id: 'broken', ReceiptHandle: 'nope', VisibilityTimeout: 0 },
      ],
    }),
  );
  assert.deepEqual(
    changed.Successful?.map((s) => s.Id),
    ['first'],
  );
  assert.equal(changed.Failed?.[0]?.Code, 'ReceiptHandleIsInvalid');
  const deleted = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: url,
      Entries: received.slice(1).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
    }),
  );
  assert.equal(deleted.Successful?.length, 2);
  assert.deepEqual(await counts(url), [1, 0, 0]);
});

test('FIFO: order within a group, a group blocked while in flight, deduplication', async () => {
  const url = await createQueue('orders.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
  const sends = [];
  for (const [group, body] of [
    ['alice', 'a1'],
    ['bob', 'b1'],
    ['alice', 'a2'],
    ['alice', 'a3'],
    ['bob', 'b2'],
  ]) {
    sends.push(
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: group })),
    );
  }
  const sequenceNumbers = sends.map((s) => BigInt(s.SequenceNumber!));
  assert.deepEqual(
    [...sequenceNumbers].sort((x, y) => (x < y ? -1 : 1)),
    sequenceNumbers,
  );
  // Content-based deduplication: the same body again is accepted, answered with the first id, not stored.
  const duplicate = await sqs.send(
    new SendMessageCommand({ QueueUrl: url, MessageBody: 'a1', MessageGroupId: 'alice' }),
  );
  assert.equal(duplicate.MessageId, sends[0]!.MessageId);
  const explicit = await sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: 'a1',
      MessageGroupId: 'alice',
      MessageDeduplicationId: 'new',
    }),
  );
  assert.notEqual(explicit.MessageId, sends[0]!.MessageId);

  const firstTwo = await receive(url, { MaxNumberOfMessages: 2 });
  assert.deepEqual(
    firstTwo.map((m) => m.Body),
    ['a1', 'a2'],
  );
  const bobs = await receive(url);
  assert.deepEqual(
    bobs.map((m) => m.Body),
    ['b1', 'b2'],
    'alice is blocked while a1 and a2 are in flight',
  );
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: firstTwo[0]!.ReceiptHandle }));
  assert.deepEqual(await receive(url), [], 'a2 still in flight blocks alice');
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: firstTwo[1]!.ReceiptHandle }));
  assert.deepEqual(
    (await receive(url)).map((m) => m.Body),
    ['a3', 'a1'],
  );
  await assert.rejects(
    sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'no group' })),
    (err: Error) => err.name === 'MissingParameter',
  );
});

test('redrive: past maxReceiveCount the message moves to the DLQ; a move task brings it back', async () => {
  const dlqUrl = await createQueue('work-dlq');
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const dlqArn = Attributes!.QueueArn!;
  const url = await createQueue('work', {
    VisibilityTimeout: '5',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
  });
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [message] = await receive(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    assert.equal(message?.Attributes?.ApproximateReceiveCount, String(attempt));
    clock.advance(5_000);
  }
  assert.deepEqual(await receive(url), [], 'the fourth receive moves it to the DLQ');
  const [dead] = await receive(dlqUrl, { MessageSystemAttributeNames: ['All'], VisibilityTimeout: 0 });
  assert.equal(dead?.MessageId, sent.MessageId);
  assert.equal(dead?.Body, 'poison');
  const { Attributes: source } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  assert.equal(dead?.Attributes?.DeadLetterQueueSourceArn, source!.QueueArn);

  const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
  assert.ok(TaskHandle);
  const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
  assert.equal(Results?.[0]?.Status, 'COMPLETED');
  assert.equal(Results?.[0]?.ApproximateNumberOfMessagesMoved, 1);
  const [back] = await receive(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
  // Moved back, it is a new message: a new MessageId, received once (as AWS redrives).
  assert.notEqual(back?.MessageId, sent.MessageId);
  assert.equal(back?.Attributes?.ApproximateReceiveCount, '1');
  assert.equal(back?.Body, 'poison');
  assert.deepEqual(await counts(dlqUrl), [0, 0, 0]);
});
