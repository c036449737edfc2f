// boto3 1.26 (Debian's python3-boto3, botocore 1.29: the query protocol) against Pier's SQS listener:
// standard queue send/receive/delete with message attributes and their MD5s, the batch calls, queue
// attributes and their errors, FIFO group order, blocking and deduplication, DLQ redrive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { PYTHON, runPython } from './helpers.js';

const hasBoto3 = spawnSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
const skip = hasBoto3 ? false : 'python3-boto3 is not installed for /usr/bin/python3';

type Results = Record<string, Record<string, unknown>>;
let broker: TestBroker | undefined;
let results: Results = {};

before(async () => {
  if (skip) return;
  broker = await startTestBroker({ amqpPort: false, sqsPort: 0 });
  const endpoint = broker.sqs!.endpoint;
  results = await runPython<Results>('sqs_boto3.py', [endpoint, `compat-boto3-${process.pid}`], 120_000);
});

after(async () => {
  await broker?.stop();
});

function scenario(name: string): Record<string, unknown> {
  const result = results[name];
  assert.ok(result, `sqs_boto3.py printed no '${name}' result`);
  assert.equal(result.exception, undefined, `boto3 ${name}: ${String(result.exception)}`);
  return result;
}

test('boto3: send, receive and delete with message attributes; MD5s match AWS’s algorithm', { skip }, () => {
  const r = scenario('basic');
  assert.match(String(r.queueUrl), /^http:\/\/127\.0\.0\.1:\d+\/\d{12}\/compat-boto3-\d+-basic$/);
  assert.equal(r.body, 'héllo <pier> & "sqs"');
  assert.deepEqual(r.attributes, { color: 'red', count: '42', raw: '00ff10' });
  assert.equal(r.sentMd5OfBodyOk, true);
  assert.equal(r.sentMd5OfAttributesOk, true);
  assert.equal(r.md5OfBodyOk, true);
  assert.equal(r.md5OfAttributesOk, true);
  assert.equal(r.sameMessageId, true);
  assert.equal(r.receiveCount, '1');
  assert.equal(r.hasSentTimestamp, true);
  assert.equal(r.afterDelete, 0);
});

