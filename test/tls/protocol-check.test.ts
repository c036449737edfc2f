// What the TLS listeners accept, checked with openssl s_client (the CI check; scripts/tls-scan.sh
// runs the full testssl.sh scan): TLS 1.2 and 1.3 handshake; SSLv3 is not even compiled into
// Debian's OpenSSL, TLS 1.0 and 1.1 are refused by the server even when the client offers them at
// security level 0; CBC and non-forward-secret suites are refused; --tls-min-version 1.3 refuses
// 1.2. Plaintext sent to a TLS port, and a TLS hello sent to the plain AMQP port, are refused.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { makeTestCertificates, servedCertificate, type TestCertificates } from './certs.js';

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

/** Runs s_client against `port`; resolves with whether a session was established, and the output. */
function sClient(port: number, args: string[]): Promise<{ connected: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
      { timeout: 15_000 },
      (_error, stdout, stderr) => {
        const output = `${stdout}\n${stderr}`;
        // s_client prints the negotiated protocol and cipher of an established session.
        const connected =
          /^\s*(Protocol|New, \S+, Cipher is (?!\(NONE\)))/m.test(output) &&
          !/Cipher is \(NONE\)/.test(output);
        resolve({ connected, output });
      },
    );
    child.stdin!.end();
  });
}

let certs: TestCertificates;
let broker: TestBroker;

before(async () => {
  certs = makeTestCertificates('alice');
  broker = await startTestBroker({ amqpPort: 0, amqpsPort: 0, tls: certs.tls() });
});

after(async () => {
  await broker.stop();
  certs.remove();
});

describe('protocol versions and ciphers (openssl s_client)', {
  skip: hasOpenssl ? false : 'no openssl',
}, () => {
  test('TLS 1.2 and 1.3 are accepted with the CA verified', async () => {
    for (const version of ['-tls1_2', '-tls1_3']) {
      const { connected, output } = await sClient(broker.amqps!.port, [
        version,
        '-CAfile',
        certs.caFile,
        '-verify_return_error',
      ]);
      assert.ok(connected, `${version}:\n${output}`);
      assert.match(output, /Verify return code: 0 \(ok\)/);
    }
  });

  test('TLS 1.0 and 1.1 are refused by the server', async () => {
    for (const version of ['-tls1', '-tls1_1']) {
      const { connected, output } = await sClient(broker.amqps!.port, [
        version,
        '-cipher',
        'DEFAULT@SECLEVEL=0',
      ]);
      assert.ok(!connected, `${version} was accepted:\n${output}`);
      assert.match(
        output,
        /alert protocol version|unsupported protocol|wrong version number|no protocols available/i,
      );
    }
  });

  test('CBC, non-forward-secret and export/NULL suites are refused', async () => {
    for (const cipher of [
      'ECDHE-ECDSA-AES128-SHA',
      'ECDHE-ECDSA-AES256-SHA384',
      'AES128-GCM-SHA256',
      'NULL',
      'EXPORT',
      'RC4',
      '3DES',
    ]) {
      const { connected, output } = await sClient(broker.amqps!.port, [
        '-tls1_2',
        '-cipher',
        `${cipher}@SECLEVEL=0`,
      ]);
      assert.ok(!connected, `${cipher} was accepted:\n${output}`);
    }
  });

  test('--tls-min-version 1.3 refuses TLS 1.2', async () => {
    const strict = await startTestBroker({
      amqpPort: false,
      amqpsPort: 0,
      tls: certs.tls({ minVersion: 'TLSv1.3' }),
    });
    try {
      assert.ok(!(await sClient(strict.amqps!.port, ['-tls1_2'])).connected);
      assert.ok((await sClient(strict.amqps!.port, ['-tls1_3'])).connected);
    } finally {
      await strict.stop();
    }
  });
});

describe('bad input', () => {
  test('plaintext AMQP sent to the TLS port is refused: the connection closes', async () => {
    const socket = netConnect(broker.amqps!.port, '127.0.0.1');
    socket.on('error', () => {});
    // Read whatever comes back: OpenSSL 3.5 (Node 24) answers with an alert before closing, and a
    // paused socket would never read past it to the end of the stream ('close' would never come).
    socket.resume();
    socket.write(Buffer.from('AMQP\x00\x00\x09\x01'));
    await new Promise((resolve) => socket.once('close', resolve));
  });

  test('a TLS hello sent to the plain AMQP port fails the handshake', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = tlsConnect(
          { host: '127.0.0.1', port: broker.amqp!.port, rejectUnauthorized: false },
          () => resolve(socket),
        );
        socket.once('error', reject);
      }),
    );
  });
});

describe('renegotiation', () => {
  test('a TLS 1.2 client asking to renegotiate is refused (no_renegotiation)', async () => {
    const refused = await new Promise<Error>((resolve, reject) => {
      const socket = tlsConnect(
        {
          host: '127.0.0.1',
          port: broker.amqps!.port,
          maxVersion: 'TLSv1.2',
          ca: certs.ca,
          servername: 'localhost',
        },
        () => {
          socket.renegotiate({ rejectUnauthorized: false }, (error) => {
            if (!error) reject(new Error('the server renegotiated'));
          });
        },
      );
      socket.once('error', resolve);
    });
    assert.match(refused.message, /no renegotiation/);
  });
});

describe('slow handshakes', () => {
  test('a connection that never sends its ClientHello is dropped after the handshake timeout', async () => {
    const slow = await startTestBroker({
      amqpPort: false,
      amqpsPort: 0,
      tls: certs.tls({ handshakeTimeoutMs: 200 }),
    });
    try {
      const socket = netConnect(slow.amqps!.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
    } finally {
      await slow.stop();
    }
  });

  test('a truncated ClientHello is dropped (at the timeout, or at once when the client hangs up); others connect', async () => {
    const logs: string[] = [];
    const slow = await startTestBroker({
      amqpPort: false,
      amqpsPort: 0,
      tls: certs.tls({ handshakeTimeoutMs: 200 }),
      log: (line) => logs.push(line),
    });
    try {
      // The first bytes of a TLS 1.2 ClientHello record announcing 512 bytes, then nothing more.
      const partial = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
      const stalled = netConnect(slow.amqps!.port, '127.0.0.1', () => stalled.write(partial));
      stalled.on('error', () => {});
      stalled.resume();
      await new Promise((resolve) => stalled.once('close', resolve));
      const hungUp = netConnect(slow.amqps!.port, '127.0.0.1', () => hungUp.end(partial));
      hungUp.on('error', () => {});
      hungUp.resume();
      await new Promise((resolve) => hungUp.once('close', resolve));
      // A well-behaved client is served meanwhile.
      const served = await servedCertificate(slow.amqps!.port, certs.ca);
      assert.equal(served.subject.CN, 'localhost');
      assert.ok(logs.filter((line) => /TLS handshake failed/.test(line)).length <= 2, logs.join('\n'));
    } finally {
      await slow.stop();
    }
  });
});
