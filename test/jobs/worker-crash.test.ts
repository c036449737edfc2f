// Worker processes and signals against an in-process Pier: one sent SIGTERM mid-job (it finishes the
// job, then exits), and the crash suite (amqp-crash-suite.ts): SIGKILLs mid-job, a poison job, a
// worker killed while holding a leased job, many lease renewals.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from '../../src/jobs/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { amqpCrashSuite, startWorkerProcess } from './amqp-crash-suite.js';

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker();
});
after(async () => {
  await broker?.stop();
});

test('SIGTERM mid-job: the worker process finishes the job, then closes and exits', async () => {
  const queue = new Queue<number, string>('sigterm', { connection: broker.url });
  try {
    const { child, exited, seen } = startWorkerProcess(broker.url, 'sigterm', 'slow');
    await seen('ready');
    const started = seen('started');
    const job = await queue.add('n', 1);
    await started;
    const closed = seen('closed');
    child.kill('SIGTERM');
    assert.equal(await job.waitUntilFinished(10_000), `finished by pid ${child.pid}`);
    await closed;
    assert.deepEqual(await exited, [0, null]);
    assert.equal((await queue.counts()).waiting, 0);
  } finally {
    await queue.close();
  }
});

describe('crashes and lease extension (the suite also run against RabbitMQ)', () => {
  amqpCrashSuite({ url: () => broker.url });
});
