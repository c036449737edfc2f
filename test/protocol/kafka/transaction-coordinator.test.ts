// The transaction coordinator's rules for misuse, fencing and timeouts, on the injected clock: each
// refused request gets Kafka's error and leaves the transaction as it was.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TransactionCoordinator } from '../../../src/core/kafka/transaction-coordinator.js';
import { MemoryTransactionLog } from '../../../src/core/kafka/transaction-log.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { encodeRecordBatch } from '../../../src/protocol/kafka/record-batch-encoder.js';
import { writeMarker } from '../../../src/protocol/kafka/transaction-markers.js';
import { FakeTopics } from './data-path-helpers.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function setup(maxTimeoutMs = 900_000) {
  const clock = new ManualClock();
  const topics = new FakeTopics(clock);
  topics.create('t', 2);
  let nextId = 100;
  const committed: { groupId: string; offset: number }[] = [];
  const log = new MemoryTransactionLog();
  const coordinator = new TransactionCoordinator({
    clock,
    log,
    topics,
    durability: { afterDurable: (callback) => queueMicrotask(callback) },
    nextProducerId: () => nextId++,
    writeMarker,
    commitOffsets: (groupId, entries) => {
      for (const e of entries) committed.push({ groupId, offset: e.offset });
    },
    maxTimeoutMs,
  });
  /** Appends a transactional batch as Produce does after its check. */
  const produce = (partition: number, producerId: number, producerEpoch: number) => {
    const p = topics.partition('t', partition);
    const refusal = coordinator.checkTransactionalAppend(p, producerId, producerEpoch);
    if (refusal) return refusal.error;
    const offset = p.stream.nextOffset;
    const batch = encodeRecordBatch({
      records: [{ value: 'v' }],
      baseOffset: offset,
      producerId,
      producerEpoch,
      baseSequence: 0,
      transactional: true,
    });
    p.append(batch, 1, clock.now());
    coordinator.transactionalAppended(p, producerId, offset);
    return 'NONE';
  };
  return { clock, topics, coordinator, produce, committed, log };
}

const NO_ID = { producerId: -1, producerEpoch: -1 };

