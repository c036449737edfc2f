// Both SQS request parsers under random and mutated input: they never throw, they answer either a
// request of the model's shape or an SqsError with AWS's code and a 4xx status. Seeds are valid
// requests of the actions with the richest inputs (maps, lists of structures, blobs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqsError } from '../../../src/protocol/sqs/errors.js';
import { parseJsonRequest, type SqsRequest } from '../../../src/protocol/sqs/json-protocol.js';
import { parseQueryRequest } from '../../../src/protocol/sqs/query-protocol.js';
import { mutateJsonValue, pick } from '../../helpers/fuzz-mutations.js';
import { prng } from '../../helpers/prng.js';

const QUEUE_URL = 'http://127.0.0.1:9324/000000000000/jobs';

const JSON_SEEDS: Array<[string, unknown]> = [
  [
    'SendMessage',
    {
      QueueUrl: QUEUE_URL,
      MessageBody: 'hello ☃',
      DelaySeconds: 5,
      MessageAttributes: {
        color: { DataType: 'String', StringValue: 'blue' },
        raw: { DataType: 'Binary', BinaryValue: 'AAECAw==' },
      },
      MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-abc' } },
    },
  ],
  [
    'SendMessageBatch',
    {
      QueueUrl: QUEUE_URL,
      Entries: [
        { Id: 'a', MessageBody: 'one', MessageGroupId: 'g', MessageDeduplicationId: 'd1' },
        { Id: 'b', MessageBody: 'two', MessageAttributes: { n: { DataType: 'Number', StringValue: '42' } } },
      ],
    },
  ],
  [
    'ReceiveMessage',
    {
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 20,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['color', 'raw.*'],
    },
  ],
  [
    'CreateQueue',
    {
      QueueName: 'jobs.fifo',
      Attributes: { FifoQueue: 'true', VisibilityTimeout: '10' },
      tags: { team: 'x' },
    },
  ],
  ['DeleteMessageBatch', { QueueUrl: QUEUE_URL, Entries: [{ Id: 'a', ReceiptHandle: 'abc' }] }],
  ['ListQueues', { QueueNamePrefix: 'j', MaxResults: 5, NextToken: 't' }],
];

const QUERY_SEEDS = [
  `Action=SendMessage&QueueUrl=${encodeURIComponent(QUEUE_URL)}&MessageBody=hello&DelaySeconds=5` +
    '&MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=blue' +
    '&MessageAttribute.2.Name=raw&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AAECAw%3D%3D',
  `Action=SendMessageBatch&QueueUrl=${encodeURIComponent(QUEUE_URL)}` +
    '&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one' +
    '&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two&SendMessageBatchRequestEntry.2.DelaySeconds=3',
  `Action=ReceiveMessage&QueueUrl=${encodeURIComponent(QUEUE_URL)}&MaxNumberOfMessages=10&AttributeName.1=All&MessageAttributeName.1=All`,
  'Action=CreateQueue&QueueName=jobs&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=10&Tag.1.Key=team&Tag.1.Value=x',
  `Action=ChangeMessageVisibilityBatch&QueueUrl=${encodeURIComponent(QUEUE_URL)}` +
    '&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=h' +
    '&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=5',
];

function mutateBytes(bytes: Buffer, random: () => number): Buffer {
  const copy = Buffer.from(bytes);
  switch (Math.floor(random() * 4)) {
    case 0:
      for (let n = 1 + Math.floor(random() * 4); n > 0; n--)
        copy[Math.floor(random() * copy.length)]! ^= 1 + Math.floor(random() * 255);
      return copy;
    case 1:
      return copy.subarray(0, Math.floor(random() * copy.length));
    case 2: {
      const at = Math.floor(random() * copy.length);
      const junk = Buffer.from(
        Array.from({ length: 1 + Math.floor(random() * 16) }, () => Math.floor(random() * 256)),
      );
      return Buffer.concat([copy.subarray(0, at), junk, copy.subarray(at)]);
    }
    default:
      return Buffer.from(
        Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)),
      );
  }
}

function checkOutcome(outcome: SqsRequest | SqsError, label: string): void {
  if (outcome instanceof SqsError) {
    assert.ok(outcome.httpStatus >= 400 && outcome.httpStatus < 500, `${label}: ${outcome.httpStatus}`);
    assert.ok(outcome.queryCode.length > 0 && outcome.message.length > 0, label);
    return;
  }
  assert.equal(typeof outcome.action, 'string', label);
  assert.equal(typeof outcome.params, 'object', label);
  assert.equal(
    Object.getPrototypeOf(outcome.params),
    Object.prototype,
    `${label}: params keep their prototype`,
  );
}

test('JSON 1.0 parser: 4,000 mutated requests end in a request or an SqsError', () => {
  const random = prng(5);
  for (let i = 0; i < 4000; i++) {
    const [action, body] = pick(JSON_SEEDS, random);
    const headers = { 'x-amz-target': random() < 0.05 ? `AmazonSQS.${action}x` : `AmazonSQS.${action}` };
    const text = JSON.stringify(random() < 0.6 ? mutateJsonValue(body, random) : body);
    const bytes = random() < 0.4 ? mutateBytes(Buffer.from(text), random) : Buffer.from(text);
    let outcome: SqsRequest | SqsError;
    try {
      outcome = parseJsonRequest(headers, bytes);
    } catch (err) {
      assert.fail(`case ${i} threw ${(err as Error).stack}\ninput: ${bytes.toString('utf8').slice(0, 300)}`);
    }
    checkOutcome(outcome, `case ${i}`);
  }
});

test('query parser: 4,000 mutated form bodies end in a request or an SqsError', () => {
  const random = prng(9);
  for (let i = 0; i < 4000; i++) {
    const bytes = mutateBytes(Buffer.from(pick(QUERY_SEEDS, random)), random);
    let outcome: SqsRequest | SqsError;
    try {
      outcome = parseQueryRequest(bytes);
    } catch (err) {
      assert.fail(
        `case ${i} threw ${(err as Error).stack}\ninput: ${bytes.toString('latin1').slice(0, 300)}`,
      );
    }
    checkOutcome(outcome, `case ${i}`);
  }
});

test('a message attribute named __proto__ is an attribute, in both protocols', () => {
  const attribute = { DataType: 'String', StringValue: 'v' };
  const json = parseJsonRequest(
    { 'x-amz-target': 'AmazonSQS.SendMessage' },
    Buffer.from(
      `{"QueueUrl":"${QUEUE_URL}","MessageBody":"b","MessageAttributes":{"__proto__":${JSON.stringify(attribute)}}}`,
    ),
  );
  assert.ok(!(json instanceof SqsError));
  const jsonAttributes = json.params.MessageAttributes as Record<string, unknown>;
  assert.deepEqual(Object.keys(jsonAttributes), ['__proto__']);
  assert.equal(Object.getPrototypeOf(jsonAttributes), Object.prototype);

  const query = parseQueryRequest(
    `Action=SendMessage&QueueUrl=q&MessageBody=b&MessageAttribute.1.Name=__proto__` +
      '&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v',
  );
  assert.ok(!(query instanceof SqsError));
  assert.deepEqual(Object.keys(query.params.MessageAttributes as object), ['__proto__']);
});
