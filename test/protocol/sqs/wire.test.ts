// The SQS wire layer: the generated model, errors, and both protocols giving one params shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqsError, sqsError } from '../../../src/protocol/sqs/errors.js';
import {
  formatJsonError,
  formatJsonResponse,
  parseJsonRequest,
  type SqsRequest,
} from '../../../src/protocol/sqs/json-protocol.js';
import { MODEL_ERRORS, OPERATIONS } from '../../../src/protocol/sqs/model.js';
import {
  formatQueryError,
  formatQueryResponse,
  parseQueryRequest,
} from '../../../src/protocol/sqs/query-protocol.js';

const Q = 'http://localhost:9324/000000000000/orders';

function json(action: string, body: unknown): SqsRequest | SqsError {
  return parseJsonRequest(
    { 'x-amz-target': `AmazonSQS.${action}`, 'content-type': 'application/x-amz-json-1.0' },
    Buffer.from(JSON.stringify(body)),
  );
}

function query(fields: Record<string, string>): SqsRequest | SqsError {
  return parseQueryRequest(Buffer.from(new URLSearchParams(fields).toString()));
}

test('the model has the 23 operations and the query codes of its errors', () => {
  assert.equal(Object.keys(OPERATIONS).length, 23);
  assert.deepEqual(MODEL_ERRORS.QueueDoesNotExist, {
    code: 'AWS.SimpleQueueService.NonExistentQueue',
    httpStatus: 400,
    fault: 'Sender',
  });
  assert.equal(MODEL_ERRORS.ReceiptHandleIsInvalid.httpStatus, 404);
  assert.equal(MODEL_ERRORS.OverLimit.httpStatus, 403);
  assert.equal(MODEL_ERRORS.QueueNameExists.code, 'QueueAlreadyExists');
  // No awsQueryError trait: the shape name is the code.
  assert.equal(MODEL_ERRORS.InvalidAttributeName.code, 'InvalidAttributeName');
});

test('SqsError carries code, status, fault and JSON type', () => {
  const e = sqsError('PurgeQueueInProgress', 'Only one PurgeQueue operation is allowed every 60 seconds.');
  assert.equal(e.queryCode, 'AWS.SimpleQueueService.PurgeQueueInProgress');
  assert.equal(e.httpStatus, 403);
  assert.equal(e.jsonType, 'com.amazonaws.sqs#PurgeQueueInProgress');
  const m = sqsError('MalformedQueryString', 'bad');
  assert.equal(m.httpStatus, 404);
  assert.equal(sqsError('InternalFailure', 'x').fault, 'Receiver');
  assert.equal(
    sqsError('UnknownOperationException', 'x').jsonType,
    'com.amazon.coral.service#UnknownOperationException',
  );
});

test('SendMessage with message attributes: both protocols give the same params', () => {
  const viaJson = json('SendMessage', {
    QueueUrl: Q,
    MessageBody: 'hello <&>',
    DelaySeconds: 5,
    MessageAttributes: {
      color: { DataType: 'String', StringValue: 'red' },
      raw: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 255]).toString('base64') },
    },
    MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1' } },
  });
  const viaQuery = query({
    Action: 'SendMessage',
    Version: '2012-11-05',
    QueueUrl: Q,
    MessageBody: 'hello <&>',
    DelaySeconds: '5',
    'MessageAttribute.1.Name': 'color',
    'MessageAttribute.1.Value.DataType': 'String',
    'MessageAttribute.1.Value.StringValue': 'red',
    'MessageAttribute.2.Name': 'raw',
    'MessageAttribute.2.Value.DataType': 'Binary',
    'MessageAttribute.2.Value.BinaryValue': Buffer.from([0, 1, 255]).toString('base64'),
    'MessageSystemAttribute.1.Name': 'AWSTraceHeader',
    'MessageSystemAttribute.1.Value.DataType': 'String',
    'MessageSystemAttribute.1.Value.StringValue': 'Root=1',
  });
  const expected = {
    action: 'SendMessage',
    params: {
      QueueUrl: Q,
      MessageBody: 'hello <&>',
      DelaySeconds: 5,
      MessageAttributes: {
        color: { DataType: 'String', StringValue: 'red' },
        raw: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 255]) },
      },
      MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1' } },
    },
  };
  assert.deepEqual(viaJson, expected);
  assert.deepEqual(viaQuery, expected);
});

