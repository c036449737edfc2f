/** `pier serve` as a user runs it: flags, environment, listener lines, errors and shutdown. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import amqp from 'amqplib';
import { listenNodeServer, runPier, spawnBroker, tempDir } from '../helpers/broker.js';

const pier = (args: string[], env: NodeJS.ProcessEnv = {}) => runPier(args, { env });

test('serve --help documents every flag with its environment variable', async () => {
  const { code, stdout } = await pier(['serve', '--help']);
  assert.equal(code, 0);
  for (const flag of [
    'data-dir',
    'host',
    'amqp-port',
    'kafka-port',
    'sqs-port',
    'http-port',
    'fsync',
    'fsync-interval-ms',
    'queue-segment-bytes',
    'frame-max',
    'channel-max',
    'heartbeat',
    'max-message-size',
    'max-connections',
    'max-consumers-per-channel',
    'consumer-timeout-ms',
    'amqp-server-product',
    'amqp-server-version',
    'memory-high-watermark',
    'disk-free-limit',
    'resource-check-interval-ms',
    'help',
  ]) {
    assert.match(stdout, new RegExp(`--${flag}\\b`), `--${flag} missing from help`);
  }
  assert.match(stdout, /PIER_AMQP_PORT/);
  assert.match(stdout, /PIER_FSYNC/);
  assert.match(stdout, /PIER_MEMORY_HIGH_WATERMARK, default 0\.4\)/);
  assert.match(stdout, /PIER_DISK_FREE_LIMIT, default 50MB\)/);
  assert.match(stdout, /PIER_CONSUMER_TIMEOUT_MS, default 1800000\)/);
  assert.match(stdout, /PIER_AMQP_SERVER_PRODUCT, default RabbitMQ\)/);
  assert.match(stdout, /PIER_AMQP_SERVER_VERSION, default 3\.10\.8\)/);
});

test('--amqp-server-product and PIER_AMQP_SERVER_VERSION set the identity in server-properties', async () => {
  const dataDir = tempDir();
  const saved = process.env.PIER_AMQP_SERVER_VERSION;
  process.env.PIER_AMQP_SERVER_VERSION = '3.12.0'; // spawnBroker's child inherits the environment
  try {
    const broker = await spawnBroker(dataDir, ['--amqp-server-product', 'Pier']);
    const connection = await amqp.connect(broker.url);
    const props = connection.connection.serverProperties as unknown as Record<string, unknown>;
    await connection.close();
    broker.process.kill('SIGTERM');
    assert.equal(await broker.exited, 0);
    assert.equal(props.product, 'Pier');
    assert.equal(props.version, '3.12.0');
  } finally {
    if (saved === undefined) delete process.env.PIER_AMQP_SERVER_VERSION;
    else process.env.PIER_AMQP_SERVER_VERSION = saved;
    rmSync(dataDir, { recursive: true, force: true });
  }
  const { code, stderr } = await pier(['serve', '--amqp-server-product', ' ']);
  assert.equal(code, 2);
  assert.match(stderr, /--amqp-server-product: ' ' must not be empty/);
});

test('resource and limit flags reject bad values with a one-line error naming the flag', async () => {
  for (const [flag, value, expected] of [
    ['--memory-high-watermark', '1.5', /--memory-high-watermark: '1\.5' must be a fraction/],
    ['--memory-high-watermark', 'lots', /--memory-high-watermark: 'lots'/],
    ['--disk-free-limit', '50 parsecs', /--disk-free-limit: '50 parsecs' must be a size/],
    ['--max-connections', '0', /--max-connections: '0' must be a positive integer or 'unlimited'/],
    ['--max-consumers-per-channel', 'none', /--max-consumers-per-channel: 'none'/],
    ['--consumer-timeout-ms', 'soon', /--consumer-timeout-ms: 'soon'/],
    ['--queue-segment-bytes', '100', /--queue-segment-bytes: '100' must be between 4096 and 4294967295/],
  ] as const) {
    const { code, stderr } = await pier(['serve', flag, value]);
    assert.equal(code, 2, `${flag} ${value}`);
    assert.match(stderr, expected);
  }
});

test('an unknown flag or bad value is a one-line error pointing at --help', async () => {
  const unknown = await pier(['serve', '--amqp-prot', '1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--amqp-prot/);
  assert.match(unknown.stderr, /pier serve --help/);
  const badPort = await pier(['serve', '--amqp-port', 'seventy']);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--amqp-port: 'seventy' is not a port number/);
  const badFsync = await pier(['serve', '--fsync', 'sometimes']);
  assert.equal(badFsync.code, 2);
  assert.match(badFsync.stderr, /--fsync/);
  const dashValue = await pier(['serve', '--max-connections', '-1']);
  assert.equal(dashValue.code, 2);
  assert.equal(dashValue.stderr.trim().split('\n').length, 1, dashValue.stderr);
  assert.match(dashValue.stderr, /--max-connections.*pier serve --help/);
});

test('a port already in use gives a one-line error naming the flag to change', async () => {
  const blocker = createServer();
  const port = await listenNodeServer(blocker);
  const dataDir = tempDir();
  try {
    const { code, stderr } = await pier(['serve', '--data-dir', dataDir, '--amqp-port', String(port)]);
    assert.equal(code, 2);
    assert.equal(stderr.trim().split('\n').length, 1, `expected one line, got: ${stderr}`);
    assert.match(
      stderr,
      new RegExp(`port ${port} on 127.0.0.1 is already in use; choose another with --amqp-port`),
    );
  } finally {
    blocker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('PIER_* environment variables set the flags', async () => {
  const dataDir = tempDir();
  const blocker = createServer();
  const port = await listenNodeServer(blocker);
  try {
    // The environment's port is used (and is in use), so the error names it.
    const { code, stderr } = await pier(['serve'], { PIER_DATA_DIR: dataDir, PIER_AMQP_PORT: String(port) });
    assert.equal(code, 2);
    assert.match(stderr, new RegExp(`port ${port}`));
  } finally {
    blocker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('SIGTERM closes clients with 320 CONNECTION_FORCED, syncs, and exits 0; messages survive', async () => {
  const dataDir = tempDir();
  try {
    const broker = await spawnBroker(dataDir, ['--fsync', 'never']);
    const connection = await amqp.connect(broker.url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('kept', { durable: true });
    for (let i = 0; i < 500; i++) channel.sendToQueue('kept', Buffer.from(`m${i}`), { persistent: true });
    await channel.waitForConfirms();
    const closed = new Promise<Error>((resolve) => connection.once('close', resolve));
    connection.on('error', () => {});
    broker.process.kill('SIGTERM');
    const error = await closed;
    assert.match(String(error?.message), /CONNECTION_FORCED/);
    assert.equal(await broker.exited, 0);

    const again = await spawnBroker(dataDir);
    const second = await amqp.connect(again.url);
    const ch = await second.createChannel();
    assert.equal((await ch.checkQueue('kept')).messageCount, 500);
    await second.close();
    again.process.kill('SIGINT');
    assert.equal(await again.exited, 0);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('two brokers cannot share a data directory', async () => {
  const dataDir = tempDir();
  try {
    const first = await spawnBroker(dataDir);
    const { code, stderr } = await pier(['serve', '--data-dir', dataDir, '--amqp-port', '0']);
    assert.equal(code, 2);
    assert.match(stderr, /in use by another Pier broker/);
    first.process.kill('SIGTERM');
    await first.exited;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('--disk-free-limit and --max-connections reach the broker: real free space measured, connections refused', async () => {
  const dataDir = tempDir();
  try {
    // No filesystem here has an exabyte free: the disk alarm is raised at start.
    const broker = await spawnBroker(dataDir, [
      '--disk-free-limit',
      '1000000000GB',
      '--max-connections',
      '1',
    ]);
    const connection = await amqp.connect(broker.url);
    await assert.rejects(amqp.connect(broker.url), /ConnectionClose/);
    const channel = await connection.createChannel();
    const blocked = new Promise<string>((resolve) => connection.once('blocked', resolve));
    channel.sendToQueue('anywhere', Buffer.from('x'));
    assert.equal(await blocked, 'low on disk');
    await connection.close();
    broker.process.kill('SIGTERM');
    assert.equal(await broker.exited, 0);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
