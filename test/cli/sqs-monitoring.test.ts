/**
 * `pier sqs list|describe` as an operator runs them against a child broker (through its control
 * socket), after the AWS SDK sent, received and delayed messages: the depths printed must match
 * what the client did. CLI runs use async child processes only.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SqsQueueDepth } from '../../src/core/sqs/monitoring.js';
import { type ChildBroker, runPier as pier, spawnBroker, tempDir } from '../helpers/broker.js';

describe('pier sqs: queue depth of a running broker', () => {
  let dataDir: string;
  let broker: ChildBroker;
  let sqs: SQSClient;

  before(async () => {
    dataDir = tempDir();
    broker = await spawnBroker(dataDir, ['--sqs-port', '0'], ['amqp', 'sqs']);
    const listener = broker.listeners.get('sqs')!;
    sqs = new SQSClient({
      endpoint: `http://${listener.host}:${listener.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    });
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'work-dlq' }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'work',
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 5 }),
        },
      }),
    );
    for (const body of ['a', 'b', 'c'])
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'later', DelaySeconds: 900 }));
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
    assert.equal(Messages?.length, 1);
  });

  after(async () => {
    sqs.destroy();
    if (broker && broker.process.exitCode === null) {
      broker.process.kill('SIGTERM');
      await broker.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists every queue with visible, in-flight and delayed counts and its dead-letter queue', async () => {
    const run = await pier(['sqs', 'list', '--json', '--data-dir', dataDir]);
    assert.equal(run.code, 0, run.stderr);
    const depths = JSON.parse(run.stdout) as SqsQueueDepth[];
    assert.deepEqual(
      depths.map((d) => [d.name, d.region, d.visible, d.inFlight, d.delayed, d.deadLetterQueue ?? null]),
      [
        ['work', 'us-east-1', 2, 1, 1, 'work-dlq'],
        ['work-dlq', 'us-east-1', 0, 0, 0, null],
      ],
    );
    const table = await pier(['sqs', 'list', '--data-dir', dataDir]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^queue\s+type\s+visible\s+in-flight\s+delayed/m);
    assert.match(table.stdout, /^work\s+standard\s+2\s+1\s+1\s+\d+\s+work-dlq\s+us-east-1$/m);
  });

  it('describes a queue, naming the queues that dead-letter into it; an unknown one is refused', async () => {
    const run = await pier(['sqs', 'describe', 'work-dlq', '--json', '--data-dir', dataDir]);
    assert.equal(run.code, 0, run.stderr);
    const described = JSON.parse(run.stdout) as { arn: string; deadLetterSources: string[] };
    assert.equal(described.arn, 'arn:aws:sqs:us-east-1:000000000000:work-dlq');
    assert.deepEqual(described.deadLetterSources, ['work']);
    // REGION/QUEUE names a queue of any region.
    const byRegion = await pier(['sqs', 'describe', 'us-east-1/work-dlq', '--json', '--data-dir', dataDir]);
    assert.equal(JSON.parse(byRegion.stdout).arn, described.arn);
    const otherRegion = await pier(['sqs', 'describe', 'eu-west-1/work-dlq', '--data-dir', dataDir]);
    assert.equal(otherRegion.code, 1);
    const missing = await pier(['sqs', 'describe', 'nope', '--data-dir', dataDir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no SQS queue 'nope'/);
  });
});
