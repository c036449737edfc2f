// Stream queues and the disk: data and offsets across restarts, retention by x-max-length-bytes and
// by x-max-age (on an injected clock), timestamps from that clock, and deleting a stream's data.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type ChannelModel, type ConsumeMessage, connect } from 'amqplib';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { Storage } from '../../../src/storage/storage.js';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';
import { Collector } from './amqp-helpers.js';

const STREAM_ARGS = { 'x-queue-type': 'stream' };

describe('amqp stream queues on disk', () => {
  const dataDirs: string[] = [];
  let broker: TestBroker | undefined;
  after(async () => {
    await broker?.close();
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(dataDir: string, clock?: ManualClock): Promise<TestBroker> {
    await broker?.close();
    broker = await startTestBroker({ dataDir, clock });
    return broker;
  }

  function newDataDir(): string {
    const dir = tempDir('pier-streams-');
    dataDirs.push(dir);
    return dir;
  }

  async function withConnection<T>(fn: (conn: ChannelModel) => Promise<T>): Promise<T> {
    const conn = await connect(broker!.url);
    try {
      return await fn(conn);
    } finally {
      await conn.close();
    }
  }

  async function publish(conn: ChannelModel, stream: string, bodies: string[], persistent = true) {
    const ch = await conn.createConfirmChannel();
    for (const body of bodies) ch.sendToQueue(stream, Buffer.from(body), { persistent });
    await ch.waitForConfirms();
    await ch.close();
  }

  /** Reads `count` messages from `offset` on. */
  async function read(
    conn: ChannelModel,
    stream: string,
    offset: unknown,
    count: number,
  ): Promise<ConsumeMessage[]> {
    const ch = await conn.createChannel();
    await ch.prefetch(1000);
    const got = new Collector();
    await ch.consume(stream, got.handler, { arguments: { 'x-stream-offset': offset } });
    const messages = (await got.waitFor(count)) as ConsumeMessage[];
    await ch.close();
    return messages;
  }

  const offsets = (messages: ConsumeMessage[]) =>
    messages.map((m) => m.properties.headers?.['x-stream-offset']);
  const streamDir = (dataDir: string, name: string) =>
    join(dataDir, 'streams', Storage.queueDirName('/', name));
  const segmentFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.seg'));

  it('a restart keeps the stream, its messages (persistent or not) and their offsets', async () => {
    const dataDir = newDataDir();
    await start(dataDir);
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      const ok = await ch.assertQueue('events', { durable: true, arguments: STREAM_ARGS });
      assert.equal(ok.messageCount, 0);
      await publish(conn, 'events', ['e0', 'e1']);
      await publish(conn, 'events', ['e2'], false);
      assert.equal((await ch.checkQueue('events')).messageCount, 3, 'declare-ok counts the offsets held');
    });
    await start(dataDir);
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      assert.equal((await ch.checkQueue('events')).messageCount, 3);
      await publish(conn, 'events', ['e3', 'e4']);
      const all = await read(conn, 'events', 'first', 5);
      assert.deepEqual(
        all.map((m) => m.content.toString()),
        ['e0', 'e1', 'e2', 'e3', 'e4'],
      );
      assert.deepEqual(offsets(all), [0, 1, 2, 3, 4], 'offsets continue after the restart');
      assert.deepEqual(offsets(await read(conn, 'events', 3, 2)), [3, 4]);
    });
  });

  it('retention by x-max-length-bytes deletes the oldest whole segments', async () => {
    const dataDir = newDataDir();
    await start(dataDir);
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      await ch.assertQueue('capped', {
        durable: true,
        arguments: { ...STREAM_ARGS, 'x-max-length-bytes': 2000, 'x-stream-max-segment-size-bytes': 500 },
      });
      const bodies = Array.from({ length: 60 }, (_, i) => `${String(i).padStart(3, '0')}${'.'.repeat(97)}`);
      await publish(conn, 'capped', bodies);
      const kept = (await ch.checkQueue('capped')).messageCount;
      assert.ok(kept < 60 && kept > 0, `kept ${kept} of 60`);
      const messages = await read(conn, 'capped', 'first', kept);
      const first = offsets(messages)[0] as number;
      assert.equal(first, 60 - kept, 'reading from first starts at the oldest kept offset');
      assert.equal(messages.at(-1)?.content.toString(), bodies[59]);
      const files = segmentFiles(streamDir(dataDir, 'capped'));
      const bytes = files.reduce(
        (sum, f) => sum + fs.statSync(join(streamDir(dataDir, 'capped'), f)).size,
        0,
      );
      assert.ok(bytes <= 2000 + 500, `${bytes} bytes on disk in ${files.length} segments`);
    });
  });

  it('retention by x-max-age runs on the clock; timestamps come from the same clock', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const t0 = clock.now();
    const dataDir = newDataDir();
    await start(dataDir, clock);
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      await ch.assertQueue('recent', {
        durable: true,
        arguments: { ...STREAM_ARGS, 'x-max-age': '50s', 'x-stream-max-segment-size-bytes': 400 },
      });
      const body = (i: number) => `${String(i).padStart(3, '0')}${'.'.repeat(97)}`;
      await publish(
        conn,
        'recent',
        Array.from({ length: 10 }, (_, i) => body(i)),
      );
      clock.advance(20_000);
      await publish(
        conn,
        'recent',
        Array.from({ length: 10 }, (_, i) => body(10 + i)),
      );
      // A timestamp offset: messages published at t0 + 20 s or later.
      const since = await read(conn, 'recent', { '!': 'timestamp', value: t0 / 1000 + 20 }, 10);
      assert.deepEqual(offsets(since).slice(0, 2), [10, 11]);
      assert.equal((await ch.checkQueue('recent')).messageCount, 20, 'nothing is 50 s old yet');
      // The retention timer (every minute) finds the first ten 60 s old, the others 40 s.
      clock.advance(40_000);
      const kept = (await ch.checkQueue('recent')).messageCount;
      assert.ok(kept <= 10 + 3, `old segments dropped (${kept} left)`);
      const remaining = await read(conn, 'recent', 'first', kept);
      assert.ok((offsets(remaining)[0] as number) >= 7);
      assert.equal(offsets(remaining).at(-1), 19);
      // Much later everything is old, but the segment being written stays.
      clock.advance(3_600_000);
      const last = (await ch.checkQueue('recent')).messageCount;
      assert.ok(last > 0 && last < kept, `${last} in the newest segment`);
    });
  });

  it('deleting a stream deletes its data; it does not come back after a restart', async () => {
    const dataDir = newDataDir();
    await start(dataDir);
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      await ch.assertQueue('doomed', { durable: true, arguments: STREAM_ARGS });
      await publish(conn, 'doomed', ['x']);
      assert.ok(fs.existsSync(streamDir(dataDir, 'doomed')));
      await ch.deleteQueue('doomed');
      assert.equal(fs.existsSync(streamDir(dataDir, 'doomed')), false);
    });
    await start(dataDir);
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await assert.rejects(ch.checkQueue('doomed'), /NOT_FOUND/);
    });
  });
});
