// Deduplication across restarts, through amqplib: a durable queue's ids (kept in its message
// records) and a durable exchange's ids (kept in its id log) survive a graceful restart on a
// ManualClock, and a SIGKILL of a `pier serve` child process.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { DedupStorage } from '../../../src/storage/disk-dedup-store.js';
import { spawnBroker, startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';
import { drain, within } from './amqp-helpers.js';

const ID = 'x-deduplication-header';

/** A broker that can be restarted on the same data directory and clock. */
class RestartableBroker {
  broker!: TestBroker;
  conn!: ChannelModel;
  ch!: ConfirmChannel;
  readonly clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  readonly dataDir = tempDir();

  async start(): Promise<this> {
    this.broker = await startTestBroker({ clock: this.clock, dataDir: this.dataDir });
    this.conn = await connect(this.broker.url);
    this.ch = await this.conn.createConfirmChannel();
    return this;
  }

  async restart(advanceMs = 0): Promise<void> {
    await this.conn.close();
    await this.broker.close();
    this.clock.advance(advanceMs);
    await this.start();
  }

  async stop(): Promise<void> {
    await this.conn.close().catch(() => {});
    await this.broker.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Publishes to the default exchange and waits for the confirm. */
  async send(queue: string, body: string, id: string, options: { persistent?: boolean } = {}) {
    return this.publish('', queue, body, id, options);
  }

  async publish(
    exchange: string,
    routingKey: string,
    body: string,
    id: string,
    options: { persistent?: boolean; priority?: number; headers?: Record<string, unknown> } = {},
  ): Promise<void> {
    const { headers, ...rest } = options;
    this.ch.publish(exchange, routingKey, Buffer.from(body), {
      persistent: true,
      ...rest,
      headers: { [ID]: id, ...headers },
    });
    await within(this.ch.waitForConfirms(), 5000, 'publisher confirms');
  }

  async count(queue: string): Promise<number> {
    return (await this.ch.checkQueue(queue)).messageCount;
  }
}

const brokers: RestartableBroker[] = [];
async function startRestartable(): Promise<RestartableBroker> {
  const broker = await new RestartableBroker().start();
  brokers.push(broker);
  return broker;
}

after(async () => {
  for (const b of brokers) await b.stop().catch(() => {});
});

describe('queue deduplication across a restart', () => {
  it('refuses a duplicate of a message still in the queue; the id is free once it is acked', async () => {
    const b = await startRestartable();
    await b.ch.assertQueue('dq', { durable: true, arguments: { 'x-message-deduplication': true } });
    await b.send('dq', 'a', 'x');
    await b.send('dq', 'b', 'y');
    await b.send('dq', 'transient', 'z', { persistent: false });
    const unacked = await b.ch.get('dq'); // 'a' is unacked when the broker stops
    assert.ok(unacked);
    await b.restart();

    await b.send('dq', 'a-dup', 'x');
    await b.send('dq', 'b-dup', 'y');
    // The transient message did not survive the restart, so neither did its id.
    await b.send('dq', 'z-again', 'z');
    assert.equal(await b.count('dq'), 3);

    const first = await b.ch.get('dq');
    assert.ok(first);
    assert.equal(first.content.toString(), 'a');
    assert.equal(first.fields.redelivered, true);
    await b.send('dq', 'a-dup-while-unacked', 'x');
    b.ch.ack(first);
    await b.send('dq', 'x-after-ack', 'x');
    await b.send('dq', 'y-dup', 'y');
    assert.deepEqual(await drain(b.ch, 'dq'), ['b', 'z-again', 'x-after-ack']);
  });

  it('keeps ids of a priority queue and their x-cache-ttl (argument and header)', async () => {
    const b = await startRestartable();
    await b.ch.assertQueue('pq', {
      durable: true,
      arguments: { 'x-message-deduplication': true, 'x-max-priority': 3, 'x-cache-ttl': 10_000 },
    });
    await b.publish('', 'pq', 'p', 'p', { priority: 2 });
    await b.publish('', 'pq', 'q', 'q', { headers: { 'x-cache-ttl': 1000 } });
    await b.restart(500);

    await b.publish('', 'pq', 'p-dup', 'p', { priority: 1 });
    await b.publish('', 'pq', 'q-dup', 'q');
    assert.equal(await b.count('pq'), 2);
    b.clock.advance(500); // q's id expires 1000 ms after it was published, restart or not
    await b.publish('', 'pq', 'q-after-ttl', 'q');
    assert.equal(await b.count('pq'), 3);

    const high = await b.ch.get('pq');
    assert.ok(high);
    assert.equal(high.content.toString(), 'p');
    b.ch.ack(high); // a recovered message of priority level 2 frees its id when acked
    await b.publish('', 'pq', 'p-after-ack', 'p');
    await b.restart(9000); // 10 s after the first publishes: p's old entry would have expired anyway
    await b.publish('', 'pq', 'p-dup-after-restart', 'p');
    assert.deepEqual(await drain(b.ch, 'pq'), ['q', 'q-after-ttl', 'p-after-ack']);
  });

  it('x-cache-size still bounds the ids after a restart: the oldest are forgotten first', async () => {
    const b = await startRestartable();
    await b.ch.assertQueue('sq', {
      durable: true,
      arguments: { 'x-message-deduplication': true, 'x-cache-size': 2 },
    });
    await b.send('sq', 'a', 'a');
    await b.send('sq', 'b', 'b');
    await b.send('sq', 'c', 'c'); // evicts a
    await b.restart();
    await b.send('sq', 'c-dup', 'c');
    await b.send('sq', 'a-again', 'a'); // accepted: a had been evicted (now evicts b)
    await b.send('sq', 'b-again', 'b');
    assert.deepEqual(await drain(b.ch, 'sq'), ['a', 'b', 'c', 'a-again', 'b-again']);
  });
});

describe('exchange deduplication across a restart', () => {
  async function dedupExchange(b: RestartableBroker, name: string, args: Record<string, unknown>) {
    await b.ch.assertExchange(name, 'direct', {
      durable: true,
      arguments: { 'x-message-deduplication': true, ...args },
    });
    await b.ch.assertQueue(`${name}-q`, { durable: true });
    await b.ch.bindQueue(`${name}-q`, name, 'k');
  }

  it('does not route a duplicate within x-cache-ttl after a restart, and routes it after', async () => {
    const b = await startRestartable();
    await dedupExchange(b, 'dx', { 'x-cache-ttl': 10_000 });
    await b.publish('dx', 'k', 'first', 'k1');
    await b.publish('dx', 'k', 'transient', 'k2', { persistent: false });
    assert.deepEqual(await drain(b.ch, 'dx-q'), ['first', 'transient']);
    await b.restart(4000);

    await b.publish('dx', 'k', 'k1-dup', 'k1');
    await b.publish('dx', 'k', 'k2-dup', 'k2');
    assert.equal(await b.count('dx-q'), 0, 'the exchange remembered both ids');
    b.clock.advance(5999);
    await b.publish('dx', 'k', 'k1-dup-2', 'k1');
    b.clock.advance(1);
    await b.publish('dx', 'k', 'k2-after-ttl', 'k2');
    await b.restart(); // an expired id is not brought back by the log
    await b.publish('dx', 'k', 'k1-after-ttl', 'k1');
    assert.deepEqual(await drain(b.ch, 'dx-q'), ['k2-after-ttl', 'k1-after-ttl']);
  });

  it('x-cache-size bounds the ids after a restart; the id log is compacted as it grows', async () => {
    const b = await startRestartable();
    await dedupExchange(b, 'sx', { 'x-cache-size': 3 });
    const total = 1100;
    for (let i = 0; i < total; i++)
      b.ch.publish('sx', 'k', Buffer.from(`m${i}`), { persistent: true, headers: { [ID]: `id-${i}` } });
    await within(b.ch.waitForConfirms(), 10_000, 'confirms');
    assert.equal(await b.count('sx-q'), total);
    await b.ch.purgeQueue('sx-q');
    const log = join(b.dataDir, 'dedup', DedupStorage.dirName('/', 'sx'), 'ids.log');
    const recordBytes = 9 + 8 + Buffer.byteLength('s:id-1000');
    assert.ok(
      statSync(log).size < (total * recordBytes) / 5,
      `the log was compacted (${statSync(log).size} bytes)`,
    );
    await b.restart();

    for (const i of [1097, 1098, 1099, 1096]) await b.publish('sx', 'k', `again-${i}`, `id-${i}`);
    assert.deepEqual(await drain(b.ch, 'sx-q'), ['again-1096']);
  });

  it('deleting the exchange deletes its ids; a transient exchange stores none', async () => {
    const b = await startRestartable();
    await dedupExchange(b, 'gone', {});
    await b.publish('gone', 'k', 'one', 'g');
    const dir = join(b.dataDir, 'dedup', DedupStorage.dirName('/', 'gone'));
    assert.ok(existsSync(join(dir, 'ids.log')));
    await b.ch.deleteExchange('gone');
    assert.equal(existsSync(dir), false);
    await b.ch.assertExchange('gone', 'direct', {
      durable: true,
      arguments: { 'x-message-deduplication': true },
    });
    await b.ch.bindQueue('gone-q', 'gone', 'k');
    await b.publish('gone', 'k', 'two', 'g');
    await b.ch.assertExchange('transient-x', 'direct', {
      durable: false,
      arguments: { 'x-message-deduplication': true },
    });
    await b.publish('transient-x', 'k', 'x', 'g');
    assert.deepEqual(readdirSync(join(b.dataDir, 'dedup')), [DedupStorage.dirName('/', 'gone')]);
    await b.restart();
    await b.publish('gone', 'k', 'three', 'g');
    assert.deepEqual(await drain(b.ch, 'gone-q'), ['one', 'two']);
  });
});

describe('deduplication across a SIGKILL', () => {
  it('a `pier serve` killed after the confirms still drops the duplicates when restarted', {
    timeout: 30_000,
  }, async () => {
    const dataDir = tempDir('pier-dedup-kill-');
    let child = await spawnBroker(dataDir);
    try {
      let conn = await connect(child.url);
      let ch = await conn.createConfirmChannel();
      await ch.assertQueue('kq', { durable: true, arguments: { 'x-message-deduplication': true } });
      await ch.assertExchange('kx', 'fanout', {
        durable: true,
        arguments: { 'x-message-deduplication': true },
      });
      await ch.assertQueue('kxq', { durable: true });
      await ch.bindQueue('kxq', 'kx', '');
      ch.sendToQueue('kq', Buffer.from('q1'), { persistent: true, headers: { [ID]: 'q' } });
      ch.publish('kx', '', Buffer.from('x1'), { persistent: true, headers: { [ID]: 'x' } });
      await within(ch.waitForConfirms(), 5000, 'confirms');
      assert.deepEqual(await drain(ch, 'kxq'), ['x1']);
      await ch.checkQueue('kxq'); // a round trip after the auto-ack: the ack is written
      conn.on('error', () => {}); // the socket dies with the broker
      child.process.kill('SIGKILL');
      await child.exited;

      child = await spawnBroker(dataDir);
      conn = await connect(child.url);
      conn.on('error', () => {}); // if an assertion fails, the finally kills the broker under it
      ch = await conn.createConfirmChannel();
      ch.sendToQueue('kq', Buffer.from('q1-dup'), { persistent: true, headers: { [ID]: 'q' } });
      ch.publish('kx', '', Buffer.from('x1-dup'), { persistent: true, headers: { [ID]: 'x' } });
      ch.publish('kx', '', Buffer.from('x2'), { persistent: true, headers: { [ID]: 'other' } });
      await within(ch.waitForConfirms(), 5000, 'confirms');
      assert.deepEqual(await drain(ch, 'kq'), ['q1']);
      assert.deepEqual(await drain(ch, 'kxq'), ['x2']);
      await conn.close();
    } finally {
      child.process.kill('SIGKILL');
      await child.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
