/**
 * Kill -9 during Kafka transactions: two transactional producers (the project's own wire client, no
 * retries behind our back) run transactions over three partitions, each with data in every
 * partition and its group offset (TxnOffsetCommit), most committed, some aborted. The child broker is
 * SIGKILLed 20 times (PIER_CRASH_ROUNDS, PIER_CRASH_SEED): at a random moment, right after an EndTxn
 * commit is sent (before its answer), or right after one is answered. After each restart a
 * read_committed reader (filtering by the aborted-transactions list, as clients do) must see:
 * every acknowledged commit whole in all three partitions; no aborted transaction; every other
 * transaction either whole everywhere or nowhere; each group's offset equal to the one its
 * producer's last visible transaction carried; and the last stable offset back at the high watermark.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { API_KEYS } from '../../src/protocol/kafka/codec/index.js';
import { encodeRecordBatch } from '../../src/protocol/kafka/record-batch-encoder.js';
import { decodeRecords } from '../../src/protocol/kafka/record-decoder.js';
import { tempDir } from '../helpers/broker.js';
import { type ChildKafkaBroker, spawnKafkaBroker } from '../helpers/kafka.js';
import { KafkaWireClient, splitBatches } from '../helpers/kafka-wire.js';
import { prng } from '../helpers/prng.js';

const ROUNDS = Number(process.env.PIER_CRASH_ROUNDS ?? 20);
const TOPIC = 'txn-crash';
const PARTITIONS = 3;
const RECORDS_PER_PARTITION = 5;
const PRODUCERS = ['txn-a', 'txn-b'];
const CONCURRENT_TRANSACTIONS = 51;

type KillMode = 'random' | 'after-endtxn-sent' | 'after-endtxn-acked';
const MODES: readonly KillMode[] = ['random', 'after-endtxn-sent', 'after-endtxn-acked'];

interface TxnRecord {
  /** `${producer}/${round}/${k}` */
  readonly name: string;
  readonly producer: string;
  readonly commit: boolean;
  /** The offset its TxnOffsetCommit carried for the producer's group. */
  readonly groupOffset: number;
  acked: boolean;
}

/** Every transaction ever started, by name. */
type History = Map<string, TxnRecord>;

async function retrying<T extends { errorCode: number }>(send: () => Promise<T>): Promise<T> {
  for (;;) {
    const answer = await send();
    if (answer.errorCode !== CONCURRENT_TRANSACTIONS) return answer;
    // A client's backoff: the coordinator is completing the previous transaction.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function check(what: string, code: number | undefined): void {
  if (code !== 0) throw new Error(`${what}: error code ${code}`);
}

/** One transactional producer: transactions until the connection dies. */
async function runProducer(
  broker: ChildKafkaBroker,
  producer: string,
  round: number,
  history: History,
  random: () => number,
  onEndTxn: (event: 'sent' | 'acked') => void,
  groupOffsetBase: { next: number },
): Promise<void> {
  const client = await KafkaWireClient.connect(broker.host, broker.port, producer);
  try {
    const init = await retrying(() =>
      client.send(API_KEYS.InitProducerId, 1, { transactionalId: producer, transactionTimeoutMs: 60_000 }),
    );
    check('InitProducerId', init.errorCode);
    const producerId = Number(init.producerId);
    const producerEpoch = init.producerEpoch;
    const sequences = Array.from({ length: PARTITIONS }, () => 0);
    const ids = { v3AndBelowTransactionalId: producer, v3AndBelowProducerId: init.producerId };
    for (let k = 0; ; k++) {
      const name = `${producer}/${round}/${k}`;
      const commit = random() < 0.75;
      const groupOffset = groupOffsetBase.next++;
      const txn: TxnRecord = { name, producer, commit, groupOffset, acked: false };
      history.set(name, txn);
      const added = await retrying(async () => {
        const r = await client.send(API_KEYS.AddPartitionsToTxn, 1, {
          ...ids,
          v3AndBelowProducerEpoch: producerEpoch,
          v3AndBelowTopics: [{ name: TOPIC, partitions: [0, 1, 2] }],
        });
        return { errorCode: r.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode };
      });
      check('AddPartitionsToTxn', added.errorCode);
      const produced = await Promise.all(
        Array.from({ length: PARTITIONS }, (_, partition) => {
          const records = encodeRecordBatch({
            records: Array.from({ length: RECORDS_PER_PARTITION }, (_, i) => ({
              value: `${name}/${partition}/${i}`,
              timestampMs: Date.now(),
            })),
            producerId,
            producerEpoch,
            baseSequence: sequences[partition]!,
            transactional: true,
          });
          sequences[partition]! += RECORDS_PER_PARTITION;
          return client.send(API_KEYS.Produce, 7, {
            transactionalId: producer,
            acks: -1,
            timeoutMs: 30_000,
            topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }],
          });
        }),
      );
      for (const r of produced) check('Produce', r.responses[0]?.partitionResponses[0]?.errorCode);
      const group = `${producer}-group`;
      check(
        'AddOffsetsToTxn',
        (
          await retrying(() =>
            client.send(API_KEYS.AddOffsetsToTxn, 1, {
              transactionalId: producer,
              producerId: init.producerId,
              producerEpoch,
              groupId: group,
            }),
          )
        ).errorCode,
      );
      const offsets = await client.send(API_KEYS.TxnOffsetCommit, 2, {
        transactionalId: producer,
        groupId: group,
        producerId: init.producerId,
        producerEpoch,
        topics: [
          {
            name: TOPIC,
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: BigInt(groupOffset),
                committedLeaderEpoch: -1,
                committedMetadata: '',
              },
            ],
          },
        ],
      });
      check('TxnOffsetCommit', offsets.topics[0]?.partitions[0]?.errorCode);
      const ended = client.send(API_KEYS.EndTxn, 1, {
        transactionalId: producer,
        producerId: init.producerId,
        producerEpoch,
        committed: commit,
      });
      if (commit) onEndTxn('sent');
      const answer = await ended;
      check('EndTxn', answer.errorCode);
      txn.acked = true;
      if (commit) onEndTxn('acked');
    }
  } catch {
    // The broker died (or refused after a kill): the round is over for this producer.
  } finally {
    client.close();
  }
}

