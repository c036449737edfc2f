// Log compaction (cleanup.policy=compact) seen by real clients: kafkajs 2.2.4 produces keyed updates
// and tombstones to a topic with tiny segments and a fast cleaner; a consumer from the beginning then
// sees the newest value per key at its original offset (gaps between offsets, as in Kafka), tombstones
// go once delete.retention.ms has passed, keyless records are refused, compaction survives a restart
// and SIGKILL of a child broker, and kcat (librdkafka) reads across the gaps.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { API_KEYS } from '../../../src/protocol/kafka/codec/index.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { tempDir } from '../../helpers/broker.js';
import { type KafkaTestBroker, spawnKafkaBroker, startKafkaTestBroker } from '../../helpers/kafka.js';
import { KafkaWireClient, splitBatches } from '../../helpers/kafka-wire.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

const CLEANER = { logCleanerIntervalMs: 20 };
/** Small segments so the cleaner has closed ones to work on. */
const COMPACT_CONFIGS = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.bytes', value: '2048' },
  { name: 'min.cleanable.dirty.ratio', value: '0.01' },
];

interface Seen {
  readonly offset: number;
  readonly key: string;
  readonly value: string | null;
}

function clientOf(bootstrap: string) {
  return new Kafka({
    clientId: 'pier-compaction',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
}

async function createTopic(
  bootstrap: string,
  topic: string,
  configEntries: { name: string; value: string }[],
) {
  const admin = clientOf(bootstrap).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries }] });
  } finally {
    await admin.disconnect();
  }
}

/** Sends each update as its own batch (one record per batch, as a chatty producer does). */
async function produce(bootstrap: string, topic: string, updates: { key: string; value: string | null }[]) {
  const producer = clientOf(bootstrap).producer();
  await producer.connect();
  const offsets: number[] = [];
  try {
    for (const u of updates) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: u.key, value: u.value }] });
      offsets.push(Number(meta!.baseOffset));
    }
  } finally {
    await producer.disconnect();
  }
  return offsets;
}

