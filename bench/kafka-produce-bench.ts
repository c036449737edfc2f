// Kafka produce with a raw-protocol producer that is not itself the limit: one connection, Produce v7
// with acks=all (-1), requests encoded once up front and pipelined (--in-flight at a time, Kafka
// answers a connection in order), each carrying one batch of --batch-records 100 B records per
// partition for up to 8 partitions. Pier runs with --fsync always: an answer means the records are
// on disk. Counts only records whose partition answered without error.
//
//   npm run bench -- kafka-produce [--records 2000000] [--partitions 1] [--in-flight 8] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { API_KEYS, decodeResponse } from '../src/protocol/kafka/codec/index.js';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch-encoder.js';
import { cpuSeconds, startKafkaOnlyPier } from './child-server.js';
import { RawKafkaClient } from './kafka-raw-client.js';
import { machineInfo, machineLine } from './report.js';

const HELP = `Usage: npm run bench -- kafka-produce [options]

  --records N         records to produce, timed (default 2000000)
  --warmup N          records produced first, untimed (default 200000)
  --partitions N      partitions of the topic (default 1)
  --batch-records N   records per batch (default 1000, about what a batching producer sends)
  --record-bytes N    bytes per record value (default 100)
  --in-flight N       Produce requests outstanding on the connection (default 8)
  --fsync POLICY      the broker's --fsync (default always)
  --broker-cpu-prof DIR  run the broker under node --cpu-prof
  --json              print the result as JSON
  --help              this text
`;

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    warmup: { type: 'string', default: '200000' },
    partitions: { type: 'string', default: '1' },
    'batch-records': { type: 'string', default: '1000' },
    'record-bytes': { type: 'string', default: '100' },
    'in-flight': { type: 'string', default: '8' },
    fsync: { type: 'string', default: 'always' },
    'broker-cpu-prof': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const RECORDS = Number(values.records);
const WARMUP = Number(values.warmup);
const PARTITIONS = Number(values.partitions);
const BATCH_RECORDS = Number(values['batch-records']);
const RECORD_BYTES = Number(values['record-bytes']);
const IN_FLIGHT = Number(values['in-flight']);
const TOPIC = 'bench-produce';
const PRODUCE_VERSION = 7;
const PER_REQUEST = Math.min(8, PARTITIONS);

interface ProduceAnswer {
  responses: { partitionResponses: { index: number; errorCode: number; errorMessage: string | null }[] }[];
}

/** The distinct requests, cycled: request k carries one batch for each of PER_REQUEST partitions. */
function prepareRequests(client: RawKafkaClient, topic: string): Buffer[] {
  const value = Buffer.alloc(RECORD_BYTES, 'x');
  const batch = encodeRecordBatch({
    records: Array.from({ length: BATCH_RECORDS }, () => ({ value, timestampMs: Date.now() })),
  });
  const requests: Buffer[] = [];
  const distinct = Math.ceil(PARTITIONS / PER_REQUEST);
  for (let k = 0; k < distinct; k++) {
    const partitionData = [];
    for (let i = 0; i < PER_REQUEST; i++)
      partitionData.push({ index: (k * PER_REQUEST + i) % PARTITIONS, records: batch });
    requests.push(
      client.encode(API_KEYS.Produce, PRODUCE_VERSION, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData }],
      }),
    );
  }
  return requests;
}

/** Produces at least `records` records with IN_FLIGHT requests outstanding; resolves with the count acked. */
async function produce(client: RawKafkaClient, requests: Buffer[], records: number): Promise<number> {
  const recordsPerRequest = PER_REQUEST * BATCH_RECORDS;
  const total = Math.ceil(records / recordsPerRequest);
  let sent = 0;
  let acked = 0;
  const one = async (): Promise<void> => {
    while (sent < total) {
      const request = requests[sent++ % requests.length]!;
      const frame = await client.sendEncoded(request);
      const answer = decodeResponse(API_KEYS.Produce, PRODUCE_VERSION, frame)
        .body as unknown as ProduceAnswer;
      for (const t of answer.responses)
        for (const p of t.partitionResponses) {
          if (p.errorCode !== 0)
            throw new Error(`Produce partition ${p.index}: error code ${p.errorCode} ${p.errorMessage}`);
          acked += BATCH_RECORDS;
        }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, one));
  return acked;
}

const dataDir = mkdtempSync(join(tmpdir(), 'pier-produce-bench-'));
const pierBin = fileURLToPath(new URL('../src/cli/pier.js', import.meta.url));
const profArgs = values['broker-cpu-prof']
  ? ['--cpu-prof', `--cpu-prof-dir=${values['broker-cpu-prof']}`]
  : [];
const server = await startKafkaOnlyPier(pierBin, dataDir, { fsync: values.fsync, nodeArgs: profArgs });
try {
  const client = await RawKafkaClient.connect(server.host, server.port);
  for (const name of [`${TOPIC}-warmup`, TOPIC]) {
    const created = await client.send<{ topics: { errorCode: number }[] }>(API_KEYS.CreateTopics, 4, {
      topics: [{ name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    if (created.topics[0]?.errorCode !== 0)
      throw new Error(`CreateTopics ${name}: ${created.topics[0]?.errorCode}`);
  }
  if (WARMUP > 0) {
    await produce(client, prepareRequests(client, `${TOPIC}-warmup`), WARMUP);
    process.stderr.write(`warm-up: ${WARMUP} records produced to ${TOPIC}-warmup (untimed)\n`);
  }
  const requests = prepareRequests(client, TOPIC);
  const brokerBefore = cpuSeconds(server.child.pid!) ?? 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const acked = await produce(client, requests, RECORDS);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const brokerCpuS = (cpuSeconds(server.child.pid!) ?? 0) - brokerBefore;
  client.close();
  const result = {
    records: acked,
    partitions: PARTITIONS,
    batchRecords: BATCH_RECORDS,
    recordBytes: RECORD_BYTES,
    inFlight: IN_FLIGHT,
    fsync: values.fsync,
    seconds,
    recordsPerS: acked / seconds,
    mbPerS: (acked * RECORD_BYTES) / seconds / 1e6,
    brokerCpuPct: (brokerCpuS / seconds) * 100,
    clientCpuPct: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(machineLine(machineInfo()));
    console.log(
      `Kafka produce (raw Produce v${PRODUCE_VERSION}, acks=all, --fsync ${values.fsync}): ${acked} × ${RECORD_BYTES} B records ` +
        `in ${BATCH_RECORDS}-record batches over ${PARTITIONS} partition(s), ${IN_FLIGHT} requests in flight`,
    );
    console.log('| records/s | MB/s (values) | seconds | broker CPU | client CPU |');
    console.log('|---:|---:|---:|---:|---:|');
    console.log(
      `| ${Math.round(result.recordsPerS)} | ${result.mbPerS.toFixed(0)} | ${seconds.toFixed(2)} | ${result.brokerCpuPct.toFixed(0)} % | ${result.clientCpuPct.toFixed(0)} % |`,
    );
  }
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
