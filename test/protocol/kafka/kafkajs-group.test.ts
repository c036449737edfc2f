/**
 * kafkajs 2.2.4 consumer group against Pier: three members, one joining and one leaving while
 * records flow, each record processed exactly once.
 *
 * What Kafka guarantees, and so what is asserted: delivery across a rebalance is at-least-once —
 * a record processed but not committed before its partition moves is processed again by the new
 * owner. Exactly-once holds when every member commits what it processed before giving up its
 * partitions, and kafkajs does that: with autoCommit it commits resolved offsets after each batch,
 * when a heartbeat answers REBALANCE_IN_PROGRESS (before it rejoins), and on disconnect (before
 * LeaveGroup). A Kafka coordinator accepts those commits (the member still holds the current
 * generation while the group is PreparingRebalance) and cannot finish the rebalance until the
 * member has rejoined or left. So each partition's offsets must be processed once each, in order,
 * whoever owned it — a duplicate here means the broker lost or refused such a commit, or handed a
 * partition to two members at once. (A member that crashes without committing would legitimately
 * cause re-processing; that is not what this test does.)
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { type Consumer, Kafka, logLevel, Partitioners } from 'kafkajs';
import { type KafkaTestBroker, startKafkaTestBroker, uniqueKafkaName } from '../../helpers/kafka.js';

const PARTITIONS = 6;
const TOTAL_RECORDS = 6000;
const SEND_BATCH = 100;
/** The producer stays at most this many records ahead of processing, so records flow through every phase. */
const MAX_AHEAD = 1200;

interface Delivery {
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: string;
}

interface Member {
  readonly name: string;
  readonly consumer: Consumer;
  /** Partitions of each GROUP_JOIN, oldest first. */
  readonly assignments: number[][];
  processed: number;
}

