/**
 * Kill -9 under an acks=all Kafka producer: a child-process broker takes pipelined Produce
 * requests (acks=-1, one batch per request, partitions in turn) and group offset commits, and is
 * SIGKILLed at a random moment, 20 times (PIER_CRASH_ROUNDS, PIER_CRASH_SEED). After each restart:
 * every acknowledged record is at the offset its ack gave; each partition's offsets are dense from
 * the log start to the high watermark (every offset fetched, in order, holding a record this test
 * sent to that partition); the group's committed offsets are at least the last acknowledged commit.
 * The producer is the project's own minimal client (test/helpers/kafka-wire.ts): no retries, every
 * answer seen, so an ack is exactly what the broker promised.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { API_KEYS } from '../../src/protocol/kafka/codec/index.js';
import { encodeRecordBatch } from '../../src/protocol/kafka/record-batch-encoder.js';
import { tempDir } from '../helpers/broker.js';
import { type ChildKafkaBroker, spawnKafkaBroker } from '../helpers/kafka.js';
import { fetchPartition, KafkaWireClient } from '../helpers/kafka-wire.js';
import { prng } from '../helpers/prng.js';

const ROUNDS = Number(process.env.PIER_CRASH_ROUNDS ?? 20);
const TOPIC = 'kafka-crash';
const GROUP = 'kafka-crash-group';
const PARTITIONS = 3;
const RECORDS_PER_BATCH = 20;
const PRODUCE_IN_FLIGHT = 8;
/** Per round, so the whole log stays small enough to re-read after every restart. */
const MAX_RECORDS_PER_ROUND = 12_000;
const MAX_REQUESTS_PER_ROUND = MAX_RECORDS_PER_ROUND / RECORDS_PER_BATCH;
const COMMIT_EVERY_ACKS = 5;
const VALUE_RE = /^p(\d+) r(\d+) b(\d+) i(\d+) x+$/;
const PADDING = 'x'.repeat(60);

/** What the broker has promised so far, over all rounds. */
interface Promised {
  /** `${partition}:${offset}` → value, from acknowledged Produce answers. */
  readonly records: Map<string, string>;
  /** Per partition, the offset of the last acknowledged commit (-1: none yet). */
  readonly committed: number[];
  /** Per partition, the largest offset ever sent in a commit (acknowledged or not). */
  readonly committedSentMax: number[];
}

function recordValue(partition: number, round: number, batch: number, i: number): string {
  return `p${partition} r${round} b${batch} i${i} ${PADDING}`;
}

/** Produces and commits until the broker dies; adds what it acknowledged to `promised`. */
async function loadUntilKilled(
  broker: ChildKafkaBroker,
  round: number,
  /** The broker is killed when this many Produce requests have been acknowledged (others in flight). */
  killAtAck: number,
  promised: Promised,
) {
  const client = await KafkaWireClient.connect(broker.host, broker.port, `crash-${round}`);
  const produceVersion = client.version(API_KEYS.Produce, 7);
  const commitVersion = client.version(API_KEYS.OffsetCommit, 2);
  let dead = false;
  broker.exited.then(() => {
    dead = true;
  });
  const ackedEnd = Array.from({ length: PARTITIONS }, () => -1);
  let acks = 0;
  let sentRecords = 0;
  let batchNumber = 0;
  let inFlight = 0;
  let error: Error | undefined;

  const commit = () => {
    const offsets = ackedEnd.map((end, partition) => ({ partition, offset: end }));
    const partitions = offsets.filter((o) => o.offset >= 0);
    if (partitions.length === 0) return;
    for (const { partition, offset } of partitions) {
      promised.committedSentMax[partition] = Math.max(promised.committedSentMax[partition]!, offset);
    }
    client
      .send(API_KEYS.OffsetCommit, commitVersion, {
        groupId: GROUP,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [
          {
            name: TOPIC,
            partitions: partitions.map(({ partition, offset }) => ({
              partitionIndex: partition,
              committedOffset: BigInt(offset),
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: '',
            })),
          },
        ],
      })
      .then(
        (response) => {
          for (const p of response.topics[0]?.partitions ?? []) {
            if (p.errorCode !== 0) {
              error ??= new Error(`OffsetCommit partition ${p.partitionIndex}: error code ${p.errorCode}`);
              continue;
            }
            const offset = partitions.find((o) => o.partition === p.partitionIndex)!.offset;
            promised.committed[p.partitionIndex] = Math.max(promised.committed[p.partitionIndex]!, offset);
          }
        },
        () => {}, // the broker died: this commit was never acknowledged
      );
  };

  let unanswered = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (!dead && !error && inFlight < PRODUCE_IN_FLIGHT && sentRecords < MAX_RECORDS_PER_ROUND) {
        const batch = batchNumber++;
        const partition = batch % PARTITIONS;
        const values = Array.from({ length: RECORDS_PER_BATCH }, (_, i) =>
          recordValue(partition, round, batch, i),
        );
        const records = encodeRecordBatch({
          records: values.map((value) => ({ value, timestampMs: Date.now() })),
        });
        inFlight++;
        sentRecords += RECORDS_PER_BATCH;
        client
          .send(API_KEYS.Produce, produceVersion, {
            transactionalId: null,
            acks: -1,
            timeoutMs: 30_000,
            topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }],
          })
          .then(
            (response) => {
              inFlight--;
              const answer = response.responses[0]?.partitionResponses[0];
              if (answer?.errorCode !== 0) {
                error ??= new Error(`Produce to partition ${partition}: error code ${answer?.errorCode}`);
                return;
              }
              const base = Number(answer.baseOffset);
              for (const [i, value] of values.entries())
                promised.records.set(`${partition}:${base + i}`, value);
              ackedEnd[partition] = Math.max(ackedEnd[partition]!, base + RECORDS_PER_BATCH);
              if (++acks % COMMIT_EVERY_ACKS === 0) commit();
              // Killed by acknowledged progress, not by time: a fast machine that produced the
              // round's records before a timer fired killed an idle broker (7 rounds of 20 under load).
              if (acks === killAtAck) broker.process.kill('SIGKILL');
              setImmediate(pump);
            },
            () => {
              // Unanswered: the broker died with this request in flight.
              inFlight--;
              unanswered++;
            },
          );
      }
    };
    pump();
    Promise.all([broker.exited, client.closed]).then(() => resolve());
  });
  client.close();
  if (error) throw error;
  return { acks, killedUnderLoad: unanswered > 0 };
}

