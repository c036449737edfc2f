/**
 * Regions, as @aws-sdk/client-sqs sees them over real sockets: two clients signing for different
 * regions against one endpoint have separate queues (as two AWS regions do), their QueueUrls and ARNs
 * carry the region, QueueUrls in AWS's own host forms name their region, another region's URL is
 * refused as AWS refuses a request signed for the wrong region, and a restart keeps the regions apart.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';

const ACCOUNT = '000000000000';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

function client(endpoint: string, region: string): SQSClient {
  return new SQSClient({ endpoint, region, credentials });
}

async function arnOf(sqs: SQSClient, QueueUrl: string): Promise<string | undefined> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return out.Attributes?.QueueArn;
}

describe('two regions on one endpoint', () => {
  let broker: TestBroker;
  let east: SQSClient;
  let west: SQSClient;
  before(async () => {
    // The default region (--sqs-region) is us-east-1.
    broker = await startTestBroker({ amqpPort: false, sqsPort: 0 });
    east = client(broker.sqs!.endpoint, 'us-east-1');
    west = client(broker.sqs!.endpoint, 'eu-west-1');
  });
  after(async () => {
    east.destroy();
    west.destroy();
    await broker.stop();
  });

  test('one name is two queues: URLs, ARNs, ListQueues and messages are per region', async () => {
    const endpoint = broker.sqs!.endpoint;
    const eastUrl = (await east.send(new CreateQueueCommand({ QueueName: 'orders' }))).QueueUrl!;
    // Attributes that differ from the other region's queue: no QueueAlreadyExists across regions.
    const westUrl = (
      await west.send(
        new CreateQueueCommand({
          QueueName: 'orders',
          Attributes: { DelaySeconds: '0', VisibilityTimeout: '45' },
        }),
      )
    ).QueueUrl!;
    assert.equal(eastUrl, `${endpoint}/${ACCOUNT}/orders`);
    assert.equal(westUrl, `${endpoint}/queue/eu-west-1/${ACCOUNT}/orders`);
    assert.equal(await arnOf(east, eastUrl), `arn:aws:sqs:us-east-1:${ACCOUNT}:orders`);
    assert.equal(await arnOf(west, westUrl), `arn:aws:sqs:eu-west-1:${ACCOUNT}:orders`);

    await west.send(new CreateQueueCommand({ QueueName: 'only-west' }));
    assert.deepEqual((await east.send(new ListQueuesCommand({}))).QueueUrls, [eastUrl]);
    assert.deepEqual((await west.send(new ListQueuesCommand({}))).QueueUrls, [
      `${endpoint}/queue/eu-west-1/${ACCOUNT}/only-west`,
      westUrl,
    ]);
    assert.equal((await west.send(new GetQueueUrlCommand({ QueueName: 'orders' }))).QueueUrl, westUrl);
    await assert.rejects(east.send(new GetQueueUrlCommand({ QueueName: 'only-west' })), {
      name: 'QueueDoesNotExist',
    });

    await west.send(new SendMessageCommand({ QueueUrl: westUrl, MessageBody: 'to the west' }));
    const eastGot = await east.send(new ReceiveMessageCommand({ QueueUrl: eastUrl, WaitTimeSeconds: 0 }));
    assert.equal(eastGot.Messages, undefined);
    const westGot = await west.send(new ReceiveMessageCommand({ QueueUrl: westUrl, WaitTimeSeconds: 0 }));
    assert.equal(westGot.Messages?.[0]?.Body, 'to the west');
  });

  test("AWS's own URL forms name their region; a URL of another region is refused as AWS refuses it", async () => {
    await west.send(new CreateQueueCommand({ QueueName: 'aws-form' }));
    for (const url of [
      `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/aws-form`,
      `https://eu-west-1.queue.amazonaws.com/${ACCOUNT}/aws-form`,
    ]) {
      assert.equal(await arnOf(west, url), `arn:aws:sqs:eu-west-1:${ACCOUNT}:aws-form`, url);
    }
    // Signed for us-east-1, addressed to an eu-west-1 queue: on AWS the request reaches eu-west-1's
    // endpoint and is refused with 403 SignatureDoesNotMatch (aws/aws-sdk-cpp#93, aws/aws-sdk-ruby#179).
    for (const url of [
      `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/aws-form`,
      `${broker.sqs!.endpoint}/queue/eu-west-1/${ACCOUNT}/aws-form`,
    ]) {
      await assert.rejects(arnOf(east, url), (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(error.name, 'SignatureDoesNotMatch');
        assert.equal(error.message, "Credential should be scoped to a valid region, not 'us-east-1'. ");
        assert.equal(error.$metadata?.httpStatusCode, 403);
        return true;
      });
    }
    // queue.amazonaws.com is us-east-1's legacy endpoint.
    await east.send(new CreateQueueCommand({ QueueName: 'aws-form' }));
    assert.equal(
      await arnOf(east, `https://queue.amazonaws.com/${ACCOUNT}/aws-form`),
      `arn:aws:sqs:us-east-1:${ACCOUNT}:aws-form`,
    );
  });

  test('a dead-letter queue or move-task source of another region does not exist', async () => {
    await east.send(new CreateQueueCommand({ QueueName: 'east-dlq' }));
    await assert.rejects(
      west.send(
        new CreateQueueCommand({
          QueueName: 'west-src',
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:east-dlq`,
              maxReceiveCount: 3,
            }),
          },
        }),
      ),
      (error: Error) => {
        assert.equal(error.name, 'InvalidParameterValue');
        assert.match(error.message, /Dead letter target does not exist\./);
        return true;
      },
    );
    // Move tasks too: another region's queue ARN names no queue.
    const eastArn = `arn:aws:sqs:us-east-1:${ACCOUNT}:east-dlq`;
    await assert.rejects(west.send(new StartMessageMoveTaskCommand({ SourceArn: eastArn })), {
      name: 'ResourceNotFoundException',
    });
    await assert.rejects(west.send(new ListMessageMoveTasksCommand({ SourceArn: eastArn })), {
      name: 'ResourceNotFoundException',
    });
  });
});

test('a restart keeps the regions apart', async () => {
  const dataDir = tempDir('pier-sqs-regions-');
  const options = { dataDir, amqpPort: false, sqsPort: 0 } as const;
  const first = await startTestBroker(options);
  const east1 = client(first.sqs!.endpoint, 'us-east-1');
  const west1 = client(first.sqs!.endpoint, 'eu-west-1');
  await east1.send(new CreateQueueCommand({ QueueName: 'kept', Attributes: { VisibilityTimeout: '11' } }));
  await west1.send(new CreateQueueCommand({ QueueName: 'kept', Attributes: { VisibilityTimeout: '22' } }));
  const westUrl1 = `${first.sqs!.endpoint}/queue/eu-west-1/${ACCOUNT}/kept`;
  await west1.send(new SendMessageCommand({ QueueUrl: westUrl1, MessageBody: 'west body' }));
  east1.destroy();
  west1.destroy();
  await first.close();

  const second = await startTestBroker(options);
  const east2 = client(second.sqs!.endpoint, 'us-east-1');
  const west2 = client(second.sqs!.endpoint, 'eu-west-1');
  try {
    const eastUrl = (await east2.send(new GetQueueUrlCommand({ QueueName: 'kept' }))).QueueUrl!;
    const westUrl = (await west2.send(new GetQueueUrlCommand({ QueueName: 'kept' }))).QueueUrl!;
    assert.equal(eastUrl, `${second.sqs!.endpoint}/${ACCOUNT}/kept`);
    assert.equal(westUrl, `${second.sqs!.endpoint}/queue/eu-west-1/${ACCOUNT}/kept`);
    const timeout = async (sqs: SQSClient, QueueUrl: string) =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout', 'QueueArn'] }),
        )
      ).Attributes;
    assert.deepEqual(await timeout(east2, eastUrl), {
      VisibilityTimeout: '11',
      QueueArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:kept`,
    });
    assert.deepEqual(await timeout(west2, westUrl), {
      VisibilityTimeout: '22',
      QueueArn: `arn:aws:sqs:eu-west-1:${ACCOUNT}:kept`,
    });
    const got = await west2.send(new ReceiveMessageCommand({ QueueUrl: westUrl, WaitTimeSeconds: 0 }));
    assert.equal(got.Messages?.[0]?.Body, 'west body');
    const none = await east2.send(new ReceiveMessageCommand({ QueueUrl: eastUrl, WaitTimeSeconds: 0 }));
    assert.equal(none.Messages, undefined);
  } finally {
    east2.destroy();
    west2.destroy();
    await second.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