/** Everything a kafkajs consumer reads from the beginning up to the high watermark. */
async function consumeAll(bootstrap: string, topic: string): Promise<Seen[]> {
  const kafka = clientOf(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  const [{ high }] = (await admin.fetchTopicOffsets(topic)) as { high: string }[];
  await admin.disconnect();
  const end = Number(high);
  const consumer = kafka.consumer({ groupId: `g-${topic}-${Math.random()}` });
  const seen: Seen[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push({
            offset: Number(message.offset),
            key: message.key!.toString(),
            value: message.value === null ? null : message.value.toString(),
          });
          if (Number(message.offset) === end - 1) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return seen;
}

/**
 * The records of partition 0 over raw Fetch requests, moving past each batch's last offset as
 * librdkafka does (a compacted batch may end with removed offsets). Used to wait for the cleaner.
 */
async function storedRecords(bootstrap: string, topic: string): Promise<Seen[]> {
  const [host, port] = bootstrap.split(':');
  const client = await KafkaWireClient.connect(host!, Number(port));
  const out: Seen[] = [];
  try {
    for (let offset = 0; ; ) {
      const response = await client.send(API_KEYS.Fetch, client.version(API_KEYS.Fetch, 11), {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            topicId: '00000000-0000-0000-0000-000000000000',
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: BigInt(offset),
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: 1 << 20,
                replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      });
      const data = response.responses[0].partitions[0];
      assert.equal(data.errorCode, 0);
      const before = offset;
      for (const batch of splitBatches(data.records ?? Buffer.alloc(0))) {
        for (const r of decodeRecords(batch))
          if (r.offset >= offset)
            out.push({ offset: r.offset, key: r.key!.toString(), value: r.value?.toString() ?? null });
        offset = Math.max(offset, Number(batch.readBigInt64BE(0)) + batch.readInt32BE(23) + 1);
      }
      if (offset >= Number(data.highWatermark) || offset === before) return out;
    }
  } finally {
    client.close();
  }
}

async function until(what: string, test: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function updatesOver(keys: number, count: number, tag = 'v', keyPrefix = 'k') {
  return Array.from({ length: count }, (_, i) => ({ key: `${keyPrefix}${i % keys}`, value: `${tag}${i}` }));
}

/** Newest (offset, value) per key of what was produced. */
function newestPerKey(updates: { key: string; value: string | null }[], offsets: number[]) {
  const newest = new Map<string, { offset: number; value: string | null }>();
  updates.forEach((u, i) => {
    newest.set(u.key, { offset: offsets[i]!, value: u.value });
  });
  return newest;
}

describe('log compaction with kafkajs', () => {
  let broker: KafkaTestBroker;
  before(async () => {
    broker = await startKafkaTestBroker({
      kafka: CLEANER,
      log: process.env.PIER_TEST_LOG ? (line) => console.error(line) : () => {},
    });
  });
  after(async () => {
    await broker?.stop();
  });

  it('keeps the newest value per key at its original offset; DescribeConfigs shows the policy', async () => {
    const topic = 'latest-per-key';
    await createTopic(broker.bootstrap, topic, COMPACT_CONFIGS);
    const updates = [...updatesOver(10, 300), { key: 'k3', value: null }, ...updatesOver(3, 30, 'w')];
    const offsets = await produce(broker.bootstrap, topic, updates);
    const produced = new Map(updates.map((u, i) => [offsets[i]!, u]));
    await until(
      'the cleaner to compact',
      async () => (await storedRecords(broker.bootstrap, topic)).length < 100,
    );

    const seen = await consumeAll(broker.bootstrap, topic);
    assert.ok(seen.length < 100, `compacted: ${seen.length} of ${updates.length} records read`);
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i]!.offset > seen[i - 1]!.offset, 'offsets increase');
    assert.ok(
      seen.some((s, i) => i > 0 && s.offset > seen[i - 1]!.offset + 1),
      'there are gaps where records were removed',
    );
    for (const s of seen) {
      const original = produced.get(s.offset)!;
      assert.deepEqual([s.key, s.value], [original.key, original.value], `offset ${s.offset} is unchanged`);
    }
    const newestSeen = new Map(seen.map((s) => [s.key, { offset: s.offset, value: s.value }]));
    assert.deepEqual(newestSeen, newestPerKey(updates, offsets), 'the newest value of every key is there');
    const tombstone = newestSeen.get('k3')!;
    assert.equal(tombstone.value, null, 'the tombstone stays within delete.retention.ms');

    const admin = clientOf(broker.bootstrap).admin();
    await admin.connect();
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    });
    await admin.disconnect();
    const config = Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    assert.equal(config['cleanup.policy'], 'compact');
    assert.equal(config['min.cleanable.dirty.ratio'], '0.01');
    assert.equal(config['delete.retention.ms'], '86400000');
    assert.equal(config['min.compaction.lag.ms'], '0');
    // The log's bounds do not move: ListOffsets answers what it did before compaction.
    const admin2 = clientOf(broker.bootstrap).admin();
    await admin2.connect();
    const [bounds] = (await admin2.fetchTopicOffsets(topic)) as { low: string; high: string }[];
    await admin2.disconnect();
    assert.deepEqual([bounds!.low, bounds!.high], ['0', String(updates.length)]);
  });

  it('keeps a gzip batch that lost records gzip-compressed, as Kafka does', async () => {
    const topic = 'compacted-gzip';
    await createTopic(broker.bootstrap, topic, COMPACT_CONFIGS);
    const producer = clientOf(broker.bootstrap).producer();
    await producer.connect();
    // Values that gzip does not shrink much, so each batch of 20 fills most of a 2 KiB segment.
    const updates = updatesOver(7, 400).map((u) => ({
      key: u.key,
      value: `${u.value}-${randomBytes(60).toString('hex')}`,
    }));
    for (let i = 0; i < updates.length; i += 20)
      await producer.send({
        topic,
        acks: -1,
        compression: kafkajs.CompressionTypes.GZIP,
        messages: updates.slice(i, i + 20),
      });
    await producer.disconnect();
    await until(
      'the cleaner to compact',
      async () => (await storedRecords(broker.bootstrap, topic)).length < 100,
    );
    const codecs = new Set<number>();
    const [host, port] = broker.bootstrap.split(':');
    const client = await KafkaWireClient.connect(host!, Number(port));
    try {
      const response = await client.send(API_KEYS.Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 22,
        isolationLevel: 0,
        topics: [
          {
            topic,
            topicId: '00000000-0000-0000-0000-000000000000',
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: 0n,
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: 1 << 22,
                replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
              },
            ],
          },
        ],
      });
      for (const batch of splitBatches(response.responses[0].partitions[0].records ?? Buffer.alloc(0)))
        if (batch.readInt32BE(57) > 0) codecs.add(batch.readInt16BE(21) & 0x07);
    } finally {
      client.close();
    }
    assert.deepEqual([...codecs], [1], 'every stored batch with records, cleaned or not, is gzip');
    const seen = await consumeAll(broker.bootstrap, topic);
    const newestSeen = new Map(seen.map((r) => [r.key, r.value]));
    const newestProduced = new Map(updates.map((u) => [u.key, u.value]));
    assert.deepEqual(newestSeen, newestProduced);
  });

  it('removes a tombstone once delete.retention.ms has passed after its first compaction', async () => {
    const topic = 'tombstones';
    await createTopic(broker.bootstrap, topic, [
      ...COMPACT_CONFIGS,
      { name: 'delete.retention.ms', value: '300' },
    ]);
    // Then other keys, so the tombstone's segment closes and is compacted.
    const updates = [...updatesOver(5, 50), { key: 'k1', value: null }, ...updatesOver(2, 40, 'w', 'other')];
    const offsets = await produce(broker.bootstrap, topic, updates);
    const tombstoneOffset = offsets[50]!;
    await until('the tombstone to be removed', async () =>
      (await storedRecords(broker.bootstrap, topic)).every((r) => r.key !== 'k1'),
    );
    const seen = await consumeAll(broker.bootstrap, topic);
    assert.ok(!seen.some((s) => s.key === 'k1'), 'neither the deleted key nor its tombstone is read');
    assert.ok(!seen.some((s) => s.offset === tombstoneOffset));
    const newest = newestPerKey(updates, offsets);
    newest.delete('k1');
    assert.deepEqual(new Map(seen.map((s) => [s.key, { offset: s.offset, value: s.value }])), newest);
  });

  it('rolls segments by segment.ms, so records in a partition of big segments get compacted', async () => {
    const topic = 'rolled-by-time';
    await createTopic(broker.bootstrap, topic, [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'segment.ms', value: '1' },
      { name: 'min.cleanable.dirty.ratio', value: '0.01' },
    ]);
    const updates = updatesOver(3, 40);
    const offsets = await produce(broker.bootstrap, topic, updates);
    // Segments roll only at an append segment.ms after the segment's first record, and updates sent
    // within one millisecond share a segment, so the newest segment (never cleaned, as in Kafka) may
    // hold several. One more record, sent once segment.ms has surely passed, starts a segment of its
    // own: then 3 newest values plus it is all the cleaner can leave.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const last = { key: 'last', value: 'alone' };
    offsets.push(...(await produce(broker.bootstrap, topic, [last])));
    updates.push(last);
    await until(
      'the cleaner to compact',
      async () => (await storedRecords(broker.bootstrap, topic)).length <= 4,
    );
    const seen = await consumeAll(broker.bootstrap, topic);
    assert.deepEqual(
      new Map(seen.map((s) => [s.key, { offset: s.offset, value: s.value }])),
      newestPerKey(updates, offsets),
    );
  });

  it('refuses a record without a key with INVALID_RECORD', async () => {
    const topic = 'needs-keys';
    await createTopic(broker.bootstrap, topic, COMPACT_CONFIGS);
    const producer = clientOf(broker.bootstrap).producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      await assert.rejects(
        producer.send({ topic, messages: [{ value: 'no key' }] }),
        (error: Error & { type?: string }) => {
          assert.equal(error.type, 'INVALID_RECORD', String(error));
          return true;
        },
      );
      await producer.send({ topic, messages: [{ key: 'a', value: 'keyed' }] });
    } finally {
      await producer.disconnect();
    }
  });
});

