// The SQS query codec against botocore 1.29 (Debian's python3-botocore, which speaks the query
// protocol): botocore's QueryParser reads Pier's XML into the dicts boto3 users see, and Pier's
// parser reads the forms botocore's QuerySerializer sends into the params the JSON protocol gives.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { sqsError } from '../../src/protocol/sqs/errors.js';
import {
  formatQueryError,
  formatQueryResponse,
  parseQueryRequest,
} from '../../src/protocol/sqs/query-protocol.js';
import { PYTHON, PYTHON_DIR, runOk } from './helpers.js';

const hasBotocore = spawnSync(PYTHON, ['-c', 'import botocore'], { stdio: 'ignore' }).status === 0;
const skip = hasBotocore ? false : 'python3-botocore is not installed for /usr/bin/python3';
const Q = 'http://localhost:9324/000000000000/orders';

async function botocore(requests: object[]): Promise<unknown[]> {
  const input = `${requests.map((r) => JSON.stringify(r)).join('\n')}\n`;
  const result = await runOk(PYTHON, [join(PYTHON_DIR, 'sqs_query_codec.py')], { input });
  return JSON.parse(result.stdout.toString('utf8')) as unknown[];
}

const meta = { ResponseMetadata: { RequestId: 'rid', HTTPStatusCode: 200, HTTPHeaders: {} } };

test('botocore parses Pier’s query XML responses', { skip }, async () => {
  const cases: [string, Record<string, unknown>, unknown][] = [
    [
      'SendMessage',
      { MD5OfMessageBody: 'abc', MD5OfMessageAttributes: 'def', MessageId: 'id1' },
      { MD5OfMessageBody: 'abc', MD5OfMessageAttributes: 'def', MessageId: 'id1' },
    ],
    [
      'ReceiveMessage',
      {
        Messages: [
          {
            MessageId: 'id1',
            ReceiptHandle: 'rh',
            MD5OfBody: 'm',
            Body: 'a <b> & "c"\r\nd',
            Attributes: { SentTimestamp: '1700000000000', ApproximateReceiveCount: '1' },
            MD5OfMessageAttributes: 'ma',
            MessageAttributes: {
              color: { StringValue: 'red', DataType: 'String' },
              raw: { BinaryValue: Buffer.from([0, 255]), DataType: 'Binary' },
            },
          },
          { MessageId: 'id2', ReceiptHandle: 'rh2', MD5OfBody: 'm2', Body: 'two' },
        ],
      },
      {
        Messages: [
          {
            MessageId: 'id1',
            ReceiptHandle: 'rh',
            MD5OfBody: 'm',
            Body: 'a <b> & "c"\r\nd',
            Attributes: { SentTimestamp: '1700000000000', ApproximateReceiveCount: '1' },
            MD5OfMessageAttributes: 'ma',
            MessageAttributes: {
              color: { StringValue: 'red', DataType: 'String' },
              raw: { BinaryValue: { base64: 'AP8=' }, DataType: 'Binary' },
            },
          },
          { MessageId: 'id2', ReceiptHandle: 'rh2', MD5OfBody: 'm2', Body: 'two' },
        ],
      },
    ],
    ['ListQueues', { QueueUrls: [Q, `${Q}2`] }, { QueueUrls: [Q, `${Q}2`] }],
    [
      'GetQueueAttributes',
      { Attributes: { VisibilityTimeout: '30', DelaySeconds: '0' } },
      { Attributes: { VisibilityTimeout: '30', DelaySeconds: '0' } },
    ],
    [
      'SendMessageBatch',
      {
        Successful: [{ Id: 'a', MessageId: 'm1', MD5OfMessageBody: 'x' }],
        Failed: [{ Id: 'b', SenderFault: true, Code: 'InvalidParameterValue', Message: 'too long' }],
      },
      {
        Successful: [{ Id: 'a', MessageId: 'm1', MD5OfMessageBody: 'x' }],
        Failed: [{ Id: 'b', SenderFault: true, Code: 'InvalidParameterValue', Message: 'too long' }],
      },
    ],
    ['ListQueueTags', { Tags: { team: 'ops' } }, { Tags: { team: 'ops' } }],
    ['CreateQueue', { QueueUrl: Q }, { QueueUrl: Q }],
  ];
  const requests = cases.map(([action, result]) => ({
    parse: action,
    status: 200,
    body: formatQueryResponse(action as never, result, 'rid').body,
  }));
  const err = formatQueryError(sqsError('QueueDoesNotExist', 'The specified queue does not exist.'), 'rid');
  requests.push({ parse: 'GetQueueUrl', status: err.status, body: err.body });
  const parsed = await botocore(requests);
  cases.forEach(([action, , expected], i) => {
    assert.deepEqual(parsed[i], { ...(expected as object), ...meta }, action);
  });
  assert.deepEqual(parsed[cases.length], {
    Error: {
      Type: 'Sender',
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
      Message: 'The specified queue does not exist for this wsdl version.',
      Detail: null, // botocore reads <Detail/> as None
    },
    ResponseMetadata: { RequestId: 'rid', HTTPStatusCode: 400, HTTPHeaders: {} },
  });
});