describe('transaction coordinator', () => {
  it('refuses timeouts beyond transaction.max.timeout.ms', async () => {
    const { coordinator } = setup(60_000);
    const r = await coordinator.initProducer('tx', 60_001, NO_ID);
    assert.equal(r.error, 'INVALID_TRANSACTION_TIMEOUT');
    assert.equal(coordinator.describe('tx'), undefined, 'nothing stored');
  });

  it('answers misuse with Kafka errors and changes nothing', async () => {
    const { coordinator, produce } = setup();
    const before = await coordinator.addPartitions('tx', 1, 0, [{ topic: 't', partition: 0 }]);
    assert.equal(before.error, 'INVALID_PRODUCER_ID_MAPPING', 'AddPartitions before InitProducerId');
    const { producerId, producerEpoch } = await coordinator.initProducer('tx', 60_000, NO_ID);
    const end = await coordinator.endTransaction('tx', producerId, producerEpoch, true);
    assert.equal(end.error, 'INVALID_TXN_STATE', 'EndTxn without a transaction');
    assert.equal(produce(0, producerId, producerEpoch), 'INVALID_TXN_STATE', 'Produce before AddPartitions');
    const unknown = await coordinator.addPartitions('tx', producerId, producerEpoch, [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 9 },
    ]);
    assert.deepEqual(unknown.partitionErrors, ['OPERATION_NOT_ATTEMPTED', 'UNKNOWN_TOPIC_OR_PARTITION']);
    assert.equal(coordinator.describe('tx')!.state, 'Empty', 'no partial add');
    const offsets = await coordinator.stageOffsets('tx', producerId, producerEpoch, 'g', []);
    assert.equal(offsets.error, 'INVALID_TXN_STATE', 'TxnOffsetCommit without AddOffsetsToTxn');
    assert.equal(coordinator.describe('tx')!.state, 'Empty');
  });

  it('fences an older instance: a new InitProducerId aborts its open transaction and bumps the epoch', async () => {
    const { coordinator, produce, topics } = setup();
    const first = await coordinator.initProducer('tx', 60_000, NO_ID);
    await coordinator.addPartitions('tx', first.producerId, first.producerEpoch, [
      { topic: 't', partition: 0 },
    ]);
    assert.equal(produce(0, first.producerId, first.producerEpoch), 'NONE');
    await tick();
    const p0 = topics.partition('t', 0);
    assert.equal(coordinator.lastStableOffset(p0), 0, 'the open transaction holds the LSO');
    const racing = await coordinator.initProducer('tx', 60_000, NO_ID);
    assert.equal(racing.error, 'CONCURRENT_TRANSACTIONS', 'while the old transaction is aborted');
    await tick();
    await tick();
    const second = await coordinator.initProducer('tx', 60_000, NO_ID);
    assert.equal(second.error, 'NONE');
    assert.equal(second.producerId, first.producerId);
    assert.equal(
      second.producerEpoch,
      first.producerEpoch + 2,
      'one bump to abort, one for the new instance',
    );
    assert.equal(coordinator.lastStableOffset(p0), p0.highWatermark, 'the abort released the LSO');
    assert.deepEqual(
      coordinator.abortedBetween(p0, 0, p0.highWatermark).map((a) => a.firstOffset),
      [0],
      'the aborted range is listed for readers',
    );
    const zombie = await coordinator.endTransaction('tx', first.producerId, first.producerEpoch, true);
    assert.equal(zombie.error, 'PRODUCER_FENCED');
    assert.equal(produce(0, first.producerId, first.producerEpoch), 'INVALID_PRODUCER_EPOCH');
    const kip360 = await coordinator.initProducer('tx', 60_000, first);
    assert.equal(kip360.error, 'PRODUCER_FENCED', 'an old instance cannot bump its way back');
  });

  it('aborts a transaction open longer than its timeout, fencing its producer', async () => {
    const { coordinator, produce, clock, topics } = setup();
    const { producerId, producerEpoch } = await coordinator.initProducer('tx', 5_000, NO_ID);
    await coordinator.addPartitions('tx', producerId, producerEpoch, [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]);
    produce(0, producerId, producerEpoch);
    produce(1, producerId, producerEpoch);
    await tick();
    clock.advance(4_999);
    await tick();
    assert.equal(coordinator.describe('tx')!.state, 'Ongoing');
    clock.advance(1);
    await tick();
    await tick();
    await tick();
    const txn = coordinator.describe('tx')!;
    assert.equal(txn.state, 'CompleteAbort');
    assert.equal(txn.producerEpoch, producerEpoch + 1);
    for (const index of [0, 1]) {
      const p = topics.partition('t', index);
      assert.equal(p.stream.nextOffset, 2, `partition ${index}: the record and the abort marker`);
      assert.equal(coordinator.lastStableOffset(p), 2);
    }
    const late = await coordinator.endTransaction('tx', producerId, producerEpoch, true);
    assert.equal(late.error, 'PRODUCER_FENCED');
  });

  it('makes staged offsets visible only when the transaction commits', async () => {
    const { coordinator, committed } = setup();
    const { producerId, producerEpoch } = await coordinator.initProducer('tx', 60_000, NO_ID);
    await coordinator.addOffsets('tx', producerId, producerEpoch, 'g');
    const entry = {
      topic: 't',
      partition: 0,
      offset: 7,
      leaderEpoch: -1,
      metadata: '',
      commitTimestampMs: -1,
    };
    assert.equal(
      (await coordinator.stageOffsets('tx', producerId, producerEpoch, 'g', [entry])).error,
      'NONE',
    );
    assert.equal(coordinator.hasPendingOffset('g', 't', 0), true);
    assert.deepEqual(committed, []);
    assert.equal((await coordinator.endTransaction('tx', producerId, producerEpoch, true)).error, 'NONE');
    assert.deepEqual(committed, [{ groupId: 'g', offset: 7 }]);
    assert.equal(coordinator.hasPendingOffset('g', 't', 0), false);
    const retry = await coordinator.endTransaction('tx', producerId, producerEpoch, true);
    assert.equal(retry.error, 'NONE', 'a retried commit is answered as it was');
    const flip = await coordinator.endTransaction('tx', producerId, producerEpoch, false);
    assert.equal(flip.error, 'INVALID_TXN_STATE');
  });
});
