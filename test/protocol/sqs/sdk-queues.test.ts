/**
 * The queue-management actions as @aws-sdk/client-sqs (JSON protocol) sees them, against an
 * in-process broker on a free port: URLs, attributes, listing and pagination, purge, dead-letter
 * sources, tags, permissions, move tasks, and AWS's error codes for each refusal.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  AddPermissionCommand,
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  RemovePermissionCommand,
  SetQueueAttributesCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  TagQueueCommand,
  UntagQueueCommand,
} from '@aws-sdk/client-sqs';
import { ManualClock } from '../../../src/index.js';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';

const ACCOUNT = '000000000000';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

let broker: TestBroker;
let sqs: SQSClient;
const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));

before(async () => {
  broker = await startTestBroker({ amqpPort: false, sqsPort: 0, clock });
  sqs = new SQSClient({ endpoint: broker.sqs!.endpoint, region: 'us-east-1', credentials });
});
after(async () => {
  sqs.destroy();
  await broker.stop();
});

/** The error an SDK call rejects with: name (the model shape), query code, HTTP status, message. */
async function refusal(
  promise: Promise<unknown>,
): Promise<{ name: string; code: string; status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { Code?: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, code: e.Code ?? '', status: e.$metadata?.httpStatusCode ?? 0, message: e.message };
  }
  assert.fail('the call succeeded');
}

async function create(name: string, Attributes?: Record<string, string>, tags?: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes, tags }));
  return QueueUrl!;
}

const arn = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;

