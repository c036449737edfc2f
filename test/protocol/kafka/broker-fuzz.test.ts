/**
 * Fuzzing the running Kafka listener: raw sockets send valid Kafka conversations with random
 * mutations (flipped bytes, truncations, noise, duplicated and swapped requests, huge sizes) and
 * pure noise. The broker must never crash, must keep serving a well-behaved client, and must never
 * damage the records already stored in another topic, before or after a restart.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { encodeRequest, type KafkaStruct } from '../../../src/protocol/kafka/codec/index.js';
import { encodeRecordBatch } from '../../../src/protocol/kafka/record-batch-encoder.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import {
  converse,
  GENERIC_MUTATIONS,
  type Mutation,
  mutateOneFrame,
  noise,
  pick,
} from '../../helpers/fuzz-mutations.js';
import { prng } from '../../helpers/prng.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const ITERATIONS = Number(process.env.PIER_FUZZ_ITERATIONS ?? 400);
const VICTIM_TOPIC = 'victim';
const VICTIM_RECORDS = 200;

const request = (apiKey: number, apiVersion: number, body: KafkaStruct, correlationId: number) =>
  encodeRequest({ apiKey, apiVersion, correlationId, clientId: 'fuzzer' }, body);

function batch(values: string[]): Buffer {
  return encodeRecordBatch({
    records: values.map((value, i) => ({ key: `k${i}`, value, headers: [{ key: 'h', value: 'v' }] })),
    baseTimestampMs: 1_700_000_000_000,
  });
}

/** A complete, valid client conversation as a list of request frames. */
function validConversation(): Buffer[] {
  const topic = 'fz';
  return [
    request(18, 3, { clientSoftwareName: 'fuzzer', clientSoftwareVersion: '1.0' }, 1),
    request(3, 9, { topics: [{ name: topic }], allowAutoTopicCreation: true }, 2),
    request(
      19,
      5,
      { topics: [{ name: 'fz-created', numPartitions: 2, replicationFactor: 1 }], timeoutMs: 1000 },
      3,
    ),
    request(
      0,
      7,
      {
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch(['a', 'b']) }] }],
      },
      4,
    ),
    request(
      1,
      11,
      {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      },
      5,
    ),
    request(
      2,
      5,
      { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -2n }] }] },
      6,
    ),
    request(10, 2, { key: 'fz-group', keyType: 0 }, 7),
    request(
      8,
      7,
      {
        groupId: 'fz-group',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
      },
      8,
    ),
    request(9, 6, { groupId: 'fz-group', topics: [{ name: topic, partitionIndexes: [0] }] }, 9),
    request(32, 2, { resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }] }, 10),
    request(20, 4, { topicNames: ['fz-created'], timeoutMs: 1000 }, 11),
  ];
}

const MUTATIONS: readonly Mutation[] = [
  ...GENERIC_MUTATIONS,
  // Flip bytes after the header only, so the request reaches its handler malformed.
  (frames, random) =>
    mutateOneFrame(frames, random, (frame) => {
      if (frame.length > 20)
        frame[20 + Math.floor(random() * (frame.length - 20))]! ^= 1 + Math.floor(random() * 255);
    }),
  // A size prefix or an inner length overwritten with a random, often huge, value.
  (frames, random) =>
    mutateOneFrame(frames, random, (frame) => {
      const at = random() < 0.5 ? 0 : 4 * Math.floor((random() * (frame.length - 4)) / 4);
      frame.writeUInt32BE(Math.floor(random() * 0xffffffff), at);
    }),
  // Another API version than the body was encoded for.
  (frames, random) =>
    mutateOneFrame(frames, random, (frame) => frame.writeInt16BE(Math.floor(random() * 20) - 2, 6)),
];

let broker: TestBroker;
const victimValues = Array.from({ length: VICTIM_RECORDS }, (_, i) => `victim ${i} ${'#'.repeat(i % 50)}`);

async function produceVictims(): Promise<void> {
  const client = await RawKafkaClient.connect(broker.kafka!.port);
  for (let i = 0; i < VICTIM_RECORDS; i += 20) {
    const answer = await client.request<{
      responses: Array<{ partitionResponses: Array<{ errorCode: number }> }>;
    }>(0, 7, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: VICTIM_TOPIC, partitionData: [{ index: 0, records: batch(victimValues.slice(i, i + 20)) }] },
      ],
    });
    assert.equal(answer.responses[0]!.partitionResponses[0]!.errorCode, 0);
  }
  client.close();
}

/** Every victim record, in order, at offsets 0..N-1. */
async function assertVictimsIntact(): Promise<void> {
  const client = await RawKafkaClient.connect(broker.kafka!.port);
  const values: string[] = [];
  const offsets: number[] = [];
  while (values.length < VICTIM_RECORDS) {
    const answer = await client.request<{
      responses: Array<{
        partitions: Array<{ errorCode: number; highWatermark: bigint; records: Buffer | null }>;
      }>;
    }>(1, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        {
          topic: VICTIM_TOPIC,
          partitions: [{ partition: 0, fetchOffset: BigInt(values.length), partitionMaxBytes: 1 << 20 }],
        },
      ],
    });
    const partition = answer.responses[0]!.partitions[0]!;
    assert.equal(partition.errorCode, 0);
    assert.equal(partition.highWatermark, BigInt(VICTIM_RECORDS));
    const records = partition.records ?? Buffer.alloc(0);
    assert.ok(records.length > 0, 'a fetch below the high watermark returns records');
    let pos = 0;
    while (pos < records.length) {
      const length = records.readInt32BE(pos + 8) + 12;
      for (const record of decodeRecords(records.subarray(pos, pos + length))) {
        if (record.offset < values.length) continue;
        offsets.push(record.offset);
        values.push(record.value!.toString());
      }
      pos += length;
    }
  }
  client.close();
  assert.deepEqual(
    offsets,
    Array.from({ length: VICTIM_RECORDS }, (_, i) => i),
  );
  assert.deepEqual(values, victimValues);
}

before(async () => {
  broker = await startTestBroker({ kafkaPort: 0 });
  await produceVictims();
});

after(async () => {
  await broker.close();
  rmSync(broker.dataDir, { recursive: true, force: true });
});

test(`${ITERATIONS} mutated and random Kafka conversations neither crash the broker nor touch stored records`, async () => {
  const random = prng(Number(process.env.PIER_FUZZ_SEED ?? 7));
  const base = validConversation();
  for (let i = 0; i < ITERATIONS; i++) {
    let bytes: Buffer;
    if (random() < 0.1) {
      bytes = noise(random, 512);
    } else {
      let frames = base;
      for (let n = 1 + Math.floor(random() * 3); n > 0 && frames.length > 0; n--) {
        frames = pick(MUTATIONS, random)(frames, random);
      }
      bytes = Buffer.concat(frames);
    }
    await converse(broker.kafka!.port, bytes, 5_000);
  }
  await assertVictimsIntact();
});

test('stored records survive a restart after the fuzzing, intact and dense', async () => {
  await broker.close();
  broker = await startTestBroker({ dataDir: broker.dataDir, kafkaPort: 0 });
  await assertVictimsIntact();
});
