// Connection-level behaviour seen by amqplib and by a raw socket: server properties, login,
// vhosts, the protocol header, AMQPLAIN, heartbeats and frame_max negotiation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, credentials } from 'amqplib';
import * as callbackApi from 'amqplib/callback_api';
import { PIER_VERSION } from '../../../src/protocol/amqp/server-properties.js';
import { startTestBroker } from '../../helpers/broker.js';
import {
  type BrokerUnderTest,
  brokerUnderTest,
  Collector,
  nextEvent,
  PROTOCOL_HEADER,
  RawPeer,
  uniq,
  within,
} from './amqp-helpers.js';

describe('amqp connection', () => {
  let broker: BrokerUnderTest;
  let port: number;
  before(async () => {
    broker = await brokerUnderTest();
    port = broker.port;
  });
  after(() => broker.stop());

  it('announces RabbitMQ capabilities in server-properties', async () => {
    const conn = await connect(broker.url);
    try {
      const props = conn.connection.serverProperties as unknown as Record<string, unknown>;
      const capabilities = props.capabilities as Record<string, unknown>;
      for (const name of [
        'publisher_confirms',
        'exchange_exchange_bindings',
        'basic.nack',
        'consumer_cancel_notify',
        'connection.blocked',
        'authentication_failure_close',
        'per_consumer_qos',
      ]) {
        assert.equal(capabilities[name], true, `capability ${name}`);
      }
      // What RabbitMQ-compatible clients act on (kombu applies basic.qos per channel for RabbitMQ >= 3.3).
      assert.equal(props.product, 'RabbitMQ');
      assert.match(String(props.version), /^3\.\d+\.\d+$/);
    } finally {
      await conn.close();
    }
  });

  it("reports the identity set by serverProduct/serverVersion, and Pier's own version beside it", async () => {
    for (const [amqp, product, version] of [
      [{}, 'RabbitMQ', '3.10.8'],
      [{ serverProduct: 'Pier', serverVersion: PIER_VERSION }, 'Pier', PIER_VERSION],
    ] as const) {
      const pier = await startTestBroker({ amqp });
      try {
        const conn = await connect(pier.url);
        const props = conn.connection.serverProperties as unknown as Record<string, unknown>;
        await conn.close();
        assert.equal(props.product, product);
        assert.equal(props.version, version);
        assert.equal(props.pier_version, PIER_VERSION);
        assert.ok(String(props.information).startsWith(`Pier ${PIER_VERSION} `), String(props.information));
      } finally {
        await pier.stop();
      }
    }
  });

  it('the callback API connects and sees the same server properties', async () => {
    const conn = await within(
      new Promise<callbackApi.Connection>((resolve, reject) =>
        callbackApi.connect(broker.url, (err: Error | null, c: callbackApi.Connection) =>
          err ? reject(err) : resolve(c),
        ),
      ),
    );
    const caps = (conn.connection.serverProperties as unknown as { capabilities: Record<string, unknown> })
      .capabilities;
    assert.equal(caps.publisher_confirms, true);
    await new Promise<void>((resolve) => conn.close(() => resolve()));
  });

  it('refuses a bad password with 403 ACCESS_REFUSED', async () => {
    const url = `amqp://guest:wrong@127.0.0.1:${port}`;
    await assert.rejects(within(connect(url)), (error: Error) => {
      assert.match(error.message, /403 \(ACCESS-REFUSED\)/);
      assert.match(error.message, /ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN/);
      return true;
    });
  });

  it('refuses an unknown user with 403 ACCESS_REFUSED', async () => {
    await assert.rejects(within(connect(`amqp://nobody:guest@127.0.0.1:${port}`)), /403 \(ACCESS-REFUSED\)/);
  });

  it('refuses an unknown vhost with 530 NOT_ALLOWED', async () => {
    // amqplib reports only the unexpected frame here, so check the close on a raw socket too.
    await assert.rejects(within(connect(`${broker.url}/no-such-vhost`)), /ConnectionClose/);
    const peer = await RawPeer.open(broker.url);
    try {
      const close = await peer.handshake({ virtualHost: 'no-such-vhost' });
      assert.equal(close.method, 'ConnectionClose');
      assert.equal(close.fields!.replyCode, 530);
      assert.match(String(close.fields!.replyText), /^NOT_ALLOWED - vhost no-such-vhost not found$/);
    } finally {
      peer.destroy();
    }
  });

  it('answers a wrong protocol header with its own header and closes', async () => {
    const peer = await RawPeer.open(broker.url);
    peer.write(Buffer.from('AMQP\0\0\x08\x00', 'latin1'));
    await within(peer.closed, 5000, 'the socket to close');
    assert.deepEqual(peer.rawBytes, Buffer.from('AMQP\0\0\x09\x01', 'latin1'));
  });

  it('answers an HTTP request with the protocol header and closes', async () => {
    const peer = await RawPeer.open(broker.url);
    peer.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await within(peer.closed, 5000, 'the socket to close');
    assert.deepEqual(peer.rawBytes, PROTOCOL_HEADER);
  });

  it('accepts AMQPLAIN credentials', async () => {
    const conn = await within(
      connect(`amqp://127.0.0.1:${port}`, { credentials: credentials.amqplain('guest', 'guest') }),
    );
    try {
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      assert.match(queue, /^amq\.gen-/);
    } finally {
      await conn.close();
    }
  });

  it('refuses wrong AMQPLAIN credentials with 403 naming the mechanism', async () => {
    await assert.rejects(
      within(connect(`amqp://127.0.0.1:${port}`, { credentials: credentials.amqplain('guest', 'nope') })),
      /403 \(ACCESS-REFUSED\).*AMQPLAIN/,
    );
  });

  it('negotiates the heartbeat the client asks for', async () => {
    const conn = await connect(`${broker.url}?heartbeat=5`);
    try {
      assert.equal((conn.connection as unknown as { heartbeat: number }).heartbeat, 5);
    } finally {
      await conn.close();
    }
    const proposed = await connect(broker.url);
    try {
      // No client preference: the server's 60 s is accepted.
      assert.equal((proposed.connection as unknown as { heartbeat: number }).heartbeat, 60);
    } finally {
      await proposed.close();
    }
  });

  it('sends heartbeats on an idle connection at the negotiated interval', async () => {
    const peer = await RawPeer.open(broker.url);
    try {
      await peer.handshake({ heartbeatSeconds: 1 });
      const heartbeat = await peer.nextFrame((f) => f.type === 8, 3000);
      assert.equal(heartbeat.channel, 0);
      assert.equal(heartbeat.payload.length, 0);
    } finally {
      peer.destroy();
    }
  });

  it('drops a peer that stops sending after two missed heartbeat intervals', async () => {
    const peer = await RawPeer.open(broker.url);
    try {
      await peer.handshake({ heartbeatSeconds: 1 });
      const openedAt = Date.now();
      // The peer now sends nothing, not even heartbeats: the broker must hang up on its own.
      await within(peer.closed, 6000);
      const silentMs = Date.now() - openedAt;
      assert.ok(silentMs >= 1500, `closed after ${silentMs} ms, before two 1 s intervals had passed`);
    } finally {
      peer.destroy();
    }
  });

  it('an amqplib connection with a 1 s heartbeat stays up while idle', async () => {
    const conn = await connect(`${broker.url}?heartbeat=1`);
    try {
      // amqplib drops the connection if it hears nothing for two intervals; wait for 3 s of quiet.
      const closed = nextEvent(conn, 'close', 3000).then(
        () => 'closed',
        () => 'still open',
      );
      assert.equal(await closed, 'still open');
      const ch = await conn.createChannel();
      await ch.assertQueue('', { exclusive: true });
    } finally {
      await conn.close();
    }
  });

  it('acknowledges connection.update-secret and keeps the connection usable', async () => {
    // RabbitMQ 3.10 with its internal user store answers update-secret-ok without re-checking.
    const conn = await connect(broker.url);
    try {
      await within(conn.updateSecret(Buffer.from('guest'), 'credential rotation'));
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      assert.match(queue, /^amq\.gen-/);
    } finally {
      await conn.close();
    }
  });

  it('channel.flow active=true is answered; active=false is 540 NOT_IMPLEMENTED, as RabbitMQ', async () => {
    const resumed = await RawPeer.open(broker.url);
    try {
      await resumed.handshake();
      resumed.sendMethod(1, 'ChannelOpen', { outOfBand: '' });
      await resumed.nextMethod('ChannelOpenOk');
      resumed.sendMethod(1, 'ChannelFlow', { active: true });
      const ok = await resumed.nextMethod('ChannelFlowOk');
      assert.equal(ok.fields!.active, true);
    } finally {
      resumed.destroy();
    }
    const paused = await RawPeer.open(broker.url);
    try {
      await paused.handshake();
      paused.sendMethod(1, 'ChannelOpen', { outOfBand: '' });
      await paused.nextMethod('ChannelOpenOk');
      paused.sendMethod(1, 'ChannelFlow', { active: false });
      const close = await paused.nextMethod('ConnectionClose');
      assert.equal(close.fields!.replyCode, 540);
      assert.equal(close.fields!.replyText, 'NOT_IMPLEMENTED - active=false');
    } finally {
      paused.destroy();
    }
  });

  it('proposes frame_max 131072, channel_max 2047 and heartbeat 60 in connection.tune', async () => {
    const peer = await RawPeer.open(broker.url);
    try {
      peer.write(PROTOCOL_HEADER);
      const start = await peer.nextMethod('ConnectionStart');
      assert.equal(start.fields!.versionMajor, 0);
      assert.equal(start.fields!.versionMinor, 9);
      assert.match(String(start.fields!.mechanisms), /\bPLAIN\b/);
      assert.match(String(start.fields!.mechanisms), /\bAMQPLAIN\b/);
      peer.sendMethod(0, 'ConnectionStartOk', {
        clientProperties: {},
        mechanism: 'PLAIN',
        response: Buffer.from('\0guest\0guest'),
        locale: 'en_US',
      });
      const tune = await peer.nextMethod('ConnectionTune');
      assert.equal(tune.fields!.frameMax, 131072);
      assert.equal(tune.fields!.channelMax, 2047);
      assert.equal(tune.fields!.heartbeat, 60);
    } finally {
      peer.destroy();
    }
  });

  it('negotiates a smaller frame_max and splits large bodies to fit it', async () => {
    const conn = await connect(`${broker.url}?frameMax=4096`);
    try {
      assert.equal((conn.connection as unknown as { frameMax: number }).frameMax, 4096);
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue(uniq('frames'), { exclusive: true });
      const body = Buffer.alloc(20_000, 'x');
      body.write('head');
      body.write('tail', 19_996);
      const collector = new Collector();
      await ch.consume(queue, collector.handler, { noAck: true });
      ch.sendToQueue(queue, body);
      const [message] = await collector.waitFor(1);
      assert.ok(message!.content.equals(body));
    } finally {
      await conn.close();
    }
  });

  it('delivers small and large bodies mixed in one burst byte for byte, in order', async () => {
    // Large bodies are kept as the socket delivered them and written to consumers by reference
    // between coalesced small frames: each must still arrive whole, unchanged by later reads.
    const conn = await connect(broker.url);
    try {
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue(uniq('mixed-sizes'), { exclusive: true });
      const sizes = [1, 100, 4095, 4096, 5000, 65_536, 70_000, 131_064, 300_000, 1_048_577, 7, 64 * 1024 - 1];
      const bodies = [...sizes, ...sizes.slice().reverse()].map((size, i) => {
        const body = Buffer.alloc(size);
        for (let at = 0; at < size; at++) body[at] = (at * 31 + i * 7) & 0xff;
        return body;
      });
      const collector = new Collector();
      await ch.consume(queue, collector.handler, { noAck: true });
      for (const body of bodies) ch.sendToQueue(queue, body);
      const received = await collector.waitFor(bodies.length);
      assert.deepEqual(
        received.map((m) => m!.content.length),
        bodies.map((b) => b.length),
      );
      for (let i = 0; i < bodies.length; i++) assert.ok(received[i]!.content.equals(bodies[i]!), `body ${i}`);
    } finally {
      await conn.close();
    }
  });
});