describe('queues', () => {
  test('CreateQueue answers a URL on the listener; GetQueueUrl finds it; the URL is reachable', async () => {
    const url = await create('urls');
    assert.equal(url, `${broker.sqs!.endpoint}/${ACCOUNT}/urls`);
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: 'urls' }));
    assert.equal(found.QueueUrl, url);
    const owned = await sqs.send(
      new GetQueueUrlCommand({ QueueName: 'urls', QueueOwnerAWSAccountId: ACCOUNT }),
    );
    assert.equal(owned.QueueUrl, url);
    const other = await refusal(
      sqs.send(new GetQueueUrlCommand({ QueueName: 'urls', QueueOwnerAWSAccountId: '123456789012' })),
    );
    assert.equal(other.name, 'QueueDoesNotExist');
    // A client configured for real AWS still reaches Pier: queue calls go to the QueueUrl's host.
    const awsClient = new SQSClient({ region: 'us-east-1', credentials });
    try {
      const attributes = await awsClient.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      );
      assert.equal(attributes.Attributes?.QueueArn, arn('urls'));
    } finally {
      awsClient.destroy();
    }
  });

  test('CreateQueue of an existing name: same attributes → same URL, different → QueueNameExists', async () => {
    const url = await create('again', { VisibilityTimeout: '45' });
    assert.equal(await create('again', { VisibilityTimeout: '45' }), url);
    assert.equal(await create('again'), url);
    const clash = await refusal(
      sqs.send(new CreateQueueCommand({ QueueName: 'again', Attributes: { VisibilityTimeout: '46' } })),
    );
    assert.equal(clash.name, 'QueueNameExists');
    assert.equal(clash.code, 'QueueAlreadyExists');
    assert.equal(clash.status, 400);
    assert.match(clash.message, /different value for attribute VisibilityTimeout/);
  });

  test('CreateQueue validates names and attributes', async () => {
    const badName = await refusal(sqs.send(new CreateQueueCommand({ QueueName: 'has space' })));
    assert.equal(badName.code, 'InvalidParameterValue');
    const fifoName = await refusal(
      sqs.send(new CreateQueueCommand({ QueueName: 'plain', Attributes: { FifoQueue: 'true' } })),
    );
    assert.equal(fifoName.code, 'InvalidParameterValue');
    const range = await refusal(
      sqs.send(new CreateQueueCommand({ QueueName: 'r', Attributes: { DelaySeconds: '901' } })),
    );
    assert.equal(range.name, 'InvalidAttributeValue');
    const unknown = await refusal(
      sqs.send(new CreateQueueCommand({ QueueName: 'r', Attributes: { Colour: 'red' } as never })),
    );
    assert.equal(unknown.name, 'InvalidAttributeName');
    const noDlq = await refusal(
      sqs.send(
        new CreateQueueCommand({
          QueueName: 'r',
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn('nowhere'), maxReceiveCount: 3 }),
          },
        }),
      ),
    );
    assert.equal(noDlq.code, 'InvalidParameterValue');
    assert.match(noDlq.message, /Dead letter target does not exist/);
    await refusal(sqs.send(new GetQueueUrlCommand({ QueueName: 'r' })));
  });

  test('GetQueueAttributes: All, chosen names, the computed ones, and unknown names', async () => {
    const createdAtSeconds = Math.floor(clock.now() / 1000);
    const url = await create('attrs.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const all = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes!;
    assert.equal(all.QueueArn, arn('attrs.fifo'));
    assert.equal(all.FifoQueue, 'true');
    assert.equal(all.ContentBasedDeduplication, 'true');
    assert.equal(all.VisibilityTimeout, '30');
    assert.equal(all.ApproximateNumberOfMessages, '0');
    assert.equal(all.ApproximateNumberOfMessagesNotVisible, '0');
    assert.equal(all.ApproximateNumberOfMessagesDelayed, '0');
    assert.equal(all.CreatedTimestamp, String(createdAtSeconds));
    assert.equal(all.LastModifiedTimestamp, String(createdAtSeconds));
    const some = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['DelaySeconds', 'QueueArn'] }),
    );
    assert.deepEqual(some.Attributes, { DelaySeconds: '0', QueueArn: arn('attrs.fifo') });
    const none = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url }));
    assert.equal(none.Attributes, undefined);
    const bad = await refusal(
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Colour' as never] })),
    );
    assert.equal(bad.name, 'InvalidAttributeName');
    assert.equal(bad.message, 'Unknown Attribute Colour.');
  });

  test('SetQueueAttributes changes settings and LastModifiedTimestamp; fixed and invalid ones are refused', async () => {
    const url = await create('settable');
    clock.advance(5_000);
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '120' } }),
    );
    const after = (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['VisibilityTimeout', 'CreatedTimestamp', 'LastModifiedTimestamp'],
        }),
      )
    ).Attributes!;
    assert.equal(after.VisibilityTimeout, '120');
    assert.equal(Number(after.LastModifiedTimestamp) - Number(after.CreatedTimestamp), 5);
    const fifo = await refusal(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { FifoQueue: 'true' } })),
    );
    assert.equal(fifo.name, 'InvalidAttributeName');
    const range = await refusal(
      sqs.send(
        new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { MessageRetentionPeriod: '59' } }),
      ),
    );
    assert.equal(range.name, 'InvalidAttributeValue');
    const readOnly = await refusal(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { QueueArn: 'x' } })),
    );
    assert.equal(readOnly.name, 'InvalidAttributeName');
  });

  test('DeleteQueue: the queue is gone for every action', async () => {
    const url = await create('doomed');
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    const gone = await refusal(sqs.send(new GetQueueUrlCommand({ QueueName: 'doomed' })));
    assert.deepEqual(
      [gone.name, gone.code, gone.status],
      ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 400],
    );
    const again = await refusal(sqs.send(new DeleteQueueCommand({ QueueUrl: url })));
    assert.equal(again.name, 'QueueDoesNotExist');
  });

  test('PurgeQueue: once every 60 seconds (PurgeQueueInProgress, 403)', async () => {
    const url = await create('purged');
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    const soon = await refusal(sqs.send(new PurgeQueueCommand({ QueueUrl: url })));
    assert.deepEqual(
      [soon.name, soon.code, soon.status],
      ['PurgeQueueInProgress', 'AWS.SimpleQueueService.PurgeQueueInProgress', 403],
    );
    clock.advance(60_000);
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  });
});

