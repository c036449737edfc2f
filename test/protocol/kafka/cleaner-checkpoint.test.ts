// The log cleaner's progress survives restarts (Kafka's cleaner-offset-checkpoint): kafkajs fills a
// compacted topic, the cleaner cleans it and saves the first dirty offset; after a clean restart and
// after SIGKILL of a child broker the cleaner finds nothing dirty (kafka_log_logcleanermanager_
// max_dirty_percent 0, no partition cleaned again, no segment rewritten), while a missing, corrupt or
// stale checkpoint makes it clean the partition once more (Kafka's rules), and new updates are still
// compacted to the newest value per key.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import {
  CLEANER_CHECKPOINT_FILE,
  parseCheckpoint,
} from '../../../src/storage/kafka/cleaner-offset-checkpoint.js';
import { spawnBroker, tempDir } from '../../helpers/broker.js';
import { startKafkaTestBroker } from '../../helpers/kafka.js';
import { scrape } from '../../metrics/scrape.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'cleaner-progress';
const COMPACT_CONFIGS = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.bytes', value: '2048' },
  { name: 'min.cleanable.dirty.ratio', value: '0.01' },
];

function clientOf(bootstrap: string) {
  return new Kafka({ clientId: 'pier-cleaner-checkpoint', brokers: [bootstrap], logLevel: logLevel.NOTHING });
}

async function createTopic(bootstrap: string) {
  const admin = clientOf(bootstrap).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 1, configEntries: COMPACT_CONFIGS }],
    });
  } finally {
    await admin.disconnect();
  }
}

/** One record per batch, so the 2 KiB segments fill and close. Returns the newest value per key. */
async function produce(bootstrap: string, count: number, tag: string, newest: Map<string, string>) {
  const producer = clientOf(bootstrap).producer();
  await producer.connect();
  try {
    for (let i = 0; i < count; i++) {
      const key = `k${i % 20}`;
      const value = `${tag}${i}`;
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ key, value }] });
      newest.set(key, value);
    }
  } finally {
    await producer.disconnect();
  }
}

async function consumeNewest(bootstrap: string): Promise<Map<string, string>> {
  const kafka = clientOf(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  const [{ high }] = (await admin.fetchTopicOffsets(TOPIC)) as { high: string }[];
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `g-${Math.random()}` });
  const newest = new Map<string, string>();
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          newest.set(message.key!.toString(), message.value!.toString());
          if (Number(message.offset) === Number(high) - 1) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return newest;
}

interface CleanerFigures {
  maxDirtyPercent: number;
  passes: number;
  cleanings: number;
  segmentsRewritten: number;
}

async function cleanerFigures(metricsUrl: string): Promise<CleanerFigures> {
  const s = await scrape(metricsUrl);
  const get = (name: string) => {
    const v = s.samples.get(name);
    assert.notEqual(v, undefined, `no ${name} in /metrics`);
    return v!;
  };
  return {
    maxDirtyPercent: get('kafka_log_logcleanermanager_max_dirty_percent'),
    passes: get('pier_kafka_log_cleaner_passes_total'),
    cleanings: get('pier_kafka_log_cleaner_cleanings_total'),
    segmentsRewritten: get('pier_kafka_log_cleaner_segments_rewritten_total'),
  };
}

/** Polls /metrics until `test` holds (the cleaner runs on its own timer: there is no event to await). */
async function untilCleaner(
  metricsUrl: string,
  what: string,
  test: (f: CleanerFigures) => boolean,
): Promise<CleanerFigures> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const figures = await cleanerFigures(metricsUrl);
    if (test(figures)) return figures;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(figures)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Everything closed was cleaned, and a few more passes found nothing dirty. */
async function untilClean(metricsUrl: string): Promise<CleanerFigures> {
  const done = await untilCleaner(
    metricsUrl,
    'the partition to be clean',
    (f) => f.cleanings >= 1 && f.maxDirtyPercent === 0,
  );
  return untilCleaner(
    metricsUrl,
    'three more passes',
    (f) => f.passes >= done.passes + 3 && f.maxDirtyPercent === 0,
  );
}

function checkpointOffset(dataDir: string): number | undefined {
  const entries = parseCheckpoint(readFileSync(join(dataDir, CLEANER_CHECKPOINT_FILE), 'utf8'));
  return entries.find((e) => e.topic === TOPIC && e.partition === 0)?.offset;
}

