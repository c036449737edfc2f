// Produce v3-9 through the codec: offsets, acknowledgement only after the disk, acks 0/1/-1, timeouts,
// Kafka's error codes per partition, LogAppendTime topics, idempotent producers and transactions refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { produceApis } from '../../../src/protocol/kafka/apis/produce.js';
import type { KafkaStruct, ProduceResponse } from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { NO_RESPONSE } from '../../../src/protocol/kafka/kafka-api.js';
import { KafkaProducers, MemoryProducerIdBlockStore } from '../../../src/protocol/kafka/producers.js';
import {
  ATTR_LOG_APPEND_TIME,
  BatchOffset,
  validateRecordBatches,
} from '../../../src/protocol/kafka/record-batch.js';
import {
  batchOf,
  call,
  type Durability,
  FakeSession,
  FakeTopics,
  flushMicrotasks,
  produceBody,
  settle,
  start,
  testTransactions,
} from './data-path-helpers.js';

const PRODUCE = 0;

function setup(options: { durability?: Durability; autoCreate?: boolean } = {}) {
  const clock = new ManualClock();
  const topics = new FakeTopics(clock, options);
  const producers = new KafkaProducers({ clock, idStore: new MemoryProducerIdBlockStore() });
  const apis = produceApis({ topics, producers, clock, transactions: testTransactions(topics, clock) });
  const produce = async (body: KafkaStruct, version = 9, session = new FakeSession()) => {
    const answer = await call<ProduceResponse>(apis, PRODUCE, version, body, session);
    assert.notEqual(answer, NO_RESPONSE);
    return (answer as ProduceResponse).responses[0]!.partitionResponses[0]!;
  };
  return { clock, topics, producers, apis, produce };
}