describe('log compaction across restarts', () => {
  it('a restarted broker serves the compacted log; nothing newest is lost', async () => {
    const dataDir = tempDir('pier-compaction-');
    try {
      let broker = await startKafkaTestBroker({ dataDir, kafka: CLEANER });
      const topic = 'restart';
      await createTopic(broker.bootstrap, topic, COMPACT_CONFIGS);
      const updates = updatesOver(20, 400);
      const offsets = await produce(broker.bootstrap, topic, updates);
      await until(
        'the cleaner to compact',
        async () => (await storedRecords(broker.bootstrap, topic)).length < 200,
      );
      await broker.stop();
      broker = await startKafkaTestBroker({ dataDir, kafka: CLEANER });
      try {
        const seen = await consumeAll(broker.bootstrap, topic);
        assert.ok(seen.length < 200, `still compacted after the restart (${seen.length} records)`);
        assert.deepEqual(
          new Map(seen.map((s) => [s.key, { offset: s.offset, value: s.value }])),
          newestPerKey(updates, offsets),
        );
      } finally {
        await broker.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SIGKILL of a child broker while it compacts loses no newest value', async () => {
    const dataDir = tempDir('pier-compaction-kill-');
    const args = ['--kafka-log-cleaner-interval-ms', '5', '--kafka-group-initial-rebalance-delay-ms', '0'];
    try {
      const topic = 'killed';
      const all: { key: string; value: string }[] = [];
      const allOffsets: number[] = [];
      for (let round = 0; round < 5; round++) {
        const child = await spawnKafkaBroker(dataDir, args);
        try {
          if (round === 0) await createTopic(child.bootstrap, topic, COMPACT_CONFIGS);
          const updates = updatesOver(15, 150, `r${round}-`);
          allOffsets.push(...(await produce(child.bootstrap, topic, updates)));
          all.push(...updates);
        } finally {
          // Killed at once: the cleaner (every 5 ms) is most likely mid-pass or just done.
          await child.kill();
        }
      }
      const child = await spawnKafkaBroker(dataDir, args);
      try {
        const seen = await consumeAll(child.bootstrap, topic);
        assert.deepEqual(
          new Map(seen.map((s) => [s.key, { offset: s.offset, value: s.value }])),
          newestPerKey(all, allOffsets),
        );
        assert.ok(seen.length < all.length, `compacted (${seen.length} of ${all.length})`);
        if (hasKcat) {
          // librdkafka across the gaps: every record kcat prints is one kafkajs read.
          const kcat = spawnSync(
            'kcat',
            ['-C', '-b', child.bootstrap, '-t', topic, '-e', '-f', '%o %k %s\\n', '-q'],
            {
              timeout: 30_000,
            },
          );
          assert.equal(kcat.status, 0, kcat.stderr.toString());
          const lines = kcat.stdout.toString().trim().split('\n');
          assert.deepEqual(
            lines,
            seen.map((s) => `${s.offset} ${s.key} ${s.value}`),
          );
        }
      } finally {
        await child.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
