// Other languages' clients over Pier's TLS listeners: pika (Python's ssl) over amqps with PLAIN and
// with EXTERNAL from a client certificate; kcat (librdkafka/OpenSSL) with security.protocol=ssl, with a
// client certificate, and SASL_SSL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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

describe('SASL_SSL and HTTPS with the command-line tools', () => {
  const AWS = '/usr/bin/aws';
  const hasAws = existsSync(AWS);
  const hasBoto3 = spawnSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
  let secure: TestBroker;

  before(async () => {
    secure = await startTestBroker({
      amqpPort: false,
      kafkaTlsPort: 0,
      kafka: { ...TEST_KAFKA_SETTINGS, sasl: true },
      sqsTlsPort: 0,
      sqs: { accessKeys: [{ accessKeyId: 'AKIDTLS', secretAccessKey: 'tls-secret' }] },
      tls: certs.tls(),
    });
    addUser(secure.core, 'kcat-user', 'kcat-secret', []);
  });
  after(() => secure.stop());

  test('kcat with security.protocol=sasl_ssl and SCRAM-SHA-256', {
    skip: hasKcat ? false : 'kcat is not installed',
  }, async () => {
    const topic = uniqueName('kcat-sasl-ssl');
    const saslSsl = (password: string) => [
      '-b',
      `localhost:${secure.kafkaTls!.port}`,
      '-X',
      'security.protocol=sasl_ssl',
      '-X',
      `ssl.ca.location=${certs.caFile}`,
      '-X',
      'sasl.mechanisms=SCRAM-SHA-256',
      '-X',
      'sasl.username=kcat-user',
      '-X',
      `sasl.password=${password}`,
    ];
    await runOk('kcat', ['-P', ...saslSsl('kcat-secret'), '-t', topic], {
      input: 'a\nb\n',
      timeoutMs: 60_000,
    });
    const consumed = await runOk(
      'kcat',
      ['-C', ...saslSsl('kcat-secret'), '-t', topic, '-o', 'beginning', '-c', '2', '-e'],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(consumed.stdout.toString().trim().split('\n'), ['a', 'b']);
    const refused = await run('kcat', ['-L', ...saslSsl('wrong'), '-m', '10'], { timeoutMs: 30_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /[Aa]uthentication failed|SASL/);
  });

  test('the aws CLI over HTTPS with --ca-bundle', {
    skip: hasAws ? false : 'awscli is not installed',
  }, async () => {
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIDTLS',
      AWS_SECRET_ACCESS_KEY: 'tls-secret',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/nonexistent/pier-aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/pier-aws-credentials',
      AWS_PAGER: '',
    };
    Object.assign(process.env, env);
    const endpoint = `https://localhost:${secure.sqsTls!.port}`;
    const cli = (...args: string[]) =>
      runOk(
        AWS,
        ['sqs', ...args, '--endpoint-url', endpoint, '--ca-bundle', certs.caFile, '--output', 'json'],
        {
          timeoutMs: 60_000,
        },
      ).then((r) => JSON.parse(r.stdout.toString() || '{}') as Record<string, unknown>);
    const { QueueUrl } = (await cli(
      'create-queue',
      '--queue-name',
      uniqueName('cli-https').replaceAll('.', '-'),
    )) as {
      QueueUrl: string;
    };
    assert.match(QueueUrl, /^https:\/\/localhost:\d+\/\d{12}\//);
    await cli('send-message', '--queue-url', QueueUrl, '--message-body', 'over https');
    const { Messages } = (await cli('receive-message', '--queue-url', QueueUrl)) as {
      Messages: { Body: string }[];
    };
    assert.equal(Messages[0]!.Body, 'over https');
    // Without the CA the CLI refuses the certificate.
    const untrusted = await run(AWS, ['sqs', 'list-queues', '--endpoint-url', endpoint], {
      timeoutMs: 60_000,
    });
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /CERTIFICATE_VERIFY_FAILED|SSL validation failed/);
  });

  test('boto3 over HTTPS with verify= the CA bundle', {
    skip: hasBoto3 ? false : 'python3-boto3 is not installed',
  }, async () => {
    const script = [
      'import boto3, json, sys',
      'sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1", verify=sys.argv[2],',
      '    aws_access_key_id="AKIDTLS", aws_secret_access_key="tls-secret")',
      'url = sqs.create_queue(QueueName=sys.argv[3])["QueueUrl"]',
      'sqs.send_message(QueueUrl=url, MessageBody="boto3 over https")',
      'got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]',
      'print(json.dumps({"url": url, "body": got[0]["Body"]}))',
    ].join('\n');
    const result = await runOk(
      PYTHON,
      [
        '-c',
        script,
        `https://localhost:${secure.sqsTls!.port}`,
        certs.caFile,
        uniqueName('boto3-https').replaceAll('.', '-'),
      ],
      { timeoutMs: 60_000 },
    );
    const answer = JSON.parse(result.stdout.toString()) as { url: string; body: string };
    assert.match(answer.url, /^https:\/\//);
    assert.equal(answer.body, 'boto3 over https');
  });
});

describe('confluent-kafka over Kafka SSL and SASL_SSL', () => {
  const hasConfluent = spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { stdio: 'ignore' }).status === 0;
  const skip = hasConfluent ? false : 'python3-confluent-kafka is not installed';
  let saslBroker: TestBroker;
  before(async () => {
    saslBroker = await startTestBroker({
      amqpPort: false,
      kafkaTlsPort: 0,
      kafka: { ...TEST_KAFKA_SETTINGS, sasl: true },
      tls: certs.tls(),
    });
    addUser(saslBroker.core, 'py-user', 'py-secret', []);
  });
  after(() => saslBroker.stop());

  interface Outcome {
    delivered: number;
    values: string[];
    errors: string[];
  }
  const run = (port: number, config: Record<string, string>) =>
    runPython<Outcome>(
      'confluent_kafka_tls.py',
      [
        '--bootstrap',
        `localhost:${port}`,
        '--topic',
        uniqueName('confluent-tls'),
        '--config',
        JSON.stringify(config),
      ],
      90_000,
    );

  test('security.protocol=SSL: produces and consumes trusting the CA', { skip }, async () => {
    const outcome = await run(broker.kafkaTls!.port, {
      'security.protocol': 'SSL',
      'ssl.ca.location': certs.caFile,
    });
    assert.deepEqual(outcome, { delivered: 3, values: ['one', 'two', 'three'], errors: [] });
  });

  test('security.protocol=SASL_SSL with SCRAM-SHA-512', { skip }, async () => {
    const outcome = await run(saslBroker.kafkaTls!.port, {
      'security.protocol': 'SASL_SSL',
      'ssl.ca.location': certs.caFile,
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'py-user',
      'sasl.password': 'py-secret',
    });
    assert.deepEqual(outcome, { delivered: 3, values: ['one', 'two', 'three'], errors: [] });
  });
});
