// The aws CLI 2.9 (Debian's awscli, botocore's query protocol) against Pier's SQS listener, its JSON
// output parsed: queues, single and batch sends, receives with attributes, deletes, queue attributes,
// a RedrivePolicy moving a message to its DLQ, a FIFO queue with content-based deduplication,
// list-queues and delete-queue.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { run, runOk } from './helpers.js';

// Debian's awscli; an aws earlier on PATH (pip's v1, a pyenv shim) would be another program.
const AWS = '/usr/bin/aws';
const skip = existsSync(AWS) ? false : 'awscli is not installed (Debian: apt-get install awscli)';

let broker: TestBroker | undefined;
let endpoint = '';
const prefix = `compat-cli-${process.pid}`;

before(async () => {
  if (skip) return;
  broker = await startTestBroker({ amqpPort: false, sqsPort: 0 });
  endpoint = broker.sqs!.endpoint;
  // The CLI reads credentials and region from the environment; no config files, no pager.
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIDCOMPAT',
    AWS_SECRET_ACCESS_KEY: 'compat-secret',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent/pier-aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/pier-aws-credentials',
    AWS_PAGER: '',
  });
});

after(async () => {
  await broker?.stop();
});

interface CliMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  MD5OfBody: string;
  MD5OfMessageAttributes?: string;
  Attributes: Record<string, string>;
  MessageAttributes?: Record<string, unknown>;
}

/** The parts of the CLI's JSON output these tests read (each call prints some; absent ones are undefined). */
interface CliOutput {
  QueueUrl: string;
  QueueUrls: string[];
  Messages: CliMessage[];
  Attributes: Record<string, string>;
  MessageId: string;
  MD5OfMessageBody: string;
  MD5OfMessageAttributes: string;
  SequenceNumber: string;
  Successful: { Id: string }[];
  Failed: unknown[];
}

/** Runs `aws sqs <args> --endpoint-url ... --output json` and parses its output ({} when it printed nothing). */
async function sqs(...args: string[]): Promise<CliOutput> {
  const result = await runOk(AWS, ['sqs', ...args, '--endpoint-url', endpoint, '--output', 'json'], {
    timeoutMs: 60_000,
  });
  const text = result.stdout.toString('utf8').trim();
  return (text === '' ? {} : JSON.parse(text)) as CliOutput;
}

async function receiveAll(queueUrl: string, count: number, ...extra: string[]): Promise<CliMessage[]> {
  const got: CliMessage[] = [];
  for (let attempt = 0; attempt < 10 && got.length < count; attempt++) {
    const answer = await sqs(
      'receive-message',
      '--queue-url',
      queueUrl,
      '--max-number-of-messages',
      '10',
      ...extra,
    );
    got.push(...(answer.Messages ?? []));
  }
  return got;
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

test('aws sqs: create, send, send-message-batch, receive, delete, get-queue-attributes', {
  skip,
}, async () => {
  const { QueueUrl } = await sqs('create-queue', '--queue-name', `${prefix}-std`);
  assert.match(QueueUrl, new RegExp(`^${endpoint}/\\d{12}/${prefix}-std$`));
  const sent = await sqs(
    'send-message',
    '--queue-url',
    QueueUrl,
    '--message-body',
    'hello from the cli',
    '--message-attributes',
    JSON.stringify({ origin: { DataType: 'String', StringValue: 'awscli' } }),
  );
  assert.equal(sent.MD5OfMessageBody, md5('hello from the cli'));
  assert.match(sent.MD5OfMessageAttributes, /^[0-9a-f]{32}$/);
  const batch = await sqs(
    'send-message-batch',
    '--queue-url',
    QueueUrl,
    '--entries',
    JSON.stringify([1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `batch ${i}` }))),
  );
  assert.deepEqual(batch.Successful.map((s: { Id: string }) => s.Id).sort(), ['m1', 'm2', 'm3']);
  assert.equal(batch.Failed, undefined);

  const messages = await receiveAll(
    QueueUrl,
    4,
    '--wait-time-seconds',
    '1',
    '--attribute-names',
    'All',
    '--message-attribute-names',
    'All',
  );
  assert.deepEqual(messages.map((m) => m.Body).sort(), [
    'batch 1',
    'batch 2',
    'batch 3',
    'hello from the cli',
  ]);
  const single = messages.find((m) => m.Body === 'hello from the cli')!;
  assert.deepEqual(single.MessageAttributes, { origin: { StringValue: 'awscli', DataType: 'String' } });
  assert.equal(single.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
  assert.equal(single.MessageId, sent.MessageId);
  for (const m of messages) {
    assert.equal(m.MD5OfBody, md5(m.Body));
    assert.equal(m.Attributes.ApproximateReceiveCount, '1');
    await sqs('delete-message', '--queue-url', QueueUrl, '--receipt-handle', m.ReceiptHandle);
  }
  const { Attributes } = await sqs(
    'get-queue-attributes',
    '--queue-url',
    QueueUrl,
    '--attribute-names',
    'All',
  );
  assert.equal(Attributes.ApproximateNumberOfMessages, '0');
  assert.equal(Attributes.ApproximateNumberOfMessagesNotVisible, '0');
  assert.equal(Attributes.VisibilityTimeout, '30');
  assert.match(Attributes.QueueArn, new RegExp(`^arn:aws:sqs:us-east-1:\\d{12}:${prefix}-std$`));
});

