// The SQS flavour with the broker-backed processed-id store: the jobs on Pier's SQS listener, the
// completion records in a stream on the same Pier's AMQP listener. A worker process records a job's
// completion and is SIGKILLed before it deletes the message; the message comes back (receive count
// 2) to a worker on other connections, which reads the stream up to now and deletes it unrun.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsQueue, SqsWorker, StreamProcessedIds } from '../../src/jobs/sqs/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/stream-store-sqs-worker.js', import.meta.url));

let broker: TestBroker;
let client: SQSClient;
before(async () => {
  broker = await startTestBroker({ sqsPort: 0 });
  client = new SQSClient({
    endpoint: broker.sqs!.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDJOBS', secretAccessKey: 'jobs-secret' },
  });
});
after(async () => {
  client?.destroy();
  await broker?.stop();
});

test('SQS: a job recorded as completed by a worker process killed before its delete is deleted unrun by another worker', async () => {
  const name = `sqs-ids-${randomUUID().slice(0, 8)}`;
  const stream = `${name}.processed`;
  const options = { client, visibilityTimeoutSeconds: 1, waitTimeSeconds: 1 } as const;
  const queue = new SqsQueue<number, string>(name, options);
  await queue.open();
  const storeB = new StreamProcessedIds({ connection: broker.url, stream });
  await storeB.start(); // built before A records: only the barrier shows B the record
  const child = spawn(process.execPath, [FIXTURE, broker.url, broker.sqs!.endpoint, name, stream], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const seen = (prefix: string) =>
    new Promise<string>((resolve) => {
      const listener = (line: string) => {
        if (line.startsWith(prefix)) {
          lines.off('line', listener);
          resolve(line);
        }
      };
      lines.on('line', listener);
    });
  let b: SqsWorker<number, string> | undefined;
  try {
    await seen('ready');
    const recorded = seen('recorded');
    await queue.add('charge', 7, { jobId: 'order-7', attempts: 3 });
    assert.equal(await recorded, 'recorded order-7');
    child.kill('SIGKILL');
    await exited;
    const runs: string[] = [];
    b = new SqsWorker<number, string>(
      name,
      (active) => {
        runs.push(active.id);
        return 'again';
      },
      { ...options, processedIds: storeB },
    );
    const duplicate = once(b, 'duplicate');
    await b.run();
    assert.deepEqual(await duplicate, ['order-7']);
    assert.deepEqual(runs, []);
  } finally {
    child.kill('SIGKILL');
    await b?.close();
    await storeB.close();
    await queue.close();
  }
});
