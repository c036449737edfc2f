// Topic compression.type with real clients: kafkajs producing uncompressed or gzip batches to topics
// whose compression.type is gzip, lz4, snappy, zstd or uncompressed; Pier stores each batch
// recompressed to the topic's codec (seen in the stored batch's attributes) with offsets and CRC
// valid, kafkajs consumers read the records back, kcat reads lz4, snappy and zstd back,
// DescribeConfigs reports the setting, AlterConfigs changes it for later batches, and a zstd topic
// is refused to Fetch below v10 as Kafka refuses it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { API_KEYS, type FetchResponse } from '../../../src/protocol/kafka/codec/index.js';
import { COMPRESSION_NAMES } from '../../../src/protocol/kafka/record-batch.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { runOk } from '../../compat/helpers.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { KafkaWireClient } from '../../helpers/kafka-wire.js';

/** The all-zero UUID: no topic id (Fetch by name), no replica directory. */
const NO_DIRECTORY = '00000000-0000-0000-0000-000000000000';
const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;

const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = kafkajs;

/** Codec name of each stored batch of partition 0, and every record value, read with raw Fetch. */
async function storedBatches(
  port: number,
  topic: string,
): Promise<{ codecs: string[]; values: string[]; offsets: number[] }> {
  const client = await KafkaWireClient.connect('127.0.0.1', port);
  try {
    const response = (await client.send(API_KEYS.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 24,
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
              fetchOffset: 0n,
              partitionMaxBytes: 1 << 24,
              currentLeaderEpoch: -1,
              logStartOffset: -1n,
              lastFetchedEpoch: -1,
              replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })) as unknown as FetchResponse;
    const records = response.responses[0]!.partitions[0]!.records ?? Buffer.alloc(0);
    const codecs: string[] = [];
    const values: string[] = [];
    const offsets: number[] = [];
    for (let pos = 0; pos < records.length; ) {
      const size = 12 + records.readInt32BE(pos + 8);
      const batch = records.subarray(pos, pos + size);
      codecs.push(COMPRESSION_NAMES[batch.readInt16BE(21) & 7]!);
      // decodeRecords checks nothing of the CRC; the kafkajs consumer below does.
      for (const r of decodeRecords(batch)) {
        values.push(r.value!.toString());
        offsets.push(r.offset);
      }
      pos += size;
    }
    return { codecs, values, offsets };
  } finally {
    client.close();
  }
}

