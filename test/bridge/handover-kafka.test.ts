// `pier handover kafka` from one Pier to a second, independent Pier standing in for a Kafka
// cluster: topics with partitions and configs, records with keys, headers and timestamps copied
// partition to partition, the hand-over SIGKILLed mid-way and rerun (no record lost or written
// twice), a group with a live member refused, and kafkajs consumers resuming at the target at the
// record they would have read next at Pier although the offsets differ (Pier's log of partition 0
// starts at 200 after DeleteRecords; the copy starts at 0).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type ConfigResourceTypes, type Consumer, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { runPier, spawnPier, startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';

/** ConfigResourceTypes.TOPIC (kafkajs is CommonJS: its enums are not named ESM exports). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

const PER_PARTITION = 12_000;
const DELETED_FROM_P0 = 200;
const NOW = Date.now();

interface Seen {
  partition: number;
  offset: number;
  key: string;
  value: string;
  timestamp: string;
  headers: Record<string, string>;
}

describe('pier handover kafka: to a second Pier', () => {
  let pier: TestBroker;
  let remote: TestBroker;
  let source: Kafka;
  let target: Kafka;
  let live: Consumer | undefined;
  const state = join(tempDir(), 'state.json');
  const committedAtPier = new Map<number, number>([
    [0, 5_000],
    [1, 40],
    [2, PER_PARTITION],
  ]);

  before(async () => {
    const kafka = { groupInitialRebalanceDelayMs: 0 };
    pier = await startTestBroker({ kafkaPort: 0, kafka });
    remote = await startTestBroker({ kafkaPort: 0, kafka });
    source = new Kafka({ brokers: [pier.kafka!.bootstrap], logLevel: logLevel.NOTHING });
    target = new Kafka({ brokers: [remote.kafka!.bootstrap], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await live?.disconnect().catch(() => {});
    await pier?.stop();
    await remote?.stop();
  });

  const handover = (...extra: string[]) => [
    'handover',
    'kafka',
    '--bootstrap',
    remote.kafka!.bootstrap,
    '--from',
    pier.kafka!.bootstrap,
    '--state',
    state,
    '--idle',
    '5',
    ...extra,
  ];

  it('sets up Pier: two topics with configs, keyed records with headers, two groups (one live)', async () => {
    const admin = source.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'orders', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '604800000' }] },
        { topic: 'events', numPartitions: 1 },
      ],
    });
    const producer = source.producer();
    await producer.connect();
    for (let partition = 0; partition < 3; partition++) {
      for (let i = 0; i < PER_PARTITION; i += 1000) {
        await producer.send({
          topic: 'orders',
          messages: Array.from({ length: 1000 }, (_, j) => ({
            partition,
            key: `k${partition}-${i + j}`,
            value: `order ${partition}/${i + j}`,
            timestamp: String(NOW - 60_000 + i + j),
            headers: { 'content-type': 'text/plain', seq: String(i + j) },
          })),
        });
      }
    }
    await producer.send({ topic: 'events', messages: [{ value: 'e0' }, { value: 'e1' }] });
    await producer.disconnect();
    // Pier's partition 0 now starts at offset 200: its offsets and the target's differ. (kafkajs
    // deletes records only on partitions whose leader it has looked up.)
    await admin.fetchTopicOffsets('orders');
    await admin.deleteTopicRecords({
      topic: 'orders',
      partitions: [{ partition: 0, offset: String(DELETED_FROM_P0) }],
    });
    await admin.setOffsets({
      groupId: 'billing',
      topic: 'orders',
      partitions: [...committedAtPier].map(([partition, offset]) => ({ partition, offset: String(offset) })),
    });
    await admin.disconnect();

    live = source.consumer({ groupId: 'live-reader' });
    await live.connect();
    await live.subscribe({ topics: ['events'], fromBeginning: true });
    let read = 0;
    const readBoth = new Promise<void>((resolve) => {
      void live!.run({
        eachMessage: async () => {
          if (++read === 2) resolve();
        },
      });
    });
    await readBoth;
  });

  it('--dry-run lists topics, record counts and groups, and creates nothing', async () => {
    const result = await runPier(handover('--dry-run'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /dry run: nothing changed/);
    assert.match(result.stdout, new RegExp(`orders +3 +${3 * PER_PARTITION - DELETED_FROM_P0}`));
    assert.match(result.stderr, /would create topic 'orders' \(3 partition\(s\), retention\.ms=604800000\)/);
    assert.match(result.stderr, /group 'live-reader': 1 live member\(s\) at Pier: would be refused/);
    const admin = target.admin();
    await admin.connect();
    assert.deepEqual(await admin.listTopics(), []);
    await admin.disconnect();
  });

  it('SIGKILLed mid-way and rerun: every record copied once; the group with a live member refused', async () => {
    // A progress line after every batch: the copy of ~36,000 records can end within the default 1 s.
    const child = spawnPier(handover('--progress', '0'));
    const exited = once(child, 'exit');
    let seen = '';
    for await (const line of createInterface({ input: child.stderr! })) {
      seen += `${line}\n`;
      // Past the 2 records of 'events' (which may be copied first): some of 'orders' are across.
      const copied = /copied (\d+) record\(s\); \d+ partition\(s\) to go/.exec(line);
      if (copied && Number(copied[1]) > 2) {
        child.kill('SIGKILL');
        break;
      }
    }
    await exited;
    assert.match(seen, /partition\(s\) to go/, `the hand-over ended before it was killed:\n${seen}`);
    assert.ok(existsSync(state), 'the offset map was saved');
    // The signal can land after the last record was copied (the child runs ahead of this reader
    // on a busy machine); the roll-back below makes the mid-way state certain either way.
    const partial = await endsAt(target, 'orders');
    const total = [...partial.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > 0, 'some records reached the target before the kill');

    // The kill's worst instant, made certain: the target acknowledged records the saved map does
    // not have yet (a kill between the acknowledgement and the save). Roll the map back up to 300
    // records per partition.
    const saved = JSON.parse(readFileSync(state, 'utf8')) as {
      partitions: Record<
        string,
        { sourceNext: number; targetNext: number; runs: [number, number, number][] }
      >;
    };
    let rolledBack = 0;
    for (const progress of Object.values(saved.partitions)) {
      const last = progress.runs.at(-1);
      if (!last) continue;
      const back = Math.min(300, last[2]);
      last[2] -= back;
      if (last[2] === 0) progress.runs.pop();
      progress.sourceNext -= back;
      progress.targetNext -= back;
      rolledBack += back;
    }
    assert.ok(rolledBack > 0, 'some records had been copied when the hand-over was killed');
    writeFileSync(state, JSON.stringify(saved));

    const rerun = await runPier(handover(), { timeoutMs: 120_000 });
    assert.equal(rerun.code, 1, `${rerun.stdout}\n${rerun.stderr}`);
    assert.match(
      rerun.stdout,
      /live-reader .*live member\(s\) at Pier: its offsets are still moving; stop its consumers/,
    );
    assert.match(rerun.stdout, /copied \d+ record\(s\), 0 left at Pier/);
    assert.deepEqual(
      await endsAt(target, 'orders'),
      new Map([
        [0, PER_PARTITION - DELETED_FROM_P0],
        [1, PER_PARTITION],
        [2, PER_PARTITION],
      ]),
      'each record exactly once at the target',
    );
  });

  it('with the live consumer stopped, a rerun translates its offsets too and ends complete (exit 0)', async () => {
    await live!.disconnect();
    live = undefined;
    const rerun = await runPier(handover('--json'), { timeoutMs: 120_000 });
    assert.equal(rerun.code, 0, `${rerun.stdout}\n${rerun.stderr}`);
    const report = JSON.parse(rerun.stdout) as {
      complete: boolean;
      groups: {
        groupId: string;
        offsets: { topic: string; partition: number; pier: number; target: number }[];
      }[];
    };
    assert.equal(report.complete, true);
    const billing = report.groups.find((g) => g.groupId === 'billing')!;
    assert.deepEqual(billing.offsets.map((o) => [o.partition, o.pier, o.target]).sort(), [
      [0, 5_000, 5_000 - DELETED_FROM_P0],
      [1, 40, 40],
      [2, PER_PARTITION, PER_PARTITION],
    ]);
    const admin = target.admin();
    await admin.connect();
    const configs = await admin.describeConfigs({
      resources: [{ type: TOPIC_RESOURCE, name: 'orders', configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    assert.equal(configs.resources[0]!.configEntries[0]!.configValue, '604800000');
    const [orders] = (await admin.fetchTopicMetadata({ topics: ['orders'] })).topics;
    assert.equal(orders!.partitions.length, 3);
    await admin.disconnect();
  });

  it('every record at the target has its key, value, headers and timestamp, in order', async () => {
    const copied = await readAll(target, 'orders', 3 * PER_PARTITION - DELETED_FROM_P0);
    for (const partition of [0, 1, 2]) {
      const records = copied.filter((r) => r.partition === partition).sort((a, b) => a.offset - b.offset);
      const first = partition === 0 ? DELETED_FROM_P0 : 0;
      assert.equal(records.length, PER_PARTITION - first);
      records.forEach((record, index) => {
        const i = first + index;
        assert.equal(record.value, `order ${partition}/${i}`);
        assert.equal(record.key, `k${partition}-${i}`);
        assert.equal(record.timestamp, String(NOW - 60_000 + i));
        assert.deepEqual(record.headers, { 'content-type': 'text/plain', seq: String(i) });
      });
    }
  });

  it('kafkajs consumers of the groups resume at the target at the record they would have read at Pier', async () => {
    const producer = target.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: [{ partition: 2, value: 'new at target' }] });
    await producer.send({ topic: 'events', messages: [{ value: 'e2' }] });
    await producer.disconnect();

    const firsts = await firstPerPartition(target, 'billing', 'orders', 3);
    assert.equal(firsts.get(0), `order 0/${committedAtPier.get(0)}`);
    assert.equal(firsts.get(1), `order 1/${committedAtPier.get(1)}`);
    assert.equal(firsts.get(2), 'new at target', 'a group at the end resumes at the next new record');
    const events = await firstPerPartition(target, 'live-reader', 'events', 1);
    assert.equal(events.get(0), 'e2', 'the formerly live group read e0 and e1 at Pier');
  });

  it('says what it needs (exit 2) and when Pier cannot be reached (exit 1)', async () => {
    const missing = await runPier(['handover', 'kafka']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /handover kafka needs --bootstrap HOST:PORT/);
    const help = await runPier(['handover', 'kafka', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /consumer group's committed offsets are translated/);
    const unreachable = await runPier([
      'handover',
      'kafka',
      '--bootstrap',
      remote.kafka!.bootstrap,
      '--from',
      '127.0.0.1:1',
      '--state',
      state,
    ]);
    assert.equal(unreachable.code, 1, unreachable.stderr);
    assert.match(
      unreachable.stderr,
      /cannot reach Pier's Kafka listener: .*is Pier running with --kafka-port/,
    );
  });
});

async function endsAt(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

function text(buffer: Buffer | null | undefined): string {
  return buffer?.toString() ?? '';
}

function seen(partition: number, message: KafkaMessage): Seen {
  return {
    partition,
    offset: Number(message.offset),
    key: text(message.key),
    value: text(message.value),
    timestamp: message.timestamp,
    headers: Object.fromEntries(
      Object.entries(message.headers ?? {}).map(([k, v]) => [k, text(v as Buffer | undefined)]),
    ),
  };
}

/** Reads a topic from the beginning until `count` records arrived. */
async function readAll(kafka: Kafka, topic: string, count: number): Promise<Seen[]> {
  const consumer = kafka.consumer({ groupId: `read-all-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const records: Seen[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push(seen(partition, message));
        if (records.length === count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return records;
}

/** The first record a group's consumer gets per partition, resuming at its committed offsets. */
async function firstPerPartition(
  kafka: Kafka,
  groupId: string,
  topic: string,
  partitions: number,
): Promise<Map<number, string>> {
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const firsts = new Map<number, string>();
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (!firsts.has(partition)) firsts.set(partition, text(message.value));
        if (firsts.size === partitions) resolve();
      },
    });
  });
  await consumer.disconnect();
  return firsts;
}
