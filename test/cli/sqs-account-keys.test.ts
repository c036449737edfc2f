/** `pier serve --sqs-access-key <id>:<secret>:<account>`: a key of another account is refused on the queues' account's queues until a policy allows it. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { AddPermissionCommand, CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseSqsAccessKey } from '../../src/composition/sqs.js';
import { spawnBroker, tempDir } from '../helpers/broker.js';

test('an access key names its account after a second colon; without one it is the queues’ account', () => {
  assert.deepEqual(parseSqsAccessKey('AKID:secret:111122223333'), {
    accessKeyId: 'AKID',
    secretAccessKey: 'secret',
    accountId: '111122223333',
  });
  assert.deepEqual(parseSqsAccessKey('AKID:secret'), { accessKeyId: 'AKID', secretAccessKey: 'secret' });
  // Only 12 digits are an account: anything else stays part of the secret.
  assert.deepEqual(parseSqsAccessKey('AKID:sec:ret'), { accessKeyId: 'AKID', secretAccessKey: 'sec:ret' });
});

test('serve: another account’s key is AccessDenied until AddPermission names its account', async () => {
  const dataDir = tempDir();
  const child = await spawnBroker(
    dataDir,
    [
      '--amqp-port',
      'off',
      '--sqs-port',
      '0',
      '--sqs-access-key',
      'AKIDOWNER:owner-secret',
      '--sqs-access-key',
      'AKIDPARTNER:partner-secret:111122223333',
    ],
    ['sqs'],
  );
  const endpoint = `http://127.0.0.1:${child.listeners.get('sqs')!.port}`;
  const client = (accessKeyId: string, secretAccessKey: string) =>
    new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });
  const owner = client('AKIDOWNER', 'owner-secret');
  const partner = client('AKIDPARTNER', 'partner-secret');
  try {
    const { QueueUrl } = await owner.send(new CreateQueueCommand({ QueueName: 'cli-shared' }));
    await assert.rejects(partner.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' })), {
      name: 'AccessDenied',
      message: /^User: arn:aws:iam::111122223333:root is not authorized to perform: sqs:sendmessage/,
    });
    await owner.send(
      new AddPermissionCommand({
        QueueUrl,
        Label: 'partner',
        AWSAccountIds: ['111122223333'],
        Actions: ['SendMessage'],
      }),
    );
    await partner.send(new SendMessageCommand({ QueueUrl, MessageBody: 'allowed' }));
  } finally {
    owner.destroy();
    partner.destroy();
    child.process.kill('SIGTERM');
    await child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
