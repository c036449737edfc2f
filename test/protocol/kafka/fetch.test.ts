// Fetch v4-17 through the codec: produce → fetch round trip of the stored bytes, the high watermark
// limit, out-of-range offsets, byte limits (KIP-74), long polls on a ManualClock, fetch sessions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { fetchApis } from '../../../src/protocol/kafka/apis/fetch.js';
import { produceApis } from '../../../src/protocol/kafka/apis/produce.js';
import type {
  FetchResponse,
  FetchResponsePartitionData,
  KafkaStruct,
} from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { NO_RESPONSE } from '../../../src/protocol/kafka/kafka-api.js';
import { KafkaProducers, MemoryProducerIdBlockStore } from '../../../src/protocol/kafka/producers.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import {
  batchOf,
  call,
  type Durability,
  FakeSession,
  FakeTopics,
  fetchBody,
  flushMicrotasks,
  produceBody,
  settle,
  start,
  testTransactions,
} from './data-path-helpers.js';

const PRODUCE = 0;
const FETCH = 1;

function setup(durability: Durability = 'auto') {
  const clock = new ManualClock();
  const topics = new FakeTopics(clock, { durability });
  const producers = new KafkaProducers({ clock, idStore: new MemoryProducerIdBlockStore() });
  const transactions = testTransactions(topics, clock);
  const apis = [
    ...produceApis({ topics, producers, clock, transactions }),
    ...fetchApis({ topics, clock, transactions }),
  ];
  const produce = async (topic: string, partition: number, records: Buffer) => {
    const session = new FakeSession();
    const pending = start(apis, PRODUCE, 9, produceBody(topic, partition, records, { acks: 1 }), session);
    if (durability === 'manual') return; // answered later
    await pending.answer;
  };
  const fetchAll = async (body: KafkaStruct, version = 12, session = new FakeSession()) => {
    const answer = await call<FetchResponse>(apis, FETCH, version, body, session);
    assert.notEqual(answer, NO_RESPONSE);
    return answer as FetchResponse;
  };
  const fetchOne = async (body: KafkaStruct, version = 12) =>
    (await fetchAll(body, version)).responses[0]!.partitions[0]!;
  return { clock, topics, apis, produce, fetchAll, fetchOne };
}

/** Offsets and values of the records in a fetched partition. */
function recordsOf(p: FetchResponsePartitionData): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  const records = p.records ?? Buffer.alloc(0);
  let pos = 0;
  while (pos < records.length) {
    const size = 12 + records.readInt32BE(pos + 8);
    for (const r of decodeRecords(records.subarray(pos, pos + size)))
      out.push([r.offset, r.value!.toString()]);
    pos += size;
  }
  return out;
}