test('query lists, maps, batch entries and tags are un-flattened', () => {
  assert.deepEqual(
    query({
      Action: 'SendMessageBatch',
      QueueUrl: Q,
      'SendMessageBatchRequestEntry.1.Id': 'a',
      'SendMessageBatchRequestEntry.1.MessageBody': 'one',
      'SendMessageBatchRequestEntry.2.Id': 'b',
      'SendMessageBatchRequestEntry.2.MessageBody': 'two',
      'SendMessageBatchRequestEntry.2.MessageGroupId': 'g',
      'SendMessageBatchRequestEntry.2.MessageAttribute.1.Name': 'n',
      'SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType': 'Number',
      'SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue': '7',
    }),
    {
      action: 'SendMessageBatch',
      params: {
        QueueUrl: Q,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          {
            Id: 'b',
            MessageBody: 'two',
            MessageGroupId: 'g',
            MessageAttributes: { n: { DataType: 'Number', StringValue: '7' } },
          },
        ],
      },
    },
  );
  assert.deepEqual(
    query({
      Action: 'CreateQueue',
      QueueName: 'q.fifo',
      'Attribute.1.Name': 'FifoQueue',
      'Attribute.1.Value': 'true',
      'Attribute.2.Name': 'VisibilityTimeout',
      'Attribute.2.Value': '60',
      'Tag.1.Key': 'team',
      'Tag.1.Value': 'ops',
    }),
    {
      action: 'CreateQueue',
      params: {
        QueueName: 'q.fifo',
        Attributes: { FifoQueue: 'true', VisibilityTimeout: '60' },
        tags: { team: 'ops' },
      },
    },
  );
  assert.deepEqual(
    query({
      Action: 'ReceiveMessage',
      QueueUrl: Q,
      'AttributeName.1': 'All',
      'MessageAttributeName.1': 'color',
      'MessageAttributeName.2': 'size',
      MaxNumberOfMessages: '10',
      WaitTimeSeconds: '20',
    }),
    {
      action: 'ReceiveMessage',
      params: {
        QueueUrl: Q,
        // AttributeNames and MessageSystemAttributeNames share the xmlName AttributeName.
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['color', 'size'],
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 20,
      },
    },
  );
  assert.deepEqual(query({ Action: 'UntagQueue', QueueUrl: Q, 'TagKey.1': 'a', 'TagKey.2': 'b' }), {
    action: 'UntagQueue',
    params: { QueueUrl: Q, TagKeys: ['a', 'b'] },
  });
  // An empty list as botocore sends it, and a form in the query string.
  assert.deepEqual(
    parseQueryRequest('', `Action=GetQueueAttributes&QueueUrl=${encodeURIComponent(Q)}&AttributeName=`),
    {
      action: 'GetQueueAttributes',
      params: { QueueUrl: Q, AttributeNames: [] },
    },
  );
});

test('query errors: missing action, unknown action, missing and invalid parameters', () => {
  const expectError = (r: SqsRequest | SqsError, code: string, message: RegExp) => {
    assert.ok(r instanceof SqsError, 'expected an error');
    assert.equal(r.queryCode, code);
    assert.match(r.message, message);
  };
  expectError(query({ QueueUrl: Q }), 'MissingAction', /Action/);
  expectError(query({ Action: 'Frobnicate' }), 'InvalidAction', /Frobnicate/);
  expectError(query({ Action: 'SendMessage', QueueUrl: Q }), 'MissingParameter', /MessageBody/);
  expectError(
    query({ Action: 'DeleteMessageBatch', QueueUrl: Q, 'DeleteMessageBatchRequestEntry.1.Id': 'x' }),
    'MissingParameter',
    /DeleteMessageBatchRequestEntry\.1\.ReceiptHandle/,
  );
  expectError(
    query({ Action: 'ReceiveMessage', QueueUrl: Q, MaxNumberOfMessages: 'ten' }),
    'InvalidParameterValue',
    /Value ten for parameter MaxNumberOfMessages is invalid/,
  );
  expectError(
    query({ Action: 'SetQueueAttributes', QueueUrl: Q, 'Attribute.1.Name': 'DelaySeconds' }),
    'MissingParameter',
    /Attribute\.1\.Value/,
  );
});

test('query: a list item or map value named without a value is a missing parameter, not undefined', () => {
  // `Name.1.x=y` makes item 1 exist without a value; handlers are typed to get strings in these lists.
  const cases: [Record<string, string>, RegExp][] = [
    [{ Action: 'ReceiveMessage', 'MessageAttributeName.1.x': '1' }, /MessageAttributeName\.1\.$/],
    [{ Action: 'UntagQueue', 'TagKey.1.x': '1' }, /TagKey\.1\.$/],
    [
      { Action: 'SetQueueAttributes', 'Attribute.1.Name': 'DelaySeconds', 'Attribute.1.Value.x': '1' },
      /Attribute\.1\.Value\.$/,
    ],
    [{ Action: 'TagQueue', 'Tag.1.Key': 'k', 'Tag.1.Value.x': '1' }, /Tag\.1\.Value\.$/],
  ];
  for (const [fields, message] of cases) {
    const r = query({ QueueUrl: Q, ...fields });
    assert.ok(r instanceof SqsError, `${fields.Action}: expected an error`);
    assert.equal(r.queryCode, 'MissingParameter');
    assert.match(r.message, message);
  }
});