test('aws sqs: set-queue-attributes with a RedrivePolicy moves a message to the DLQ', { skip }, async () => {
  const dlq = await sqs('create-queue', '--queue-name', `${prefix}-dlq`);
  const source = await sqs('create-queue', '--queue-name', `${prefix}-src`);
  const { Attributes: dlqAttributes } = await sqs(
    'get-queue-attributes',
    '--queue-url',
    dlq.QueueUrl,
    '--attribute-names',
    'QueueArn',
  );
  const policy = { deadLetterTargetArn: dlqAttributes.QueueArn, maxReceiveCount: 1 };
  await sqs(
    'set-queue-attributes',
    '--queue-url',
    source.QueueUrl,
    '--attributes',
    JSON.stringify({ RedrivePolicy: JSON.stringify(policy) }),
  );
  const { Attributes } = await sqs(
    'get-queue-attributes',
    '--queue-url',
    source.QueueUrl,
    '--attribute-names',
    'RedrivePolicy',
  );
  assert.deepEqual(JSON.parse(Attributes.RedrivePolicy), policy);

  await sqs('send-message', '--queue-url', source.QueueUrl, '--message-body', 'fails every time');
  const first = await sqs('receive-message', '--queue-url', source.QueueUrl, '--visibility-timeout', '0');
  assert.deepEqual(
    first.Messages.map((m: { Body: string }) => m.Body),
    ['fails every time'],
  );
  // The second receive would exceed maxReceiveCount 1: the message goes to the DLQ instead.
  const second = await sqs('receive-message', '--queue-url', source.QueueUrl, '--visibility-timeout', '0');
  assert.equal(second.Messages, undefined);
  const moved = await sqs(
    'receive-message',
    '--queue-url',
    dlq.QueueUrl,
    '--wait-time-seconds',
    '1',
    '--attribute-names',
    'All',
  );
  assert.deepEqual(
    moved.Messages.map((m: { Body: string }) => m.Body),
    ['fails every time'],
  );
  // The receive count carries over into the DLQ, as AWS counts it (issue 14).
  assert.equal(moved.Messages[0]!.Attributes.ApproximateReceiveCount, '2');
});

test("aws sqs: AWS's query error codes and texts, per-entry batch failures, QueueDeletedRecently", {
  skip,
}, async () => {
  const failure = async (...args: string[]) => {
    const result = await run(AWS, ['sqs', ...args, '--endpoint-url', endpoint, '--output', 'json'], {
      timeoutMs: 60_000,
    });
    assert.notEqual(result.code, 0, `aws sqs ${args.join(' ')} succeeded`);
    return String(result.stderr);
  };
  assert.match(
    await failure('get-queue-url', '--queue-name', `${prefix}-absent`),
    /\(AWS\.SimpleQueueService\.NonExistentQueue\) when calling the GetQueueUrl operation: The specified queue does not exist for this wsdl version\./,
  );
  const { QueueUrl } = await sqs(
    'create-queue',
    '--queue-name',
    `${prefix}-small`,
    '--attributes',
    'MaximumMessageSize=1024',
  );
  const batch = await sqs(
    'send-message-batch',
    '--queue-url',
    QueueUrl,
    '--entries',
    JSON.stringify([
      { Id: 'ok', MessageBody: 'fits' },
      { Id: 'big', MessageBody: 'x'.repeat(2048) },
    ]),
  );
  assert.deepEqual(
    batch.Successful.map((e) => e.Id),
    ['ok'],
  );
  assert.deepEqual(
    (batch.Failed as { Id: string; Code: string; SenderFault: boolean }[]).map((e) => [e.Id, e.SenderFault]),
    [['big', true]],
  );
  await sqs('delete-queue', '--queue-url', QueueUrl);
  assert.match(
    await failure('create-queue', '--queue-name', `${prefix}-small`),
    /\(AWS\.SimpleQueueService\.QueueDeletedRecently\)/,
  );
});

test('aws sqs: FIFO queue with content-based deduplication keeps group order', { skip }, async () => {
  const { QueueUrl } = await sqs(
    'create-queue',
    '--queue-name',
    `${prefix}-jobs.fifo`,
    '--attributes',
    'FifoQueue=true,ContentBasedDeduplication=true',
  );
  const ids: string[] = [];
  for (const body of ['first', 'second', 'first', 'third']) {
    const sent = await sqs(
      'send-message',
      '--queue-url',
      QueueUrl,
      '--message-body',
      body,
      '--message-group-id',
      'g',
    );
    ids.push(sent.MessageId);
    assert.match(sent.SequenceNumber, /^\d+$/);
  }
  // The repeated body within 5 minutes is a duplicate: same MessageId, not stored again.
  assert.equal(ids[2], ids[0]);
  const messages = await receiveAll(QueueUrl, 3, '--attribute-names', 'All');
  assert.deepEqual(
    messages.map((m) => m.Body),
    ['first', 'second', 'third'],
  );
  assert.ok(messages.every((m) => m.Attributes.MessageGroupId === 'g'));
});

test('aws sqs: list-queues by prefix, delete-queue', { skip }, async () => {
  const names = ['list-a', 'list-b'].map((n) => `${prefix}-${n}`);
  const urls: string[] = [];
  for (const name of names) urls.push((await sqs('create-queue', '--queue-name', name)).QueueUrl);
  const listed = await sqs('list-queues', '--queue-name-prefix', `${prefix}-list-`);
  assert.deepEqual([...listed.QueueUrls].sort(), urls.sort());
  for (const url of urls) await sqs('delete-queue', '--queue-url', url);
  const afterDelete = await sqs('list-queues', '--queue-name-prefix', `${prefix}-list-`);
  assert.equal(afterDelete.QueueUrls, undefined);
});