describe('log cleaner progress across restarts (cleaner-offset-checkpoint)', () => {
  it('a restarted broker does not clean a clean log again; a missing, corrupt or stale checkpoint makes it clean once', async () => {
    const dataDir = tempDir('pier-cleaner-checkpoint-');
    const start = () =>
      startKafkaTestBroker({ dataDir, prometheusPort: 0, kafka: { logCleanerIntervalMs: 20 } });
    const newest = new Map<string, string>();
    try {
      let broker = await start();
      await createTopic(broker.bootstrap);
      await produce(broker.bootstrap, 300, 'a', newest);
      const before = await untilClean(broker.broker.prometheus!.url);
      assert.ok(before.segmentsRewritten > 0, 'the first broker compacted the log');
      const saved = checkpointOffset(dataDir);
      assert.ok(saved !== undefined && saved > 0, `the checkpoint names the topic (${saved})`);
      await broker.stop();

      // Restart: the log is clean as of the checkpoint, so no pass cleans it.
      broker = await start();
      let after = await untilCleaner(broker.broker.prometheus!.url, 'three passes', (f) => f.passes >= 3);
      assert.deepEqual(
        [after.maxDirtyPercent, after.cleanings, after.segmentsRewritten],
        [0, 0, 0],
        'nothing dirty, nothing cleaned or rewritten after the restart',
      );
      // New updates are dirty again and get compacted; the checkpoint moves on.
      await produce(broker.bootstrap, 150, 'b', newest);
      after = await untilClean(broker.broker.prometheus!.url);
      assert.ok(after.segmentsRewritten > 0);
      assert.ok(checkpointOffset(dataDir)! > saved, 'the checkpoint moved past the new updates');
      assert.deepEqual(await consumeNewest(broker.bootstrap), newest);
      await broker.stop();

      // No checkpoint (Kafka: nothing cleaned yet), a corrupt one, one beyond the log end: cleaned once.
      const damages: [string, () => void][] = [
        ['missing', () => rmSync(join(dataDir, CLEANER_CHECKPOINT_FILE))],
        ['corrupt', () => writeFileSync(join(dataDir, CLEANER_CHECKPOINT_FILE), '0\n1\ngarbage\n')],
        [
          'beyond the log end',
          () => writeFileSync(join(dataDir, CLEANER_CHECKPOINT_FILE), `0\n1\n${TOPIC} 0 999999999\n`),
        ],
      ];
      for (const [what, damage] of damages) {
        damage();
        broker = await start();
        after = await untilCleaner(
          broker.broker.prometheus!.url,
          `the ${what} checkpoint's partition to be cleaned`,
          (f) => f.cleanings >= 1,
        );
        await untilClean(broker.broker.prometheus!.url);
        const offset = checkpointOffset(dataDir);
        assert.ok(
          offset !== undefined && offset > 0 && offset < 999999999,
          `${what}: rewritten as ${offset}`,
        );
        assert.deepEqual(await consumeNewest(broker.bootstrap), newest, `${what}: newest values kept`);
        await broker.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('after SIGKILL of a child broker the cleaner resumes from the checkpoint', async () => {
    const dataDir = tempDir('pier-cleaner-checkpoint-kill-');
    const args = ['--kafka-port', '0', '--prometheus-port', '0', '--kafka-log-cleaner-interval-ms', '5'];
    const spawn = async () => {
      const child = await spawnBroker(dataDir, args, ['amqp', 'kafka', 'prometheus']);
      const kafka = child.listeners.get('kafka')!;
      const prometheus = child.listeners.get('prometheus')!;
      return {
        child,
        bootstrap: `127.0.0.1:${kafka.port}`,
        metricsUrl: `http://127.0.0.1:${prometheus.port}/metrics`,
        async kill() {
          child.process.kill('SIGKILL');
          await child.exited;
        },
      };
    };
    const newest = new Map<string, string>();
    try {
      let broker = await spawn();
      try {
        await createTopic(broker.bootstrap);
        await produce(broker.bootstrap, 300, 'a', newest);
        await untilClean(broker.metricsUrl);
      } finally {
        await broker.kill();
      }
      broker = await spawn();
      try {
        const after = await untilCleaner(broker.metricsUrl, 'three passes', (f) => f.passes >= 3);
        assert.deepEqual(
          [after.maxDirtyPercent, after.cleanings, after.segmentsRewritten],
          [0, 0, 0],
          'nothing cleaned again after SIGKILL',
        );
        assert.deepEqual(await consumeNewest(broker.bootstrap), newest);
      } finally {
        await broker.kill();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