test('Pier parses the forms botocore sends', { skip }, async () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    [
      'SendMessage',
      {
        QueueUrl: Q,
        MessageBody: 'a+b & c=d ü',
        DelaySeconds: 3,
        MessageAttributes: {
          color: { DataType: 'String', StringValue: 'red' },
          raw: { DataType: 'Binary', BinaryValue: 'xyz?>' },
        },
      },
      {
        QueueUrl: Q,
        MessageBody: 'a+b & c=d ü',
        DelaySeconds: 3,
        MessageAttributes: {
          color: { DataType: 'String', StringValue: 'red' },
          raw: { DataType: 'Binary', BinaryValue: Buffer.from('xyz?>') },
        },
      },
    ],
    [
      'SendMessageBatch',
      {
        QueueUrl: Q,
        Entries: [
          { Id: '1', MessageBody: 'x' },
          { Id: '2', MessageBody: 'y', DelaySeconds: 1 },
        ],
      },
      {
        QueueUrl: Q,
        Entries: [
          { Id: '1', MessageBody: 'x' },
          { Id: '2', MessageBody: 'y', DelaySeconds: 1 },
        ],
      },
    ],
    [
      'ReceiveMessage',
      { QueueUrl: Q, AttributeNames: ['All'], MessageAttributeNames: ['All'], MaxNumberOfMessages: 10 },
      {
        QueueUrl: Q,
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        MaxNumberOfMessages: 10,
      },
    ],
    [
      'CreateQueue',
      { QueueName: 'q', Attributes: { VisibilityTimeout: '60' }, tags: { a: 'b' } },
      { QueueName: 'q', Attributes: { VisibilityTimeout: '60' }, tags: { a: 'b' } },
    ],
    [
      'GetQueueAttributes',
      { QueueUrl: Q, AttributeNames: ['All'] },
      { QueueUrl: Q, AttributeNames: ['All'] },
    ],
    ['UntagQueue', { QueueUrl: Q, TagKeys: ['a', 'b'] }, { QueueUrl: Q, TagKeys: ['a', 'b'] }],
    [
      'DeleteMessageBatch',
      { QueueUrl: Q, Entries: [{ Id: '1', ReceiptHandle: 'r+/=' }] },
      { QueueUrl: Q, Entries: [{ Id: '1', ReceiptHandle: 'r+/=' }] },
    ],
  ];
  const forms = await botocore(cases.map(([action, params]) => ({ serialize: action, params })));
  cases.forEach(([action, , expected], i) => {
    assert.deepEqual(parseQueryRequest(forms[i] as string), { action, params: expected }, action);
  });
});