test('boto3: send_message_batch, change_message_visibility_batch, delete_message_batch', { skip }, () => {
  const r = scenario('batch');
  const bodies = Array.from({ length: 10 }, (_, i) => `batch-${i}`).sort();
  assert.deepEqual(r.sentIds, Array.from({ length: 10 }, (_, i) => `e${i}`).sort());
  assert.equal(r.sendFailed, 0);
  assert.equal(r.sentDigestsOk, true);
  assert.deepEqual(r.firstBodies, bodies);
  assert.equal(r.changed, 5);
  // Visibility 0 makes exactly the five changed messages visible again, now received twice.
  assert.deepEqual(r.againBodies, ['batch-0', 'batch-1', 'batch-2', 'batch-3', 'batch-4']);
  assert.deepEqual(r.againReceiveCounts, ['2', '2', '2', '2', '2']);
  assert.equal(r.deleted, 10);
  assert.equal(r.deleteFailed, 0);
  assert.deepEqual(r.left, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  assert.deepEqual(r.duplicateIdError, {
    code: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
    status: 400,
  });
});

test('boto3: get/set_queue_attributes, invalid values and conflicting CreateQueue', { skip }, () => {
  const r = scenario('attributes');
  const before = r.before as Record<string, string>;
  assert.equal(before.VisibilityTimeout, '45');
  assert.equal(before.DelaySeconds, '2');
  assert.equal(before.MessageRetentionPeriod, '345600');
  assert.equal(before.ReceiveMessageWaitTimeSeconds, '0');
  assert.equal(before.ApproximateNumberOfMessages, '0');
  assert.equal(before.QueueArn, `arn:aws:sqs:us-east-1:${before.QueueArn!.split(':')[4]}:${r.queueName}`);
  assert.deepEqual(r.after, {
    MessageRetentionPeriod: '3600',
    ReceiveMessageWaitTimeSeconds: '2',
    DelaySeconds: '0',
  });
  assert.deepEqual(r.invalidValue, { code: 'InvalidAttributeValue', status: 400 });
  assert.deepEqual(r.createConflict, { code: 'QueueAlreadyExists', status: 400 });
  assert.deepEqual(r.afterDelete, { code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 });
});

test('boto3: FIFO order within a group, a group blocked while in flight, deduplication', { skip }, () => {
  const r = scenario('fifo');
  const received = r.received as string[];
  assert.deepEqual([...received].sort(), ['a0', 'a1', 'a2', 'b0', 'b1']);
  for (const group of ['a', 'b']) {
    assert.deepEqual(
      received.filter((body) => body.startsWith(group)),
      [0, 1, 2].slice(0, group === 'a' ? 3 : 2).map((i) => `${group}${i}`),
      `group ${group} out of order: ${received.join(', ')}`,
    );
  }
  // The first receive took one message; its group stays blocked until it is deleted.
  assert.ok(!(r.secondGroups as string[]).includes(String(r.firstGroup)), JSON.stringify(r));
  const sequence = (r.sequenceNumbers as string[]).map(BigInt);
  assert.equal(new Set(sequence).size, 5);
  assert.equal(r.dedupRepeatSameId, true);
  assert.deepEqual(r.noGroupError, { code: 'MissingParameter', status: 400 });
});

test('boto3: a message received more than maxReceiveCount times moves to the DLQ', { skip }, () => {
  const r = scenario('dlq');
  // Receives 1 and 2 return it; the third would exceed maxReceiveCount 2 and moves it instead.
  assert.deepEqual(r.receiveCounts, [['1'], ['2'], []]);
  assert.deepEqual(r.dlqBodies, ['poison']);
  assert.deepEqual(r.dlqSourceArn, [r.srcArn]);
  // The receive count carries over: two receives in the source, the DLQ's first is the third.
  assert.deepEqual(r.dlqReceiveCounts, ['3']);
  assert.deepEqual(r.sources, [r.srcUrl]);
  assert.deepEqual(r.storedPolicy, { deadLetterTargetArn: r.dlqArn, maxReceiveCount: 2 });
});

test('boto3 (query protocol): the errors, texts and rules of issue 14 as AWS gives them', { skip }, () => {
  const r = scenario('conformance');
  assert.deepEqual(r.missingQueue, {
    code: 'AWS.SimpleQueueService.NonExistentQueue',
    message: 'The specified queue does not exist for this wsdl version.',
    status: 400,
  });
  assert.deepEqual(r.badDelay, {
    code: 'InvalidParameterValue',
    message: 'Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.',
    status: 400,
  });
  assert.equal(r.emptyReceive, false);
  assert.deepEqual(r.fifoFalse, {
    code: 'InvalidAttributeName',
    message: 'Unknown Attribute FifoQueue.',
    status: 400,
  });
  assert.deepEqual(r.batchSuccessful, ['small']);
  assert.deepEqual(r.batchFailed, [
    {
      Id: 'big',
      SenderFault: true,
      Code: 'InvalidParameterValue',
      Message: 'One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.',
    },
  ]);
  assert.deepEqual(r.fifoBatchNoGroup, {
    code: 'MissingParameter',
    message: 'The request must contain the parameter MessageGroupId.',
    status: 400,
  });
  assert.deepEqual(r.afterPurge, ['again']);
  assert.deepEqual(r.prefixFiltered, ['Hello'], 'Hel.* matches Hello, not Héllo');
  const changeDeleted = r.changeDeleted as { code: string; message: string; status: number };
  assert.equal(changeDeleted.code, 'InvalidParameterValue');
  assert.equal(changeDeleted.status, 400);
  assert.match(
    changeDeleted.message,
    /^Value \S+ for parameter ReceiptHandle is invalid\. Reason: Message does not exist or is not available for visibility timeout change\.$/,
  );
  const policy = r.policy as { Version: string; Statement: Array<Record<string, unknown>> };
  assert.equal(policy.Version, '2008-10-17');
  assert.deepEqual(policy.Statement[0]?.Principal, { AWS: 'arn:aws:iam::111122223333:root' });
  assert.deepEqual(r.deletedRecently, {
    code: 'AWS.SimpleQueueService.QueueDeletedRecently',
    message:
      'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
    status: 400,
  });
  assert.deepEqual(r.fifoOnly, {
    code: 'InvalidAttributeName',
    message: 'You can specify the DeduplicationScope only when FifoQueue is set to true.',
    status: 400,
  });
  assert.deepEqual(r.fifoToStandard, {
    code: 'InvalidAttributeValue',
    message: 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.',
    status: 400,
  });
  assert.deepEqual(r.requeueOrder, ['test1', 'test2']);
});

test("boto3: a client signing for another region has its own queues; another region's URL is refused as AWS refuses it", {
  skip,
}, () => {
  const r = scenario('regions');
  const endpoint = broker!.sqs!.endpoint;
  const name = `compat-boto3-${process.pid}-region`;
  assert.equal(r.eastUrl, `${endpoint}/000000000000/${name}`);
  assert.equal(r.westUrl, `${endpoint}/queue/eu-west-1/000000000000/${name}`);
  assert.equal(r.eastArn, `arn:aws:sqs:us-east-1:000000000000:${name}`);
  assert.equal(r.westArn, `arn:aws:sqs:eu-west-1:000000000000:${name}`);
  assert.equal(r.westArnByAwsUrl, r.westArn);
  assert.deepEqual(r.eastList, [r.eastUrl]);
  assert.deepEqual(r.westList, [r.westUrl]);
  assert.equal(r.eastReceived, 0);
  // AWS's query answer to a request signed for us-east-1 reaching eu-west-1 (boto/boto#3688 quotes
  // the XML: Sender, SignatureDoesNotMatch, 403).
  assert.deepEqual(r.wrongRegion, {
    code: 'SignatureDoesNotMatch',
    message: "Credential should be scoped to a valid region, not 'us-east-1'. ",
    status: 403,
  });
});
