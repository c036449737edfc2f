// `pier handover sqs` from one Pier to a second, independent Pier standing in for AWS SQS (another
// account and region, so every ARN has to be rewritten): queues with their attributes, tags, Policy
// and RedrivePolicy; messages with their attributes; FIFO group order; the hand-over SIGKILLed
// mid-way and run again, nothing lost (duplicates only in the standard queue, as documented).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { runPier, spawnPier, startTestBroker, type TestBroker } from '../helpers/broker.js';

const STANDARD_COUNT = 3000;
const FIFO_GROUPS = ['g1', 'g2', 'g3', 'g4'];
const FIFO_PER_GROUP = 150;

describe('pier handover sqs: to a second Pier', () => {
  let pier: TestBroker;
  let remote: TestBroker;
  let source: SQSClient;
  let target: SQSClient;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

  before(async () => {
    pier = await startTestBroker({ sqsPort: 0 });
    remote = await startTestBroker({ sqsPort: 0, sqs: { accountId: '111111111111', region: 'eu-west-1' } });
    source = new SQSClient({ endpoint: pier.sqs!.endpoint, region: 'us-east-1', credentials });
    target = new SQSClient({ endpoint: remote.sqs!.endpoint, region: 'eu-west-1', credentials });
  });
  after(async () => {
    source?.destroy();
    target?.destroy();
    await pier?.stop();
    await remote?.stop();
  });

  const handover = (...extra: string[]) => [
    'handover',
    'sqs',
    '--endpoint',
    remote.sqs!.endpoint,
    '--region',
    'eu-west-1',
    '--access-key-id',
    'test',
    '--secret-access-key',
    'test',
    '--from',
    pier.sqs!.endpoint,
    '--visibility-timeout',
    '2',
    ...extra,
  ];
  const urlAt = async (client: SQSClient, name: string) =>
    (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
  const attributesAt = async (client: SQSClient, name: string) =>
    (
      await client.send(
        new GetQueueAttributesCommand({ QueueUrl: await urlAt(client, name), AttributeNames: ['All'] }),
      )
    ).Attributes!;

  it('sets up Pier: a standard queue with a dead-letter queue, a FIFO queue, messages with attributes', async () => {
    const dlq = (await source.send(new CreateQueueCommand({ QueueName: 'orders-dlq' }))).QueueUrl!;
    const dlqArn = (await attributesAt(source, 'orders-dlq')).QueueArn!;
    assert.match(dlqArn, /^arn:aws:sqs:us-east-1:000000000000:orders-dlq$/);
    const orders = (
      await source.send(
        new CreateQueueCommand({
          QueueName: 'orders',
          Attributes: {
            VisibilityTimeout: '45',
            MessageRetentionPeriod: '86400',
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 50 }),
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: '*',
                  Action: 'sqs:SendMessage',
                  Resource: 'arn:aws:sqs:us-east-1:000000000000:orders',
                },
              ],
            }),
          },
          tags: { team: 'shop', env: 'prod' },
        }),
      )
    ).QueueUrl!;
    const payments = (
      await source.send(
        new CreateQueueCommand({
          QueueName: 'payments.fifo',
          Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
        }),
      )
    ).QueueUrl!;
    for (let i = 0; i < STANDARD_COUNT; i += 10) {
      await source.send(
        new SendMessageBatchCommand({
          QueueUrl: orders,
          Entries: Array.from({ length: 10 }, (_, j) => ({
            Id: `e${j}`,
            MessageBody: `order-${i + j}`,
            MessageAttributes: {
              kind: { DataType: 'String', StringValue: 'order' },
              amount: { DataType: 'Number', StringValue: String(i + j) },
              blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, (i + j) % 256]) },
            },
          })),
        }),
      );
    }
    for (let n = 0; n < FIFO_PER_GROUP; n++) {
      await source.send(
        new SendMessageBatchCommand({
          QueueUrl: payments,
          Entries: FIFO_GROUPS.map((group, j) => ({
            Id: `e${j}`,
            MessageBody: `${group}:${n}`,
            MessageGroupId: group,
            MessageAttributes: { seq: { DataType: 'Number', StringValue: String(n) } },
          })),
        }),
      );
    }
    await source.send(
      new SendMessageBatchCommand({
        QueueUrl: dlq,
        Entries: [{ Id: 'a', MessageBody: 'poison-1' }],
      }),
    );
  });

  it('--dry-run lists the queues and their depths and creates nothing', async () => {
    const result = await runPier(handover('--dry-run'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /dry run: nothing changed/);
    assert.match(result.stdout, /orders +standard +3000/);
    assert.match(result.stdout, /payments\.fifo +fifo +600/);
    assert.match(result.stderr, /would create queue 'orders-dlq'/);
    const listed = await target.send(new ListQueuesCommand({}));
    assert.deepEqual(listed.QueueUrls ?? [], []);
  });

  it('a hand-over SIGKILLed mid-way, then run again, moves every message and creates every queue', async () => {
    const child = spawnPier(handover());
    const lines = createInterface({ input: child.stderr! });
    let seen = '';
    const exited = once(child, 'exit');
    // The first progress line of a queue comes after a second of moving: kill it there.
    for await (const line of lines) {
      seen += `${line}\n`;
      if (/queue '[^']+': moved \d+$/.test(line)) {
        child.kill('SIGKILL');
        break;
      }
    }
    await exited;
    assert.match(seen, /moved \d+$/m, `the hand-over ended before it was killed:\n${seen}`);
    const leftAtPier = await attributesAt(source, 'orders');
    assert.ok(
      Number(leftAtPier.ApproximateNumberOfMessages) +
        Number(leftAtPier.ApproximateNumberOfMessagesNotVisible) >
        0,
      'killed mid-way: messages are still at Pier',
    );

    const rerun = await runPier(handover('--json'), { timeoutMs: 120_000 });
    assert.equal(rerun.code, 0, `${rerun.stdout}\n${rerun.stderr}`);
    const report = JSON.parse(rerun.stdout) as {
      complete: boolean;
      queues: { name: string; remaining: number; problems: string[] }[];
    };
    assert.equal(report.complete, true);
    assert.deepEqual(
      report.queues.map((q) => [q.name, q.remaining, q.problems.length]),
      [
        ['orders-dlq', 0, 0],
        ['orders', 0, 0],
        ['payments.fifo', 0, 0],
      ],
    );
  });

  it('the target has the attributes, tags and policies, with ARNs of its own account and region', async () => {
    const orders = await attributesAt(target, 'orders');
    assert.equal(orders.VisibilityTimeout, '45');
    assert.equal(orders.MessageRetentionPeriod, '86400');
    assert.deepEqual(JSON.parse(orders.RedrivePolicy!), {
      deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:111111111111:orders-dlq',
      maxReceiveCount: 50,
    });
    assert.equal(
      JSON.parse(orders.Policy!).Statement[0].Resource,
      'arn:aws:sqs:eu-west-1:111111111111:orders',
    );
    const tags = await target.send(new ListQueueTagsCommand({ QueueUrl: await urlAt(target, 'orders') }));
    assert.deepEqual(tags.Tags, { team: 'shop', env: 'prod' });
    const payments = await attributesAt(target, 'payments.fifo');
    assert.equal(payments.FifoQueue, 'true');
    assert.equal(payments.ContentBasedDeduplication, 'true');
    const atPier = await source.send(new ListQueuesCommand({}));
    assert.equal(atPier.QueueUrls?.length, 3, 'the queues stay at Pier, empty');
    for (const name of ['orders', 'orders-dlq', 'payments.fifo']) {
      const left = await attributesAt(source, name);
      assert.equal(left.ApproximateNumberOfMessages, '0', name);
      assert.equal(left.ApproximateNumberOfMessagesNotVisible, '0', name);
    }
  });

  it('every standard message is on the target with its attributes (a copy twice only from the kill)', async () => {
    const received = await drain(target, await urlAt(target, 'orders'));
    const bodies = new Set(received.map((m) => m.Body));
    assert.equal(bodies.size, STANDARD_COUNT, 'every message arrived');
    const duplicates = received.length - STANDARD_COUNT;
    assert.ok(duplicates <= 40, `${duplicates} duplicates: at most one batch of 10 per receive loop (4)`);
    const sample = received.find((m) => m.Body === 'order-1234')!;
    assert.equal(sample.MessageAttributes?.kind?.StringValue, 'order');
    assert.equal(sample.MessageAttributes?.amount?.DataType, 'Number');
    assert.equal(sample.MessageAttributes?.amount?.StringValue, '1234');
    assert.deepEqual([...sample.MessageAttributes!.blob!.BinaryValue!], [1, 2, 1234 % 256]);
    const dlq = await drain(target, await urlAt(target, 'orders-dlq'));
    assert.deepEqual(
      dlq.map((m) => m.Body),
      ['poison-1'],
    );
  });

  it('FIFO messages arrive once each, in order within each group, with their attributes', async () => {
    const received = await drain(target, await urlAt(target, 'payments.fifo'));
    const byGroup = new Map<string, number[]>();
    for (const message of received) {
      const [group, n] = message.Body!.split(':');
      assert.equal(message.Attributes?.MessageGroupId, group);
      assert.equal(message.MessageAttributes?.seq?.StringValue, n);
      byGroup.set(group!, [...(byGroup.get(group!) ?? []), Number(n)]);
    }
    for (const group of FIFO_GROUPS) {
      assert.deepEqual(
        byGroup.get(group),
        Array.from({ length: FIFO_PER_GROUP }, (_, i) => i),
        `group ${group} complete, in order, once each`,
      );
    }
  });

  it('says what it needs and what is wrong (exit 2 for usage, 1 for an unreachable Pier)', async () => {
    const missing = await runPier(['handover', 'sqs']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /handover sqs needs --endpoint URL/);
    const help = await runPier(['handover', 'sqs', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Not carried \(SQS cannot set them\): SentTimestamp, receive counts/);
    const unreachable = await runPier([
      'handover',
      'sqs',
      '--endpoint',
      remote.sqs!.endpoint,
      '--from',
      'http://127.0.0.1:1',
    ]);
    assert.equal(unreachable.code, 1, unreachable.stderr);
    assert.match(
      unreachable.stderr,
      /cannot list Pier's SQS queues: .*is Pier running with its SQS listener/,
    );
  });
});

/** Receives and deletes until the queue answers empty (FIFO: group order kept by receiving in turn). */
async function drain(client: SQSClient, url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: Messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
}
