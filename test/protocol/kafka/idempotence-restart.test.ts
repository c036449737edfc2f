// InitProducerId v0-4 and idempotent producers across a restart: producer ids never reused, and
// sequence state rebuilt from the partition's log on disk (DiskStreamStore + GroupCommitter).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { initProducerIdApis } from '../../../src/protocol/kafka/apis/init-producer-id.js';
import { produceApis } from '../../../src/protocol/kafka/apis/produce.js';
import type { InitProducerIdResponse, ProduceResponse } from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import {
  KafkaProducers,
  MemoryProducerIdBlockStore,
  producerIdBlockStoreIn,
} from '../../../src/protocol/kafka/producers.js';
import { DiskDefinitionsStore } from '../../../src/storage/disk-definitions-store.js';
import { GroupCommitter } from '../../../src/storage/group-commit.js';
import { DiskStreamStore } from '../../../src/storage/stream/disk-stream-store.js';
import { tempDir } from '../../storage/helpers.js';
import { batchOf, call, FakeTopics, produceBody, testTransactions } from './data-path-helpers.js';

const TRANSACTIONS = testTransactions(new FakeTopics(new ManualClock()), new ManualClock());

const PRODUCE = 0;
const INIT_PRODUCER_ID = 22;

const cleanups: Array<() => void> = [];
after(() => {
  for (const cleanup of cleanups) cleanup();
});
function dataDir(): string {
  const { dir, cleanup } = tempDir('pier-kdata-');
  cleanups.push(cleanup);
  return dir;
}

describe('InitProducerId', () => {
  const init = async (producers: KafkaProducers, body: object = {}, version = 4) =>
    (await call<InitProducerIdResponse>(
      initProducerIdApis({ producers, transactions: TRANSACTIONS }),
      INIT_PRODUCER_ID,
      version,
      {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        ...body,
      },
    )) as InitProducerIdResponse;

  it('hands out new ids with epoch 0, never reused after a restart', async () => {
    const dir = dataDir();
    const clock = new ManualClock();
    const seen = new Set<bigint>();
    for (let start = 0; start < 3; start++) {
      const definitions = DiskDefinitionsStore.open(dir);
      const producers = new KafkaProducers({
        clock,
        idStore: producerIdBlockStoreIn(definitions),
        idBlockSize: 4,
      });
      for (let i = 0; i < 6; i++) {
        const answer = await init(producers, {}, i % 5);
        assert.equal(answer.errorCode, KafkaError.NONE);
        assert.equal(answer.producerEpoch, 0);
        assert.ok(!seen.has(answer.producerId), `id ${answer.producerId} reused`);
        seen.add(answer.producerId);
      }
      definitions.close();
    }
    assert.equal(seen.size, 18);
  });

  it('gives a new id, epoch 0, to a v3+ request naming its current id (no transactionalId)', async () => {
    const producers = new KafkaProducers({
      clock: new ManualClock(),
      idStore: new MemoryProducerIdBlockStore(),
    });
    const first = await init(producers);
    const again = await init(producers, { producerId: first.producerId, producerEpoch: 0 }, 3);
    assert.notEqual(again.producerId, first.producerId);
    assert.equal(again.producerEpoch, 0);
  });

  it('hands transactional ids to the transaction coordinator; refuses an empty one', async () => {
    const producers = new KafkaProducers({
      clock: new ManualClock(),
      idStore: new MemoryProducerIdBlockStore(),
    });
    const tx = await init(producers, { transactionalId: 'orders-tx' });
    assert.equal(tx.errorCode, KafkaError.NONE);
    assert.equal(tx.producerEpoch, 0);
    const again = await init(producers, { transactionalId: 'orders-tx' });
    assert.deepEqual([again.producerId, again.producerEpoch], [tx.producerId, 1], 'the epoch is bumped');
    assert.equal((await init(producers, { transactionalId: '' })).errorCode, KafkaError.INVALID_REQUEST);
  });
});

