// sqs-consumer 14.2.8 (on @aws-sdk/client-sqs) as an application uses it, against Pier: a handler
// that throws for some messages. With terminateVisibilityTimeout the consumer makes a failed message
// visible again at once, so it is redelivered until the receive that exceeds maxReceiveCount moves it
// to the DLQ; the others are processed once and deleted.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';

const MAX_RECEIVE_COUNT = 2;

let broker: TestBroker;
let client: SQSClient;

before(async () => {
  broker = await startTestBroker({ amqpPort: false, sqsPort: 0 });
  client = new SQSClient({
    endpoint: broker.sqs!.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDCONSUMER', secretAccessKey: 'consumer-secret' },
  });
});

after(async () => {
  client?.destroy();
  await broker?.stop();
});

async function createQueue(name: string, attributes: Record<string, string> = {}) {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

test('sqs-consumer: good messages are deleted, failing ones reach the DLQ', { timeout: 60_000 }, async () => {
  const dlq = await createQueue('consumer-dlq');
  const source = await createQueue('consumer-work', {
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: MAX_RECEIVE_COUNT }),
  });
  const bodies = Array.from({ length: 10 }, (_, i) => (i % 3 === 0 ? `fail-${i}` : `ok-${i}`));
  const failing = bodies.filter((b) => b.startsWith('fail-'));
  const good = bodies.filter((b) => b.startsWith('ok-'));
  await client.send(
    new SendMessageBatchCommand({
      QueueUrl: source.url,
      Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })),
    }),
  );

  const handled: string[] = [];
  const processed: string[] = [];
  const errors: string[] = [];
  const consumer = Consumer.create({
    queueUrl: source.url,
    sqs: client,
    batchSize: 10,
    waitTimeSeconds: 1,
    terminateVisibilityTimeout: true,
    handleMessage: async (message: Message) => {
      handled.push(message.Body!);
      if (message.Body!.startsWith('fail-')) throw new Error(`cannot process ${message.Body}`);
      return message;
    },
  });
  consumer.on('message_processed', (message: Message) => processed.push(message.Body!));
  consumer.on('processing_error', (error: Error) => errors.push(error.message));
  consumer.on('error', (error: Error) => errors.push(`error: ${error.message}`));

  // Read the DLQ while the consumer runs: long polls that return as soon as a failed message moves.
  const moved: Message[] = [];
  consumer.start();
  try {
    while (moved.length < failing.length) {
      const { Messages } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: dlq.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 5,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      assert.ok(Messages?.length, `the DLQ stayed empty for 5 s; consumer saw: ${handled.join(', ')}`);
      moved.push(...Messages);
    }
    // The good ones were handled in the first receive, before any failing one could move.
    while (processed.length < good.length) await once(consumer, 'message_processed');
  } finally {
    const stopped = once(consumer, 'stopped');
    consumer.stop({ abort: true });
    await stopped;
  }

  assert.deepEqual(processed.sort(), [...good].sort());
  assert.deepEqual(moved.map((m) => m.Body).sort(), [...failing].sort());
  for (const message of moved) {
    assert.equal(message.Attributes?.DeadLetterQueueSourceArn, source.arn);
  }
  // Each failing message was handled exactly maxReceiveCount times, each good one once.
  for (const body of failing) assert.equal(handled.filter((b) => b === body).length, MAX_RECEIVE_COUNT, body);
  for (const body of good) assert.equal(handled.filter((b) => b === body).length, 1, body);
  assert.equal(errors.length, failing.length * MAX_RECEIVE_COUNT, errors.join('\n'));
  assert.ok(
    errors.every((e) => e.includes('cannot process fail-')),
    errors.join('\n'),
  );

  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: source.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  assert.deepEqual(Attributes, {
    ApproximateNumberOfMessages: '0',
    ApproximateNumberOfMessagesNotVisible: '0',
  });
});