interface Visible {
  /** transaction name → records seen per partition. */
  readonly byTxn: Map<string, number[]>;
}

/** Reads a partition as a read_committed client does: up to the LSO, dropping aborted transactions. */
async function readCommitted(client: KafkaWireClient, partition: number, visible: Visible) {
  let offset = 0;
  const abortedQueue: { producerId: bigint; firstOffset: bigint }[] = [];
  const abortedPids = new Set<bigint>();
  let highWatermark = -1;
  let lastStableOffset = -1;
  for (;;) {
    const response = await client.send(API_KEYS.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 << 20,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: TOPIC,
          topicId: '00000000-0000-0000-0000-000000000000',
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: BigInt(offset),
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 8 << 20,
              replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const data = response.responses[0]!.partitions[0]!;
    check(`Fetch partition ${partition}`, data.errorCode);
    highWatermark = Number(data.highWatermark);
    lastStableOffset = Number(data.lastStableOffset);
    for (const a of data.abortedTransactions ?? []) {
      if (!abortedQueue.some((q) => q.producerId === a.producerId && q.firstOffset === a.firstOffset))
        abortedQueue.push(a);
    }
    abortedQueue.sort((x, y) => Number(x.firstOffset - y.firstOffset));
    const before = offset;
    for (const batch of splitBatches(data.records ?? Buffer.alloc(0))) {
      const base = Number(batch.readBigInt64BE(0));
      const last = base + batch.readInt32BE(23);
      if (last < offset) continue;
      const attributes = batch.readInt16BE(21);
      const producerId = batch.readBigInt64BE(43);
      while (abortedQueue.length > 0 && Number(abortedQueue[0]!.firstOffset) <= last) {
        abortedPids.add(abortedQueue.shift()!.producerId);
      }
      offset = last + 1;
      if (attributes & 0x20) {
        const [marker] = decodeRecords(batch);
        if (marker?.key?.readInt16BE(2) === 0) abortedPids.delete(producerId);
        continue;
      }
      if (attributes & 0x10 && abortedPids.has(producerId)) continue;
      for (const record of decodeRecords(batch)) {
        const value = record.value!.toString();
        const [producer, round, k, p] = value.split('/');
        const name = `${producer}/${round}/${k}`;
        assert.equal(Number(p), partition, `${value} found in partition ${partition}`);
        const counts = visible.byTxn.get(name) ?? Array.from({ length: PARTITIONS }, () => 0);
        counts[partition]! += 1;
        visible.byTxn.set(name, counts);
      }
    }
    if (offset >= lastStableOffset || offset === before) break;
  }
  return { highWatermark, lastStableOffset, end: offset };
}

async function verify(broker: ChildKafkaBroker, history: History): Promise<void> {
  const client = await KafkaWireClient.connect(broker.host, broker.port, 'verify');
  try {
    let visible: Visible = { byTxn: new Map() };
    // Recovery's markers become readable once durable, moments after the listener opens.
    const deadline = Date.now() + 10_000;
    for (;;) {
      visible = { byTxn: new Map() };
      const open: string[] = [];
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const { highWatermark, lastStableOffset } = await readCommitted(client, partition, visible);
        if (lastStableOffset !== highWatermark)
          open.push(`partition ${partition}: LSO ${lastStableOffset}, high watermark ${highWatermark}`);
      }
      if (open.length === 0) break;
      assert.ok(Date.now() < deadline, `transactions left open after the restart: ${open.join('; ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const [name, counts] of visible.byTxn) {
      const txn = history.get(name);
      assert.ok(txn, `${name}: a record of a transaction this test never ran`);
      assert.ok(txn.commit, `${name}: an aborted transaction is visible to read_committed (${counts})`);
      assert.deepEqual(
        counts,
        counts.map(() => RECORDS_PER_PARTITION),
        `${name}: half a transaction is visible (records per partition: ${counts})`,
      );
    }
    for (const txn of history.values()) {
      if (txn.commit && txn.acked)
        assert.ok(visible.byTxn.has(txn.name), `${txn.name}: an acknowledged commit is lost`);
    }
    for (const producer of PRODUCERS) {
      const fetched = await client.send(API_KEYS.OffsetFetch, 1, {
        groupId: `${producer}-group`,
        topics: [{ name: TOPIC, partitionIndexes: [0] }],
      });
      const offset = Number(fetched.topics[0]?.partitions[0]?.committedOffset ?? -1);
      const lastVisible = [...history.values()]
        .filter((t) => t.producer === producer && visible.byTxn.has(t.name))
        .reduce((max, t) => Math.max(max, t.groupOffset), -1);
      assert.equal(
        offset,
        lastVisible,
        `${producer}: the group offset is the one of the last visible (committed) transaction`,
      );
    }
  } finally {
    client.close();
  }
}

test(`Kafka transactions stay atomic through ${ROUNDS} SIGKILLs before, during and after EndTxn`, {
  timeout: 300_000,
}, async () => {
  const dataDir = tempDir('pier-kafka-txn-crash-');
  const random = prng(Number(process.env.PIER_CRASH_SEED ?? 7));
  const history: History = new Map();
  const groupOffsets = new Map(PRODUCERS.map((p) => [p, { next: 1 }]));
  let keepDataDir = false;
  let broker: ChildKafkaBroker | undefined;
  const killedAt: Record<KillMode, number> = { random: 0, 'after-endtxn-sent': 0, 'after-endtxn-acked': 0 };
  try {
    broker = await spawnKafkaBroker(dataDir);
    const setup = await KafkaWireClient.connect(broker.host, broker.port, 'setup');
    const created = await setup.request(API_KEYS.CreateTopics, 4, {
      topics: [
        { name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    setup.close();
    check('CreateTopics', created.topics[0]?.errorCode);
    for (let round = 0; round < ROUNDS; round++) {
      const mode = MODES[round % MODES.length]!;
      const current = broker;
      const kill = () => {
        if (current.process.exitCode === null && current.process.signalCode === null)
          current.process.kill('SIGKILL');
      };
      // Let a few transactions pass first, so each round has committed ones behind the kill.
      let commits = 0;
      const skip = 2 + Math.floor(random() * 6);
      const onEndTxn = (event: 'sent' | 'acked') => {
        if (event === 'acked') commits++;
        if (commits < skip) return;
        if (
          (mode === 'after-endtxn-sent' && event === 'sent') ||
          (mode === 'after-endtxn-acked' && event === 'acked')
        )
          kill();
      };
      const timer = setTimeout(kill, mode === 'random' ? 50 + Math.floor(random() * 400) : 10_000);
      await Promise.all(
        PRODUCERS.map((producer) =>
          runProducer(current, producer, round, history, random, onEndTxn, groupOffsets.get(producer)!),
        ),
      );
      kill();
      clearTimeout(timer);
      await current.exited;
      killedAt[mode]++;
      broker = await spawnKafkaBroker(dataDir);
      try {
        await verify(broker, history);
      } catch (error) {
        throw new Error(`round ${round} (${mode}): ${(error as Error).message}`, { cause: error });
      }
    }
    const acked = [...history.values()].filter((t) => t.acked);
    assert.ok(acked.filter((t) => t.commit).length > ROUNDS, `commits were acknowledged (${acked.length})`);
    assert.ok(
      acked.some((t) => !t.commit),
      'aborts were acknowledged',
    );
  } catch (error) {
    keepDataDir = true;
    throw new Error(`${(error as Error).message}\n(data directory kept: ${dataDir})`, { cause: error });
  } finally {
    await broker?.kill();
    if (!keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  }
});
