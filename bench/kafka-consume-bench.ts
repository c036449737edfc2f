// Kafka consume with a raw-protocol consumer that is not itself the limit: one connection, Fetch v12
// with 64 MiB max bytes (8 MiB per partition), maxWaitMs 0, and a client that only walks the record
// batch headers (base offset, last offset delta, record count) — no CRC check, no record decoding —
// in one receive buffer reused for every response.
// The records (100 B values, 1,000 per batch, as a batching producer sends them) are produced first,
// untimed, spread round-robin over --partitions partitions; then the consumer reads them all from
// offset 0 --rounds times (each round a fresh pass over the same log), timed.
//
//   npm run bench -- kafka-consume [--records 2000000] [--partitions 1] [--rounds 3] [--broker-cpu-prof DIR]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { API_KEYS, type KafkaStruct } from '../src/protocol/kafka/codec/index.js';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch-encoder.js';
import { cpuSeconds, startKafkaOnlyPier } from './child-server.js';
import { RawKafkaClient, readUVarint, skipTaggedFields } from './kafka-raw-client.js';
import { machineInfo, machineLine } from './report.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    partitions: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    'record-bytes': { type: 'string', default: '100' },
    'batch-records': { type: 'string', default: '1000' },
    'broker-cpu-prof': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const RECORDS = Number(values.records);
const PARTITIONS = Number(values.partitions);
const ROUNDS = Number(values.rounds);
const RECORD_BYTES = Number(values['record-bytes']);
const BATCH_RECORDS = Number(values['batch-records']);
const TOPIC = 'bench-consume';
const FETCH_VERSION = 12;

/**
 * Walks a Fetch v12 response frame (correlation id, tagged header fields, body) and, per partition,
 * the record batch headers: moves `offsets` past each whole batch and returns the records counted.
 */
function consumeFetchResponse(frame: Buffer, offsets: number[]): number {
  const pos = { at: 4 }; // correlation id
  skipTaggedFields(frame, pos);
  pos.at += 4; // throttle
  const errorCode = frame.readInt16BE(pos.at);
  if (errorCode !== 0) throw new Error(`Fetch: error code ${errorCode}`);
  pos.at += 2 + 4; // error code, session id
  let records = 0;
  const topics = readUVarint(frame, pos) - 1;
  for (let t = 0; t < topics; t++) {
    const nameLength = readUVarint(frame, pos) - 1;
    pos.at += nameLength; // topic name
    const partitions = readUVarint(frame, pos) - 1;
    for (let p = 0; p < partitions; p++) {
      const partition = frame.readInt32BE(pos.at);
      const partitionError = frame.readInt16BE(pos.at + 4);
      if (partitionError !== 0) throw new Error(`Fetch partition ${partition}: error code ${partitionError}`);
      pos.at += 4 + 2 + 8 + 8 + 8; // index, error, high watermark, last stable offset, log start
      const aborted = readUVarint(frame, pos) - 1;
      if (aborted > 0) pos.at += aborted * 16;
      pos.at += 4; // preferred read replica
      const recordsLength = readUVarint(frame, pos) - 1;
      const end = pos.at + Math.max(0, recordsLength);
      let at = pos.at;
      while (at + 61 <= end) {
        const batchLength = frame.readInt32BE(at + 8);
        if (at + 12 + batchLength > end) break; // a partial batch at the end of the limit
        const baseOffset = Number(frame.readBigInt64BE(at));
        const lastOffsetDelta = frame.readInt32BE(at + 23);
        if (baseOffset + lastOffsetDelta + 1 > offsets[partition]!) {
          records += frame.readInt32BE(at + 57);
          offsets[partition] = baseOffset + lastOffsetDelta + 1;
        }
        at += 12 + batchLength;
      }
      pos.at = end;
      skipTaggedFields(frame, pos);
    }
    skipTaggedFields(frame, pos);
  }
  return records;
}

