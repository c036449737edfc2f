// ListOffsets v0-7 (latest, earliest, max timestamp, by timestamp) and DeleteRecords v0-2, through the codec.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { deleteRecordsApis } from '../../../src/protocol/kafka/apis/delete-records.js';
import { fetchApis } from '../../../src/protocol/kafka/apis/fetch.js';
import { listOffsetsApis } from '../../../src/protocol/kafka/apis/list-offsets.js';
import { produceApis } from '../../../src/protocol/kafka/apis/produce.js';
import type {
  DeleteRecordsResponse,
  FetchResponse,
  ListOffsetsResponse,
  ListOffsetsResponseListOffsetsPartitionResponse,
} from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { KafkaProducers, MemoryProducerIdBlockStore } from '../../../src/protocol/kafka/producers.js';
import { encodeRecordBatch, encodeRecordsSection } from '../../../src/protocol/kafka/record-batch-encoder.js';
import { call, FakeTopics, fetchBody, produceBody, testTransactions } from './data-path-helpers.js';

const PRODUCE = 0;
const FETCH = 1;
const LIST_OFFSETS = 2;
const DELETE_RECORDS = 21;

/** The records section of batch D ([11000, 12000]) compressed by the zstd CLI (node:zlib on Node 20 has no zstd). */
const ZSTD_D = Buffer.from('KLUv/QRYmQAAEAAAAAEEcjAAEgDQDwIBBHIxAC2HOj0=', 'base64');

const batch = (timestamps: number[], compression?: 'gzip' | 'zstd') => {
  const records = timestamps.map((timestampMs, i) => ({ value: `r${i}`, timestampMs }));
  if (!compression) return encodeRecordBatch({ records });
  const section = encodeRecordsSection(records);
  const encodedRecords = compression === 'gzip' ? gzipSync(section) : ZSTD_D;
  return encodeRecordBatch({ records, compression, encodedRecords });
};

async function setup() {
  const clock = new ManualClock();
  const topics = new FakeTopics(clock);
  topics.create('t');
  const producers = new KafkaProducers({ clock, idStore: new MemoryProducerIdBlockStore() });
  const transactions = testTransactions(topics, clock);
  const apis = [
    ...produceApis({ topics, producers, clock, transactions }),
    ...fetchApis({ topics, clock, transactions }),
    ...listOffsetsApis({ topics }),
    ...deleteRecordsApis({ topics, producers }),
  ];
  // Offsets 0-2: A (max 3000); 3-4: B (max 9000); 5-6: C gzip (max 5000); 7-8: D zstd (max 12000).
  for (const records of [
    batch([1000, 3000, 2000]),
    batch([1500, 9000]),
    batch([4000, 5000], 'gzip'),
    batch([11000, 12000], 'zstd'),
  ]) {
    await call(apis, PRODUCE, 9, produceBody('t', 0, records));
  }
  const listOffsets = async (timestamp: number, version = 7, maxNumOffsets = 1, topic = 't') => {
    const body = {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        { name: topic, partitions: [{ partitionIndex: 0, timestamp: BigInt(timestamp), maxNumOffsets }] },
      ],
    };
    const answer = (await call<ListOffsetsResponse>(
      apis,
      LIST_OFFSETS,
      version,
      body,
    )) as ListOffsetsResponse;
    return answer.topics[0]!.partitions[0]!;
  };
  const deleteRecords = async (offset: number, topic = 't') => {
    const body = {
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: BigInt(offset) }] }],
      timeoutMs: 1000,
    };
    const answer = (await call<DeleteRecordsResponse>(
      apis,
      DELETE_RECORDS,
      2,
      body,
    )) as DeleteRecordsResponse;
    return answer.topics[0]!.partitions[0]!;
  };
  const fetchAt = async (offset: number) =>
    ((await call<FetchResponse>(apis, FETCH, 12, fetchBody('t', 0, offset))) as FetchResponse).responses[0]!
      .partitions[0]!;
  return { topics, listOffsets, deleteRecords, fetchAt };
}

const found = (p: ListOffsetsResponseListOffsetsPartitionResponse) => [p.errorCode, p.offset, p.timestamp];

