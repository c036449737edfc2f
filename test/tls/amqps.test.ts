// AMQP 0-9-1 over TLS with amqplib: amqps with the dev CA, EXTERNAL from a verified client
// certificate (CN or DN, as RabbitMQ's ssl_cert_login_from), EXTERNAL offered only where a
// certificate was verified, --tls-client-cert required, --plaintext.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import amqplib from 'amqplib';
import { addUser, addVhost, setPermissions } from '../../src/core/amqp/management.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { makeTestCertificates, type TestCertificates } from './certs.js';

let certs: TestCertificates;

before(() => {
  certs = makeTestCertificates('alice');
});

after(() => certs.remove());

/** Adds `name` with access to its own vhost `only-<name>` alone: a login there proves who logged in. */
function allowUser(broker: TestBroker, name: string): string {
  const vhost = `only-${name}`;
  addUser(broker.core, name, 'unused-password', []);
  addVhost(broker.core, vhost);
  setPermissions(broker.core, { user: name, vhost, configure: '.*', write: '.*', read: '.*' });
  return encodeURIComponent(vhost);
}

async function roundTrip(connection: amqplib.ChannelModel, queue: string): Promise<string> {
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: false });
  channel.sendToQueue(queue, Buffer.from(`hello over ${queue}`));
  const message = await new Promise<amqplib.ConsumeMessage>((resolve) => {
    channel.consume(queue, (m) => m && resolve(m), { noAck: true });
  });
  await channel.close();
  return message.content.toString();
}