function fetchRequest(offsets: number[]): KafkaStruct {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 64 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: TOPIC,
        partitions: offsets.map((offset, partition) => ({
          partition,
          fetchOffset: BigInt(offset),
          partitionMaxBytes: 8 * 1024 * 1024,
          currentLeaderEpoch: -1,
          logStartOffset: -1n,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

const dataDir = mkdtempSync(join(tmpdir(), 'pier-consume-bench-'));
const pierBin = fileURLToPath(new URL('../src/cli/pier.js', import.meta.url));
const profArgs = values['broker-cpu-prof']
  ? ['--cpu-prof', `--cpu-prof-dir=${values['broker-cpu-prof']}`]
  : [];
const server = await startKafkaOnlyPier(pierBin, dataDir, { fsync: 'never', nodeArgs: profArgs });
try {
  const setup = await RawKafkaClient.connect(server.host, server.port);
  const created = await setup.send<{ topics: { errorCode: number }[] }>(API_KEYS.CreateTopics, 4, {
    topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  if (created.topics[0]?.errorCode !== 0) throw new Error(`CreateTopics: ${created.topics[0]?.errorCode}`);
  const value = Buffer.alloc(RECORD_BYTES, 'x');
  const batch = encodeRecordBatch({
    records: Array.from({ length: BATCH_RECORDS }, () => ({ value, timestampMs: Date.now() })),
  });
  const batches = Math.ceil(RECORDS / BATCH_RECORDS);
  const produceStart = performance.now();
  // One batch per partition and Produce request (v3+ carries exactly one), up to 8 partitions each.
  const perRequest = Math.min(8, PARTITIONS);
  for (let b = 0; b < batches; b += perRequest) {
    const partitionData = [];
    for (let i = b; i < Math.min(batches, b + perRequest); i++)
      partitionData.push({ index: i % PARTITIONS, records: batch });
    const produced = await setup.send<{
      responses: {
        partitionResponses: { index: number; errorCode: number; errorMessage: string | null }[];
      }[];
    }>(API_KEYS.Produce, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [
        {
          name: TOPIC,
          partitionData,
        },
      ],
    });
    for (const t of produced.responses)
      for (const p of t.partitionResponses)
        if (p.errorCode !== 0)
          throw new Error(`Produce partition ${p.index}: error code ${p.errorCode} ${p.errorMessage}`);
  }
  const total = batches * BATCH_RECORDS;
  process.stderr.write(
    `produced ${total} records in ${((performance.now() - produceStart) / 1000).toFixed(1)} s\n`,
  );

  const consumer = await RawKafkaClient.connect(server.host, server.port);
  // One fetch at a time, each walked before the next is sent: one receive buffer serves them all.
  // A fresh 64 MiB buffer per response (1,000 partitions fill the request's 64 MiB; one partition
  // its 8 MiB) cost the client more than the broker's whole fetch and made 1,000 partitions look
  // slower per record than one, while the broker's CPU per record was lower.
  consumer.reuseFrames = true;
  const results: {
    recordsPerS: number;
    mbPerS: number;
    fetches: number;
    brokerCpuS: number;
    clientCpuS: number;
  }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const offsets = new Array<number>(PARTITIONS).fill(0);
    let consumed = 0;
    let fetches = 0;
    let bytes = 0;
    const brokerBefore = cpuSeconds(server.child.pid!) ?? 0;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    while (consumed < total) {
      const frame = await consumer.sendRaw(API_KEYS.Fetch, FETCH_VERSION, fetchRequest(offsets));
      bytes += frame.length;
      fetches++;
      const got = consumeFetchResponse(frame, offsets);
      if (got === 0) throw new Error(`Fetch returned nothing at ${consumed} of ${total} records`);
      consumed += got;
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const r = {
      recordsPerS: consumed / seconds,
      mbPerS: bytes / seconds / 1e6,
      fetches,
      brokerCpuS: (cpuSeconds(server.child.pid!) ?? 0) - brokerBefore,
      clientCpuS: (cpu.user + cpu.system) / 1e6,
    };
    results.push(r);
    process.stderr.write(
      `round ${round + 1}: ${Math.round(r.recordsPerS)} records/s, ${r.mbPerS.toFixed(0)} MB/s, ${fetches} fetches, ` +
        `broker CPU ${r.brokerCpuS.toFixed(2)} s, client CPU ${r.clientCpuS.toFixed(2)} s\n`,
    );
  }
  consumer.close();
  setup.close();
  if (values.json) {
    console.log(JSON.stringify({ records: total, partitions: PARTITIONS, rounds: results }));
  } else {
    console.log(machineLine(machineInfo()));
    console.log(
      `Kafka consume (raw Fetch v${FETCH_VERSION}, 64 MiB max bytes): ${total} × ${RECORD_BYTES} B records in ` +
        `${BATCH_RECORDS}-record batches over ${PARTITIONS} partition(s), ${ROUNDS} rounds`,
    );
    console.log('| round | records/s | MB/s | fetches | broker CPU s | client CPU s |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    results.forEach((r, i) => {
      console.log(
        `| ${i + 1} | ${Math.round(r.recordsPerS)} | ${r.mbPerS.toFixed(0)} | ${r.fetches} | ${r.brokerCpuS.toFixed(2)} | ${r.clientCpuS.toFixed(2)} |`,
      );
    });
  }
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
