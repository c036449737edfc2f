// Certificate reload without dropping connections: an open amqps connection keeps working across
// `pier tls reload` (the control socket) and SIGHUP while new connections get the new certificate
// (compared by fingerprint); a bad new certificate is refused, logged, and the old one kept.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import amqplib from 'amqplib';
import {
  type ChildBroker,
  runPier,
  spawnBroker,
  startTestBroker,
  type TestBroker,
  tempDir,
} from '../helpers/broker.js';
import {
  fingerprintOfFile,
  makeTestCertificates,
  servedCertificate,
  type TestCertificates,
} from './certs.js';

async function roundTrip(channel: amqplib.Channel, queue: string, body: string): Promise<string> {
  await channel.assertQueue(queue, { durable: false });
  channel.sendToQueue(queue, Buffer.from(body));
  for (;;) {
    const got = await channel.get(queue, { noAck: true });
    if (got) return got.content.toString();
  }
}

describe('pier tls reload on a running broker', () => {
  let certs: TestCertificates;
  let broker: TestBroker;
  const logs: string[] = [];

  before(async () => {
    certs = makeTestCertificates('alice');
    broker = await startTestBroker({
      amqpPort: false,
      amqpsPort: 0,
      tls: certs.tls(),
      log: (line) => logs.push(line),
    });
  });

  after(async () => {
    await broker.stop();
    certs.remove();
  });

  test('an open connection keeps working; a new one sees the new certificate', async () => {
    const before = fingerprintOfFile(certs.certFile);
    assert.equal((await servedCertificate(broker.amqps!.port, certs.ca)).fingerprint256, before);
    const connection = await amqplib.connect(`amqps://guest:guest@localhost:${broker.amqps!.port}`, {
      ca: [certs.ca],
    });
    try {
      const channel = await connection.createChannel();
      assert.equal(await roundTrip(channel, 'reload-q', 'before'), 'before');
      const after = certs.renewServer();
      assert.notEqual(after, before);
      const run = await runPier(['tls', 'reload', '--data-dir', broker.dataDir]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`amqps: .*sha256 ${after}`));
      assert.equal((await servedCertificate(broker.amqps!.port, certs.ca)).fingerprint256, after);
      // The connection made before the reload, on the old certificate, goes on.
      assert.equal(await roundTrip(channel, 'reload-q', 'after'), 'after');
      await channel.close();
    } finally {
      await connection.close();
    }
  });

  test('a bad certificate is refused with a clear line, and the one in use is kept', async () => {
    const inUse = (await servedCertificate(broker.amqps!.port, certs.ca)).fingerprint256;
    const good = `${certs.dir}/good-server.pem`;
    copyFileSync(certs.certFile, good);
    writeFileSync(
      certs.certFile,
      '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n',
    );
    try {
      const run = await runPier(['tls', 'reload', '--data-dir', broker.dataDir]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /TLS reload refused, the certificates in use are kept: .*holds no PEM certificate/,
      );
      assert.ok(logs.some((line) => /^tls: reload refused, the certificates in use are kept: /.test(line)));
      assert.equal((await servedCertificate(broker.amqps!.port, certs.ca)).fingerprint256, inUse);
      // A key that belongs to another certificate is refused too.
      copyFileSync(good, certs.certFile);
      copyFileSync(`${certs.dir}/client-key.pem`, `${certs.dir}/server-key.pem`);
      assert.throws(() => broker.reloadTls(), /does not belong to the certificate/);
      assert.equal((await servedCertificate(broker.amqps!.port, certs.ca)).fingerprint256, inUse);
    } finally {
      copyFileSync(good, certs.certFile);
    }
  });
});

describe('SIGHUP', () => {
  let certs: TestCertificates;
  let child: ChildBroker;
  const dataDir = tempDir();

  before(async () => {
    certs = makeTestCertificates('alice');
    child = await spawnBroker(
      dataDir,
      ['--amqp-port', 'off', '--amqps-port', '0', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile],
      ['amqps'],
    );
  });

  after(async () => {
    child.process.kill('SIGTERM');
    await child.exited;
    certs.remove();
  });

  test('reloads the certificate of a pier serve process', async () => {
    const port = child.listeners.get('amqps')!.port;
    const connection = await amqplib.connect(`amqps://guest:guest@localhost:${port}`, { ca: [certs.ca] });
    try {
      const channel = await connection.createChannel();
      const renewed = certs.renewServer();
      const reloaded = new Promise<void>((resolve) => {
        let seen = '';
        child.process.stderr!.on('data', (chunk) => {
          seen += chunk;
          if (seen.includes(`tls: amqps reloaded: `)) resolve();
        });
      });
      child.process.kill('SIGHUP');
      await reloaded;
      assert.equal((await servedCertificate(port, certs.ca)).fingerprint256, renewed);
      assert.equal(await roundTrip(channel, 'hup-q', 'still here'), 'still here');
      await channel.close();
    } finally {
      await connection.close();
    }
  });
});