describe('listing', () => {
  const names = ['list-a', 'list-b', 'list-c', 'list-d', 'list-e'];
  before(async () => {
    for (const name of names) await create(name);
  });

  test('ListQueues: by prefix, all at once without MaxResults', async () => {
    const all = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'list-' }));
    assert.deepEqual(
      all.QueueUrls,
      names.map((name) => `${broker.sqs!.endpoint}/${ACCOUNT}/${name}`),
    );
    assert.equal(all.NextToken, undefined);
    const none = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'nothing-' }));
    assert.equal(none.QueueUrls, undefined);
  });

  test('ListQueues: MaxResults pages with NextToken', async () => {
    const seen: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await sqs.send(
        new ListQueuesCommand({ QueueNamePrefix: 'list-', MaxResults: 2, NextToken }),
      );
      seen.push(...page.QueueUrls!.map((url) => url.split('/').pop()!));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    assert.deepEqual(seen, names);
    assert.equal(pages, 3);
    const bad = await refusal(sqs.send(new ListQueuesCommand({ MaxResults: 1001 })));
    assert.equal(bad.code, 'InvalidParameterValue');
    const zero = await refusal(sqs.send(new ListQueuesCommand({ MaxResults: 0 })));
    assert.equal(zero.code, 'InvalidParameterValue');
    const token = await refusal(sqs.send(new ListQueuesCommand({ MaxResults: 1, NextToken: 'garbage' })));
    assert.equal(token.code, 'InvalidParameterValue');
  });

  test('ListDeadLetterSourceQueues lists the queues whose redrive policy names it, in pages', async () => {
    const dlq = await create('dead-letters');
    const RedrivePolicy = JSON.stringify({ deadLetterTargetArn: arn('dead-letters'), maxReceiveCount: 3 });
    for (const name of ['src-1', 'src-2', 'src-3']) await create(name, { RedrivePolicy });
    await create('src-none');
    const all = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }));
    assert.deepEqual(
      all.queueUrls!.map((url) => url.split('/').pop()),
      ['src-1', 'src-2', 'src-3'],
    );
    const first = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq, MaxResults: 2 }));
    assert.equal(first.queueUrls!.length, 2);
    assert.ok(first.NextToken);
    const second = await sqs.send(
      new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq, MaxResults: 2, NextToken: first.NextToken }),
    );
    assert.deepEqual(
      second.queueUrls!.map((url) => url.split('/').pop()),
      ['src-3'],
    );
    assert.equal(second.NextToken, undefined);
    const policy = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: `${broker.sqs!.endpoint}/${ACCOUNT}/src-1`,
        AttributeNames: ['RedrivePolicy'],
      }),
    );
    assert.deepEqual(JSON.parse(policy.Attributes!.RedrivePolicy!), {
      deadLetterTargetArn: arn('dead-letters'),
      maxReceiveCount: 3,
    });
  });
});

describe('tags', () => {
  test('CreateQueue tags, TagQueue, UntagQueue and ListQueueTags', async () => {
    const url = await create('tagged', undefined, { team: 'payments' });
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { env: 'test', team: 'billing' } }));
    assert.deepEqual((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, {
      team: 'billing',
      env: 'test',
    });
    await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ['team', 'absent'] }));
    assert.deepEqual((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, { env: 'test' });
    await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ['env'] }));
    assert.equal((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, undefined);
  });

  test('tag limits: 50 a queue, key and value lengths', async () => {
    const url = await create('tag-limits');
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: fifty }));
    const tooMany = await refusal(sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { one: 'more' } })));
    assert.equal(tooMany.code, 'InvalidParameterValue');
    // Re-tagging an existing key does not count twice.
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { k0: 'new' } }));
    const longKey = await refusal(
      sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { ['k'.repeat(129)]: 'v' } })),
    );
    assert.equal(longKey.code, 'InvalidParameterValue');
    const longValue = await refusal(
      sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { k1: 'v'.repeat(257) } })),
    );
    assert.equal(longValue.code, 'InvalidParameterValue');
    const createTooMany = await refusal(
      sqs.send(
        new CreateQueueCommand({
          QueueName: 'tag-limits-2',
          tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
        }),
      ),
    );
    assert.equal(createTooMany.code, 'InvalidParameterValue');
  });
});

