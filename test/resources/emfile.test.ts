// Issue 16: a connection flood past the process's file-descriptor limit (EMFILE at the accept loop)
// is survived. A child Pier runs under `prlimit --nofile=256`; 400 raw sockets take every descriptor.
// Meanwhile a connection opened before keeps publishing with confirms; once the flood goes away, new
// clients connect and read what was published. The broker used to die here: the resource monitor's
// memory probe (process.memoryUsage.rss() reads /proc) threw EMFILE from a timer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { test } from 'node:test';
import amqplib from 'amqplib';
import { spawnBroker, tempDir } from '../helpers/broker.js';

const hasPrlimit = spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status === 0;

test('EMFILE at the accept loop: the broker stays up, open connections keep working, new ones come back', {
  skip: hasPrlimit ? false : 'prlimit (util-linux) is not installed',
  timeout: 120_000,
}, async (t) => {
  const dataDir = tempDir();
  // The resource monitor measures every 50 ms so it certainly runs while descriptors are exhausted.
  const broker = await spawnBroker(dataDir, ['--resource-check-interval-ms', '50'], ['amqp'], {
    wrapper: ['prlimit', '--nofile=256:256', '--'],
  });
  const flood: Socket[] = [];
  try {
    const early = await amqplib.connect(broker.url);
    const channel = await early.createConfirmChannel();
    await channel.assertQueue('survivor', { durable: true });
    // The queue's first segment file is opened by its first message: before the flood.
    channel.sendToQueue('survivor', Buffer.from('first'), { persistent: true });
    await channel.waitForConfirms();
    const second = await amqplib.connect(broker.url);
    second.on('error', () => undefined);
    const secondChannel = await second.createConfirmChannel();
    secondChannel.on('error', () => undefined);
    await secondChannel.assertQueue('newcomer', { durable: true });

    // Take every descriptor the broker has: each accepted socket holds one until we close it.
    let refused = 0;
    await Promise.all(
      Array.from(
        { length: 400 },
        () =>
          new Promise<void>((resolve) => {
            const socket = connectTcp(broker.port, '127.0.0.1');
            flood.push(socket);
            socket.on('connect', () => resolve());
            socket.on('error', () => {
              refused++;
              resolve();
            });
            socket.on('close', () => resolve());
          }),
      ),
    );
    // Let several resource checks run while the descriptors are gone.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(broker.process.exitCode, null, 'the broker exited during the flood');

    // The connection opened before the flood still publishes with confirms.
    for (let i = 0; i < 100; i++) channel.sendToQueue('survivor', Buffer.from(`m${i}`), { persistent: true });
    await channel.waitForConfirms();
    // A queue whose segment file cannot be opened now refuses the publish with the reason (the
    // connection closes with 541, as for a full disk); the broker stays up.
    const closed = new Promise<Error>((resolve) => second.once('close', resolve));
    secondChannel.sendToQueue('newcomer', Buffer.from('x'), { persistent: true });
    assert.match(String((await closed).message), /EMFILE: too many open files/);

    for (const socket of flood) socket.destroy();
    flood.length = 0;
    // New clients connect again (retrying while the broker closes the flood's sockets).
    let late: amqplib.ChannelModel | undefined;
    for (let attempt = 0; late === undefined; attempt++) {
      try {
        late = await amqplib.connect(broker.url);
      } catch (error) {
        if (attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const reader = await late.createChannel();
    assert.equal((await reader.checkQueue('survivor')).messageCount, 101);
    await late.close();
    await early.close();
    assert.equal(broker.process.exitCode, null);
    t.diagnostic(`${refused} of 400 flood connections refused or reset`);
  } finally {
    for (const socket of flood) socket.destroy();
    broker.process.kill('SIGKILL');
    await broker.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
