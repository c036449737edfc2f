/**
 * `pier acls add|list|remove` with kafka-acls.sh's flags against a child broker with
 * `--kafka-acls on`: what the CLI grants, a kafkajs client (User:ANONYMOUS on a loopback listener
 * without SASL) can do; once removed, it is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { type ChildBroker, runPier as pier, spawnBroker, tempDir } from '../helpers/broker.js';

const { Kafka, logLevel } = kafkajs;

/** kafkajs reports the refusal as the error's type, or its cause's when it wraps it. */
const refusedForTopic = (e: Error & { type?: string; cause?: { type?: string } }) =>
  (e.type ?? e.cause?.type) === 'TOPIC_AUTHORIZATION_FAILED';

describe('pier acls', () => {
  let dataDir: string;
  let broker: ChildBroker;
  let kafka: kafkajs.Kafka;

  const run = (...args: string[]) => pier(['acls', ...args, '--data-dir', dataDir]);
  const ok = async (...args: string[]): Promise<string> => {
    const result = await run(...args);
    assert.equal(result.code, 0, `pier acls ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  const produce = async (topic: string) => {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      return await producer.send({ topic, messages: [{ value: 'x' }] });
    } finally {
      await producer.disconnect();
    }
  };

  before(async () => {
    dataDir = tempDir();
    broker = await spawnBroker(dataDir, ['--kafka-port', '0', '--kafka-acls', 'on'], ['amqp', 'kafka']);
    const listener = broker.listeners.get('kafka')!;
    kafka = new Kafka({
      brokers: [`${listener.host}:${listener.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
  });
  after(async () => {
    broker.process.kill('SIGTERM');
    await broker.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('add --producer grants WRITE, DESCRIBE and CREATE; list shows them; remove takes them away', async () => {
    await assert.rejects(produce('orders'), refusedForTopic);
    const added = await ok('add', '--allow-principal', 'User:ANONYMOUS', '--producer', '--topic', 'orders');
    assert.match(added, /3 ACL\(s\) added/);
    const [sent] = await produce('orders');
    assert.equal(sent!.errorCode, 0);

    const listed = await ok('list', '--topic', 'orders', '--json');
    const operations = (JSON.parse(listed) as Array<{ operation: string; principal: string }>)
      .map((a) => `${a.principal} ${a.operation}`)
      .sort();
    assert.deepEqual(operations, [
      'User:ANONYMOUS Create',
      'User:ANONYMOUS Describe',
      'User:ANONYMOUS Write',
    ]);

    const removed = await ok('remove', '--topic', 'orders');
    assert.match(removed, /3 ACL\(s\) removed/);
    await assert.rejects(produce('orders'), refusedForTopic);
  });

  it('prefixed patterns and repeated flags', async () => {
    await ok(
      'add',
      '--allow-principal',
      'User:ANONYMOUS',
      '--operation',
      'Write',
      '--operation',
      'Describe',
      '--operation',
      'Create',
      '--topic',
      'team-a.',
      '--resource-pattern-type',
      'prefixed',
    );
    const [sent] = await produce('team-a.events');
    assert.equal(sent!.errorCode, 0);
    const table = await ok('list');
    assert.match(table, /Topic\s+team-a\.\s+Prefixed\s+User:ANONYMOUS\s+\*\s+Write\s+Allow/);
  });

  it('bad flags are usage errors that say what to give', async () => {
    const noResource = await run('add', '--allow-principal', 'User:x', '--operation', 'Read');
    assert.equal(noResource.code, 2);
    assert.match(noResource.stderr, /--topic, --group, --transactional-id or --cluster/);
    const badOperation = await run(
      'add',
      '--allow-principal',
      'User:x',
      '--operation',
      'Eat',
      '--topic',
      't',
    );
    assert.equal(badOperation.code, 2);
    assert.match(badOperation.stderr, /--operation 'Eat' is not one of/);
    const consumerWithoutGroup = await run(
      'add',
      '--allow-principal',
      'User:x',
      '--consumer',
      '--topic',
      't',
    );
    assert.match(consumerWithoutGroup.stderr, /--consumer needs --group/);
  });
});

/**
 * A stopped broker's data directory: `pier acls` edits the stored ACLs, `pier definitions
 * export|import` carries them under pier_kafka_acls, and a broker started there with
 * `--kafka-acls on` enforces them.
 */
describe('pier acls and pier definitions on a stopped broker', () => {
  let dataDir: string;
  let broker: ChildBroker | undefined;
  const run = (...args: string[]) => pier([...args, '--data-dir', dataDir]);
  const ok = async (...args: string[]): Promise<string> => {
    const result = await run(...args);
    assert.equal(result.code, 0, `pier ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  const listed = async () =>
    (JSON.parse(await ok('acls', 'list', '--json')) as Array<{ principal: string; operation: string }>)
      .map((a) => `${a.principal} ${a.operation}`)
      .sort();

  before(() => {
    dataDir = tempDir();
  });
  after(async () => {
    if (broker) {
      broker.process.kill('SIGTERM');
      await broker.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('edits, exports and imports the ACLs offline; a broker started there enforces them', async () => {
    assert.match(
      await ok('acls', 'add', '--allow-principal', 'User:ANONYMOUS', '--producer', '--topic', 'offline'),
      /3 ACL\(s\) added/,
    );
    const producerAcls = ['User:ANONYMOUS Create', 'User:ANONYMOUS Describe', 'User:ANONYMOUS Write'];
    assert.deepEqual(await listed(), producerAcls);

    const file = join(dataDir, '..', `defs-${process.pid}-${Date.now()}.json`);
    await ok('definitions', 'export', file);
    const defs = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual((defs.pier_kafka_acls as Array<Record<string, string>>).map((a) => a.operation).sort(), [
      'Create',
      'Describe',
      'Write',
    ]);
    assert.deepEqual(defs.pier_kafka_acls[0], {
      resource_type: 'Topic',
      resource_name: 'offline',
      pattern_type: 'Literal',
      principal: 'User:ANONYMOUS',
      host: '*',
      operation: 'Create',
      permission_type: 'Allow',
    });

    assert.match(await ok('acls', 'remove', '--topic', 'offline'), /3 ACL\(s\) removed/);
    assert.deepEqual(await listed(), []);

    // A bad ACL refuses the whole file, naming the entry and field: nothing else is imported.
    const bad = `${file}.bad`;
    writeFileSync(
      bad,
      JSON.stringify({
        ...defs,
        vhosts: [...defs.vhosts, { name: 'never' }],
        pier_kafka_acls: [...defs.pier_kafka_acls, { ...defs.pier_kafka_acls[0], operation: 'Eat' }],
      }),
    );
    const refused = await run('definitions', 'import', bad);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /pier_kafka_acls\[3\]\.operation: unknown value 'Eat'/);
    assert.deepEqual(await listed(), []);
    assert.doesNotMatch(await ok('vhost', 'list'), /never/);

    await ok('definitions', 'import', file);
    assert.deepEqual(await listed(), producerAcls);
    rmSync(file);
    rmSync(bad);

    broker = await spawnBroker(dataDir, ['--kafka-port', '0', '--kafka-acls', 'on'], ['amqp', 'kafka']);
    const listener = broker.listeners.get('kafka')!;
    const kafka = new Kafka({
      brokers: [`${listener.host}:${listener.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      const [sent] = await producer.send({ topic: 'offline', messages: [{ value: 'x' }] });
      assert.equal(sent!.errorCode, 0);
      await assert.rejects(
        producer.send({ topic: 'elsewhere', messages: [{ value: 'x' }] }),
        refusedForTopic,
      );
    } finally {
      await producer.disconnect();
    }
    // The running broker exports them too.
    const live = JSON.parse(await ok('definitions', 'export', '-'));
    assert.equal(live.pier_kafka_acls.length, 3);
  });
});