describe('Fetch', () => {
  it('returns the produced batches, as stored, with the partition offsets (v4 and v12)', async () => {
    const { topics, produce, fetchOne } = setup();
    topics.create('t');
    await produce('t', 0, batchOf(2, 'a'));
    await produce('t', 0, batchOf(3, 'b'));
    for (const version of [4, 11, 12]) {
      const p = await fetchOne(fetchBody('t', 0, 0), version);
      assert.equal(p.errorCode, KafkaError.NONE);
      assert.equal(p.highWatermark, 5n);
      assert.equal(p.lastStableOffset, 5n);
      assert.deepEqual(recordsOf(p), [
        [0, 'a-0'],
        [1, 'a-1'],
        [2, 'b-0'],
        [3, 'b-1'],
        [4, 'b-2'],
      ]);
      const stored = topics
        .partition('t')
        .stream.readFrom(0, 10)
        .map((e) => e.payload);
      assert.deepEqual(p.records, Buffer.concat(stored));
    }
    assert.equal((await fetchOne(fetchBody('t', 0, 0), 5)).logStartOffset, 0n);
    assert.equal((await fetchOne(fetchBody('t', 0, 0), 11)).preferredReadReplica, -1);
  });

  it('starts at the batch holding the fetch offset (clients skip the earlier records)', async () => {
    const { topics, produce, fetchOne } = setup();
    topics.create('t');
    await produce('t', 0, batchOf(2, 'a'));
    await produce('t', 0, batchOf(3, 'b'));
    const p = await fetchOne(fetchBody('t', 0, 3));
    assert.deepEqual(
      recordsOf(p).map(([o]) => o),
      [2, 3, 4],
    );
    const atEnd = await fetchOne(fetchBody('t', 0, 5));
    assert.equal(atEnd.errorCode, KafkaError.NONE);
    assert.equal(atEnd.records?.length, 0);
  });

  it('never returns records at or above the high watermark; above the log end is OFFSET_OUT_OF_RANGE', async () => {
    const { topics, produce, fetchOne } = setup('manual');
    topics.create('t');
    const partition = topics.partition('t');
    await produce('t', 0, batchOf(2, 'a'));
    partition.makeDurable();
    await produce('t', 0, batchOf(2, 'b')); // appended, not durable
    await flushMicrotasks();
    const p = await fetchOne(fetchBody('t', 0, 0));
    assert.equal(p.highWatermark, 2n);
    assert.deepEqual(
      recordsOf(p).map(([o]) => o),
      [0, 1],
    );
    // Between the high watermark and the log end: nothing yet, no error (as Kafka).
    const between = await fetchOne(fetchBody('t', 0, 3));
    assert.equal(between.errorCode, KafkaError.NONE);
    assert.equal(between.records?.length, 0);
    const beyond = await fetchOne(fetchBody('t', 0, 5));
    assert.equal(beyond.errorCode, KafkaError.OFFSET_OUT_OF_RANGE);
    assert.equal(beyond.highWatermark, -1n);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for unknown topics and partitions, without waiting', async () => {
    const { topics, fetchOne } = setup();
    topics.create('t');
    assert.equal(
      (await fetchOne(fetchBody('nope', 0, 0, { maxWaitMs: 500 }))).errorCode,
      KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
    );
    assert.equal(
      (await fetchOne(fetchBody('t', 1, 0, { maxWaitMs: 500 }))).errorCode,
      KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
    );
  });

  describe('byte limits', () => {
    it('sends the first batch whole even beyond partitionMaxBytes and maxBytes, then stops', async () => {
      const { topics, produce, fetchOne } = setup();
      topics.create('t');
      const big = batchOf(50, 'big');
      await produce('t', 0, big);
      await produce('t', 0, batchOf(1, 'small'));
      const p = await fetchOne(fetchBody('t', 0, 0, { partitionMaxBytes: 100, maxBytes: 100 }));
      assert.equal(p.records?.length, big.length);
      assert.equal(recordsOf(p).length, 50);
    });

    it('fits whole batches within partitionMaxBytes, never a partial batch', async () => {
      const { topics, produce, fetchOne } = setup();
      topics.create('t');
      const one = batchOf(1, 'x');
      for (let i = 0; i < 5; i++) await produce('t', 0, batchOf(1, 'x'));
      const p = await fetchOne(fetchBody('t', 0, 0, { partitionMaxBytes: one.length * 3 + 10 }));
      assert.equal(p.records?.length, one.length * 3);
    });

    it('shares the response maxBytes across partitions: only the first partition with data may exceed', async () => {
      const { topics, produce, fetchAll } = setup();
      topics.create('t', 3);
      const big = batchOf(40, 'p');
      for (const index of [0, 1, 2]) await produce('t', index, big);
      const body = fetchBody('t', 0, 0, { maxBytes: 10 }) as { topics: Array<{ partitions: object[] }> };
      const first = body.topics[0]!.partitions[0]!;
      body.topics[0]!.partitions = [0, 1, 2].map((partition) => ({ ...first, partition }));
      const answer = await fetchAll(body as unknown as KafkaStruct);
      assert.deepEqual(
        answer.responses[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode, p.records?.length]),
        [
          [0, 0, big.length],
          [1, 0, 0],
          [2, 0, 0],
        ],
      );
    });
  });

  describe('long poll', () => {
    it('waits for data and answers as soon as an append becomes durable', async () => {
      const { topics, apis, produce, clock } = setup('manual');
      topics.create('t');
      const pending = start(apis, FETCH, 12, fetchBody('t', 0, 0, { maxWaitMs: 5000 }));
      await flushMicrotasks();
      assert.equal(pending.settled(), false);
      await produce('t', 0, batchOf(2, 'late'));
      await flushMicrotasks();
      assert.equal(pending.settled(), false, 'not durable yet, so not visible');
      topics.partition('t').makeDurable();
      const answer = (await settle<FetchResponse>(pending, FETCH, 12)) as FetchResponse;
      assert.deepEqual(recordsOf(answer.responses[0]!.partitions[0]!), [
        [0, 'late-0'],
        [1, 'late-1'],
      ]);
      // The fetch and the producer's wait both ended with that durable round.
      assert.equal(topics.partition('t').watcherCount, 0);
      assert.equal(clock.pendingTimers, 0);
    });

    it('keeps waiting until minBytes are available', async () => {
      const { topics, apis, produce } = setup();
      topics.create('t');
      const one = batchOf(1, 'm');
      const pending = start(
        apis,
        FETCH,
        12,
        fetchBody('t', 0, 0, { maxWaitMs: 5000, minBytes: one.length * 2 }),
      );
      await produce('t', 0, batchOf(1, 'm'));
      await flushMicrotasks();
      assert.equal(pending.settled(), false);
      await produce('t', 0, batchOf(1, 'm'));
      const answer = (await settle<FetchResponse>(pending, FETCH, 12)) as FetchResponse;
      assert.equal(recordsOf(answer.responses[0]!.partitions[0]!).length, 2);
    });

    it('answers with what there is after maxWaitMs', async () => {
      const { topics, apis, produce, clock } = setup();
      topics.create('t');
      await produce('t', 0, batchOf(1, 'few'));
      const pending = start(apis, FETCH, 12, fetchBody('t', 0, 0, { maxWaitMs: 300, minBytes: 1 << 20 }));
      clock.advance(299);
      await flushMicrotasks();
      assert.equal(pending.settled(), false);
      clock.advance(1);
      const answer = (await settle<FetchResponse>(pending, FETCH, 12)) as FetchResponse;
      const p = answer.responses[0]!.partitions[0]!;
      assert.equal(p.errorCode, KafkaError.NONE);
      assert.deepEqual(recordsOf(p), [[0, 'few-0']]);
      assert.equal(topics.partition('t').watcherCount, 0);
    });

    it('stops waiting when the connection closes, leaving no timer or watcher', async () => {
      const { topics, apis, clock } = setup();
      topics.create('t');
      const session = new FakeSession();
      for (let i = 0; i < 3; i++) {
        const pending = start(apis, FETCH, 12, fetchBody('t', 0, 0, { maxWaitMs: 5000 }), session);
        if (i === 2) session.close('bye');
        else {
          clock.advance(5000);
          await pending.answer;
          continue;
        }
        assert.equal(await pending.answer, NO_RESPONSE);
      }
      assert.equal(session.closeListenerCount, 1, 'one close listener per connection, not per poll');
      assert.equal(topics.partition('t').watcherCount, 0);
      assert.equal(clock.pendingTimers, 0);
    });
  });

  it('creates a session for a full fetch with epoch 0 (none for -1); an unknown session is FETCH_SESSION_ID_NOT_FOUND', async () => {
    const { topics, produce, fetchAll } = setup();
    topics.create('t');
    await produce('t', 0, batchOf(1));
    const sessionless = await fetchAll(fetchBody('t', 0, 0, { sessionId: 0, sessionEpoch: -1 }));
    assert.equal(sessionless.sessionId, 0);
    const initial = await fetchAll(fetchBody('t', 0, 0, { sessionId: 0, sessionEpoch: 0 }));
    assert.notEqual(initial.sessionId, 0);
    assert.equal(initial.errorCode, KafkaError.NONE);
    assert.equal(recordsOf(initial.responses[0]!.partitions[0]!).length, 1);
    const incremental = await fetchAll(
      fetchBody('t', 0, 0, { sessionId: initial.sessionId + 1, sessionEpoch: 1 }),
    );
    assert.equal(incremental.errorCode, KafkaError.FETCH_SESSION_ID_NOT_FOUND);
    assert.deepEqual(incremental.responses, []);
  });
});
