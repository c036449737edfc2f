/**
 * `pier topics list|describe` and `pier groups list|describe` as an operator runs them against a
 * child broker (through its control socket), after kafkajs produced, consumed and committed: queue
 * depth and consumer lag must match what the clients did. CLI runs use async child processes only.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import type { GroupLag } from '../../src/core/kafka/monitoring.js';
import { API_KEYS } from '../../src/protocol/kafka/codec/index.js';
import { type ChildBroker, runPier as pier, spawnBroker, tempDir } from '../helpers/broker.js';
import { RawKafkaClient } from '../protocol/kafka/raw-kafka-client.js';

const { Kafka, logLevel } = kafkajs;

/** The rows of a printed table (header first), cells split on runs of spaces. */
function rows(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('pier topics and groups: queue depth and consumer lag of a running broker', () => {
  let dataDir: string;
  let broker: ChildBroker;
  let kafkaPort: number;
  let kafka: kafkajs.Kafka;
  let live: kafkajs.Consumer;
  let liveMemberId: string;

  const ok = async (...args: string[]): Promise<string> => {
    const run = await pier([...args, '--data-dir', dataDir]);
    assert.equal(run.code, 0, `pier ${args.join(' ')} failed: ${run.stderr}`);
    return run.stdout;
  };

  before(async () => {
    dataDir = tempDir();
    broker = await spawnBroker(
      dataDir,
      ['--kafka-port', '0', '--kafka-group-initial-rebalance-delay-ms', '0'],
      ['amqp', 'kafka'],
    );
    const listener = broker.listeners.get('kafka')!;
    kafkaPort = listener.port;
    kafka = new Kafka({
      clientId: 'lag-test',
      brokers: [`${listener.host}:${listener.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'orders', numPartitions: 2 },
        { topic: 'idle', numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'orders',
      acks: -1,
      messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `o${i}` })),
    });

    // 'billing' consumes everything and commits, then leaves; 3 more records arrive on partition 0.
    const billing = kafka.consumer({ groupId: 'billing', maxWaitTimeInMs: 50 });
    await billing.connect();
    await billing.subscribe({ topic: 'orders', fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const committed = new Map<number, number>();
      billing.on(billing.events.COMMIT_OFFSETS, ({ payload }) => {
        for (const p of payload.topics[0]?.partitions ?? [])
          committed.set(Number(p.partition), Number(p.offset));
        if ((committed.get(0) ?? 0) + (committed.get(1) ?? 0) === 10) resolve();
      });
      billing.run({ eachMessage: async () => {} }).catch(reject);
    });
    await billing.disconnect();
    await producer.send({
      topic: 'orders',
      acks: -1,
      messages: Array.from({ length: 3 }, (_, i) => ({ partition: 0, value: `late${i}` })),
    });
    await producer.disconnect();

    // 'audit' committed partition 0 up to 1 only, outside group management (as an admin tool does).
    const raw = await RawKafkaClient.connect(kafkaPort);
    const commit = await raw.request(API_KEYS.OffsetCommit, 5, {
      groupId: 'audit',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: '' }] },
      ],
    });
    raw.close();
    assert.equal(JSON.stringify(commit).includes('"errorCode":0'), true);

    // 'live' is running (Stable) on the idle topic.
    live = kafka.consumer({ groupId: 'live', maxWaitTimeInMs: 50 });
    await live.connect();
    await live.subscribe({ topic: 'idle', fromBeginning: true });
    liveMemberId = await new Promise<string>((resolve, reject) => {
      live.on(live.events.GROUP_JOIN, ({ payload }) => resolve(payload.memberId));
      live.run({ eachMessage: async () => {} }).catch(reject);
    });
  });

  after(async () => {
    await live?.disconnect();
    if (broker && broker.process.exitCode === null) {
      broker.process.kill('SIGTERM');
      await broker.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('pier topics list and describe show records and bytes per topic and partition', async () => {
    const topics = rows(await ok('topics', 'list'));
    assert.deepEqual(topics[0], ['topic', 'partitions', 'records', 'bytes']);
    assert.deepEqual(
      topics.slice(1).map((r) => r.slice(0, 3)),
      [
        ['idle', '1', '0'],
        ['orders', '2', '13'],
      ],
    );
    assert.equal(topics[1]![3], '0');
    const ordersBytes = Number(topics[2]![3]);
    assert.ok(ordersBytes > 13 * 2, `the stored batches take bytes: ${ordersBytes}`);

    const partitions = rows(await ok('topics', 'describe', 'orders'));
    assert.deepEqual(partitions[0], ['partition', 'log-start', 'high-watermark', 'records', 'bytes']);
    assert.deepEqual(
      partitions.slice(1).map((r) => r.slice(0, 4)),
      [
        ['0', '0', '8', '8'],
        ['1', '0', '5', '5'],
      ],
    );
    assert.equal(Number(partitions[1]![4]) + Number(partitions[2]![4]), ordersBytes);
  });

  it('pier groups list shows every group with its state, members and total lag', async () => {
    assert.deepEqual(rows(await ok('groups', 'list')), [
      ['group', 'state', 'members', 'protocol', 'lag'],
      ['audit', 'Empty', '0', '-', '12'],
      ['billing', 'Empty', '0', '-', '3'],
      ['live', 'Stable', '1', 'RoundRobinAssigner', '0'],
    ]);
  });

  it('pier groups describe shows committed offset, high watermark and lag per partition', async () => {
    const billing = (await ok('groups', 'describe', 'billing')).split('\n');
    assert.equal(billing[0], "group 'billing': Empty, 0 member(s), lag 3");
    assert.deepEqual(rows(billing.slice(1).join('\n')), [
      ['topic', 'partition', 'committed', 'high-watermark', 'lag', 'member', 'client', 'host'],
      ['orders', '0', '5', '8', '3', '-', '-', '-'],
      ['orders', '1', '5', '5', '0', '-', '-', '-'],
    ]);

    // A partition never committed: '-', its lag counts from the log start, and a note says so.
    const audit = await ok('groups', 'describe', 'audit');
    assert.deepEqual(rows(audit.split('\n').slice(1, 4).join('\n')).slice(1), [
      ['orders', '0', '1', '8', '7', '-', '-', '-'],
      ['orders', '1', '-', '5', '5', '-', '-', '-'],
    ]);
    assert.match(audit, /committed -: no offset committed; its lag counts every readable record/);

    // A running member is named on the partitions it was assigned.
    const liveRows = rows((await ok('groups', 'describe', 'live')).split('\n').slice(1).join('\n'));
    assert.deepEqual(liveRows[1]!.slice(0, 5), ['idle', '0', '-', '0', '0']);
    assert.equal(liveRows[1]![5], liveMemberId);
    assert.equal(liveRows[1]![6], 'lag-test');
    assert.match(liveRows[1]![7]!, /127\.0\.0\.1/);
  });

  it('--json prints the same numbers as JSON', async () => {
    const billing = JSON.parse(await ok('groups', 'describe', 'billing', '--json')) as GroupLag;
    assert.deepEqual(
      { state: billing.state, lag: billing.lag, members: billing.memberCount },
      { state: 'Empty', lag: 3, members: 0 },
    );
    assert.deepEqual(
      billing.partitions.map((p) => [p.topic, p.partition, p.committedOffset, p.highWatermark, p.lag]),
      [
        ['orders', 0, 5, 8, 3],
        ['orders', 1, 5, 5, 0],
      ],
    );
    const groups = JSON.parse(await ok('groups', 'list', '--json')) as GroupLag[];
    assert.deepEqual(
      groups.map((g) => [g.groupId, g.lag]),
      [
        ['audit', 12],
        ['billing', 3],
        ['live', 0],
      ],
    );
    const topics = JSON.parse(await ok('topics', 'list', '--json')) as Array<{
      name: string;
      records: number;
    }>;
    assert.deepEqual(
      topics.map((t) => [t.name, t.records]),
      [
        ['idle', 0],
        ['orders', 13],
      ],
    );
  });

  it('an unknown group or topic is an error naming the list command; exit 1', async () => {
    const group = await pier(['groups', 'describe', 'nobody', '--data-dir', dataDir]);
    assert.equal(group.code, 1);
    assert.equal(group.stderr, "pier: no consumer group 'nobody'; 'pier groups list' shows the groups\n");
    const topic = await pier(['topics', 'describe', 'nothing', '--data-dir', dataDir]);
    assert.equal(topic.code, 1);
    assert.equal(topic.stderr, "pier: no topic 'nothing'; 'pier topics list' shows the topics\n");
  });

  it('without a running broker the commands say they need one (exit 1); help says so too', async () => {
    const help = await pier(['groups', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /pier groups describe \[--json\] GROUP/);
    assert.match(help.stdout, /live state of the broker running on that directory/);

    await live.disconnect();
    broker.process.kill('SIGTERM');
    assert.equal(await broker.exited, 0);
    const offline = await pier(['groups', 'list', '--data-dir', dataDir]);
    assert.equal(offline.code, 1);
    assert.match(
      offline.stderr,
      /^pier: 'groups\.list' needs a running broker and none answers on .*pier\.sock; start one with 'pier serve --data-dir /,
    );
  });
});
