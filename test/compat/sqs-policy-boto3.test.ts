// boto3 1.26 (query protocol: XML errors) against a queue Policy: another account's key is refused
// with AccessDenied (Type Sender, HTTP 403) until add_permission allows it; a bad Policy is
// InvalidAttributeValue naming the element.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { PYTHON, runPython } from './helpers.js';

const hasBoto3 = spawnSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
const skip = hasBoto3 ? false : 'python3-boto3 is not installed for /usr/bin/python3';

const OWNER = '000000000000';
const OTHER = '111122223333';
let broker: TestBroker | undefined;

before(async () => {
  if (skip) return;
  broker = await startTestBroker({
    amqpPort: false,
    sqsPort: 0,
    sqs: {
      accessKeys: [
        { accessKeyId: 'AKIDOWNER', secretAccessKey: 'owner-secret' },
        { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other-secret', accountId: OTHER },
      ],
    },
  });
});
after(async () => {
  await broker?.stop();
});

test('boto3: AccessDenied for another account until add_permission; bad Policy refused', {
  skip,
}, async () => {
  type Failure = { code: string; type: string; message: string; status: number } | null;
  const r = await runPython<Record<string, Failure | string[]>>('sqs_policy_boto3.py', [
    broker!.sqs!.endpoint,
    'AKIDOWNER:owner-secret',
    'AKIDOTHER:other-secret',
    OWNER,
    OTHER,
  ]);
  const denied = r.deniedSend as Failure;
  assert.equal(denied?.code, 'AccessDenied');
  assert.equal(denied?.type, 'Sender');
  assert.equal(denied?.status, 403);
  assert.equal(
    denied?.message,
    `User: arn:aws:iam::${OTHER}:root is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:${OWNER}:boto3-policy because no resource-based policy allows the sqs:sendmessage action`,
  );
  const bad = r.badPolicy as Failure;
  assert.equal(bad?.code, 'InvalidAttributeValue');
  assert.match(String(bad?.message), /Statement\[0\]\.Effect must be Allow or Deny/);
  assert.equal(r.allowedSend, null);
  assert.equal((r.deniedReceive as Failure)?.code, 'AccessDenied');
  assert.deepEqual(r.received, ['allowed']);
});
