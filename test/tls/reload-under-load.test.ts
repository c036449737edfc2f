// A certificate swap under load (issue 15): 1,000 open amqps connections and a publisher with
// confirms running through `broker.reloadTls()`; afterwards every one of the 1,000 connections still
// answers on its channel, no confirmed message is lost, and a new connection sees the new certificate.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqplib from 'amqplib';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { makeTestCertificates, servedCertificate, type TestCertificates } from './certs.js';

const CONNECTIONS = 1_000;
/** Connections opened at once while setting up (TLS handshakes cost CPU on a 2-core machine). */
const OPEN_CONCURRENCY = 50;

let certs: TestCertificates;
let broker: TestBroker;
const open: amqplib.ChannelModel[] = [];

before(async () => {
  certs = makeTestCertificates('alice');
  broker = await startTestBroker({ amqpPort: false, amqpsPort: 0, tls: certs.tls() });
});

after(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await broker.stop();
  certs.remove();
});

const connect = () =>
  amqplib.connect(`amqps://guest:guest@localhost:${broker.amqps!.port}`, { ca: [certs.ca] });

test(`${CONNECTIONS} open amqps connections and a confirmed publisher keep working across a certificate swap`, async () => {
  const channels: amqplib.Channel[] = [];
  for (let i = 0; i < CONNECTIONS; i += OPEN_CONCURRENCY) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(OPEN_CONCURRENCY, CONNECTIONS - i) }, async () => {
        const connection = await connect();
        open.push(connection);
        return connection.createChannel();
      }),
    );
    channels.push(...batch);
  }

  // The load: a publisher with confirms, running until the swap is done.
  const publisherConnection = await connect();
  open.push(publisherConnection);
  const publisher = await publisherConnection.createConfirmChannel();
  await publisher.assertQueue('swap-load', { durable: true });
  let confirmed = 0;
  let stop = false;
  const publishing = (async () => {
    while (!stop) {
      for (let i = 0; i < 100; i++)
        publisher.sendToQueue('swap-load', Buffer.from(`m${confirmed + i}`), { persistent: true });
      await publisher.waitForConfirms();
      confirmed += 100;
    }
  })();

  const before = (await servedCertificate(broker.amqps!.port, certs.ca)).fingerprint256;
  const renewed = certs.renewServer();
  assert.notEqual(renewed, before);
  broker.reloadTls();
  assert.equal((await servedCertificate(broker.amqps!.port, certs.ca)).fingerprint256, renewed);
  stop = true;
  await publishing;

  // Every connection opened before the swap still answers on its channel.
  const answers = await Promise.all(channels.map((ch) => ch.checkQueue('swap-load').then(() => true)));
  assert.equal(answers.filter(Boolean).length, CONNECTIONS);
  assert.ok(confirmed > 0);
  const depth = await publisher.checkQueue('swap-load');
  assert.equal(depth.messageCount, confirmed, 'every confirmed message is in the queue');
  // A connection made now uses the new certificate and works.
  const fresh = await connect();
  open.push(fresh);
  const channel = await fresh.createChannel();
  assert.equal((await channel.checkQueue('swap-load')).messageCount, confirmed);
});