describe('idempotent producers across a restart', () => {
  /** A broker's data path over StreamLogs in `dir`; close() flushes and closes it like a shutdown. */
  function open(dir: string, scanBudgetBytes?: number) {
    const clock = new ManualClock();
    const committer = new GroupCommitter({ fsync: 'always' });
    const topics = new FakeTopics(clock, {
      openStore: (topic, partition) =>
        DiskStreamStore.open(join(dir, `${topic}-${partition}`), committer, { segmentSizeBytes: 64 * 1024 }),
      afterDurable: (callback) => committer.afterDurable(callback),
    });
    topics.create('t');
    const producers = new KafkaProducers({
      clock,
      idStore: new MemoryProducerIdBlockStore(),
      scanBudgetBytes,
    });
    const apis = produceApis({ topics, producers, clock, transactions: testTransactions(topics, clock) });
    const produce = async (records: Buffer) => {
      const answer = (await call<ProduceResponse>(
        apis,
        PRODUCE,
        9,
        produceBody('t', 0, records),
      )) as ProduceResponse;
      return answer.responses[0]!.partitionResponses[0]!;
    };
    const close = async () => {
      topics.close();
      await committer.close();
    };
    return { topics, produce, close };
  }
  const idempotent = (producerId: number, epoch: number, seq: number, count = 2) =>
    batchOf(count, `p${producerId}-${seq}`, { producerId, producerEpoch: epoch, baseSequence: seq });

  it('still detects duplicates, sequence gaps and old epochs after a restart', async () => {
    const dir = dataDir();
    const before = open(dir);
    for (let seq = 0; seq < 14; seq += 2) await before.produce(idempotent(1, 0, seq)); // offsets 0-13
    await before.produce(idempotent(2, 3, 0, 5)); // offsets 14-18
    await before.produce(batchOf(3)); // a plain producer: 19-21
    await before.close();

    const after = open(dir);
    assert.equal(after.topics.partition('t').stream.nextOffset, 22);
    const retry = await after.produce(idempotent(1, 0, 12));
    assert.deepEqual([retry.errorCode, retry.baseOffset], [KafkaError.NONE, 12n]);
    const olderRetry = await after.produce(idempotent(1, 0, 4));
    assert.deepEqual([olderRetry.errorCode, olderRetry.baseOffset], [KafkaError.NONE, 4n]);
    const gap = await after.produce(idempotent(1, 0, 20));
    assert.equal(gap.errorCode, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const fenced = await after.produce(idempotent(2, 2, 5));
    assert.equal(fenced.errorCode, KafkaError.INVALID_PRODUCER_EPOCH);
    assert.equal(after.topics.partition('t').stream.nextOffset, 22, 'nothing appended');
    const next = await after.produce(idempotent(1, 0, 14));
    assert.deepEqual([next.errorCode, next.baseOffset], [KafkaError.NONE, 22n]);
    await after.close();
  });

  it('reads only the newest part of the log: a producer older than the scan bound is forgotten', async () => {
    const dir = dataDir();
    const before = open(dir);
    await before.produce(idempotent(1, 0, 0, 1)); // offset 0
    for (let i = 0; i < 5; i++) await before.produce(batchOf(1000, 'filler')); // offsets 1-5000
    await before.close();

    // The first window (4,096 offsets back from 5,001) misses offset 0, and the budget stops there.
    const bounded = open(dir, 1);
    const unknown = await bounded.produce(idempotent(1, 0, 7, 1));
    assert.equal(unknown.errorCode, KafkaError.NONE, 'an unknown producer is accepted at any sequence');
    await bounded.close();

    const dir2 = dataDir();
    const again = open(dir2);
    await again.produce(idempotent(1, 0, 0, 1));
    for (let i = 0; i < 5; i++) await again.produce(batchOf(1000, 'filler'));
    await again.close();
    const full = open(dir2);
    const gap = await full.produce(idempotent(1, 0, 7, 1));
    assert.equal(gap.errorCode, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, 'found in the second, wider window');
    await full.close();
  });
});