describe('amqps with optional client certificates, EXTERNAL from the CN', () => {
  let broker: TestBroker;
  let aliceVhost: string;
  const logs: string[] = [];

  before(async () => {
    broker = await startTestBroker({
      amqpsPort: 0,
      tls: certs.tls({ clientCert: 'optional', certLoginFrom: 'common_name' }),
      log: (line) => logs.push(line),
    });
    aliceVhost = allowUser(broker, 'alice');
  });

  after(() => broker.stop());

  test('amqplib connects over amqps trusting the dev CA, next to the plain listener', async () => {
    assert.ok(broker.amqps, 'no amqps listener');
    assert.notEqual(broker.amqps.port, broker.amqp?.port);
    assert.match(broker.amqps.url, /^amqps:\/\//);
    const connection = await amqplib.connect(`amqps://guest:guest@localhost:${broker.amqps.port}`, {
      ca: [certs.ca],
    });
    try {
      assert.equal(await roundTrip(connection, 'tls-plain-login'), 'hello over tls-plain-login');
    } finally {
      await connection.close();
    }
  });

  test('a client that does not trust the CA is refused by its own check', async () => {
    await assert.rejects(
      amqplib.connect(`amqps://guest:guest@localhost:${broker.amqps!.port}`),
      /self[- ]signed|unable to (get|verify)/i,
    );
  });

  test('EXTERNAL with a client certificate logs in as its CN, no password', async () => {
    const connection = await amqplib.connect(`amqps://localhost:${broker.amqps!.port}/${aliceVhost}`, {
      ca: [certs.ca],
      cert: certs.clientCert,
      key: certs.clientKey,
      credentials: amqplib.credentials.external(),
    });
    try {
      // Only alice may use her vhost: guest (or anyone else) would be refused with 530.
      assert.equal(await roundTrip(connection, 'tls-external'), 'hello over tls-external');
    } finally {
      await connection.close();
    }
  });

  test('EXTERNAL is not offered without a client certificate, nor on the plain port', async () => {
    await assert.rejects(
      amqplib.connect(`amqps://localhost:${broker.amqps!.port}`, {
        ca: [certs.ca],
        credentials: amqplib.credentials.external(),
      }),
      /EXTERNAL.*not provided by the server/,
    );
    await assert.rejects(
      amqplib.connect(`amqp://127.0.0.1:${broker.amqp!.port}`, {
        credentials: amqplib.credentials.external(),
      }),
      /EXTERNAL.*not provided by the server/,
    );
  });

  test('a client certificate from another CA is refused at the handshake', async () => {
    const other = makeTestCertificates('alice');
    try {
      await assert.rejects(
        amqplib.connect(`amqps://localhost:${broker.amqps!.port}`, {
          ca: [certs.ca],
          cert: other.clientCert,
          key: other.clientKey,
          credentials: amqplib.credentials.external(),
        }),
      );
      assert.ok(
        logs.some((line) => /^amqps: TLS handshake failed from .*certificate/.test(line)),
        logs.join('\n'),
      );
    } finally {
      other.remove();
    }
  });
});

/**
 * A client certificate for CN=alice signed by the test CA but expired yesterday, or one that signs
 * itself; made with openssl next to the test certificates.
 */
function badClientCertificate(kind: 'expired' | 'self-signed'): { cert: Buffer; key: Buffer } {
  const key = join(certs.dir, `${kind}-key.pem`);
  const cert = join(certs.dir, `${kind}.pem`);
  const subject = '/O=Pier development/CN=alice';
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key];
  if (kind === 'self-signed') {
    execFileSync('openssl', ['req', '-x509', ...newKey, '-subj', subject, '-days', '30', '-out', cert], {
      stdio: 'ignore',
    });
  } else {
    const csr = join(certs.dir, 'expired.csr');
    execFileSync('openssl', ['req', ...newKey, '-subj', subject, '-out', csr], { stdio: 'ignore' });
    // -days -1: valid until yesterday (OpenSSL 3 sets notAfter before notBefore's day).
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        certs.caFile,
        '-CAkey',
        join(certs.dir, 'ca-key.pem'),
        '-set_serial',
        '77',
        '-days',
        '-1',
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
  }
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

describe('client certificates the server must refuse', () => {
  let broker: TestBroker;
  let vhost: string;
  const logs: string[] = [];

  before(async () => {
    broker = await startTestBroker({
      amqpPort: false,
      amqpsPort: 0,
      tls: certs.tls({ clientCert: 'required' }),
      log: (line) => logs.push(line),
    });
    vhost = allowUser(broker, 'CN=alice,O=Pier development');
  });
  after(async () => {
    await broker.stop();
  });

  for (const kind of ['expired', 'self-signed'] as const) {
    test(`an ${kind} client certificate is refused at the handshake, logged, and other clients are unaffected`, async () => {
      const bad = badClientCertificate(kind);
      const before = logs.length;
      const refusal = await amqplib
        .connect(`amqps://localhost:${broker.amqps!.port}/${vhost}`, {
          ca: [certs.ca],
          cert: bad.cert,
          key: bad.key,
          credentials: amqplib.credentials.external(),
        })
        .then(
          () => assert.fail('the connection was accepted'),
          (error: Error) => error,
        );
      // TLS 1.3 finishes the client's side of the handshake before the server checks the
      // certificate, so amqplib sees the server's alert as the socket closing during its handshake.
      assert.match(refusal.message, /closed|handshake|certificate|ECONNRESET/i);
      const failures = logs.slice(before).filter((line) => /^amqps: TLS handshake failed from /.test(line));
      assert.equal(failures.length, 1, logs.slice(before).join('\n'));
      // The good certificate still logs in.
      const good = await amqplib.connect(`amqps://localhost:${broker.amqps!.port}/${vhost}`, {
        ca: [certs.ca],
        cert: certs.clientCert,
        key: certs.clientKey,
        credentials: amqplib.credentials.external(),
      });
      await good.close();
    });
  }
});

describe('EXTERNAL from the distinguished name (the default), --tls-client-cert required', () => {
  let broker: TestBroker;
  let dnVhost: string;

  before(async () => {
    broker = await startTestBroker({
      amqpPort: false,
      amqpsPort: 0,
      tls: certs.tls({ clientCert: 'required' }),
    });
    dnVhost = allowUser(broker, 'CN=alice,O=Pier development');
  });

  after(() => broker.stop());

  test('the user is the subject DN, last RDN first (RFC 4514), as RabbitMQ names it', async () => {
    const connection = await amqplib.connect(`amqps://localhost:${broker.amqps!.port}/${dnVhost}`, {
      ca: [certs.ca],
      cert: certs.clientCert,
      key: certs.clientKey,
      credentials: amqplib.credentials.external(),
    });
    try {
      assert.equal(await roundTrip(connection, 'tls-dn'), 'hello over tls-dn');
    } finally {
      await connection.close();
    }
  });

  test('a client without a certificate is refused', async () => {
    await assert.rejects(
      amqplib.connect(`amqps://guest:guest@localhost:${broker.amqps!.port}`, { ca: [certs.ca] }),
      /certificate|handshake|socket|ECONNRESET|closed/i,
    );
  });

  test('a verified certificate naming no user is refused at login', async () => {
    // The same CA's client certificate, for CN=bob, who is no user.
    const bobDir = makeTestCertificates('unused');
    try {
      const { makeDevCertificates } = await import('../../src/tls/dev-cert.js');
      const { readFileSync, copyFileSync } = await import('node:fs');
      copyFileSync(certs.caFile, `${bobDir.dir}/ca.pem`);
      copyFileSync(`${certs.dir}/ca-key.pem`, `${bobDir.dir}/ca-key.pem`);
      const bob = makeDevCertificates({ outDir: bobDir.dir, clientCommonName: 'bob' });
      await assert.rejects(
        amqplib.connect(`amqps://localhost:${broker.amqps!.port}`, {
          ca: [certs.ca],
          cert: readFileSync(bob.client),
          key: readFileSync(bob.clientKey),
          credentials: amqplib.credentials.external(),
        }),
        /ACCESS_REFUSED|refused|closed/i,
      );
    } finally {
      bobDir.remove();
    }
  });
});

describe('--plaintext', () => {
  test('off: only the TLS listener', async () => {
    const broker = await startTestBroker({ plaintext: 'off', amqpsPort: 0, tls: certs.tls() });
    try {
      assert.equal(broker.amqp, undefined);
      assert.ok(broker.amqps);
    } finally {
      await broker.stop();
    }
  });

  test('loopback-only: the plain listener binds 127.0.0.1 when --host is a wildcard; TLS binds --host', async () => {
    const broker = await startTestBroker({
      host: '0.0.0.0',
      plaintext: 'loopback-only',
      amqpsPort: 0,
      tls: certs.tls(),
    });
    try {
      assert.equal(broker.amqp?.host, '127.0.0.1');
      assert.equal(broker.amqps?.host, '0.0.0.0');
    } finally {
      await broker.stop();
    }
  });

  test('a TLS port without a certificate is refused with what to do', async () => {
    await assert.rejects(
      startTestBroker({ amqpsPort: 0 }),
      /--amqps-port needs a certificate and key.*dev-cert/,
    );
  });

  test('a key that does not belong to the certificate is refused at start', async () => {
    await assert.rejects(
      startTestBroker({
        amqpsPort: 0,
        tls: { certFile: certs.certFile, keyFile: `${certs.dir}/client-key.pem` },
      }),
      /does not belong to the certificate/,
    );
  });
});
