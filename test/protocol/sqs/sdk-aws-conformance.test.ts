/**
 * Issue 14: where Pier used to differ from AWS SQS, as @aws-sdk/client-sqs (JSON protocol) sees it
 * over a real socket: error types and query codes, QueueUrl forms, FIFO deduplication around purges
 * and scope changes, batches, attribute validation, QueueDeletedRecently, AWSTraceHeader, and move
 * task errors. Each refusal is asserted as the SDK reports it: name (__type's shape), Code (from
 * x-amzn-query-error), HTTP status and message.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ManualClock } from '../../../src/index.js';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';

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

interface Refusal {
  name: string;
  code: string;
  status: number;
  message: string;
}

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { Code?: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, code: e.Code ?? '', status: e.$metadata?.httpStatusCode ?? 0, message: e.message };
  }
  assert.fail('the call succeeded');
}

/**
 * A JSON 1.0 request as raw HTTP, to see the wire answer the SDK interprets: status, __type, message
 * and x-amzn-query-error. The broker is in loopback mode (any well-formed signature), so the request
 * carries a well-formed SigV4 Authorization header with a dummy signature.
 */
async function rawJson(
  action: string,
  body: Record<string, unknown>,
): Promise<{ status: number; queryError: string | null; type: string; message: string }> {
  const response = await fetch(`${broker.sqs!.endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      ...dummyAuthorization(),
    },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { __type: string; message: string };
  return {
    status: response.status,
    queryError: response.headers.get('x-amzn-query-error'),
    type: answer.__type,
    message: answer.message,
  };
}

function dummyAuthorization(): Record<string, string> {
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return {
    'x-amz-date': date,
    authorization:
      `AWS4-HMAC-SHA256 Credential=AKIDTEST/${date.slice(0, 8)}/us-east-1/sqs/aws4_request, ` +
      `SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
  };
}