/** Reads every partition and the group's offsets from a restarted broker and checks the promises. */
async function verify(broker: ChildKafkaBroker, round: number, promised: Promised): Promise<number> {
  const client = await KafkaWireClient.connect(broker.host, broker.port, `verify-${round}`);
  try {
    let total = 0;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const { records, highWatermark, logStartOffset } = await fetchPartition(client, TOPIC, partition);
      assert.equal(logStartOffset, 0, `partition ${partition}: log start offset`);
      const gaps: string[] = [];
      records.forEach((record, i) => {
        if (record.offset !== i) gaps.push(`index ${i} holds offset ${record.offset}`);
        const match = VALUE_RE.exec(record.value ?? '');
        if (!match || Number(match[1]) !== partition)
          gaps.push(`offset ${record.offset}: foreign value ${record.value}`);
      });
      assert.deepEqual(
        gaps.slice(0, 5),
        [],
        `partition ${partition}: offsets 0..${highWatermark - 1} dense and ours`,
      );
      assert.equal(records.length, highWatermark, `partition ${partition}: records up to the high watermark`);
      const lost: string[] = [];
      for (const [where, value] of promised.records) {
        const [p, offset] = where.split(':').map(Number) as [number, number];
        if (p !== partition) continue;
        if (records[offset]?.value !== value) {
          lost.push(
            `offset ${offset}: acked ${value.slice(0, 20)}, found ${records[offset]?.value?.slice(0, 20)}`,
          );
        }
      }
      assert.deepEqual(
        lost.slice(0, 5),
        [],
        `partition ${partition}: ${lost.length} acknowledged records lost or moved`,
      );
      total += records.length;
    }

    const fetched = await client.request(API_KEYS.OffsetFetch, 1, {
      groupId: GROUP,
      topics: [{ name: TOPIC, partitionIndexes: Array.from({ length: PARTITIONS }, (_, p) => p) }],
    });
    assert.equal(fetched.errorCode, 0, 'OffsetFetch error code');
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const answer = fetched.topics[0]?.partitions.find((p) => p.partitionIndex === partition);
      const offset = Number(answer?.committedOffset ?? -1);
      const acked = promised.committed[partition]!;
      const sentMax = promised.committedSentMax[partition]!;
      assert.ok(
        offset >= acked && offset <= sentMax,
        `partition ${partition}: committed offset ${offset} after restart, expected between the last acknowledged commit ${acked} and the last sent ${sentMax}`,
      );
    }
    return total;
  } finally {
    client.close();
  }
}

test(`acknowledged Kafka records and committed offsets survive ${ROUNDS} SIGKILLs under an acks=all producer`, {
  timeout: 240_000,
}, async () => {
  const dataDir = tempDir('pier-kafka-crash-');
  const random = prng(Number(process.env.PIER_CRASH_SEED ?? 42));
  const promised: Promised = {
    records: new Map(),
    committed: Array.from({ length: PARTITIONS }, () => -1),
    committedSentMax: Array.from({ length: PARTITIONS }, () => -1),
  };
  let keepDataDir = false;
  let broker: ChildKafkaBroker | undefined;
  try {
    broker = await spawnKafkaBroker(dataDir);
    const setup = await KafkaWireClient.connect(broker.host, broker.port, 'crash-setup');
    const created = await setup.request(API_KEYS.CreateTopics, 4, {
      topics: [
        { name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    setup.close();
    assert.equal(
      created.topics[0]?.errorCode,
      0,
      `CreateTopics ${TOPIC}: ${created.topics[0]?.errorMessage}`,
    );

    let totalAcks = 0;
    let killedUnderLoad = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAtAck = 5 + Math.floor(random() * (MAX_REQUESTS_PER_ROUND * 0.8 - 5));
      const outcome = await loadUntilKilled(broker, round, killAtAck, promised);
      totalAcks += outcome.acks;
      if (outcome.killedUnderLoad) killedUnderLoad++;
      broker = await spawnKafkaBroker(dataDir);
      try {
        await verify(broker, round, promised);
      } catch (error) {
        throw new Error(
          `round ${round} (killed at acknowledgement ${killAtAck}): ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
    assert.ok(totalAcks > ROUNDS * 5, `the producer should have had acks (got ${totalAcks})`);
    assert.ok(
      killedUnderLoad >= ROUNDS / 2,
      `the broker should mostly die with Produce requests in flight (${killedUnderLoad} of ${ROUNDS} rounds)`,
    );
    assert.ok(
      promised.committed.every((offset) => offset > 0),
      `commits were acknowledged on every partition (${promised.committed})`,
    );
  } catch (error) {
    keepDataDir = true;
    throw new Error(`${(error as Error).message}\n(data directory kept: ${dataDir})`, { cause: error });
  } finally {
    await broker?.kill();
    if (!keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  }
});