describe('permissions', () => {
  test('AddPermission writes a policy statement per label; RemovePermission takes it out', async () => {
    const url = await create('shared');
    await sqs.send(
      new AddPermissionCommand({
        QueueUrl: url,
        Label: 'send',
        AWSAccountIds: ['111122223333'],
        Actions: ['SendMessage'],
      }),
    );
    await sqs.send(
      new AddPermissionCommand({
        QueueUrl: url,
        Label: 'consume',
        AWSAccountIds: ['111122223333', '444455556666'],
        Actions: ['ReceiveMessage', 'DeleteMessage'],
      }),
    );
    const read = async () =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Policy'] })))
        .Attributes?.Policy;
    const policy = JSON.parse((await read())!);
    assert.equal(policy.Version, '2008-10-17');
    assert.deepEqual(policy.Statement, [
      {
        Sid: 'send',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::111122223333:root' },
        Action: 'SQS:SendMessage',
        Resource: arn('shared'),
      },
      {
        Sid: 'consume',
        Effect: 'Allow',
        Principal: { AWS: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:root'] },
        Action: ['SQS:ReceiveMessage', 'SQS:DeleteMessage'],
        Resource: arn('shared'),
      },
    ]);
    const duplicate = await refusal(
      sqs.send(
        new AddPermissionCommand({
          QueueUrl: url,
          Label: 'send',
          AWSAccountIds: ['111122223333'],
          Actions: ['*'],
        }),
      ),
    );
    assert.equal(duplicate.code, 'InvalidParameterValue');
    assert.match(duplicate.message, /Label is invalid. Reason: Already exists/);
    const badAction = await refusal(
      sqs.send(
        new AddPermissionCommand({
          QueueUrl: url,
          Label: 'x',
          AWSAccountIds: ['111122223333'],
          Actions: ['CreateQueue'],
        }),
      ),
    );
    assert.equal(badAction.code, 'InvalidParameterValue');

    await sqs.send(new RemovePermissionCommand({ QueueUrl: url, Label: 'send' }));
    assert.deepEqual(
      JSON.parse((await read())!).Statement.map((s: { Sid: string }) => s.Sid),
      ['consume'],
    );
    const unknown = await refusal(sqs.send(new RemovePermissionCommand({ QueueUrl: url, Label: 'send' })));
    assert.equal(unknown.code, 'InvalidParameterValue');
    assert.match(unknown.message, /can't find label/);
    await sqs.send(new RemovePermissionCommand({ QueueUrl: url, Label: 'consume' }));
    assert.equal(await read(), undefined);
  });
});

describe('message move tasks', () => {
  test('start, list and cancel map the core refusals to the errors AWS gives', async () => {
    await create('move-dlq');
    await create('move-src', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn('move-dlq'), maxReceiveCount: 1 }),
    });
    const notDlq = await refusal(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn('move-src') })));
    assert.equal(notDlq.code, 'InvalidParameterValue');
    assert.match(notDlq.message, /must be configured as a Dead Letter Queue/);
    const missing = await refusal(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn('no-such-queue') })),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');
    assert.equal(missing.status, 404);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn('move-dlq') }));
    assert.ok(TaskHandle);
    const listed = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: arn('move-dlq'), MaxResults: 10 }),
    );
    assert.equal(listed.Results!.length, 1);
    assert.equal(listed.Results![0]!.SourceArn, arn('move-dlq'));
    const badHandle = await refusal(
      sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'not-a-handle' })),
    );
    assert.deepEqual(badHandle, {
      name: 'InvalidParameterValue',
      code: 'InvalidParameterValue',
      status: 400,
      message: 'Value for parameter TaskHandle is invalid.',
    });
    const unknownHandle = Buffer.from(JSON.stringify({ taskId: 'x', sourceArn: arn('move-dlq') })).toString(
      'base64',
    );
    assert.deepEqual(
      await refusal(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: unknownHandle }))),
      {
        name: 'ResourceNotFoundException',
        code: 'ResourceNotFoundException',
        status: 404,
        message: 'Task does not exist.',
      },
    );
    const badMax = await refusal(
      sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn('move-dlq'), MaxResults: 11 })),
    );
    assert.equal(badMax.code, 'InvalidParameterValue');
  });
});

describe('restart', () => {
  test('queues, their attributes and tags come back after a restart on the same data directory', async () => {
    const dataDir = tempDir('pier-sqs-restart-');
    const options = { dataDir, amqpPort: false, sqsPort: 0 } as const;
    const first = await startTestBroker(options);
    const client1 = new SQSClient({ endpoint: first.sqs!.endpoint, region: 'us-east-1', credentials });
    await client1.send(
      new CreateQueueCommand({
        QueueName: 'kept',
        Attributes: { VisibilityTimeout: '77' },
        tags: { owner: 'me' },
      }),
    );
    client1.destroy();
    await first.close();

    const second = await startTestBroker(options);
    const client2 = new SQSClient({ endpoint: second.sqs!.endpoint, region: 'us-east-1', credentials });
    try {
      const { QueueUrl } = await client2.send(new GetQueueUrlCommand({ QueueName: 'kept' }));
      assert.equal(QueueUrl, `${second.sqs!.endpoint}/${ACCOUNT}/kept`);
      const attributes = await client2.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout'] }),
      );
      assert.equal(attributes.Attributes?.VisibilityTimeout, '77');
      assert.deepEqual((await client2.send(new ListQueueTagsCommand({ QueueUrl }))).Tags, { owner: 'me' });
    } finally {
      client2.destroy();
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