test('kafkajs: a group of three rebalances as members join and leave; every record is processed once', {
  timeout: 120_000,
}, async () => {
  let broker: KafkaTestBroker | undefined;
  const members: Member[] = [];
  const progress = new EventEmitter();
  progress.setMaxListeners(0);
  const deliveries: Delivery[] = [];
  const seenKeys = new Set<string>();
  const crashes: string[] = [];
  let phase = 'starting';

  /** Resolves when `done()` holds, re-checked on every delivery and group event. */
  const until = (what: string, done: () => boolean, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const check = () => {
        if (crashes.length > 0) finish(new Error(`a consumer crashed: ${crashes.join('; ')}`));
        else if (done()) finish();
      };
      const timer = setTimeout(
        () =>
          finish(
            new Error(
              `${phase}: timed out after ${timeoutMs} ms waiting for ${what}; processed ${seenKeys.size} ` +
                `distinct of ${deliveries.length} deliveries; assignments ${members
                  .map((m) => `${m.name}=${JSON.stringify(m.assignments.at(-1) ?? null)}`)
                  .join(' ')}`,
            ),
          ),
        timeoutMs,
      );
      const finish = (error?: Error) => {
        clearTimeout(timer);
        progress.off('progress', check);
        if (error) reject(error);
        else resolve();
      };
      progress.on('progress', check);
    });

  try {
    broker = await startKafkaTestBroker();
    const kafka = new Kafka({
      clientId: 'pier-kafkajs-group',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 50 },
    });
    const topic = uniqueKafkaName('kafkajs-group');
    const groupId = uniqueKafkaName('kafkajs-group');

    const admin = kafka.admin();
    await admin.connect();
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }),
      true,
      'CreateTopics should create the topic',
    );

    const startMember = async (name: string) => {
      const consumer = kafka.consumer({
        groupId,
        // Short intervals so members notice a rebalance (they learn of it from a heartbeat) quickly.
        heartbeatInterval: 100,
        sessionTimeout: 10_000,
        rebalanceTimeout: 10_000,
        maxWaitTimeInMs: 100,
        retry: { retries: 5, initialRetryTime: 50 },
      });
      const member: Member = { name, consumer, assignments: [], processed: 0 };
      members.push(member);
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        member.assignments.push([...(event.payload.memberAssignment[topic] ?? [])].sort());
        progress.emit('progress');
      });
      consumer.on(consumer.events.CRASH, (event) => {
        crashes.push(`${name}: ${event.payload.error.message}`);
        progress.emit('progress');
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const key = message.key?.toString() ?? '';
          deliveries.push({
            member: name,
            partition,
            offset: Number(message.offset),
            key,
            value: message.value?.toString() ?? '',
          });
          seenKeys.add(key);
          member.processed++;
          progress.emit('progress');
          // Some work per record, so rebalances land while records are being processed.
          await new Promise((resolve) => setImmediate(resolve));
        },
      });
      return member;
    };

    /** Current assignments of the members still in the group split all partitions between them. */
    const balanced = (active: Member[]) => {
      const current = active.map((m) => m.assignments.at(-1));
      if (current.some((a) => a === undefined || a.length === 0)) return false;
      const all = current.flat() as number[];
      return all.length === PARTITIONS && new Set(all).size === PARTITIONS;
    };

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    let produced = 0;
    const produceAll = (async () => {
      while (produced < TOTAL_RECORDS) {
        await until('processing to catch up with the producer', () => produced - seenKeys.size < MAX_AHEAD);
        const messages = [];
        for (let i = 0; i < SEND_BATCH; i++, produced++) {
          messages.push({ key: `key-${produced}`, value: `value-${produced}` });
        }
        await producer.send({ topic, acks: -1, messages });
      }
    })();
    produceAll.catch(() => {});

    phase = 'two members';
    const m1 = await startMember('m1');
    const m2 = await startMember('m2');
    await until('m1 and m2 to split the partitions', () => balanced([m1, m2]));
    await until('1,500 records processed', () => seenKeys.size >= 1500);

    phase = 'm3 joins';
    const m3 = await startMember('m3');
    await until('m1, m2 and m3 to split the partitions', () => balanced([m1, m2, m3]));
    await until('m3 to process records', () => m3.processed >= 200);
    await until('3,500 records processed', () => seenKeys.size >= 3500);

    phase = 'm1 leaves';
    const m1Processed = m1.processed;
    await m1.consumer.disconnect();
    await until('m2 and m3 to split the partitions', () => balanced([m2, m3]));
    await produceAll;
    await until('every record processed', () => seenKeys.size >= TOTAL_RECORDS);

    phase = 'stopping';
    // A clean stop commits what each member processed (kafkajs commits before LeaveGroup).
    await m2.consumer.disconnect();
    await m3.consumer.disconnect();
    await producer.disconnect();

    assert.deepEqual(crashes, [], 'no consumer crashed');
    assert.equal(m1.processed, m1Processed, 'm1 processed nothing after it left the group');
    for (const member of [m1, m2, m3]) assert.ok(member.processed > 0, `${member.name} processed records`);
    assert.ok(
      m1.assignments.length >= 2 && m2.assignments.length >= 3,
      `every join and leave rebalanced the group (m1 joined ${m1.assignments.length} times, m2 ${m2.assignments.length})`,
    );

    // Each partition's offsets, in processing order across all members, are 0, 1, 2, ... once each.
    const byPartition = new Map<number, Delivery[]>();
    for (const d of deliveries) {
      const list = byPartition.get(d.partition) ?? [];
      list.push(d);
      byPartition.set(d.partition, list);
    }
    const byKey = new Map<string, Delivery[]>();
    for (const d of deliveries) byKey.set(d.key, [...(byKey.get(d.key) ?? []), d]);
    const duplicates = [...byKey].filter(([, list]) => list.length > 1);
    assert.deepEqual(
      duplicates
        .slice(0, 5)
        .map(
          ([key, list]) => `${key}: ${list.map((d) => `${d.member}@p${d.partition}:${d.offset}`).join(', ')}`,
        ),
      [],
      `${duplicates.length} records processed more than once`,
    );
    const highWatermarks = await admin.fetchTopicOffsets(topic);
    let sum = 0;
    for (const { partition, high } of highWatermarks) {
      const offsets = (byPartition.get(partition) ?? []).map((d) => d.offset);
      const expected = Array.from({ length: Number(high) }, (_, i) => i);
      assert.deepEqual(offsets, expected, `partition ${partition}: offsets processed in order, each once`);
      sum += Number(high);
    }
    assert.equal(sum, TOTAL_RECORDS, 'the partitions hold every record produced');
    for (const d of deliveries)
      assert.equal(d.value, `value-${d.key.slice('key-'.length)}`, `value of ${d.key}`);
    assert.equal(byKey.size, TOTAL_RECORDS, 'every key was processed');

    // The committed offsets are the high watermarks: a new member would start after the last record.
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const highByPartition = new Map(highWatermarks.map((h) => [h.partition, h.high]));
    assert.deepEqual(
      committed!.partitions.map((p) => [p.partition, p.offset]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [...highByPartition].sort((a, b) => a[0] - b[0]),
      'committed offsets equal the high watermarks',
    );
    await admin.disconnect();
  } finally {
    for (const member of members) await member.consumer.disconnect().catch(() => {});
    await broker?.stop();
  }
});
