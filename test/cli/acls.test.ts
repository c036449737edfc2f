/**
 * `pier acls add|list|remove` with kafka-acls.sh's flags against a child broker with
 * `--kafka-acls on`: what the CLI grants, a kafkajs client (User:ANONYMOUS on a loopback listener
 * without SASL) can do; once removed, it is refused.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
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