describe('ListOffsets', () => {
  it('answers latest with the high watermark and earliest with the log start, timestamp -1', async () => {
    const { listOffsets } = await setup();
    assert.deepEqual(found(await listOffsets(-1)), [0, 9n, -1n]);
    assert.deepEqual(found(await listOffsets(-2)), [0, 0n, -1n]);
    assert.deepEqual(found(await listOffsets(-1, 1)), [0, 9n, -1n]);
  });

  it('finds the first record at or after a timestamp, in log order', async () => {
    const { listOffsets } = await setup();
    assert.deepEqual(found(await listOffsets(0)), [0, 0n, 1000n]);
    assert.deepEqual(found(await listOffsets(2500)), [0, 1n, 3000n], 'inside batch A');
    assert.deepEqual(found(await listOffsets(3500)), [0, 4n, 9000n], 'B is the first batch reaching 3500');
    // Inside compressed batches: the exact record, the batch decompressed as Kafka does.
    assert.deepEqual(found(await listOffsets(10_000)), [0, 7n, 11000n], 'the first record of zstd batch D');
    assert.deepEqual(found(await listOffsets(11_500)), [0, 8n, 12000n], 'inside zstd batch D');
    assert.deepEqual(found(await listOffsets(12_001)), [0, -1n, -1n]);
  });

  it('finds the record with the largest timestamp (-3, v7)', async () => {
    const { listOffsets } = await setup();
    // The record holding it, inside a compressed batch too (Kafka 3.8+, KAFKA-16310).
    assert.deepEqual(found(await listOffsets(-3)), [0, 8n, 12000n]);
  });

  it('answers v0 with oldStyleOffsets', async () => {
    const { listOffsets } = await setup();
    assert.deepEqual((await listOffsets(-1, 0)).oldStyleOffsets, [9n]);
    assert.deepEqual((await listOffsets(-2, 0)).oldStyleOffsets, [0n]);
    assert.deepEqual((await listOffsets(2500, 0)).oldStyleOffsets, [1n]);
    assert.deepEqual((await listOffsets(-1, 0, 0)).oldStyleOffsets, []);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic', async () => {
    const { listOffsets } = await setup();
    assert.deepEqual(found(await listOffsets(-1, 7, 1, 'nope')), [
      KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      -1n,
      -1n,
    ]);
  });
});

describe('DeleteRecords', () => {
  it('raises the log start: fetching below it is OFFSET_OUT_OF_RANGE, ListOffsets follows', async () => {
    const { deleteRecords, fetchAt, listOffsets } = await setup();
    assert.deepEqual(await deleteRecords(4), { partitionIndex: 0, lowWatermark: 4n, errorCode: 0 });
    assert.equal((await fetchAt(0)).errorCode, KafkaError.OFFSET_OUT_OF_RANGE);
    assert.equal((await fetchAt(3)).errorCode, KafkaError.OFFSET_OUT_OF_RANGE);
    const at4 = await fetchAt(4);
    assert.equal(at4.errorCode, KafkaError.NONE);
    assert.equal(at4.logStartOffset, 4n);
    assert.deepEqual(found(await listOffsets(-2)), [0, 4n, -1n]);
    // Batch B straddles the log start: its record at offset 3 no longer counts.
    assert.deepEqual(found(await listOffsets(0)), [0, 4n, 9000n]);
  });

  it('takes -1 as the high watermark, refuses offsets above it, ignores offsets below the start', async () => {
    const { deleteRecords } = await setup();
    assert.equal((await deleteRecords(10)).errorCode, KafkaError.OFFSET_OUT_OF_RANGE);
    assert.equal((await deleteRecords(-5)).errorCode, KafkaError.OFFSET_OUT_OF_RANGE);
    assert.deepEqual(await deleteRecords(5), { partitionIndex: 0, lowWatermark: 5n, errorCode: 0 });
    assert.deepEqual(await deleteRecords(2), { partitionIndex: 0, lowWatermark: 5n, errorCode: 0 });
    assert.deepEqual(await deleteRecords(-1), { partitionIndex: 0, lowWatermark: 9n, errorCode: 0 });
    assert.equal((await deleteRecords(0, 'nope')).errorCode, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