test('JSON errors: missing or unknown target, malformed body, wrong types, missing members', () => {
  const noTarget = parseJsonRequest({}, Buffer.from('{}'));
  assert.ok(noTarget instanceof SqsError);
  assert.equal(noTarget.jsonType, 'com.amazon.coral.service#UnknownOperationException');
  const unknown = parseJsonRequest({ 'x-amz-target': 'AmazonSQS.Frobnicate' }, Buffer.from('{}'));
  assert.ok(unknown instanceof SqsError && unknown.shape === 'UnknownOperationException');
  const malformed = parseJsonRequest({ 'x-amz-target': 'AmazonSQS.ListQueues' }, Buffer.from('{"a":'));
  assert.ok(malformed instanceof SqsError);
  assert.equal(malformed.jsonType, 'com.amazon.coral.service#SerializationException');
  assert.equal(malformed.httpStatus, 400);
  const wrongType = json('ReceiveMessage', { QueueUrl: Q, MaxNumberOfMessages: '10' });
  assert.ok(wrongType instanceof SqsError && wrongType.shape === 'SerializationException');
  assert.match(wrongType.message, /MaxNumberOfMessages/);
  const missing = json('DeleteMessageBatch', { QueueUrl: Q, Entries: [{ Id: 'a' }] });
  assert.ok(missing instanceof SqsError && missing.queryCode === 'MissingParameter');
  assert.match(missing.message, /Entries\[0\]\.ReceiptHandle/);
  // An empty body is an empty input.
  assert.deepEqual(parseJsonRequest({ 'x-amz-target': 'AmazonSQS.ListQueues' }, Buffer.alloc(0)), {
    action: 'ListQueues',
    params: {},
  });
});

test('JSON responses and errors', () => {
  const ok = formatJsonResponse(
    'ReceiveMessage',
    {
      Messages: [
        {
          MessageId: 'm',
          Body: 'b',
          MessageAttributes: { r: { DataType: 'Binary', BinaryValue: Buffer.from('hi') } },
        },
      ],
    },
    'req-1',
  );
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['content-type'], 'application/x-amz-json-1.0');
  assert.deepEqual(JSON.parse(ok.body), {
    Messages: [
      { MessageId: 'm', Body: 'b', MessageAttributes: { r: { DataType: 'Binary', BinaryValue: 'aGk=' } } },
    ],
  });
  const err = formatJsonError(sqsError('QueueDoesNotExist', 'The specified queue does not exist.'));
  assert.equal(err.status, 400);
  assert.equal(err.headers['x-amzn-query-error'], 'AWS.SimpleQueueService.NonExistentQueue;Sender');
  assert.deepEqual(JSON.parse(err.body), {
    __type: 'com.amazonaws.sqs#QueueDoesNotExist',
    message: 'The specified queue does not exist.',
  });
});

test('query XML: wrapper, flattened members, escaping, no Result for empty outputs, errors', () => {
  const r = formatQueryResponse(
    'ReceiveMessage',
    {
      Messages: [
        {
          MessageId: 'id1',
          ReceiptHandle: 'rh',
          MD5OfBody: 'md5',
          Body: 'a<b>&"c"\r\n',
          Attributes: { SentTimestamp: '1', ApproximateReceiveCount: '2' },
          MessageAttributes: { color: { StringValue: 'red', DataType: 'String' } },
        },
      ],
    },
    'rid',
  );
  assert.equal(r.status, 200);
  assert.equal(
    r.body,
    '<?xml version="1.0"?><ReceiveMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">' +
      '<ReceiveMessageResult><Message><MessageId>id1</MessageId><ReceiptHandle>rh</ReceiptHandle>' +
      '<MD5OfBody>md5</MD5OfBody><Body>a&lt;b&gt;&amp;&quot;c&quot;&#xD;\n</Body>' +
      '<Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>' +
      '<Attribute><Name>ApproximateReceiveCount</Name><Value>2</Value></Attribute>' +
      '<MessageAttribute><Name>color</Name><Value><StringValue>red</StringValue><DataType>String</DataType></Value>' +
      '</MessageAttribute></Message></ReceiveMessageResult>' +
      '<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ReceiveMessageResponse>',
  );
  const list = formatQueryResponse('ListQueues', { QueueUrls: ['u1', 'u2'] }, 'r');
  assert.match(
    list.body,
    /<ListQueuesResult><QueueUrl>u1<\/QueueUrl><QueueUrl>u2<\/QueueUrl><\/ListQueuesResult>/,
  );
  const del = formatQueryResponse('DeleteMessage', undefined, 'r');
  assert.equal(
    del.body,
    '<?xml version="1.0"?><DeleteMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">' +
      '<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteMessageResponse>',
  );
  const e = formatQueryError(
    sqsError('ReceiptHandleIsInvalid', 'The input receipt handle "x" is not valid.'),
    'r',
  );
  assert.equal(e.status, 404);
  assert.equal(
    e.body,
    '<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type>' +
      '<Code>ReceiptHandleIsInvalid</Code><Message>The input receipt handle &quot;x&quot; is not valid.</Message>' +
      '<Detail/></Error><RequestId>r</RequestId></ErrorResponse>',
  );
});
