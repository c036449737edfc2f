/**
 * ReceiveMessage, DeleteMessage(Batch) and ChangeMessageVisibility(Batch) handlers on a real queue
 * registry and a ManualClock: ranges, attribute selection, long polls, leases; and that results
 * format on both wire protocols.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatJsonResponse } from '../../../src/protocol/sqs/json-protocol.js';
import { md5OfMessageAttributes } from '../../../src/protocol/sqs/md5.js';
import { formatQueryResponse } from '../../../src/protocol/sqs/query-protocol.js';
import { Harness } from './message-harness.js';

const ATTRIBUTES = {
  'order.id': { DataType: 'Number', StringValue: '42' },
  'order.kind': { DataType: 'String.custom', StringValue: 'gift' },
  blob: { DataType: 'Binary', BinaryValue: Buffer.from('bytes') },
};

async function withMessage(h: Harness, attributes?: Record<string, unknown>): Promise<string> {
  const url = h.createQueue('q');
  await h.call('SendMessage', { QueueUrl: url, MessageBody: 'body', MessageAttributes: attributes });
  return url;
}

test('ReceiveMessage range checks', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  for (const n of [0, 11]) {
    await h.refused(
      'ReceiveMessage',
      { QueueUrl: url, MaxNumberOfMessages: n },
      'InvalidParameterValue',
      new RegExp(
        `^Value ${n} for parameter MaxNumberOfMessages is invalid\\. Reason: Must be between 1 and 10, if provided\\.$`,
      ),
    );
  }
  await h.refused(
    'ReceiveMessage',
    { QueueUrl: url, VisibilityTimeout: 43_201 },
    'InvalidParameterValue',
    /VisibilityTimeout/,
  );
  await h.refused(
    'ReceiveMessage',
    { QueueUrl: url, VisibilityTimeout: -1 },
    'InvalidParameterValue',
    /VisibilityTimeout/,
  );
  await h.refused(
    'ReceiveMessage',
    { QueueUrl: url, WaitTimeSeconds: 21 },
    'InvalidParameterValue',
    /WaitTimeSeconds/,
  );
  await h.refused(
    'ReceiveMessage',
    { QueueUrl: url, ReceiveRequestAttemptId: 'x'.repeat(129) },
    'InvalidParameterValue',
    /ReceiveRequestAttemptId/,
  );
  await h.refused('ReceiveMessage', { QueueUrl: 'http://h/000000000000/none' }, 'QueueDoesNotExist');
});

test('ReceiveMessage returns one message by default and up to MaxNumberOfMessages', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  await h.call('SendMessageBatch', {
    QueueUrl: url,
    Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `${i}` })),
  });
  const one = await h.call('ReceiveMessage', { QueueUrl: url });
  assert.equal(one.Messages.length, 1);
  assert.equal(one.Messages[0].Attributes, undefined, 'no system attributes unless asked');
  assert.equal(one.Messages[0].MessageAttributes, undefined);
  const rest = await h.receiveAll(url);
  assert.equal(rest.length, 9);
  assert.deepEqual(
    await h.call('ReceiveMessage', { QueueUrl: url }),
    {},
    'nothing visible: no Messages member',
  );
});

test('ReceiveMessage returns only the system attributes asked for, timestamps as epoch ms', async () => {
  const h = new Harness();
  const url = await withMessage(h);
  const sentAtMs = h.clock.now();
  h.clock.advance(1_500);
  const [first] = await h.receiveAll(url, {
    MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
    AttributeNames: ['ApproximateFirstReceiveTimestamp', 'NoSuchAttribute'],
    VisibilityTimeout: 0,
  });
  assert.deepEqual(first.Attributes, {
    SentTimestamp: String(sentAtMs),
    ApproximateReceiveCount: '1',
    ApproximateFirstReceiveTimestamp: String(sentAtMs + 1_500),
  });
  const [second] = await h.receiveAll(url, { AttributeNames: ['All'] });
  assert.deepEqual(Object.keys(second.Attributes).sort(), [
    'ApproximateFirstReceiveTimestamp',
    'ApproximateReceiveCount',
    'SenderId',
    'SentTimestamp',
  ]);
  assert.equal(second.Attributes.ApproximateReceiveCount, '2');
  assert.equal(second.Attributes.ApproximateFirstReceiveTimestamp, String(sentAtMs + 1_500));
});

test('MessageAttributeNames filters message attributes; the digest covers what is returned', async () => {
  const h = new Harness();
  const url = await withMessage(h, ATTRIBUTES);
  const receive = async (names?: string[]) => {
    const [message] = await h.receiveAll(url, { MessageAttributeNames: names, VisibilityTimeout: 0 });
    return message;
  };
  const none = await receive();
  assert.equal(none.MessageAttributes, undefined);
  assert.equal(none.MD5OfMessageAttributes, undefined);
  for (const all of [['All'], ['.*']]) {
    const message = await receive(all);
    assert.deepEqual(Object.keys(message.MessageAttributes).sort(), ['blob', 'order.id', 'order.kind']);
    assert.equal(message.MD5OfMessageAttributes, md5OfMessageAttributes(ATTRIBUTES));
  }
  const prefixed = await receive(['order.*']);
  assert.deepEqual(Object.keys(prefixed.MessageAttributes).sort(), ['order.id', 'order.kind']);
  assert.equal(
    prefixed.MD5OfMessageAttributes,
    md5OfMessageAttributes({ 'order.id': ATTRIBUTES['order.id'], 'order.kind': ATTRIBUTES['order.kind'] }),
  );
  const exact = await receive(['blob', 'missing']);
  assert.deepEqual(Object.keys(exact.MessageAttributes), ['blob']);
  assert.equal(Buffer.from(exact.MessageAttributes.blob.BinaryValue).toString(), 'bytes');
  const unmatched = await receive(['missing']);
  assert.equal(unmatched.MessageAttributes, undefined);
  assert.equal(unmatched.MD5OfMessageAttributes, undefined);
});

test('visibility timeout: hidden while leased, redelivered after; an old handle still deletes on a standard queue', async () => {
  const h = new Harness();
  const url = await withMessage(h);
  const [first] = await h.receiveAll(url, { VisibilityTimeout: 10 });
  h.clock.advance(9_999);
  assert.deepEqual(await h.receiveAll(url), []);
  h.clock.advance(1);
  const [second] = await h.receiveAll(url, { AttributeNames: ['ApproximateReceiveCount'] });
  assert.equal(second.MessageId, first.MessageId);
  assert.equal(second.Attributes.ApproximateReceiveCount, '2');
  assert.notEqual(second.ReceiptHandle, first.ReceiptHandle);
  // AWS docs (DeleteMessage): an older receive's handle succeeds, and the message is deleted even
  // while another consumer holds it.
  await h.call('DeleteMessage', { QueueUrl: url, ReceiptHandle: first.ReceiptHandle });
  await h.call('DeleteMessage', { QueueUrl: url, ReceiptHandle: second.ReceiptHandle });
  h.clock.advance(60_000);
  assert.deepEqual(await h.receiveAll(url), [], 'deleted for good');
});

test('FIFO: a handle whose lease ran out has expired (DeleteMessage refused)', async () => {
  const h = new Harness();
  const url = h.createQueue('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
  await h.call('SendMessage', { QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' });
  const [first] = await h.receiveAll(url, { VisibilityTimeout: 10 });
  h.clock.advance(10_000);
  const expired = await h.refused(
    'DeleteMessage',
    { QueueUrl: url, ReceiptHandle: first.ReceiptHandle },
    'InvalidParameterValue',
  );
  assert.equal(
    expired.message,
    `Value ${first.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`,
  );
  const [second] = await h.receiveAll(url);
  assert.equal(second.MessageId, first.MessageId, 'still there, in order');
  await h.refused(
    'DeleteMessage',
    { QueueUrl: url, ReceiptHandle: first.ReceiptHandle },
    'InvalidParameterValue',
  );
  await h.call('DeleteMessage', { QueueUrl: url, ReceiptHandle: second.ReceiptHandle });
});

test('DeleteMessage with a handle the queue never issued: ReceiptHandleIsInvalid (404)', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  const error = await h.refused(
    'DeleteMessage',
    { QueueUrl: url, ReceiptHandle: 'garbage' },
    'ReceiptHandleIsInvalid',
  );
  assert.equal(error.message, 'The input receipt handle "garbage" is not a valid receipt handle.');
  assert.equal(error.httpStatus, 404);
});

test('ChangeMessageVisibility extends, shortens and refuses as AWS does', async () => {
  const h = new Harness();
  const url = await withMessage(h);
  const [message] = await h.receiveAll(url, { VisibilityTimeout: 5 });
  const change = (seconds: number, handle = message.ReceiptHandle) =>
    h.call('ChangeMessageVisibility', { QueueUrl: url, ReceiptHandle: handle, VisibilityTimeout: seconds });
  await h.refused(
    'ChangeMessageVisibility',
    { QueueUrl: url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 43_201 },
    'InvalidParameterValue',
    /^Value 43201 for parameter VisibilityTimeout is invalid\./,
  );
  await change(60);
  h.clock.advance(59_999);
  assert.deepEqual(await h.receiveAll(url), [], 'extended to 60 s from the change');
  await change(0);
  const [again] = await h.receiveAll(url, { VisibilityTimeout: 30 });
  assert.equal(again.MessageId, message.MessageId, 'timeout 0: visible at once');
  await change(0, again.ReceiptHandle);
  // After its lease, a standard queue's message is hidden again by its handle, as AWS lets it.
  await change(10, again.ReceiptHandle);
  assert.deepEqual(await h.receiveAll(url), []);
  h.clock.advance(10_000);
  const [third] = await h.receiveAll(url);
  await h.call('DeleteMessage', { QueueUrl: url, ReceiptHandle: third.ReceiptHandle });
  // A deleted message: AWS's text, as an invalid ReceiptHandle value.
  const gone = await h.refused(
    'ChangeMessageVisibility',
    { QueueUrl: url, ReceiptHandle: third.ReceiptHandle, VisibilityTimeout: 10 },
    'InvalidParameterValue',
  );
  assert.equal(
    gone.message,
    `Value ${third.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
  );
  await h.refused(
    'ChangeMessageVisibility',
    { QueueUrl: url, ReceiptHandle: 'nope', VisibilityTimeout: 10 },
    'ReceiptHandleIsInvalid',
  );
});

test('DeleteMessageBatch and ChangeMessageVisibilityBatch report each entry', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  await h.call('SendMessageBatch', {
    QueueUrl: url,
    Entries: [1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `${i}` })),
  });
  const [a, b, c] = await h.receiveAll(url, { VisibilityTimeout: 30 });
  const changed = await h.call('ChangeMessageVisibilityBatch', {
    QueueUrl: url,
    Entries: [
      { Id: 'a', ReceiptHandle: a.ReceiptHandle, VisibilityTimeout: 0 },
      { Id: 'bad', ReceiptHandle: 'bogus', VisibilityTimeout: 0 },
      { Id: 'range', ReceiptHandle: b.ReceiptHandle, VisibilityTimeout: 50_000 },
    ],
  });
  assert.deepEqual(changed.Successful, [{ Id: 'a' }]);
  assert.deepEqual(
    changed.Failed.map((f: Record<string, unknown>) => [f.Id, f.Code, f.SenderFault]),
    [
      ['bad', 'ReceiptHandleIsInvalid', true],
      ['range', 'InvalidParameterValue', true],
    ],
  );
  assert.deepEqual(
    (await h.receiveAll(url)).map((m) => m.Body),
    [a.Body],
  );
  await h.refused(
    'ChangeMessageVisibilityBatch',
    { QueueUrl: url, Entries: [] },
    'EmptyBatchRequest',
    /ChangeMessageVisibilityBatchRequestEntry/,
  );

  const deleted = await h.call('DeleteMessageBatch', {
    QueueUrl: url,
    Entries: [
      { Id: 'b', ReceiptHandle: b.ReceiptHandle },
      { Id: 'bad', ReceiptHandle: 'bogus' },
      { Id: 'c', ReceiptHandle: c.ReceiptHandle },
    ],
  });
  assert.deepEqual(deleted.Successful, [{ Id: 'b' }, { Id: 'c' }]);
  assert.deepEqual(deleted.Failed, [
    {
      Id: 'bad',
      SenderFault: true,
      Code: 'ReceiptHandleIsInvalid',
      Message: 'The input receipt handle "bogus" is not a valid receipt handle.',
    },
  ]);
  await h.refused(
    'DeleteMessageBatch',
    {
      QueueUrl: url,
      Entries: [
        { Id: 'x', ReceiptHandle: 'h' },
        { Id: 'x', ReceiptHandle: 'h' },
      ],
    },
    'BatchEntryIdsNotDistinct',
  );
  await h.refused(
    'DeleteMessageBatch',
    { QueueUrl: url, Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, ReceiptHandle: 'h' })) },
    'TooManyEntriesInBatchRequest',
  );
  h.clock.advance(30_000);
  assert.deepEqual(
    (await h.receiveAll(url)).map((m) => m.Body),
    [a.Body],
    'b and c are gone, a (visible again) is still there',
  );
});

test('long poll: answered by a send, or empty when the wait ends', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  let settled = false;
  const poll = h.call('ReceiveMessage', { QueueUrl: url, WaitTimeSeconds: 20 }).finally(() => {
    settled = true;
  });
  h.clock.advance(10_000);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false);
  await h.call('SendMessage', { QueueUrl: url, MessageBody: 'wake' });
  const woken = await poll;
  assert.equal(woken.Messages[0].Body, 'wake');

  const empty = h.call('ReceiveMessage', { QueueUrl: url, WaitTimeSeconds: 2 });
  h.clock.advance(2_000);
  assert.deepEqual(await empty, {});
});

test("long poll: the queue's ReceiveMessageWaitTimeSeconds is the default wait", async () => {
  const h = new Harness();
  const url = h.createQueue('q', { ReceiveMessageWaitTimeSeconds: '5' });
  let settled = false;
  const poll = h.call('ReceiveMessage', { QueueUrl: url }).finally(() => {
    settled = true;
  });
  h.clock.advance(4_999);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false);
  h.clock.advance(1);
  assert.deepEqual(await poll, {});
  // WaitTimeSeconds 0 overrides the queue's wait: a short poll.
  assert.deepEqual(await h.call('ReceiveMessage', { QueueUrl: url, WaitTimeSeconds: 0 }), {});
});

test('long poll: a client that goes away stops the poll and leases nothing', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  const poll = h.call('ReceiveMessage', { QueueUrl: url, WaitTimeSeconds: 20 });
  h.abort();
  assert.deepEqual(await poll, {});
  await h.call('SendMessage', { QueueUrl: url, MessageBody: 'kept' });
  const [message] = await h.receiveAll(url);
  assert.equal(message.Body, 'kept');
});

test('results format on the JSON and the query protocol', async () => {
  const h = new Harness();
  const url = await withMessage(h, ATTRIBUTES);
  const received = await h.call('ReceiveMessage', {
    QueueUrl: url,
    MessageSystemAttributeNames: ['All'],
    MessageAttributeNames: ['All'],
  });
  const json = JSON.parse(formatJsonResponse('ReceiveMessage', received).body);
  const message = json.Messages[0];
  assert.equal(message.Body, 'body');
  assert.equal(message.MessageAttributes.blob.BinaryValue, Buffer.from('bytes').toString('base64'));
  assert.equal(message.MessageAttributes['order.id'].StringValue, '42');
  assert.equal(typeof message.Attributes.SentTimestamp, 'string');
  const xml = formatQueryResponse('ReceiveMessage', received, 'req-1').body;
  assert.match(xml, /<Message><MessageId>[^<]+<\/MessageId><ReceiptHandle>/);
  assert.match(xml, /<Attribute><Name>SenderId<\/Name><Value>AKIDEXAMPLE<\/Value><\/Attribute>/);
  assert.match(
    xml,
    /<MessageAttribute><Name>blob<\/Name><Value><BinaryValue>Ynl0ZXM=<\/BinaryValue><DataType>Binary<\/DataType><\/Value><\/MessageAttribute>/,
  );

  const batch = await h.call('SendMessageBatch', {
    QueueUrl: url,
    Entries: [
      { Id: 'ok', MessageBody: 'x' },
      { Id: 'bad', MessageBody: '' },
    ],
  });
  const batchXml = formatQueryResponse('SendMessageBatch', batch, 'req-2').body;
  assert.match(batchXml, /<SendMessageBatchResultEntry><Id>ok<\/Id><MessageId>/);
  assert.match(
    batchXml,
    /<BatchResultErrorEntry><Id>bad<\/Id><SenderFault>true<\/SenderFault><Code>MissingParameter<\/Code>/,
  );
  assert.deepEqual(
    JSON.parse(formatJsonResponse('SendMessageBatch', batch).body).Failed[0].Code,
    'MissingParameter',
  );
});

test('ReceiveRequestAttemptId: a FIFO retry gets the same messages back; standard queues ignore it', async () => {
  const h = new Harness();
  const fifo = h.createQueue('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
  await h.call('SendMessage', { QueueUrl: fifo, MessageBody: 'one', MessageGroupId: 'g' });
  const first = await h.receiveAll(fifo, { ReceiveRequestAttemptId: 'attempt-1' });
  const retried = await h.receiveAll(fifo, { ReceiveRequestAttemptId: 'attempt-1' });
  assert.equal(first.length, 1);
  assert.deepEqual(
    retried.map((m) => m.MessageId),
    first.map((m) => m.MessageId),
  );
  assert.deepEqual(await h.receiveAll(fifo, { ReceiveRequestAttemptId: 'attempt-2' }), []);

  const standard = h.createQueue('s');
  await h.call('SendMessage', { QueueUrl: standard, MessageBody: 'two' });
  assert.equal((await h.receiveAll(standard, { ReceiveRequestAttemptId: 'attempt-1' })).length, 1);
  assert.deepEqual(await h.receiveAll(standard, { ReceiveRequestAttemptId: 'attempt-1' }), []);
});
