// boto3 1.26 and the aws CLI 2.9 (query protocol: XML errors) against a queue Policy: another account's key is refused
// with AccessDenied (Type Sender, HTTP 403) until add_permission allows it; a bad Policy is
// InvalidAttributeValue naming the element.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { PYTHON, run, runOk, runPython } from './helpers.js';

const hasBoto3 = spawnSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
const skip = hasBoto3 ? false : 'python3-boto3 is not installed for /usr/bin/python3';

const OWNER = '000000000000';
const OTHER = '111122223333';
let broker: TestBroker | undefined;
// Debian's awscli (an aws earlier on PATH, e.g. a pyenv shim, would be another program).
const AWS = '/usr/bin/aws';
const skipCli = existsSync(AWS) ? false : 'awscli is not installed (Debian: apt-get install awscli)';

before(async () => {
  if (skip && skipCli) return;
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

test("aws CLI: another account's send-message fails with AccessDenied and IAM's text", {
  skip: skipCli,
}, async () => {
  const endpoint = broker!.sqs!.endpoint;
  const cli = (keyId: string, secret: string, args: string[]) => {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: keyId,
      AWS_SECRET_ACCESS_KEY: secret,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/nonexistent/pier-aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/pier-aws-credentials',
      AWS_PAGER: '',
    });
    const command: [string, string[]] = [
      AWS,
      ['--endpoint-url', endpoint, '--output', 'json', 'sqs', ...args],
    ];
    return command;
  };
  const created = await runOk(
    ...cli('AKIDOWNER', 'owner-secret', ['create-queue', '--queue-name', 'cli-policy']),
  );
  const { QueueUrl } = JSON.parse(created.stdout.toString('utf8')) as { QueueUrl: string };
  const denied = await run(
    ...cli('AKIDOTHER', 'other-secret', ['send-message', '--queue-url', QueueUrl, '--message-body', 'x']),
  );
  assert.notEqual(denied.code, 0);
  assert.match(
    denied.stderr,
    new RegExp(
      `An error occurred \\(AccessDenied\\) when calling the SendMessage operation: User: arn:aws:iam::${OTHER}:root is not authorized to perform: sqs:sendmessage`,
    ),
  );
});
