// `pier user access-key add|list|delete`: SQS access keys that belong to Pier users. A running
// broker checks signatures against them from the first key on (loopback mode ends), a deleted key is
// refused at once, keys survive a restart, and deleting the user deletes its keys.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { addUser, deleteUser } from '../../src/core/amqp/management.js';
import { runPier, startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';

const dataDir = tempDir();
let broker: TestBroker;

before(async () => {
  broker = await startTestBroker({ dataDir, amqpPort: false, sqsPort: 0 });
  addUser(broker.core, 'app', 'app-password');
});
after(() => broker.stop());

async function listQueues(accessKeyId: string, secretAccessKey: string): Promise<unknown> {
  const sqs = new SQSClient({
    endpoint: broker.sqs!.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  try {
    return await sqs.send(new ListQueuesCommand({}));
  } finally {
    sqs.destroy();
  }
}

test('a user key is made, checked, listed, kept across a restart and deleted', async () => {
  // Loopback mode: any well-formed signature.
  await listQueues('AKIDANYTHING', 'anything');

  const made = await runPier(['user', 'access-key', 'add', 'app', '--data-dir', dataDir]);
  assert.equal(made.code, 0, made.stderr);
  const id = /AccessKeyId:\s+(AKIA[A-Z2-7]{16})/.exec(made.stdout)?.[1];
  const secret = /SecretAccessKey:\s+(\S{40})/.exec(made.stdout)?.[1];
  assert.ok(id && secret, made.stdout);
  assert.match(made.stdout, /not shown again/);

  await listQueues(id, secret);
  await assert.rejects(listQueues('AKIDANYTHING', 'anything'), { name: 'InvalidClientTokenId' });
  await assert.rejects(listQueues(id, 'wrong-secret'), { name: 'SignatureDoesNotMatch' });

  const listed = await runPier(['user', 'access-key', 'list', '--data-dir', dataDir]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${id}\\s+app`));
  assert.doesNotMatch(listed.stdout, new RegExp(secret.replace(/[+/]/g, '.')), 'secrets are never listed');

  await broker.stop();
  broker = await startTestBroker({ dataDir, amqpPort: false, sqsPort: 0 });
  await listQueues(id, secret);

  const deleted = await runPier(['user', 'access-key', 'delete', id, '--data-dir', dataDir]);
  assert.equal(deleted.code, 0, deleted.stderr);
  await assert.rejects(listQueues(id, secret), { name: 'InvalidClientTokenId' });
});

test('deleting a user deletes its keys; a key for a missing user or a bad account is refused', async () => {
  const made = await runPier([
    'user',
    'access-key',
    'add',
    'app',
    '--account',
    '111122223333',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /account 111122223333/);
  assert.equal(broker.core.accessKeys.list('app').length, 1);
  deleteUser(broker.core, 'app');
  assert.equal(broker.core.accessKeys.size, 0);

  const missing = await runPier(['user', 'access-key', 'add', 'nobody', '--data-dir', dataDir]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /user 'nobody' does not exist/);
  addUser(broker.core, 'app', 'app-password');
  const badAccount = await runPier([
    'user',
    'access-key',
    'add',
    'app',
    '--account',
    '12',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(badAccount.code, 1);
  assert.match(badAccount.stderr, /must be 12 digits/);
});
