/** SendMessage and SendMessageBatch handlers: AWS's checks, digests, FIFO ids, durability. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { md5OfMessageAttributes, md5OfMessageBody } from '../../../src/protocol/sqs/md5.js';
import { CALLER_ID, Harness } from './message-harness.js';

const TRACE = {
  AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' },
};

test('SendMessage answers with MessageId and the digests; the message is received as sent', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  const attributes = {
    color: { DataType: 'String', StringValue: 'blue' },
    blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2]) },
  };
  const sent = await h.call('SendMessage', {
    QueueUrl: url,
    MessageBody: 'héllo',
    MessageAttributes: attributes,
    MessageSystemAttributes: TRACE,
  });
  assert.match(sent.MessageId, /^[0-9a-f-]{36}$/);
  assert.equal(sent.MD5OfMessageBody, md5OfMessageBody('héllo'));
  assert.equal(sent.MD5OfMessageAttributes, md5OfMessageAttributes(attributes));
  assert.equal(sent.MD5OfMessageSystemAttributes, md5OfMessageAttributes(TRACE));
  assert.equal(sent.SequenceNumber, undefined);

  const [message] = await h.receiveAll(url, {
    MessageSystemAttributeNames: ['All'],
    MessageAttributeNames: ['All'],
  });
  assert.equal(message.MessageId, sent.MessageId);
  assert.equal(message.Body, 'héllo');
  assert.equal(message.MD5OfBody, sent.MD5OfMessageBody);
  assert.equal(message.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
  assert.deepEqual(Object.keys(message.MessageAttributes).sort(), ['blob', 'color']);
  assert.equal(message.Attributes.SenderId, CALLER_ID);
  assert.equal(message.Attributes.SentTimestamp, String(h.clock.now()));
  assert.equal(message.Attributes.AWSTraceHeader, TRACE.AWSTraceHeader.StringValue);
});

test('SendMessage without attributes answers without attribute digests', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  const sent = await h.call('SendMessage', { QueueUrl: url, MessageBody: 'x' });
  assert.equal(sent.MD5OfMessageAttributes, undefined);
  assert.equal(sent.MD5OfMessageSystemAttributes, undefined);
});

test('SendMessage refusals: body, attributes, size, delay, ids; nothing is stored', async () => {
  const h = new Harness();
  const url = h.createQueue('q', { MaximumMessageSize: '1024' });
  const send = (extra: Record<string, unknown>) => ({ QueueUrl: url, MessageBody: 'ok', ...extra });
  await h.refused('SendMessage', send({ MessageBody: '' }), 'MissingParameter', /MessageBody/);
  const bad = await h.refused('SendMessage', send({ MessageBody: 'a\u0000b' }), 'InvalidMessageContents');
  assert.equal(bad.httpStatus, 400);
  assert.equal(bad.queryCode, 'InvalidMessageContents');
  const eleven = Object.fromEntries(
    Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: 'v' }]),
  );
  await h.refused('SendMessage', send({ MessageAttributes: eleven }), 'InvalidParameterValue', /exceeds/);
  await h.refused(
    'SendMessage',
    send({ MessageAttributes: { n: { DataType: 'Number', StringValue: 'abc' } } }),
    'InvalidParameterValue',
  );
  await h.refused(
    'SendMessage',
    send({ MessageBody: 'x'.repeat(1025) }),
    'InvalidParameterValue',
    /Message must be shorter than 1024 bytes/,
  );
  // Attributes count toward the size: 1000 body bytes + 'k' + 'String' + 30 bytes > 1024.
  await h.refused(
    'SendMessage',
    send({
      MessageBody: 'x'.repeat(1000),
      MessageAttributes: { k: { DataType: 'String', StringValue: 'v'.repeat(30) } },
    }),
    'InvalidParameterValue',
    /shorter than 1024/,
  );
  await h.refused(
    'SendMessage',
    send({ DelaySeconds: 901 }),
    'InvalidParameterValue',
    /^Value 901 for parameter DelaySeconds is invalid\. Reason: DelaySeconds must be >= 0 and <= 900\.$/,
  );
  await h.refused('SendMessage', send({ DelaySeconds: -1 }), 'InvalidParameterValue', /DelaySeconds/);
  await h.refused(
    'SendMessage',
    send({ MessageDeduplicationId: 'd' }),
    'InvalidParameterValue',
    /parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid/,
  );
  await h.refused(
    'SendMessage',
    send({ MessageSystemAttributes: { Other: { DataType: 'String', StringValue: 'x' } } }),
    'InvalidParameterValue',
  );
  await h.refused(
    'SendMessage',
    send({ MessageGroupId: 'has space' }),
    'InvalidParameterValue',
    /MessageGroupId/,
  );
  await h.refused(
    'SendMessage',
    { QueueUrl: 'http://localhost/000000000000/nope', MessageBody: 'x' },
    'QueueDoesNotExist',
  );
  assert.deepEqual(await h.receiveAll(url), []);
  // Exactly at the limit is fine.
  await h.call('SendMessage', send({ MessageBody: 'x'.repeat(1024) }));
});

test('SendMessage on a standard queue keeps a MessageGroupId (fair queues) and honours DelaySeconds', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  await h.call('SendMessage', {
    QueueUrl: url,
    MessageBody: 'later',
    DelaySeconds: 5,
    MessageGroupId: 'tenant-1',
  });
  assert.deepEqual(await h.receiveAll(url), []);
  h.clock.advance(4_999);
  assert.deepEqual(await h.receiveAll(url), []);
  h.clock.advance(1);
  const [message] = await h.receiveAll(url, { MessageSystemAttributeNames: ['MessageGroupId'] });
  assert.equal(message.Body, 'later');
  assert.deepEqual(message.Attributes, { MessageGroupId: 'tenant-1' });
});

test('SendMessage on FIFO queues: group id required, deduplication id or content-based, no per-message delay', async () => {
  const h = new Harness();
  const url = h.createQueue('q.fifo', { FifoQueue: 'true' });
  const send = (extra: Record<string, unknown>) => ({
    QueueUrl: url,
    MessageBody: 'm',
    MessageGroupId: 'g',
    MessageDeduplicationId: 'd1',
    ...extra,
  });
  await h.refused(
    'SendMessage',
    send({ MessageGroupId: undefined }),
    'MissingParameter',
    /^The request must contain the parameter MessageGroupId\.$/,
  );
  const noDedup = await h.refused(
    'SendMessage',
    send({ MessageDeduplicationId: undefined }),
    'InvalidParameterValue',
  );
  assert.equal(
    noDedup.message,
    'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
  );
  await h.refused(
    'SendMessage',
    send({ DelaySeconds: 5 }),
    'InvalidParameterValue',
    /^Value 5 for parameter DelaySeconds is invalid\. Reason: The request include parameter that is not valid for this queue type\.$/,
  );
  for (const id of ['', 'x'.repeat(129), 'é', 'a b']) {
    await h.refused(
      'SendMessage',
      send({ MessageGroupId: id }),
      'InvalidParameterValue',
      /MessageGroupId can only include/,
    );
    await h.refused(
      'SendMessage',
      send({ MessageDeduplicationId: id }),
      'InvalidParameterValue',
      /MessageDeduplicationId can only include/,
    );
  }
  assert.deepEqual(await h.receiveAll(url), []);

  const first = await h.call('SendMessage', send({ DelaySeconds: 0, MessageGroupId: 'x'.repeat(128) }));
  assert.match(first.SequenceNumber, /^\d{20}$/);
  const second = await h.call(
    'SendMessage',
    send({ MessageDeduplicationId: `!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~` }),
  );
  assert.ok(BigInt(second.SequenceNumber) > BigInt(first.SequenceNumber));
  // A duplicate within the window: the original's MessageId and SequenceNumber, this request's digest.
  const duplicate = await h.call('SendMessage', send({ MessageBody: 'other body' }));
  assert.equal(duplicate.MessageId, first.MessageId);
  assert.equal(duplicate.SequenceNumber, first.SequenceNumber);
  assert.equal(duplicate.MD5OfMessageBody, md5OfMessageBody('other body'));
  // One receive takes a group's messages in order; while they are in flight the group gives no more.
  assert.deepEqual(
    (await h.receiveAll(url)).map((m) => m.MessageId),
    [first.MessageId, second.MessageId],
  );
  await h.call('SendMessage', send({ MessageDeduplicationId: 'd3' }));
  assert.deepEqual(await h.receiveAll(url), []);
});

test('SendMessage on a content-based deduplication FIFO queue needs no deduplication id', async () => {
  const h = new Harness();
  const url = h.createQueue('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
  const a = await h.call('SendMessage', { QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' });
  const b = await h.call('SendMessage', { QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' });
  assert.equal(b.MessageId, a.MessageId);
  const [message] = await h.receiveAll(url, { AttributeNames: ['MessageDeduplicationId', 'SequenceNumber'] });
  assert.equal(
    message.Attributes.MessageDeduplicationId,
    createHash('sha256').update('same').digest('hex'),
    'the id is the SHA-256 of the body',
  );
  assert.equal(message.Attributes.SequenceNumber, a.SequenceNumber);
});

test('SendMessage and SendMessageBatch answer only once the messages are durable', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  h.durability.held = true;
  let answered = 0;
  const single = h.call('SendMessage', { QueueUrl: url, MessageBody: 'a' }).then(() => answered++);
  const batch = h
    .call('SendMessageBatch', { QueueUrl: url, Entries: [{ Id: '1', MessageBody: 'b' }] })
    .then(() => answered++);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, 0);
  h.durability.release();
  await Promise.all([single, batch]);
  assert.equal(answered, 2);
});

test('SendMessageBatch whole-call refusals store nothing', async () => {
  const h = new Harness();
  const url = h.createQueue('q', { MaximumMessageSize: '1024' });
  const entry = (id: string, body = 'b') => ({ Id: id, MessageBody: body });
  const empty = await h.refused(
    'SendMessageBatch',
    { QueueUrl: url, Entries: [] },
    'EmptyBatchRequest',
    /^There should be at least one SendMessageBatchRequestEntry in the request\.$/,
  );
  assert.equal(empty.queryCode, 'AWS.SimpleQueueService.EmptyBatchRequest');
  await h.refused(
    'SendMessageBatch',
    { QueueUrl: url, Entries: Array.from({ length: 11 }, (_, i) => entry(`e${i}`)) },
    'TooManyEntriesInBatchRequest',
    /^Maximum number of entries per request are 10\. You have sent 11\.$/,
  );
  await h.refused(
    'SendMessageBatch',
    { QueueUrl: url, Entries: [entry('a'), entry('b'), entry('a')] },
    'BatchEntryIdsNotDistinct',
    /^Id a repeated\.$/,
  );
  for (const id of ['', 'a.b', 'x'.repeat(81), 'ü']) {
    await h.refused(
      'SendMessageBatch',
      { QueueUrl: url, Entries: [entry('ok'), entry(id)] },
      'InvalidBatchEntryId',
      /alphanumeric characters, hyphens and underscores. It can be at most 80 letters long/,
    );
  }
  // The request total is AWS's 1 MiB whatever the queue's MaximumMessageSize.
  await h.refused(
    'SendMessageBatch',
    { QueueUrl: url, Entries: [entry('a', 'x'.repeat(600_000)), entry('b', 'y'.repeat(600_000))] },
    'BatchRequestTooLong',
    /^Batch requests cannot be longer than 1048576 bytes\. You have sent 1200000 bytes\.$/,
  );
  assert.deepEqual(await h.receiveAll(url), []);
  // Ten entries with ids at the 80-character limit are fine.
  const ten = await h.call('SendMessageBatch', {
    QueueUrl: url,
    Entries: Array.from({ length: 10 }, (_, i) => entry(`${i}`.padEnd(80, '_'))),
  });
  assert.equal(ten.Successful.length, 10);
});

test('SendMessageBatch stores the valid entries and reports the others in Failed', async () => {
  const h = new Harness();
  const url = h.createQueue('q');
  const result = await h.call('SendMessageBatch', {
    QueueUrl: url,
    Entries: [
      {
        Id: 'good-1',
        MessageBody: 'one',
        MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
      },
      { Id: 'bad_chars', MessageBody: '\u0001' },
      { Id: 'bad_delay', MessageBody: 'x', DelaySeconds: 1000 },
      { Id: 'good-2', MessageBody: 'two' },
    ],
  });
  assert.deepEqual(
    result.Successful.map((s: { Id: string }) => s.Id),
    ['good-1', 'good-2'],
  );
  assert.equal(result.Successful[0].MD5OfMessageBody, md5OfMessageBody('one'));
  assert.equal(
    result.Successful[0].MD5OfMessageAttributes,
    md5OfMessageAttributes({ k: { DataType: 'String', StringValue: 'v' } }),
  );
  assert.equal(result.Successful[1].MD5OfMessageAttributes, undefined);
  assert.deepEqual(result.Failed, [
    {
      Id: 'bad_chars',
      SenderFault: true,
      Code: 'InvalidMessageContents',
      Message: result.Failed[0].Message,
    },
    {
      Id: 'bad_delay',
      SenderFault: true,
      Code: 'InvalidParameterValue',
      Message:
        'Value 1000 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.',
    },
  ]);
  assert.match(result.Failed[0].Message, /Invalid characters found/);
  const bodies = (await h.receiveAll(url)).map((m) => m.Body).sort();
  assert.deepEqual(bodies, ['one', 'two']);
});

test('SendMessageBatch on a FIFO queue: sequence numbers in entry order; a missing group id fails the request', async () => {
  const h = new Harness();
  const url = h.createQueue('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
  await h.refused(
    'SendMessageBatch',
    {
      QueueUrl: url,
      Entries: [
        { Id: 'a', MessageBody: '1', MessageGroupId: 'g' },
        { Id: 'b', MessageBody: '2' },
      ],
    },
    'MissingParameter',
    /^The request must contain the parameter MessageGroupId\.$/,
  );
  assert.deepEqual(await h.receiveAll(url), []);
  const result = await h.call('SendMessageBatch', {
    QueueUrl: url,
    Entries: [
      { Id: 'a', MessageBody: '1', MessageGroupId: 'g' },
      { Id: 'b', MessageBody: '2', MessageGroupId: 'g', MessageDeduplicationId: '' },
      { Id: 'c', MessageBody: '3', MessageGroupId: 'g' },
    ],
  });
  assert.deepEqual(
    result.Failed.map((f: { Id: string; Code: string }) => [f.Id, f.Code]),
    [['b', 'InvalidParameterValue']],
  );
  const [a, c] = result.Successful;
  assert.ok(BigInt(c.SequenceNumber) > BigInt(a.SequenceNumber));
  const bodies = (await h.receiveAll(url)).map((m) => m.Body);
  assert.deepEqual(bodies, ['1', '3']);
});