describe('Produce', () => {
  it('assigns consecutive base offsets and stores the batch as sent with its offset written in', async () => {
    const { topics, produce } = setup();
    topics.create('t');
    for (const version of [3, 7, 9]) {
      const batch = batchOf(3, `v${version}`);
      const answer = await produce(produceBody('t', 0, batch), version);
      assert.equal(answer.errorCode, KafkaError.NONE);
      assert.equal(answer.logAppendTimeMs, -1n);
    }
    const stored = topics.partition('t').stream.readFrom(0, 10);
    assert.deepEqual(
      stored.map((e) => [e.offset, e.offsetCount, Number(e.payload.readBigInt64BE(0))]),
      [
        [0, 3, 0],
        [3, 3, 3],
        [6, 3, 6],
      ],
    );
    // Apart from the base offset, the bytes are the client's (and still valid).
    const sent = batchOf(3, 'v7');
    assert.deepEqual(stored[1]!.payload.subarray(8), sent.subarray(8));
    assert.ok(validateRecordBatches(stored[1]!.payload, { maxMessageBytes: 1 << 20 }).ok);
  });

  it('answers baseOffset and logStartOffset (v5+) and errorMessage (v8+)', async () => {
    const { topics, produce } = setup();
    topics.create('t');
    await produce(produceBody('t', 0, batchOf(2)));
    const second = await produce(produceBody('t', 0, batchOf(1)), 9);
    assert.equal(second.baseOffset, 2n);
    assert.equal(second.logStartOffset, 0n);
    const bad = await produce(produceBody('t', 0, Buffer.from([1, 2, 3])), 9);
    assert.equal(bad.errorCode, KafkaError.INVALID_REQUEST);
    assert.match(bad.errorMessage ?? '', /trailing bytes/);
    assert.equal(bad.baseOffset, -1n);
  });

  it('answers acks=-1 and acks=1 only once the batch is durable', async () => {
    const { topics, apis } = setup({ durability: 'manual' });
    topics.create('t');
    const partition = topics.partition('t');
    for (const acks of [-1, 1]) {
      const pending = start(apis, PRODUCE, 9, produceBody('t', 0, batchOf(2), { acks }));
      await flushMicrotasks();
      assert.equal(pending.settled(), false, `acks=${acks} answered before the disk`);
      assert.equal(partition.stream.nextOffset, partition.highWatermark + 2, 'appended at once');
      partition.makeDurable();
      const answer = (await settle<ProduceResponse>(pending, PRODUCE, 9)) as ProduceResponse;
      assert.equal(answer.responses[0]!.partitionResponses[0]!.errorCode, KafkaError.NONE);
      assert.equal(partition.watcherCount, 0);
    }
  });

  it('waits for every partition of the request, each to its own batch', async () => {
    const { topics, apis } = setup({ durability: 'manual' });
    topics.create('a', 2);
    const body = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [
        {
          name: 'a',
          partitionData: [
            { index: 0, records: batchOf(1) },
            { index: 1, records: batchOf(4) },
          ],
        },
      ],
    };
    const pending = start(apis, PRODUCE, 9, body);
    topics.partition('a', 0).makeDurable();
    await flushMicrotasks();
    assert.equal(pending.settled(), false);
    topics.partition('a', 1).makeDurable(2); // not yet past the batch's last offset 3
    await flushMicrotasks();
    assert.equal(pending.settled(), false);
    topics.partition('a', 1).makeDurable();
    const answer = (await settle<ProduceResponse>(pending, PRODUCE, 9)) as ProduceResponse;
    assert.deepEqual(
      answer.responses[0]!.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]),
      [
        [0, 0, 0n],
        [1, 0, 0n],
      ],
    );
  });

  it('answers REQUEST_TIMED_OUT when the disk does not confirm within timeoutMs; the batch stays', async () => {
    const { topics, apis, clock } = setup({ durability: 'manual' });
    topics.create('t');
    const pending = start(apis, PRODUCE, 9, produceBody('t', 0, batchOf(1), { timeoutMs: 500 }));
    clock.advance(499);
    await flushMicrotasks();
    assert.equal(pending.settled(), false);
    clock.advance(1);
    const answer = (await settle<ProduceResponse>(pending, PRODUCE, 9)) as ProduceResponse;
    const p = answer.responses[0]!.partitionResponses[0]!;
    assert.equal(p.errorCode, KafkaError.REQUEST_TIMED_OUT);
    assert.match(p.errorMessage ?? '', /not made durable within timeoutMs 500/);
    assert.equal(topics.partition('t').stream.nextOffset, 1);
    assert.equal(topics.partition('t').watcherCount, 0);
  });

  it('drops the wait when the connection closes', async () => {
    const { topics, apis, clock } = setup({ durability: 'manual' });
    topics.create('t');
    const session = new FakeSession();
    const pending = start(apis, PRODUCE, 9, produceBody('t', 0, batchOf(1)), session);
    session.close('client went away');
    assert.equal(await pending.answer, NO_RESPONSE);
    assert.equal(topics.partition('t').watcherCount, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  it('does not answer acks=0, and closes the connection when a partition failed', async () => {
    const { topics, apis } = setup({ durability: 'manual' });
    topics.create('t');
    const ok = new FakeSession();
    assert.equal(await call(apis, PRODUCE, 9, produceBody('t', 0, batchOf(1), { acks: 0 }), ok), NO_RESPONSE);
    assert.equal(ok.closed, false);
    assert.equal(topics.partition('t').stream.nextOffset, 1);
    const failing = new FakeSession();
    const unknownPartition = produceBody('t', 5, batchOf(1), { acks: 0 });
    assert.equal(await call(apis, PRODUCE, 9, unknownPartition, failing), NO_RESPONSE);
    assert.equal(failing.closed, true);
    assert.match(
      failing.closeReason ?? '',
      /t-5: topic 't' has 1 partition\(s\); partition 5 does not exist/,
    );
  });

  it('refuses acks other than 0, 1 and -1 with INVALID_REQUIRED_ACKS and appends nothing', async () => {
    const { topics, produce } = setup();
    topics.create('t');
    const answer = await produce(produceBody('t', 0, batchOf(1), { acks: 2 }));
    assert.equal(answer.errorCode, KafkaError.INVALID_REQUIRED_ACKS);
    assert.equal(topics.partition('t').stream.nextOffset, 0);
  });

  it('auto-creates an unknown topic when allowed, else UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const on = setup({ autoCreate: true });
    assert.equal((await on.produce(produceBody('fresh', 0, batchOf(1)))).errorCode, KafkaError.NONE);
    assert.equal(on.topics.partition('fresh').stream.nextOffset, 1);
    const off = setup({ autoCreate: false });
    const answer = await off.produce(produceBody('fresh', 0, batchOf(1)));
    assert.equal(answer.errorCode, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(off.topics.get('fresh'), undefined);
  });

  it("refuses bad batches with Kafka's codes and appends nothing", async () => {
    const { topics, produce } = setup();
    topics.create('t', 1, { maxMessageBytes: 200 });
    const corrupt = batchOf(2);
    corrupt[corrupt.length - 1]! ^= 0xff;
    assert.equal((await produce(produceBody('t', 0, corrupt))).errorCode, KafkaError.CORRUPT_MESSAGE);
    const large = batchOf(20);
    assert.ok(large.length > 200);
    const tooLarge = await produce(produceBody('t', 0, large));
    assert.equal(tooLarge.errorCode, KafkaError.MESSAGE_TOO_LARGE);
    assert.match(tooLarge.errorMessage ?? '', /max.message.bytes 200/);
    const two = Buffer.concat([batchOf(1), batchOf(1)]);
    assert.equal((await produce(produceBody('t', 0, two))).errorCode, KafkaError.INVALID_RECORD);
    assert.equal((await produce(produceBody('t', 0, null))).errorCode, KafkaError.INVALID_RECORD);
    const zstd = batchOf(1, 'z', { compression: 'zstd', encodedRecords: Buffer.from('opaque') });
    assert.equal(
      (await produce(produceBody('t', 0, zstd), 6)).errorCode,
      KafkaError.UNSUPPORTED_COMPRESSION_TYPE,
    );
    assert.equal(topics.partition('t').stream.nextOffset, 0);
    // zstd from v7 passes through as stored bytes (Pier never decompresses).
    assert.equal((await produce(produceBody('t', 0, zstd), 7)).errorCode, KafkaError.NONE);
  });

  it('refuses transactional batches outside an ongoing transaction (INVALID_PRODUCER_ID_MAPPING)', async () => {
    const { topics, produce } = setup();
    topics.create('t');
    const txBatch = batchOf(1, 'v', {
      transactional: true,
      producerId: 5,
      producerEpoch: 0,
      baseSequence: 0,
    });
    const answer = await produce(produceBody('t', 0, txBatch, { transactionalId: 'tx-1' }));
    assert.equal(answer.errorCode, KafkaError.INVALID_PRODUCER_ID_MAPPING);
    assert.match(answer.errorMessage ?? '', /InitProducerId/);
    assert.equal(topics.partition('t').stream.nextOffset, 0);
  });

  it('stamps the broker time on LogAppendTime topics, keeping the batch valid', async () => {
    const { topics, produce, clock } = setup();
    topics.create('t', 1, { messageTimestampType: 'LogAppendTime' });
    clock.advance(12_345);
    const answer = await produce(produceBody('t', 0, batchOf(2)));
    assert.equal(answer.logAppendTimeMs, BigInt(clock.now()));
    const [stored] = topics.partition('t').stream.readFrom(0, 1);
    const batch = stored!.payload;
    assert.ok(batch.readInt16BE(BatchOffset.attributes) & ATTR_LOG_APPEND_TIME);
    assert.equal(Number(batch.readBigInt64BE(BatchOffset.maxTimestamp)), clock.now());
    assert.equal(stored!.timestampMs, clock.now());
    assert.ok(validateRecordBatches(batch, { maxMessageBytes: 1 << 20 }).ok, 'CRC refreshed');
  });

  describe('idempotent producers', () => {
    const idempotent = (seq: number, count = 1, epoch = 0, producerId = 1000) =>
      batchOf(count, `s${seq}`, { producerId, producerEpoch: epoch, baseSequence: seq });

    it('answers a retried batch with its original offset and does not append it again', async () => {
      const { topics, produce } = setup();
      topics.create('t');
      await produce(produceBody('t', 0, batchOf(5))); // offsets 0-4 from a plain producer
      const first = await produce(produceBody('t', 0, idempotent(0, 3)));
      assert.equal(first.baseOffset, 5n);
      await produce(produceBody('t', 0, idempotent(3, 2)));
      const retry = await produce(produceBody('t', 0, idempotent(0, 3)));
      assert.equal(retry.errorCode, KafkaError.NONE);
      assert.equal(retry.baseOffset, 5n);
      assert.equal(topics.partition('t').stream.nextOffset, 10);
    });

    it('answers a retry of a batch not yet durable only once the original is', async () => {
      const { topics, apis } = setup({ durability: 'manual' });
      topics.create('t');
      const original = start(apis, PRODUCE, 9, produceBody('t', 0, idempotent(0, 2)));
      const retry = start(apis, PRODUCE, 9, produceBody('t', 0, idempotent(0, 2)));
      await flushMicrotasks();
      assert.equal(retry.settled(), false);
      topics.partition('t').makeDurable();
      const answers = await Promise.all([
        settle<ProduceResponse>(original, PRODUCE, 9),
        settle<ProduceResponse>(retry, PRODUCE, 9),
      ]);
      for (const answer of answers)
        assert.equal((answer as ProduceResponse).responses[0]!.partitionResponses[0]!.baseOffset, 0n);
      assert.equal(topics.partition('t').stream.nextOffset, 2);
    });

    it('refuses a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER (45)', async () => {
      const { topics, produce } = setup();
      topics.create('t');
      await produce(produceBody('t', 0, idempotent(0, 2)));
      const gap = await produce(produceBody('t', 0, idempotent(5)));
      assert.equal(gap.errorCode, 45);
      assert.match(gap.errorMessage ?? '', /sequence 5, expected 2/);
      assert.equal(topics.partition('t').stream.nextOffset, 2);
    });

    it('fences an older epoch (INVALID_PRODUCER_EPOCH) and wants a new epoch to start at 0', async () => {
      const { topics, produce } = setup();
      topics.create('t');
      await produce(produceBody('t', 0, idempotent(0, 1, 3)));
      assert.equal(
        (await produce(produceBody('t', 0, idempotent(1, 1, 2)))).errorCode,
        KafkaError.INVALID_PRODUCER_EPOCH,
      );
      assert.equal(
        (await produce(produceBody('t', 0, idempotent(1, 1, 4)))).errorCode,
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
      );
      assert.equal((await produce(produceBody('t', 0, idempotent(0, 1, 4)))).errorCode, KafkaError.NONE);
    });

    it('tracks sequences per partition', async () => {
      const { topics, produce } = setup();
      topics.create('t', 2);
      await produce(produceBody('t', 0, idempotent(0, 2)));
      assert.equal((await produce(produceBody('t', 1, idempotent(0, 1)))).baseOffset, 0n);
      assert.equal((await produce(produceBody('t', 1, idempotent(1, 1)))).baseOffset, 1n);
      assert.equal((await produce(produceBody('t', 0, idempotent(2, 1)))).baseOffset, 2n);
    });
  });
});
