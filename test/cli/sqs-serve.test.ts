/** `pier serve` and SQS: the flags, their checks, and a child broker serving the SDK with access keys. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { CreateQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { runPier as pier, spawnBroker, tempDir } from '../helpers/broker.js';

test('serve --help documents the SQS flags', async () => {
  const { code, stdout } = await pier(['serve', '--help']);
  assert.equal(code, 0);
  for (const flag of [
    'sqs-port',
    'sqs-access-key',
    'sqs-account-id',
    'sqs-region',
    'sqs-max-request-bytes',
  ]) {
    assert.match(stdout, new RegExp(`--${flag}\\b`), `--${flag} missing from help`);
  }
  assert.match(stdout, /PIER_SQS_ACCOUNT_ID, default 000000000000\)/);
});

test('bad SQS flag values are one-line errors naming the flag', async () => {
  for (const [args, expected] of [
    [
      ['--sqs-access-key', 'no-colon'],
      /--sqs-access-key: 'no-colon' must be <access-key-id>:<secret-access-key>/,
    ],
    [['--sqs-account-id', '12ab'], /--sqs-account-id: '12ab' must be 12 digits/],
    [['--sqs-max-request-bytes', '0'], /--sqs-max-request-bytes: '0' must be a positive integer/],
  ] as const) {
    const { code, stderr } = await pier(['serve', ...args]);
    assert.equal(code, 2, args.join(' '));
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, expected);
  }
});

test('an SQS listener beyond loopback without access keys is refused, saying how to fix it', async () => {
  const dataDir = tempDir();
  try {
    const { code, stderr } = await pier([
      'serve',
      '--data-dir',
      dataDir,
      '--host',
      '0.0.0.0',
      '--amqp-port',
      'off',
      '--kafka-port',
      'off',
      '--http-port',
      'off',
      '--sqs-port',
      '0',
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /sqs: the listener on 0\.0\.0\.0 is beyond loopback/);
    assert.match(stderr, /--sqs-access-key <id>:<secret>/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('with --sqs-access-key the SDK signs with that key; another secret is refused', async () => {
  const dataDir = tempDir();
  const child = await spawnBroker(
    dataDir,
    [
      '--amqp-port',
      'off',
      '--sqs-port',
      '0',
      '--sqs-access-key',
      'AKIDONE:secret-one',
      '--sqs-account-id',
      '123456789012',
    ],
    ['sqs'],
  );
  const { port } = child.listeners.get('sqs')!;
  const client = (secretAccessKey: string) =>
    new SQSClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDONE', secretAccessKey },
    });
  const good = client('secret-one');
  const bad = client('secret-two');
  try {
    const { QueueUrl } = await good.send(new CreateQueueCommand({ QueueName: 'cli-q' }));
    // Signed for eu-west-1, not the default region (us-east-1): the URL carries the region.
    assert.equal(QueueUrl, `http://127.0.0.1:${port}/queue/eu-west-1/123456789012/cli-q`);
    await assert.rejects(bad.send(new ListQueuesCommand({})), { name: 'SignatureDoesNotMatch' });
  } finally {
    good.destroy();
    bad.destroy();
    child.process.kill('SIGTERM');
    await child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
