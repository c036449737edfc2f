// boto3 (query protocol) against a durable SQS queue 20 times the broker's memory window: every
// body and binary attribute comes back byte-exact, in send order, while pier_sqs_memory_bytes on
// /metrics stays within --sqs-memory-window-bytes and messages are read back from disk.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { scrape, value } from '../metrics/scrape.js';
import { PYTHON, runPython } from './helpers.js';

const hasBoto3 = spawnSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
const skip = hasBoto3 ? false : 'python3-boto3 is not installed for /usr/bin/python3';
const WINDOW_BYTES = 32 * 1024;
const COUNT = 400;

let broker: TestBroker | undefined;
before(async () => {
  if (skip) return;
  broker = await startTestBroker({
    amqpPort: false,
    sqsPort: 0,
    prometheusPort: 0,
    sqs: { memoryWindowBytes: WINDOW_BYTES },
  });
});
after(async () => {
  await broker?.stop();
});

test('boto3: a queue 20 times the memory window comes back whole and in order', { skip }, async () => {
  const result = await runPython<{ order: number[]; mismatches: number[] }>(
    'sqs_boto3_paging.py',
    [broker!.sqs!.endpoint, `boto3-paging-${process.pid}`, String(COUNT)],
    120_000,
  );
  assert.deepEqual(result.mismatches, []);
  assert.deepEqual(
    result.order,
    Array.from({ length: COUNT }, (_, i) => i),
  );
  const metrics = await scrape(broker!.prometheus!.url);
  assert.ok(value(metrics, 'pier_sqs_memory_bytes') <= WINDOW_BYTES);
  const pageIns = value(metrics, 'pier_sqs_page_ins_total');
  assert.ok(pageIns >= COUNT - 100, `${pageIns} messages read back from disk`);
});
