// Other languages' clients over Pier's TLS listeners: pika (Python's ssl) over amqps with PLAIN and
// with EXTERNAL from a client certificate; kcat (librdkafka/OpenSSL) with security.protocol=ssl, with a
// client certificate, and SASL_SSL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { addUser, addVhost, setPermissions } from '../../src/core/amqp/management.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { TEST_KAFKA_SETTINGS } from '../helpers/kafka.js';
import { makeTestCertificates, type TestCertificates } from '../tls/certs.js';
import { PYTHON, run, runOk, runPython, uniqueName } from './helpers.js';

const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
const hasPika = spawnSync(PYTHON, ['-c', 'import pika'], { stdio: 'ignore' }).status === 0;

let certs: TestCertificates;
let broker: TestBroker;
const logs: string[] = [];

before(async () => {
  certs = makeTestCertificates('alice');
  broker = await startTestBroker({
    amqpPort: false,
    amqpsPort: 0,
    kafkaTlsPort: 0,
    kafka: TEST_KAFKA_SETTINGS,
    tls: certs.tls({ clientCert: 'optional', certLoginFrom: 'common_name' }),
    log: (line) => logs.push(line),
  });
  addUser(broker.core, 'alice', 'unused-password', []);
  addVhost(broker.core, 'only-alice');
  setPermissions(broker.core, {
    user: 'alice',
    vhost: 'only-alice',
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  setPermissions(broker.core, { user: 'alice', vhost: '/', configure: '.*', write: '.*', read: '.*' });
});

after(async () => {
  await broker.stop();
  certs.remove();
});

describe('pika over amqps', { skip: hasPika ? false : 'python3-pika is not installed' }, () => {
  test('PLAIN over TLS 1.2+ trusting the dev CA', async () => {
    const out = await runPython<{ body: string; version: string }>('pika_tls.py', [
      String(broker.amqps!.port),
      certs.caFile,
      uniqueName('pika-tls'),
      'plain',
    ]);
    assert.equal(out.body, 'over tls from pika');
    assert.match(out.version, /^TLSv1\.[23]$/);
  });

  test('EXTERNAL with a client certificate', async () => {
    const out = await runPython<{ body: string }>('pika_tls.py', [
      String(broker.amqps!.port),
      certs.caFile,
      uniqueName('pika-external'),
      'external',
      `${certs.dir}/client.pem`,
      `${certs.dir}/client-key.pem`,
    ]);
    assert.equal(out.body, 'over tls from pika');
  });
});

describe('kcat over Kafka SSL', { skip: hasKcat ? false : 'kcat is not installed' }, () => {
  const ssl = (extra: string[] = []) => [
    '-b',
    `localhost:${broker.kafkaTls!.port}`,
    '-X',
    'security.protocol=ssl',
    '-X',
    `ssl.ca.location=${certs.caFile}`,
    ...extra,
  ];

  test('produces and consumes with security.protocol=ssl; metadata names the TLS port', async () => {
    const topic = uniqueName('kcat-ssl');
    await runOk('kcat', ['-P', ...ssl(), '-t', topic, '-X', 'message.timeout.ms=30000'], {
      input: 'one\ntwo\nthree\n',
      timeoutMs: 60_000,
    });
    const consumed = await runOk('kcat', ['-C', ...ssl(), '-t', topic, '-o', 'beginning', '-c', '3', '-e'], {
      timeoutMs: 60_000,
    });
    assert.deepEqual(consumed.stdout.toString().trim().split('\n'), ['one', 'two', 'three']);
    const metadata = await runOk('kcat', ['-L', '-J', ...ssl()], { timeoutMs: 30_000 });
    const brokers = (JSON.parse(metadata.stdout.toString()) as { brokers: Array<{ name: string }> }).brokers;
    assert.deepEqual(
      brokers.map((b) => b.name),
      [`127.0.0.1:${broker.kafkaTls!.port}`],
    );
  });

  test('with a client certificate the principal is its DN', async () => {
    const topic = uniqueName('kcat-mtls');
    await runOk(
      'kcat',
      [
        '-P',
        ...ssl([
          '-X',
          `ssl.certificate.location=${certs.dir}/client.pem`,
          '-X',
          `ssl.key.location=${certs.dir}/client-key.pem`,
        ]),
        '-t',
        topic,
      ],
      { input: 'x\n', timeoutMs: 60_000 },
    );
    assert.ok(
      logs.some((line) => line.endsWith('is User:CN=alice,O=Pier development (TLS client certificate)')),
    );
  });

  test('a kcat that does not trust the CA fails', async () => {
    const result = await run(
      'kcat',
      ['-L', '-b', `localhost:${broker.kafkaTls!.port}`, '-X', 'security.protocol=ssl', '-m', '5'],
      {
        timeoutMs: 30_000,
      },
    );
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /certificate verify failed|SSL handshake failed/i);
  });
});