describe('topic compression.type', () => {
  let broker: TestBroker;
  let kafka: kafkajs.Kafka;
  let admin: kafkajs.Admin;
  let producer: kafkajs.Producer;
  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0, kafka: { groupInitialRebalanceDelayMs: 0 } });
    kafka = new Kafka({
      clientId: 'compression',
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
    await admin.disconnect();
    await broker.stop();
  });

  const consumeAll = async (topic: string, count: number): Promise<string[]> => {
    const consumer = kafka.consumer({ groupId: `read-${topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(message.value!.toString());
            if (values.length === count) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    return values;
  };

  for (const [topicCodec, expected] of [
    ['gzip', 'gzip'],
    ['lz4', 'lz4'],
    ['snappy', 'snappy'],
    ['zstd', 'zstd'],
    ['uncompressed', 'none'],
    ['producer', 'gzip'],
  ] as const) {
    it(`compression.type=${topicCodec}: a gzip and an uncompressed batch are both stored as ${expected}`, async () => {
      const topic = `codec-${topicCodec}`;
      await admin.createTopics({
        topics: [
          { topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: topicCodec }] },
        ],
      });
      const values = Array.from({ length: 20 }, (_, i) => `value-${i}-${'x'.repeat(200)}`);
      await producer.send({
        topic,
        compression: CompressionTypes.GZIP,
        messages: values.slice(0, 10).map((value, i) => ({ key: `k${i}`, value })),
      });
      await producer.send({
        topic,
        compression: CompressionTypes.None,
        messages: values.slice(10).map((value, i) => ({ key: `k${i}`, value })),
      });
      const stored = await storedBatches(broker.kafka!.port, topic);
      if (topicCodec === 'producer') assert.deepEqual(stored.codecs, ['gzip', 'none'], 'as produced');
      else assert.deepEqual(stored.codecs, [expected, expected]);
      assert.deepEqual(stored.values, values);
      assert.deepEqual(
        stored.offsets,
        Array.from({ length: 20 }, (_, i) => i),
      );
      // kafkajs reads gzip and uncompressed batches itself (and checks each batch's CRC).
      if (expected === 'gzip' || expected === 'none') assert.deepEqual(await consumeAll(topic, 20), values);

      const described = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['compression.type'] }],
        includeSynonyms: false,
      });
      const entry = described.resources[0]!.configEntries.find((e) => e.configName === 'compression.type')!;
      assert.equal(entry.configValue, topicCodec);
    });
  }

  it('kcat (librdkafka) reads back the batches Pier recompressed to lz4, snappy and zstd, and produces into a gzip topic', {
    skip: hasKcat ? false : 'kcat is not installed (apt-get install kcat)',
  }, async () => {
    const expected = Array.from({ length: 20 }, (_, i) => `value-${i}-${'x'.repeat(200)}`);
    for (const topic of ['codec-lz4', 'codec-snappy', 'codec-zstd']) {
      const out = await runOk(
        'kcat',
        [
          '-C',
          '-b',
          broker.kafka!.bootstrap,
          '-t',
          topic,
          '-p',
          '0',
          '-o',
          'beginning',
          '-e',
          '-q',
          '-f',
          '%s\\n',
        ],
        { timeoutMs: 30_000 },
      );
      assert.deepEqual(out.stdout.toString('utf8').trim().split('\n'), expected, topic);
    }
    await admin.createTopics({
      topics: [
        {
          topic: 'codec-kcat',
          numPartitions: 1,
          configEntries: [{ name: 'compression.type', value: 'gzip' }],
        },
      ],
    });
    await runOk(
      'kcat',
      ['-P', '-b', broker.kafka!.bootstrap, '-t', 'codec-kcat', '-p', '0', '-z', 'lz4', '-X', 'acks=all'],
      {
        input: 'one\ntwo\nthree\n',
        timeoutMs: 30_000,
      },
    );
    const stored = await storedBatches(broker.kafka!.port, 'codec-kcat');
    assert.ok(
      stored.codecs.every((c) => c === 'gzip'),
      `stored as gzip: ${stored.codecs.join(',')}`,
    );
    assert.deepEqual(stored.values, ['one', 'two', 'three']);
  });

  it('AlterConfigs changes the codec of later batches, zstd included', async () => {
    const topic = 'codec-altered';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await producer.send({ topic, messages: [{ value: 'before' }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'compression.type', value: 'gzip' }],
        },
      ],
    });
    await producer.send({ topic, messages: [{ value: 'after' }] });
    const stored = await storedBatches(broker.kafka!.port, topic);
    assert.deepEqual(stored.codecs, ['none', 'gzip']);
    assert.deepEqual(await consumeAll(topic, 2), ['before', 'after']);

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'compression.type', value: 'zstd' }],
        },
      ],
    });
    await producer.send({ topic, messages: [{ value: 'zstd now' }] });
    assert.deepEqual((await storedBatches(broker.kafka!.port, topic)).codecs, ['none', 'gzip', 'zstd']);
  });

  it('a zstd topic is refused to Fetch below v10 (UNSUPPORTED_COMPRESSION_TYPE), served from v10', async () => {
    const topic = 'codec-zstd-old-fetch';
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'zstd' }] }],
    });
    await producer.send({ topic, messages: [{ value: 'v' }] });
    const client = await KafkaWireClient.connect('127.0.0.1', broker.kafka!.port);
    try {
      const fetchAt = async (version: number) => {
        const response = (await client.send(API_KEYS.Fetch, version, {
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
              topicId: NO_DIRECTORY,
              partitions: [
                {
                  partition: 0,
                  fetchOffset: 0n,
                  partitionMaxBytes: 1 << 20,
                  currentLeaderEpoch: -1,
                  logStartOffset: -1n,
                  lastFetchedEpoch: -1,
                  replicaDirectoryId: NO_DIRECTORY,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        })) as unknown as FetchResponse;
        return response.responses[0]!.partitions[0]!;
      };
      assert.equal((await fetchAt(9)).errorCode, 76, 'UNSUPPORTED_COMPRESSION_TYPE');
      const served = await fetchAt(10);
      assert.equal(served.errorCode, 0);
      assert.ok((served.records?.length ?? 0) > 0);
    } finally {
      client.close();
    }
  });
});

// Broker compression.type (`--kafka-compression-type`, Kafka's broker config of the same name): the
// codec of every topic that does not set its own; DescribeConfigs shows it as Kafka does (the broker
// resource's compression.type is a STATIC_BROKER_CONFIG; a topic without an override takes its value
// and source from it, with the synonyms static → Kafka's default).
describe('broker compression.type', () => {
  let broker: TestBroker;
  let kafka: kafkajs.Kafka;
  before(async () => {
    broker = await startTestBroker({
      kafkaPort: 0,
      kafka: { groupInitialRebalanceDelayMs: 0, compressionType: 'lz4' },
    });
    kafka = new Kafka({
      clientId: 'broker-codec',
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
    });
  });
  after(async () => {
    await broker.stop();
  });

  it('recompresses batches to the broker codec for topics without their own; a topic override wins', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'broker-codec', numPartitions: 1 },
        { topic: 'own-gzip', numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'gzip' }] },
        {
          topic: 'own-producer',
          numPartitions: 1,
          configEntries: [{ name: 'compression.type', value: 'producer' }],
        },
      ],
    });
    const producer = kafka.producer();
    await producer.connect();
    for (const topic of ['broker-codec', 'own-gzip', 'own-producer']) {
      await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: [{ value: 'g1' }],
      });
      await producer.send({ topic, acks: -1, messages: [{ value: 'u1' }] });
    }
    await producer.disconnect();
    const codecsOf = async (topic: string) => (await storedBatches(broker.kafka!.port, topic)).codecs;
    assert.deepEqual(await codecsOf('broker-codec'), ['lz4', 'lz4'], 'the broker codec');
    assert.deepEqual(await codecsOf('own-gzip'), ['gzip', 'gzip'], "the topic's own codec");
    assert.deepEqual(await codecsOf('own-producer'), ['gzip', 'none'], 'producer: as produced');
    // kafkajs has no lz4 codec of its own: the records are read back by Pier's decoder here, by kcat below.
    assert.deepEqual((await storedBatches(broker.kafka!.port, 'broker-codec')).values, ['g1', 'u1']);

    const { resources } = await admin.describeConfigs({
      includeSynonyms: true,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'broker-codec', configNames: ['compression.type'] },
        { type: ConfigResourceTypes.TOPIC, name: 'own-gzip', configNames: ['compression.type'] },
        { type: ConfigResourceTypes.BROKER, name: '0', configNames: ['compression.type'] },
      ],
    });
    await admin.disconnect();
    const entry = (name: string) => {
      const e = resources.find((r) => r.resourceName === name)!.configEntries[0]!;
      return {
        value: e.configValue,
        source: e.configSource,
        isDefault: e.isDefault,
        synonyms: e.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource]),
      };
    };
    // ConfigSource: 1 TOPIC_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG.
    assert.deepEqual(entry('broker-codec'), {
      value: 'lz4',
      source: 4,
      isDefault: false,
      synonyms: [
        ['compression.type', 'lz4', 4],
        ['compression.type', 'producer', 5],
      ],
    });
    assert.deepEqual(entry('own-gzip'), {
      value: 'gzip',
      source: 1,
      isDefault: false,
      synonyms: [
        ['compression.type', 'gzip', 1],
        ['compression.type', 'lz4', 4],
        ['compression.type', 'producer', 5],
      ],
    });
    assert.deepEqual(entry('0'), {
      value: 'lz4',
      source: 4,
      isDefault: false,
      synonyms: [['compression.type', 'lz4', 4]],
    });
  });

  it('kcat (librdkafka) producing uncompressed into an auto-created topic: stored lz4, read back', {
    skip: hasKcat ? false : 'kcat is not installed (apt-get install kcat)',
  }, async () => {
    await runOk(
      'kcat',
      [
        '-P',
        '-b',
        broker.kafka!.bootstrap,
        '-t',
        'kcat-broker-codec',
        '-p',
        '0',
        '-z',
        'none',
        '-X',
        'acks=all',
      ],
      { input: 'one\ntwo\nthree\n', timeoutMs: 30_000 },
    );
    const stored = await storedBatches(broker.kafka!.port, 'kcat-broker-codec');
    assert.ok(stored.codecs.length > 0 && stored.codecs.every((c) => c === 'lz4'), stored.codecs.join(','));
    assert.deepEqual(stored.values, ['one', 'two', 'three']);
    // Asynchronously: the broker runs in this process.
    const out = await runOk(
      'kcat',
      [
        '-C',
        '-b',
        broker.kafka!.bootstrap,
        '-t',
        'kcat-broker-codec',
        '-p',
        '0',
        '-o',
        'beginning',
        '-e',
        '-q',
      ],
      { timeoutMs: 30_000 },
    );
    assert.deepEqual(out.stdout.toString('utf8').trim().split('\n'), ['one', 'two', 'three']);
  });
});
