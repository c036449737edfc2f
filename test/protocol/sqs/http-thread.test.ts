// --sqs-http-thread (on by default): the SQS port's HTTP runs on a worker thread and the queues on
// the main one. What crosses between them besides requests and answers: a long poll's client going
// away, and the listen error of a busy port. (Every other SQS suite runs through the thread too, and
// listener.test.ts runs its cases on both threads.)
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { listenNodeServer, startTestBroker, type TestBroker } from '../../helpers/broker.js';

let broker: TestBroker;
let sqs: SQSClient;

before(async () => {
  broker = await startTestBroker({ amqpPort: false, sqsPort: 0 });
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

/** Yields to the event loop until `condition` holds (state another thread changes: no event to await). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

test('a long poll whose client goes away stops waiting; the next message goes to a live receiver', {
  timeout: 15_000,
}, async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'client-gone' }));
  const queue = broker.sqsQueues.get('client-gone', 'us-east-1');
  assert.ok(queue);
  const controller = new AbortController();
  const abandoned = sqs
    .send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }), { abortSignal: controller.signal })
    .then(
      () => 'answered',
      (error: Error) => error.name,
    );
  await until(() => queue.waitingReceives === 1);
  controller.abort();
  assert.equal(await abandoned, 'AbortError');
  // The thread saw the connection close and told the main thread, long before the 20 s wait ends.
  await until(() => queue.waitingReceives === 0);
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'for the living' }));
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
  assert.deepEqual(
    Messages.map((m) => m.Body),
    ['for the living'],
  );
});

test('a busy SQS port fails the start with the flag to change, and no thread is left running', async () => {
  const holder = createServer();
  const port = await listenNodeServer(holder);
  try {
    await assert.rejects(
      startTestBroker({ amqpPort: false, sqsPort: port }),
      new RegExp(`sqs: port ${port} on 127.0.0.1 is already in use; choose another with --sqs-port`),
    );
  } finally {
    holder.close();
  }
  // A thread left behind would keep this test file's process alive past its end (the runner's timeout).
});
