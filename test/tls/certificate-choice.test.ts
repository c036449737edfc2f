// Which certificate a handshake gets: one per listener (--tls-listener-cert) and one per server
// name asked for with SNI (--tls-sni-cert); other names and listeners get --tls-cert.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { fingerprintOfFile, makeTestCertificates, type TestCertificates } from './certs.js';

let main: TestCertificates;
let other: TestCertificates;
let broker: TestBroker;

before(async () => {
  main = makeTestCertificates('alice');
  other = makeTestCertificates('alice');
  broker = await startTestBroker({
    amqpPort: false,
    amqpsPort: 0,
    httpsPort: 0,
    tls: main.tls({
      listenerCerts: [{ listener: 'https', certFile: other.certFile, keyFile: other.keyFile }],
      sniCerts: [{ serverName: 'other.test', certFile: other.certFile, keyFile: other.keyFile }],
    }),
  });
});

after(async () => {
  await broker.stop();
  main.remove();
  other.remove();
});

function fingerprintServed(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

test('a listener with its own certificate serves it; the others serve --tls-cert', async () => {
  assert.equal(await fingerprintServed(broker.https!.port, 'localhost'), fingerprintOfFile(other.certFile));
  assert.equal(await fingerprintServed(broker.amqps!.port, 'localhost'), fingerprintOfFile(main.certFile));
});

test('SNI: a client asking for other.test gets its certificate', async () => {
  assert.equal(await fingerprintServed(broker.amqps!.port, 'other.test'), fingerprintOfFile(other.certFile));
  assert.equal(await fingerprintServed(broker.amqps!.port, 'OTHER.test'), fingerprintOfFile(other.certFile));
  assert.equal(await fingerprintServed(broker.amqps!.port, 'localhost'), fingerprintOfFile(main.certFile));
});
