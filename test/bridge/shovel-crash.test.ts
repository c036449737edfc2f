/**
 * A shovel between two independent Pier processes over amqp://, defined with `pier shovel add`:
 * the destination is SIGKILLed and restarted mid-run, then the source is. Every message arrives
 * (no loss); a message may arrive twice, always with the same x-shovel-message-id.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import amqplib from 'amqplib';
import { type ChildBroker, runPier, spawnBroker, tempDir } from '../helpers/broker.js';

const dirs: string[] = [];
const children: ChildBroker[] = [];
after(() => {
  for (const c of children) c.process.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const spawn = async (dir: string, port?: number) => {
  const child = await spawnBroker(dir, port === undefined ? [] : ['--amqp-port', String(port)]);
  children.push(child);
  return child;
};
const kill = async (child: ChildBroker) => {
  child.process.kill('SIGKILL');
  await child.exited;
};

test('shovel to a second Pier over amqp://: SIGKILL of the destination, then of the source: no loss, duplicates only with stable ids', async () => {
  const sourceDir = tempDir();
  const destDir = tempDir();
  dirs.push(sourceDir, destDir);
  let source = await spawn(sourceDir);
  let dest = await spawn(destDir);
  const added = await runPier([
    'shovel',
    'add',
    'to-remote',
    JSON.stringify({
      'src-queue': 'outbox',
      'dest-uri': dest.url,
      'dest-queue': 'inbox',
      'reconnect-delay': 0.1,
    }),
    '--data-dir',
    sourceDir,
  ]);
  assert.equal(added.code, 0, added.stderr);
  const bad = await runPier([
    'shovel',
    'add',
    'bad',
    '{"src-queue":"a","dest-queue":"b","prefetch-count":0}',
    '--data-dir',
    sourceDir,
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /prefetch-count/);

  const total = 400;
  const publish = async (from: number, to: number) => {
    const connection = await amqplib.connect(source.url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('outbox', { durable: true });
    for (let i = from; i < to; i++) {
      channel.sendToQueue('outbox', Buffer.from(`m${i}`), { messageId: `m${i}`, persistent: true });
    }
    await channel.waitForConfirms();
    await connection.close();
  };
  await publish(0, total / 2);
  await kill(dest);
  await publish(total / 2, total);
  const status = await runPier(['shovel', 'status', '--data-dir', sourceDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /to-remote/);
  dest = await spawn(destDir, dest.port);
  await kill(source);
  source = await spawn(sourceDir, source.port);

  const connection = await amqplib.connect(dest.url);
  const channel = await connection.createChannel();
  await channel.assertQueue('inbox', { durable: true });
  const seen = new Map<string, Set<string>>();
  let deliveries = 0;
  const all = new Promise<void>((resolve) => {
    void channel.consume('inbox', (m) => {
      deliveries++;
      const id = m!.properties.messageId as string;
      const stable = String(m!.properties.headers?.['x-shovel-message-id']);
      if (!seen.has(id)) seen.set(id, new Set());
      seen.get(id)!.add(stable);
      channel.ack(m!);
      if (seen.size === total) resolve();
    });
  });
  const timeout = setTimeout(() => {}, 60_000);
  await all;
  clearTimeout(timeout);
  assert.equal(seen.size, total, 'every message arrived');
  for (const [id, stables] of seen) {
    assert.deepEqual([...stables], [`//to-remote/amqp/${id}`], `${id}: one stable id for all its copies`);
  }
  process.stderr.write(`# ${deliveries} deliveries for ${total} messages\n`);
  await connection.close();
  const after = await runPier(['shovel', 'status', '--json', '--data-dir', sourceDir]);
  const [row] = JSON.parse(after.stdout) as Array<{ name: string; state: string }>;
  assert.equal(row?.name, 'to-remote');
});
