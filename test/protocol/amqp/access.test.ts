// Access control through amqplib: 530 NOT_ALLOWED at connection.open, 403 ACCESS_REFUSED for each
// operation a user's configure / write / read patterns do not allow (texts as RabbitMQ 3.10 sends
// them, checked against it), and the effects of deleting vhosts and users on live connections.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import * as management from '../../../src/core/amqp/management.js';
import { Storage } from '../../../src/storage/storage.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { type AmqpFailure, channelError, nextEvent, RawPeer, rejectsWith } from './amqp-helpers.js';

const VHOST = 'acl';

function literal(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

const refusal = (kind: string, name: string, user = 'bob') =>
  literal(`ACCESS_REFUSED - access to ${kind} '${name}' in vhost '${VHOST}' refused for user '${user}'`);

describe('amqp access control', () => {
  let broker: TestBroker;
  let guest: ChannelModel;
  let bob: ChannelModel;
  let url: (user: string, password: string, vhost: string) => string;

  before(async () => {
    broker = await startTestBroker();
    const core = broker.core;
    url = (user, password, vhost) =>
      `amqp://${user}:${password}@127.0.0.1:${broker.amqp!.port}/${encodeURIComponent(vhost)}`;
    management.addVhost(core, VHOST);
    management.setPermissions(core, {
      user: 'guest',
      vhost: VHOST,
      configure: '.*',
      write: '.*',
      read: '.*',
    });
    management.addUser(core, 'bob', 'secret');
    management.setPermissions(core, {
      user: 'bob',
      vhost: VHOST,
      configure: '^cfg',
      write: '^w',
      read: '^r',
    });
    guest = await connect(url('guest', 'guest', VHOST));
    const ch = await guest.createChannel();
    for (const q of ['cfgq', 'wq', 'rq']) await ch.assertQueue(q);
    for (const x of ['cfgx', 'wx', 'rx']) await ch.assertExchange(x, 'direct');
    await ch.close();
    bob = await connect(url('bob', 'secret', VHOST));
  });
  after(async () => {
    await bob.close().catch(() => {});
    await guest.close().catch(() => {});
    await broker.stop();
  });

  /** Runs `op` on a fresh channel of bob's and expects a 403 with `text`. */
  async function refused(op: (ch: Channel) => Promise<unknown>, text: RegExp): Promise<void> {
    const ch = await bob.createChannel();
    ch.on('error', () => {});
    await rejectsWith(op(ch), 403, text);
  }

  /** Runs `op` on a fresh channel of bob's and expects it to succeed. */
  async function allowed(op: (ch: Channel) => Promise<unknown>): Promise<void> {
    const ch = await bob.createChannel();
    await op(ch);
    await ch.close();
  }

  /** Publishes and returns the error that closes the channel, or undefined if a round trip succeeds. */
  async function publish(exchange: string, routingKey: string): Promise<AmqpFailure | undefined> {
    const ch = await bob.createChannel();
    let error: AmqpFailure | undefined;
    ch.on('error', (e: AmqpFailure) => {
      error = e;
    });
    ch.publish(exchange, routingKey, Buffer.from('m'));
    try {
      await ch.checkExchange('amq.direct');
    } catch (rpcError) {
      return error ?? (rpcError as AmqpFailure); // the round trip fails because the channel was closed
    }
    await ch.close();
    return undefined;
  }

  describe('connection.open', () => {
    async function open(user: string, password: string, vhost: string) {
      const peer = await RawPeer.open(broker.url);
      try {
        return await peer.handshake({ virtualHost: vhost, response: Buffer.from(`\0${user}\0${password}`) });
      } finally {
        peer.destroy();
      }
    }

    it('an unknown vhost gets 530 NOT_ALLOWED "vhost x not found"', async () => {
      const frame = await open('guest', 'guest', 'no-such-vhost');
      assert.equal(frame.method, 'ConnectionClose');
      assert.deepEqual(frame.fields, {
        replyCode: 530,
        replyText: 'NOT_ALLOWED - vhost no-such-vhost not found',
        classId: 10,
        methodId: 40,
      });
    });

    it('a vhost the user has no permissions in gets 530, even for guest on a new vhost', async () => {
      management.addVhost(broker.core, 'fresh');
      const frame = await open('guest', 'guest', 'fresh');
      assert.equal(frame.fields?.replyCode, 530);
      assert.equal(frame.fields?.replyText, "NOT_ALLOWED - access to vhost 'fresh' refused for user 'guest'");
      const bobOnRoot = await open('bob', 'secret', '/');
      assert.equal(bobOnRoot.fields?.replyText, "NOT_ALLOWED - access to vhost '/' refused for user 'bob'");
    });

    it("any permission entry opens the vhost, even '' '' ''", async () => {
      management.addVhost(broker.core, 'empty-perms');
      management.setPermissions(broker.core, {
        user: 'bob',
        vhost: 'empty-perms',
        configure: '',
        write: '',
        read: '',
      });
      const frame = await open('bob', 'secret', 'empty-perms');
      assert.equal(frame.method, 'ConnectionOpenOk');
    });
  });

  describe('403 ACCESS_REFUSED per operation', () => {
    it('exchange.declare needs configure on the exchange; a passive declare needs nothing', async () => {
      await refused((ch) => ch.assertExchange('rx', 'direct'), refusal('exchange', 'rx'));
      await refused((ch) => ch.assertExchange('new-x', 'fanout'), refusal('exchange', 'new-x'));
      await allowed((ch) => ch.assertExchange('cfgx-new', 'fanout'));
      await allowed((ch) => ch.checkExchange('rx'));
    });

    it('exchange.declare with an alternate-exchange also needs read on it and write on the alternate', async () => {
      await refused(
        (ch) => ch.assertExchange('cfg-ae', 'direct', { alternateExchange: 'wx' }),
        refusal('exchange', 'cfg-ae'),
      );
    });

    it('exchange.delete needs configure on the exchange', async () => {
      await refused((ch) => ch.deleteExchange('rx'), refusal('exchange', 'rx'));
      await allowed((ch) => ch.deleteExchange('cfgx-new'));
    });

    it('queue.declare needs configure on the queue, server-named ones included; passive needs nothing', async () => {
      await refused((ch) => ch.assertQueue('rq'), refusal('queue', 'rq'));
      await refused(
        (ch) => ch.assertQueue(''),
        /ACCESS_REFUSED - access to queue 'amq\.gen-[\w-]{22}' in vhost 'acl' refused for user 'bob'/,
      );
      await allowed((ch) => ch.checkQueue('rq'));
      await allowed((ch) => ch.assertQueue('cfg-new'));
    });

    it('queue.declare with a dead-letter exchange also needs read on the queue and write on the exchange', async () => {
      await refused(
        (ch) => ch.assertQueue('cfg-dl', { deadLetterExchange: 'wx' }),
        refusal('queue', 'cfg-dl'),
      );
    });

    it('queue.delete needs configure on the queue', async () => {
      await refused((ch) => ch.deleteQueue('rq'), refusal('queue', 'rq'));
      await allowed((ch) => ch.deleteQueue('cfg-new'));
    });

    it('queue.bind and queue.unbind need write on the queue and read on the exchange', async () => {
      await refused((ch) => ch.bindQueue('rq', 'rx', 'k'), refusal('queue', 'rq'));
      await refused((ch) => ch.bindQueue('wq', 'wx', 'k'), refusal('exchange', 'wx'));
      await allowed((ch) => ch.bindQueue('wq', 'rx', 'k'));
      await refused((ch) => ch.unbindQueue('rq', 'rx', 'k'), refusal('queue', 'rq'));
      await refused((ch) => ch.unbindQueue('wq', 'wx', 'k'), refusal('exchange', 'wx'));
      await allowed((ch) => ch.unbindQueue('wq', 'rx', 'k'));
    });

    it('exchange.bind and exchange.unbind need write on the destination and read on the source', async () => {
      await refused((ch) => ch.bindExchange('rx', 'rx', 'k'), refusal('exchange', 'rx'));
      await refused((ch) => ch.bindExchange('wx', 'wx', 'k'), refusal('exchange', 'wx'));
      await allowed((ch) => ch.bindExchange('wx', 'rx', 'k'));
      await refused((ch) => ch.unbindExchange('wx', 'wx', 'k'), refusal('exchange', 'wx'));
      await allowed((ch) => ch.unbindExchange('wx', 'rx', 'k'));
    });

    it("basic.publish needs write on the exchange, the default exchange counting as 'amq.default'", async () => {
      const toRead = await publish('rx', 'k');
      assert.equal(toRead?.code, 403);
      assert.match(String(toRead?.message), refusal('exchange', 'rx'));
      const toDefault = await publish('', 'wq');
      assert.match(String(toDefault?.message), refusal('exchange', 'amq.default'));
      // The check comes before the existence check: a refused user learns nothing about names.
      const toMissing = await publish('missing', 'k');
      assert.match(String(toMissing?.message), refusal('exchange', 'missing'));
      assert.equal(await publish('wx', 'k'), undefined);
      const toMissingWritable = await publish('w-missing', 'k');
      assert.equal(toMissingWritable?.code, 404);
    });

    it('basic.get, basic.consume and queue.purge need read on the queue', async () => {
      await refused((ch) => ch.get('wq'), refusal('queue', 'wq'));
      await refused((ch) => ch.consume('wq', () => {}), refusal('queue', 'wq'));
      await refused((ch) => ch.purgeQueue('wq'), refusal('queue', 'wq'));
      await allowed((ch) => ch.get('rq'));
      await allowed((ch) => ch.purgeQueue('rq'));
      await allowed(async (ch) => ch.cancel((await ch.consume('rq', () => {})).consumerTag));
    });
  });

  describe('changes while connected', () => {
    it('a permission change applies to the next operation on an open channel, publishes included', async () => {
      management.addUser(broker.core, 'carol', 'pw');
      management.setPermissions(broker.core, {
        user: 'carol',
        vhost: VHOST,
        configure: '.*',
        write: '.*',
        read: '.*',
      });
      const carol = await connect(url('carol', 'pw', VHOST));
      try {
        const ch = await carol.createChannel();
        ch.publish('wx', 'k', Buffer.from('1'));
        await ch.checkQueue('wq');
        management.setPermissions(broker.core, {
          user: 'carol',
          vhost: VHOST,
          configure: '.*',
          write: '',
          read: '.*',
        });
        const failed = channelError(ch);
        ch.publish('wx', 'k', Buffer.from('2'));
        assert.match((await failed).message, refusal('exchange', 'wx', 'carol'));
        const ch2 = await carol.createChannel();
        ch2.on('error', () => {});
        management.clearPermissions(broker.core, 'carol', VHOST);
        await rejectsWith(
          ch2.checkQueue('wq').then(() => ch2.get('rq')),
          403,
          refusal('queue', 'rq', 'carol'),
        );
      } finally {
        await carol.close().catch(() => {});
      }
    });

    it('deleting a user closes its connections with 320 and refuses its logins', async () => {
      management.addUser(broker.core, 'dave', 'pw');
      management.setPermissions(broker.core, {
        user: 'dave',
        vhost: VHOST,
        configure: '.*',
        write: '.*',
        read: '.*',
      });
      const dave = await connect(url('dave', 'pw', VHOST));
      dave.on('error', () => {});
      const closed = nextEvent<[Error]>(dave, 'close');
      management.deleteUser(broker.core, 'dave');
      const [error] = await closed;
      assert.match(
        String(error?.message),
        /320 \(CONNECTION-FORCED\) with message "CONNECTION_FORCED - user 'dave' is deleted"/,
      );
      await assert.rejects(connect(url('dave', 'pw', VHOST)));
      assert.equal(broker.core.permissions.get('dave', VHOST), undefined);
    });

    it("deleting a vhost closes its connections with 320 and removes its queues' stored data", async () => {
      const core = broker.core;
      management.addVhost(core, 'doomed');
      management.setPermissions(core, {
        user: 'guest',
        vhost: 'doomed',
        configure: '.*',
        write: '.*',
        read: '.*',
      });
      const conn = await connect(url('guest', 'guest', 'doomed'));
      conn.on('error', () => {});
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('kept', { durable: true });
      ch.sendToQueue('kept', Buffer.from('m'), { persistent: true });
      await ch.waitForConfirms();
      const queueDir = join(broker.dataDir, 'queues', Storage.queueDirName('doomed', 'kept'));
      assert.ok(existsSync(queueDir));
      const bystander = await guest.createChannel(); // a connection on another vhost is untouched

      const closed = nextEvent<[Error]>(conn, 'close');
      management.deleteVhost(core, 'doomed');
      const [error] = await closed;
      assert.match(String(error?.message), /CONNECTION_FORCED - vhost 'doomed' is deleted/);
      assert.equal(existsSync(queueDir), false);
      assert.equal(core.vhosts.has('doomed'), false);
      await bystander.checkQueue('wq');

      // Re-created, it starts empty and closed to everyone.
      management.addVhost(core, 'doomed');
      await assert.rejects(connect(url('guest', 'guest', 'doomed')));
      management.setPermissions(core, {
        user: 'guest',
        vhost: 'doomed',
        configure: '.*',
        write: '.*',
        read: '.*',
      });
      const again = await connect(url('guest', 'guest', 'doomed'));
      const ch2 = await again.createChannel();
      ch2.on('error', () => {});
      await rejectsWith(ch2.checkQueue('kept'), 404);
      await again.close();
    });
  });
});
