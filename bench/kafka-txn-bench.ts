// Pier Kafka transactions benchmark: records/s of transactional producers (each transaction 100
// records to one partition: AddPartitionsToTxn, Produce acks=all, EndTxn commit) against the same
// producers idempotent and non-transactional (one 100-record batch per acks=all Produce), in the same
// run, on one child broker with --fsync always (default). Prints both figures and their ratio.
//
//   npm run bench -- kafka-txn [--producers 8] [--seconds 5] [--fsync always]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { API_KEYS } from '../src/protocol/kafka/codec/index.js';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch-encoder.js';
import { KafkaWireClient } from '../test/helpers/kafka-wire.js';
import { startKafkaOnlyPier } from './child-server.js';
import { machineInfo, machineLine } from './report.js';

const RECORDS_PER_TXN = 100;
const TOPIC = 'bench-txn';

const { values } = parseArgs({
  options: {
    producers: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '5' },
    fsync: { type: 'string', default: 'always' },
    'record-bytes': { type: 'string', default: '100' },
  },
});
const PRODUCERS = Number(values.producers);
const SECONDS = Number(values.seconds);
const VALUE = 'x'.repeat(Number(values['record-bytes']));

function check(what: string, code: number | undefined): void {
  if (code !== 0) throw new Error(`${what}: error code ${code}`);
}

function batch(producerId: number, epoch: number, sequence: number, transactional: boolean): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: RECORDS_PER_TXN }, () => ({ value: VALUE, timestampMs: Date.now() })),
    producerId,
    producerEpoch: epoch,
    baseSequence: sequence,
    transactional,
  });
}

async function produce(
  client: KafkaWireClient,
  partition: number,
  records: Buffer,
  transactionalId: string | null,
) {
  const r = await client.send(API_KEYS.Produce, 7, {
    transactionalId,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }],
  });
  check('Produce', r.responses[0]?.partitionResponses[0]?.errorCode);
}

async function transactional(client: KafkaWireClient, index: number, untilMs: number): Promise<number> {
  const transactionalId = `bench-txn-${index}`;
  const init = await client.send(API_KEYS.InitProducerId, 1, {
    transactionalId,
    transactionTimeoutMs: 60_000,
  });
  check('InitProducerId', init.errorCode);
  const pid = Number(init.producerId);
  let sequence = 0;
  let records = 0;
  const partition = index % 3;
  while (Date.now() < untilMs) {
    const added = await client.send(API_KEYS.AddPartitionsToTxn, 1, {
      v3AndBelowTransactionalId: transactionalId,
      v3AndBelowProducerId: init.producerId,
      v3AndBelowProducerEpoch: init.producerEpoch,
      v3AndBelowTopics: [{ name: TOPIC, partitions: [partition] }],
    });
    check('AddPartitionsToTxn', added.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode);
    await produce(client, partition, batch(pid, init.producerEpoch, sequence, true), transactionalId);
    sequence += RECORDS_PER_TXN;
    const ended = await client.send(API_KEYS.EndTxn, 1, {
      transactionalId,
      producerId: init.producerId,
      producerEpoch: init.producerEpoch,
      committed: true,
    });
    check('EndTxn', ended.errorCode);
    records += RECORDS_PER_TXN;
  }
  return records;
}

async function idempotent(client: KafkaWireClient, index: number, untilMs: number): Promise<number> {
  const init = await client.send(API_KEYS.InitProducerId, 1, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
  });
  check('InitProducerId', init.errorCode);
  let sequence = 0;
  let records = 0;
  while (Date.now() < untilMs) {
    await produce(
      client,
      index % 3,
      batch(Number(init.producerId), init.producerEpoch, sequence, false),
      null,
    );
    sequence += RECORDS_PER_TXN;
    records += RECORDS_PER_TXN;
  }
  return records;
}

async function phase(
  host: string,
  port: number,
  run: (client: KafkaWireClient, index: number, untilMs: number) => Promise<number>,
): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: PRODUCERS }, (_, i) => KafkaWireClient.connect(host, port, `bench-${i}`)),
  );
  const start = Date.now();
  const untilMs = start + SECONDS * 1000;
  const counts = await Promise.all(clients.map((c, i) => run(c, i, untilMs)));
  const elapsedS = (Date.now() - start) / 1000;
  for (const c of clients) c.close();
  return counts.reduce((a, b) => a + b, 0) / elapsedS;
}

const dataDir = mkdtempSync(join(tmpdir(), 'pier-txn-bench-'));
const pierBin = fileURLToPath(new URL('../src/cli/pier.js', import.meta.url));
const server = await startKafkaOnlyPier(pierBin, dataDir, { fsync: String(values.fsync) });
try {
  const setup = await KafkaWireClient.connect(server.host, server.port, 'bench-setup');
  const created = await setup.request(API_KEYS.CreateTopics, 4, {
    topics: [{ name: TOPIC, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  check('CreateTopics', created.topics[0]?.errorCode);
  setup.close();
  const idempotentRate = await phase(server.host, server.port, idempotent);
  const transactionalRate = await phase(server.host, server.port, transactional);
  console.log(machineLine(machineInfo()));
  console.log(
    `Kafka transactions: ${PRODUCERS} producers, ${RECORDS_PER_TXN}-record transactions (one partition each), ` +
      `${VALUE.length}-byte values, acks=all, --fsync ${values.fsync}, ${SECONDS} s per phase`,
  );
  console.log(`| producer | records/s |`);
  console.log(`|---|---:|`);
  console.log(`| idempotent, non-transactional (100-record batches) | ${Math.round(idempotentRate)} |`);
  console.log(`| transactional (100-record transactions, commit) | ${Math.round(transactionalRate)} |`);
  console.log(`transactional / idempotent: ${(transactionalRate / idempotentRate).toFixed(2)}`);
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