/** A query-protocol request as raw HTTP (form body) to `path`: status and XML body. */
async function rawQuery(
  path: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; contentType: string | null }> {
  const response = await fetch(`${broker.sqs!.endpoint}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...dummyAuthorization(), ...headers },
    body: new URLSearchParams(params).toString(),
  });
  return {
    status: response.status,
    body: await response.text(),
    contentType: response.headers.get('content-type'),
  };
}

/** The <Code> and <Message> of a query-protocol error body. */
function queryError(body: string): { code: string; message: string } {
  return {
    code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? '',
    message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '',
  };
}

async function create(name: string, Attributes?: Record<string, string>): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes }))).QueueUrl!;
}

async function fifo(name: string): Promise<string> {
  return create(name, { FifoQueue: 'true' });
}

async function receive(QueueUrl: string, extra: Record<string, unknown> = {}) {
  return (
    (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, ...extra }))).Messages ??
    []
  );
}

describe('error types', () => {
  test('a missing queue: QueueDoesNotExist, AWS.SimpleQueueService.NonExistentQueue, 400', async () => {
    assert.deepEqual(await refusal(sqs.send(new GetQueueUrlCommand({ QueueName: 'absent' }))), {
      name: 'QueueDoesNotExist',
      code: 'AWS.SimpleQueueService.NonExistentQueue',
      status: 400,
      message: 'The specified queue does not exist.',
    });
  });

  test('an invalid value: InvalidParameterValueException with the query code InvalidParameterValue', async () => {
    const url = await create('errors-invalid');
    const message =
      'Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.';
    // The SDK names an error outside the model by the query code of x-amzn-query-error.
    assert.deepEqual(
      await refusal(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 }))),
      { name: 'InvalidParameterValue', code: 'InvalidParameterValue', status: 400, message },
    );
    assert.deepEqual(await rawJson('SendMessage', { QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 }), {
      status: 400,
      queryError: 'InvalidParameterValue;Sender',
      type: 'com.amazonaws.sqs#InvalidParameterValueException',
      message,
    });
  });

  test('a missing parameter: MissingRequiredParameterException with the query code MissingParameter', async () => {
    const url = await fifo('errors-missing.fifo');
    assert.deepEqual(
      await refusal(
        sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' })),
      ),
      {
        name: 'MissingParameter',
        code: 'MissingParameter',
        status: 400,
        message: 'The request must contain the parameter MessageGroupId.',
      },
    );
    assert.deepEqual(
      await rawJson('SendMessage', { QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' }),
      {
        status: 400,
        queryError: 'MissingParameter;Sender',
        type: 'com.amazonaws.sqs#MissingRequiredParameterException',
        message: 'The request must contain the parameter MessageGroupId.',
      },
    );
  });

  test('QueueDoesNotExist on the wire: the shape name as __type, the query code in the header', async () => {
    assert.deepEqual(await rawJson('GetQueueUrl', { QueueName: 'absent' }), {
      status: 400,
      queryError: 'AWS.SimpleQueueService.NonExistentQueue;Sender',
      type: 'com.amazonaws.sqs#QueueDoesNotExist',
      message: 'The specified queue does not exist.',
    });
  });
});

describe('query protocol', () => {
  test('a missing queue: the query code and AWS\'s "for this wsdl version" text', async () => {
    const answer = await rawQuery('/', { Action: 'GetQueueUrl', QueueName: 'absent' });
    assert.equal(answer.status, 400);
    assert.deepEqual(queryError(answer.body), {
      code: 'AWS.SimpleQueueService.NonExistentQueue',
      message: 'The specified queue does not exist for this wsdl version.',
    });
  });

  test('an action that names no queue, sent to a queue URL: InvalidAction', async () => {
    const url = await create('query-invalid-action');
    const answer = await rawQuery(new URL(url).pathname, { Action: 'ListQueues' });
    assert.equal(answer.status, 400);
    assert.deepEqual(queryError(answer.body), {
      code: 'InvalidAction',
      message: 'The action ListQueues is not valid for this endpoint.',
    });
    // A queue action there works, QueueUrl taken from the path.
    const ok = await rawQuery(new URL(url).pathname, { Action: 'GetQueueAttributes' });
    assert.equal(ok.status, 200);
  });

  test('an empty receive is <ReceiveMessageResult/>; a batch without entries is EmptyBatchRequest', async () => {
    const url = await create('query-empty');
    const empty = await rawQuery('/', { Action: 'ReceiveMessage', QueueUrl: url });
    assert.equal(empty.status, 200);
    assert.match(empty.body, /<ReceiveMessageResponse [^>]*><ReceiveMessageResult\/><ResponseMetadata>/);
    for (const [action, entry] of [
      ['SendMessageBatch', 'SendMessageBatchRequestEntry'],
      ['DeleteMessageBatch', 'DeleteMessageBatchRequestEntry'],
      ['ChangeMessageVisibilityBatch', 'ChangeMessageVisibilityBatchRequestEntry'],
    ] as const) {
      const answer = await rawQuery('/', { Action: action, QueueUrl: url });
      assert.equal(answer.status, 400);
      assert.deepEqual(queryError(answer.body), {
        code: 'AWS.SimpleQueueService.EmptyBatchRequest',
        message: `There should be at least one ${entry} in the request.`,
      });
    }
  });
});

describe('query protocol: no Action, and JSON answers', () => {
  test('a request to a queue URL without an Action: 404 <UnknownOperationException/>, also when JSON is asked for', async () => {
    const url = await create('query-no-action');
    const path = new URL(url).pathname;
    for (const headers of [{}, { accept: 'application/json' }] as Record<string, string>[]) {
      const posted = await rawQuery(path, {}, headers);
      assert.equal(posted.status, 404);
      assert.equal(posted.body, '<UnknownOperationException/>');
      const got = await fetch(url, { headers: { ...dummyAuthorization(), ...headers } });
      assert.equal(got.status, 404);
      assert.match(await got.text(), /<UnknownOperationException/);
    }
    // At the service root it stays MissingAction.
    const root = await rawQuery('/', {});
    assert.equal(root.status, 400);
    assert.equal(queryError(root.body).code, 'MissingAction');
  });

  test('Accept: application/json answers a query request in JSON: results, received messages and errors', async () => {
    const url = await create('query-json');
    const listed = await rawQuery(
      '/',
      { Action: 'ListQueues', QueueNamePrefix: 'query-json' },
      { accept: 'application/json' },
    );
    assert.equal(listed.status, 200);
    assert.match(listed.contentType ?? '', /^application\/json/);
    const list = JSON.parse(listed.body) as {
      ListQueuesResponse: {
        ListQueuesResult: { queueUrls: string[] };
        ResponseMetadata: { RequestId: string };
      };
    };
    assert.deepEqual(list.ListQueuesResponse.ListQueuesResult.queueUrls, [url]);
    assert.ok(list.ListQueuesResponse.ResponseMetadata.RequestId);
    // Without the header the answer is XML, as before.
    assert.match((await rawQuery('/', { Action: 'ListQueues' })).body, /^<\?xml/);

    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"a": "b\\"c"}' }));
    const received = await rawQuery(
      '/',
      { Action: 'ReceiveMessage', QueueUrl: url, VisibilityTimeout: '0', 'AttributeName.1': 'All' },
      { accept: 'application/json' },
    );
    const messages = (
      JSON.parse(received.body) as {
        ReceiveMessageResponse: {
          ReceiveMessageResult: {
            messages: Array<{ Body: string; Attributes: Array<{ Name: string; Value: string }> }>;
          };
        };
      }
    ).ReceiveMessageResponse.ReceiveMessageResult.messages;
    assert.equal(messages[0]!.Body, '{"a": "b\\"c"}');
    assert.ok(messages[0]!.Attributes.some((a) => a.Name === 'ApproximateReceiveCount' && a.Value === '1'));

    const refused = await rawQuery(
      new URL(url).pathname,
      { Action: 'ListQueues' },
      { accept: 'application/json' },
    );
    assert.equal(refused.status, 400);

    // Absent members are null, as AWS answered when recorded (an empty ListQueues; a message
    // received without attributes).
    const none = await rawQuery(
      '/',
      { Action: 'ListQueues', QueueNamePrefix: 'no-such-prefix' },
      { accept: 'application/json' },
    );
    assert.equal(
      none.body.replace(/"RequestId":"[^"]+"/, '"RequestId":"id"'),
      '{"ListQueuesResponse":{"ListQueuesResult":{"NextExclusiveStartQueueName":null,"NextToken":null,"queueUrls":null},"ResponseMetadata":{"RequestId":"id"}}}',
    );
    const plain = await rawQuery(
      '/',
      { Action: 'ReceiveMessage', QueueUrl: url, VisibilityTimeout: '0' },
      { accept: 'application/json' },
    );
    const [message] = (
      JSON.parse(plain.body) as { ReceiveMessageResponse: { ReceiveMessageResult: { messages: object[] } } }
    ).ReceiveMessageResponse.ReceiveMessageResult.messages;
    assert.deepEqual(Object.keys(message!), [
      'Attributes',
      'Body',
      'MD5OfBody',
      'MD5OfMessageAttributes',
      'MessageAttributes',
      'MessageId',
      'ReceiptHandle',
    ]);
    assert.equal((message as { Attributes: unknown }).Attributes, null);

    const error = JSON.parse(refused.body) as { Error: { Code: string; Message: string; Type: string } };
    assert.deepEqual(error.Error, {
      Type: 'Sender',
      Code: 'InvalidAction',
      Message: 'The action ListQueues is not valid for this endpoint.',
    });
  });
});

describe('QueueUrl forms', () => {
  test('a bare queue name is taken as the queue of that name', async () => {
    await create('bare-name');
    await sqs.send(new SendMessageCommand({ QueueUrl: 'bare-name', MessageBody: 'by name' }));
    const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'bare-name' }))).QueueUrl!;
    assert.deepEqual(
      (await receive(url)).map((m) => m.Body),
      ['by name'],
    );
  });
});

describe('FIFO', () => {
  test('a group is available again as soon as its in-flight message is visible again, in order', async () => {
    const url = await fifo('unlock.fifo');
    for (const n of [1, 2, 3]) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: `m${n}`,
          MessageGroupId: 'g',
          MessageDeduplicationId: `d${n}`,
        }),
      );
    }
    const [first] = await receive(url, { MaxNumberOfMessages: 1, VisibilityTimeout: 30 });
    assert.equal(first!.Body, 'm1');
    assert.deepEqual(await receive(url), [], 'the group is locked while m1 is in flight');
    // Visibility timeout passes: the group opens, m1 first.
    clock.advance(30_000);
    const again = await receive(url, { MaxNumberOfMessages: 1 });
    assert.equal(again[0]!.Body, 'm1');
    // ChangeMessageVisibility to 0 opens it at once.
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: again[0]!.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
    const third = await receive(url, { MaxNumberOfMessages: 1 });
    assert.equal(third[0]!.Body, 'm1');
    // Deleting it opens the group for the next one.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: third[0]!.ReceiptHandle! }));
    assert.deepEqual(
      (await receive(url)).map((m) => m.Body),
      ['m2', 'm3'],
    );
  });

  test('a purge forgets the deduplication ids', async () => {
    const url = await fifo('purge-dedup.fifo');
    const send = () =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: 'x',
          MessageGroupId: 'g',
          MessageDeduplicationId: 'd',
        }),
      );
    const before = await send();
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    const after = await send();
    assert.notEqual(after.MessageId, before.MessageId);
    assert.deepEqual(
      (await receive(url)).map((m) => m.MessageId),
      [after.MessageId],
    );
  });

  test('changing DeduplicationScope keeps the ids already recorded', async () => {
    const url = await fifo('scope.fifo');
    const send = () =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: 'x',
          MessageGroupId: 'g',
          MessageDeduplicationId: 'd',
        }),
      );
    const first = await send();
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DeduplicationScope: 'messageGroup' } }),
    );
    assert.equal((await send()).MessageId, first.MessageId);
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DeduplicationScope: 'queue' } }),
    );
    assert.equal((await send()).MessageId, first.MessageId);
    assert.equal((await receive(url)).length, 1);
  });
});

describe('batches', () => {
  test("an entry over the queue's MaximumMessageSize fails alone", async () => {
    const url = await create('batch-size', { MaximumMessageSize: '1024' });
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'small', MessageBody: 'x' },
          { Id: 'big', MessageBody: 'y'.repeat(2000) },
        ],
      }),
    );
    assert.deepEqual(
      result.Successful?.map((s) => s.Id),
      ['small'],
    );
    assert.deepEqual(result.Failed, [
      {
        Id: 'big',
        SenderFault: true,
        Code: 'InvalidParameterValue',
        Message: 'One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.',
      },
    ]);
  });

  test('the request total is 1 MiB', async () => {
    const url = await create('batch-total');
    const half = 'z'.repeat(600_000);
    assert.deepEqual(
      await refusal(
        sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: [
              { Id: 'a', MessageBody: half },
              { Id: 'b', MessageBody: half },
            ],
          }),
        ),
      ),
      {
        name: 'BatchRequestTooLong',
        code: 'AWS.SimpleQueueService.BatchRequestTooLong',
        status: 400,
        message: 'Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes.',
      },
    );
  });

  test('a FIFO batch entry without MessageGroupId fails the whole request', async () => {
    const url = await fifo('batch-group.fifo');
    assert.deepEqual(
      await refusal(
        sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: [
              { Id: 'a', MessageBody: 'a', MessageGroupId: 'g', MessageDeduplicationId: 'a' },
              { Id: 'b', MessageBody: 'b', MessageDeduplicationId: 'b' },
            ],
          }),
        ),
      ),
      {
        name: 'MissingParameter',
        code: 'MissingParameter',
        status: 400,
        message: 'The request must contain the parameter MessageGroupId.',
      },
    );
    assert.deepEqual(await receive(url), []);
  });
});

describe('attributes', () => {
  test('FifoQueue and ContentBasedDeduplication are refused on a standard queue', async () => {
    for (const Attributes of [{ FifoQueue: 'false' }, { ContentBasedDeduplication: 'false' }]) {
      const name = Object.keys(Attributes)[0]!;
      assert.deepEqual(
        await refusal(sqs.send(new CreateQueueCommand({ QueueName: 'std-attrs', Attributes }))),
        {
          name: 'InvalidAttributeName',
          code: 'InvalidAttributeName',
          status: 400,
          message: `Unknown Attribute ${name}.`,
        },
      );
    }
  });

  test('DeduplicationScope and FifoThroughputLimit on a standard queue are named as FIFO-only', async () => {
    for (const Attributes of [{ DeduplicationScope: 'queue' }, { FifoThroughputLimit: 'perQueue' }]) {
      const name = Object.keys(Attributes)[0]!;
      assert.deepEqual(
        await refusal(sqs.send(new CreateQueueCommand({ QueueName: 'std-fifo-only', Attributes }))),
        {
          name: 'InvalidAttributeName',
          code: 'InvalidAttributeName',
          status: 400,
          message: `You can specify the ${name} only when FifoQueue is set to true.`,
        },
      );
    }
  });

  test('FifoQueue=true on a FIFO queue is a no-op; FifoQueue=false is refused as a change of type', async () => {
    const url = await fifo('noop.fifo');
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { FifoQueue: 'true' } }));
    assert.deepEqual(
      await refusal(
        sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { FifoQueue: 'false' } })),
      ),
      {
        name: 'InvalidAttributeValue',
        code: 'InvalidAttributeValue',
        status: 400,
        message: 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.',
      },
    );
  });

  test('message attribute names with non-ASCII letters, and Hel.* prefix filters', async () => {
    const url = await create('attr-names');
    const str = (StringValue: string) => ({ DataType: 'String', StringValue });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'x',
        MessageAttributes: { Héllo: str('1'), Hello: str('2'), Other: str('3'), 'bar.baz': str('4') },
      }),
    );
    const [message] = await receive(url, {
      MessageAttributeNames: ['Hel.*', 'bar.*'],
      MessageSystemAttributeNames: ['Approximate.*'],
    });
    assert.deepEqual(Object.keys(message!.MessageAttributes ?? {}).sort(), ['Hello', 'bar.baz']);
    assert.deepEqual(Object.keys(message!.Attributes ?? {}).sort(), [
      'ApproximateFirstReceiveTimestamp',
      'ApproximateReceiveCount',
    ]);
  });
});

describe('lifecycle and tracing', () => {
  test('a deleted queue name is refused for 60 s: QueueDeletedRecently', async () => {
    const url = await create('recreated');
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    assert.deepEqual(await refusal(sqs.send(new CreateQueueCommand({ QueueName: 'recreated' }))), {
      name: 'QueueDeletedRecently',
      code: 'AWS.SimpleQueueService.QueueDeletedRecently',
      status: 400,
      message:
        'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
    });
    clock.advance(60_000);
    assert.equal(await create('recreated'), url);
  });

  test('a restart inside the 60 s still refuses the name; after them it is free', async () => {
    const dataDir = tempDir('pier-sqs-deleted-');
    const restartClock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    const options = { dataDir, amqpPort: false, sqsPort: 0, clock: restartClock } as const;
    const first = await startTestBroker(options);
    const client1 = new SQSClient({ endpoint: first.sqs!.endpoint, region: 'us-east-1', credentials });
    const { QueueUrl } = await client1.send(new CreateQueueCommand({ QueueName: 'gone' }));
    await client1.send(new DeleteQueueCommand({ QueueUrl }));
    client1.destroy();
    await first.close();
    restartClock.advance(30_000);
    const second = await startTestBroker(options);
    const client2 = new SQSClient({ endpoint: second.sqs!.endpoint, region: 'us-east-1', credentials });
    try {
      const refused = await refusal(client2.send(new CreateQueueCommand({ QueueName: 'gone' })));
      assert.equal(refused.name, 'QueueDeletedRecently');
      restartClock.advance(30_000);
      await client2.send(new CreateQueueCommand({ QueueName: 'gone' }));
    } finally {
      client2.destroy();
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('X-Amzn-Trace-Id becomes the AWSTraceHeader system attribute', async () => {
    const url = await create('traced');
    const trace = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    const traced = new SQSClient({ endpoint: broker.sqs!.endpoint, region: 'us-east-1', credentials });
    traced.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amzn-trace-id'] = trace;
        return next(args);
      },
      { step: 'build' },
    );
    try {
      await traced.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    } finally {
      traced.destroy();
    }
    const [message] = await receive(url, { MessageSystemAttributeNames: ['AWSTraceHeader'] });
    assert.equal(message!.Attributes?.AWSTraceHeader, trace);
  });
});

describe('receipt handles and visibility', () => {
  // LocalStack's AWS-validated test_inflight_message_requeue: the message whose visibility timeout
  // passed is received again before one sent while it was in flight.
  test('a requeued in-flight message comes back before a message sent while it was in flight', async () => {
    const queue = await create('requeue-order');
    await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: 'test1' }));
    const [first] = await receive(queue, { VisibilityTimeout: 3, MaxNumberOfMessages: 1 });
    assert.equal(first!.Body, 'test1');
    clock.advance(1_500);
    await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: 'test2' }));
    clock.advance(3_000);
    const [again] = await receive(queue, { VisibilityTimeout: 3, MaxNumberOfMessages: 1 });
    assert.equal(again!.Body, 'test1');
    const [next] = await receive(queue, { VisibilityTimeout: 3, MaxNumberOfMessages: 1 });
    assert.equal(next!.Body, 'test2');
  });

  test('a message given up with ChangeMessageVisibility 0 goes back to its place in send order', async () => {
    const queue = await create('requeue-change');
    for (const body of ['a', 'b', 'c'])
      await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: body }));
    const [a] = await receive(queue, { MaxNumberOfMessages: 1 });
    const [b] = await receive(queue, { MaxNumberOfMessages: 1 });
    assert.deepEqual([a!.Body, b!.Body], ['a', 'b']);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue,
        ReceiptHandle: b!.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue,
        ReceiptHandle: a!.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
    const bodies = (await receive(queue)).map((message) => message.Body);
    assert.deepEqual(bodies, ['a', 'b', 'c']);
  });
});

describe('dead-lettering', () => {
  test('a dead-lettered message keeps its receive count: the first receive from the DLQ counts 2 at maxReceiveCount 1', async () => {
    const dlq = await create('count-dlq');
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    const source = await create('count-src', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
      VisibilityTimeout: '0',
    });
    const sourceArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: source, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: 'message-1' }));
    const first = await receive(source, { AttributeNames: ['All'] });
    assert.equal(first[0]!.Attributes!.ApproximateReceiveCount, '1');
    assert.deepEqual(await receive(source), [], 'the second receive moves it to the DLQ');
    const [dead] = await receive(dlq, { AttributeNames: ['All'] });
    assert.equal(dead!.Body, 'message-1');
    assert.equal(dead!.Attributes!.ApproximateReceiveCount, '2');
    assert.equal(dead!.Attributes!.DeadLetterQueueSourceArn, sourceArn);
  });
});

describe('message move tasks', () => {
  test("AWS's errors for bad handles and a second task; moved counts; moved messages are new", async () => {
    const dlq = await create('move-dlq');
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    await create('move-src', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
    });
    const target = await create('move-target');
    const targetArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: target, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    const sentIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      sentIds.push(
        (await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: `m${i}` }))).MessageId!,
      );
    }
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlqArn,
        DestinationArn: targetArn,
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    assert.deepEqual(await refusal(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }))), {
      name: 'InvalidParameterValue',
      code: 'InvalidParameterValue',
      status: 400,
      message:
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
    });
    assert.deepEqual(await refusal(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'foobared' }))), {
      name: 'InvalidParameterValue',
      code: 'InvalidParameterValue',
      status: 400,
      message: 'Value for parameter TaskHandle is invalid.',
    });
    const unknownSource = Buffer.from(
      JSON.stringify({ taskId: 'x', sourceArn: dlqArn.replace('move-dlq', 'move-nowhere') }),
    ).toString('base64');
    assert.deepEqual(
      await refusal(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: unknownSource }))),
      {
        name: 'ResourceNotFoundException',
        code: 'ResourceNotFoundException',
        status: 404,
        message: "The resource that you specified for the SourceArn parameter doesn't exist.",
      },
    );
    clock.advance(1_000);
    const cancelled = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    assert.equal(cancelled.ApproximateNumberOfMessagesMoved, 2);
    const [task] = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }))).Results!;
    assert.equal(task!.Status, 'CANCELLED');
    assert.equal(task!.ApproximateNumberOfMessagesMoved, 2);
    assert.equal(task!.ApproximateNumberOfMessagesToMove, 3);
    assert.deepEqual(await refusal(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }))), {
      name: 'ResourceNotFoundException',
      code: 'ResourceNotFoundException',
      status: 404,
      message: 'Task does not exist.',
    });
    const moved = await receive(target);
    assert.deepEqual(moved.map((m) => m.Body).sort(), ['m0', 'm1']);
    for (const m of moved) assert.ok(!sentIds.includes(m.MessageId!), 'a moved message has a new MessageId');
  });
});
