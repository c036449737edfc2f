// Kafka produce with a raw-protocol producer that is not itself the limit: one connection, Produce v7
// with acks=all (-1), requests encoded once up front and pipelined (--in-flight at a time, Kafka
// answers a connection in order), each carrying one batch of --batch-records 100 B records per
// partition for up to 8 partitions. Pier runs with --fsync always: an answer means the records are
// on disk. Counts only records whose partition answered without error.
//
// With --latency-at (fractions of the rate just measured), it then produces open loop at each of
// those rates for --latency-seconds: request k is due at start + k × (records per request / rate),
// and its latency runs from that due time (not from when it was sent: a stalled broker delays the
// sends behind it, which must count) to its acks=all answer.
//
//   npm run bench -- kafka-produce [--records 2000000] [--partitions 1] [--in-flight 8] [--json]
//   npm run bench -- kafka-produce --latency-at 0.25,0.5,0.9 [--latency-seconds 20]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { API_KEYS, decodeResponse } from '../src/protocol/kafka/codec/index.js';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch-encoder.js';
import { cpuSeconds, startKafkaOnlyPier } from './child-server.js';
import { RawKafkaClient } from './kafka-raw-client.js';
import { OpenLoopSchedule } from './open-loop.js';
import { machineInfo, machineLine } from './report.js';
import { LatencyHistogram, nowNs, sleep } from './stats.js';

const HELP = `Usage: npm run bench -- kafka-produce [options]

  --records N         records to produce, timed (default 2000000)
  --warmup N          records produced first, untimed (default 200000)
  --partitions N      partitions of the topic (default 1)
  --batch-records N   records per batch (default 1000, about what a batching producer sends)
  --record-bytes N    bytes per record value (default 100)
  --in-flight N       Produce requests outstanding on the connection (default 8)
  --fsync POLICY      the broker's --fsync (default always)
  --latency-at LIST   after the throughput run, produce open loop at these fractions of the
                      measured rate (e.g. 0.25,0.5,0.9) and print each request's latency from
                      its due time to its acks=all answer (p50/p99/p99.9/max)
  --latency-seconds N seconds per latency rate (default 20)
  --broker-cpu-prof DIR  run the broker under node --cpu-prof
  --broker-node-args="ARGS"  more flags for the broker's node (e.g. V8 heap sizes), space-separated;
                      with =, as the value starts with --
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
    'latency-at': { type: 'string' },
    'latency-seconds': { type: 'string', default: '20' },
    'broker-cpu-prof': { type: 'string' },
    'broker-node-args': { type: 'string' },
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
const LATENCY_FRACTIONS = values['latency-at'] ? values['latency-at'].split(',').map(Number) : [];
if (LATENCY_FRACTIONS.some((f) => !(f > 0)))
  throw new Error(
    `--latency-at: '${values['latency-at']}' is not a list of fractions > 0 (e.g. 0.25,0.5,0.9)`,
  );
const LATENCY_SECONDS = Number(values['latency-seconds']);
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

/** Throws when a Produce answer reports an error for any partition; returns the records acked. */
function ackedRecords(frame: Buffer): number {
  const answer = decodeResponse(API_KEYS.Produce, PRODUCE_VERSION, frame).body as unknown as ProduceAnswer;
  let acked = 0;
  for (const t of answer.responses)
    for (const p of t.partitionResponses) {
      if (p.errorCode !== 0)
        throw new Error(`Produce partition ${p.index}: error code ${p.errorCode} ${p.errorMessage}`);
      acked += BATCH_RECORDS;
    }
  return acked;
}

/**
 * Produces open loop at `recordsPerS` for `seconds`: requests sent when due (however many answers
 * are outstanding), each request's latency recorded from its due time to its answer.
 */
async function produceOpenLoop(
  client: RawKafkaClient,
  requests: Buffer[],
  recordsPerS: number,
  seconds: number,
): Promise<{ histogram: LatencyHistogram; acked: number; seconds: number }> {
  const schedule = new OpenLoopSchedule(recordsPerS / (PER_REQUEST * BATCH_RECORDS));
  const histogram = new LatencyHistogram();
  const answers: Promise<void>[] = [];
  let acked = 0;
  let k = 0;
  const startNs = nowNs();
  schedule.start(startNs);
  const endNs = startNs + seconds * 1e9;
  for (let now = startNs; now < endNs; now = nowNs()) {
    const due = schedule.due(now);
    if (due === 0) {
      // Sleep until the next request is due; a timer may wake up to ~1 ms late, which the
      // request's latency (from its due time) includes.
      await sleep(Math.max(0, (schedule.nextDueNs() - now) / 1e6));
      continue;
    }
    const firstDueNs = schedule.take(due);
    for (let i = 0; i < due; i++) {
      const dueNs = firstDueNs + i * schedule.intervalNs;
      answers.push(
        client.sendEncoded(requests[k++ % requests.length]!).then((frame) => {
          histogram.record(nowNs() - dueNs);
          acked += ackedRecords(frame);
        }),
      );
    }
  }
  await Promise.all(answers);
  return { histogram, acked, seconds: (nowNs() - startNs) / 1e9 };
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
      // Not `acked += ackedRecords(await …)`: that reads `acked` before the await and loses the
      // other workers' additions made meanwhile.
      const records = ackedRecords(await client.sendEncoded(request));
      acked += records;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, one));
  return acked;
}

const dataDir = mkdtempSync(join(tmpdir(), 'pier-produce-bench-'));
const pierBin = fileURLToPath(new URL('../src/cli/pier.js', import.meta.url));
const nodeArgs = [
  ...(values['broker-cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['broker-cpu-prof']}`] : []),
  ...(values['broker-node-args']?.split(' ').filter((arg) => arg !== '') ?? []),
];
const server = await startKafkaOnlyPier(pierBin, dataDir, { fsync: values.fsync, nodeArgs });
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
  const latencies = [];
  for (const fraction of LATENCY_FRACTIONS) {
    const recordsPerS = Math.round((acked / seconds) * fraction);
    const run = await produceOpenLoop(client, requests, recordsPerS, LATENCY_SECONDS);
    const ms = (p: number) => Number((run.histogram.percentileUs(p) / 1000).toFixed(2));
    latencies.push({
      fraction,
      targetRecordsPerS: recordsPerS,
      recordsPerS: Math.round(run.acked / run.seconds),
      requests: run.histogram.count,
      p50Ms: ms(50),
      p90Ms: ms(90),
      p99Ms: ms(99),
      p999Ms: ms(99.9),
      maxMs: Number((run.histogram.maxUs / 1000).toFixed(2)),
    });
    process.stderr.write(`latency at ${fraction} of the maximum (${recordsPerS} records/s): done\n`);
  }
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
    latencies,
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
    if (latencies.length > 0) {
      console.log(
        `\nLatency, open loop, ${LATENCY_SECONDS} s per rate: each request (${PER_REQUEST * BATCH_RECORDS} records) from its due time to its acks=all answer`,
      );
      console.log(
        '| share of max | records/s target | records/s done | requests | p50 ms | p99 ms | p99.9 ms | max ms |',
      );
      console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const l of latencies)
        console.log(
          `| ${Math.round(l.fraction * 100)} % | ${l.targetRecordsPerS} | ${l.recordsPerS} | ${l.requests} | ${l.p50Ms} | ${l.p99Ms} | ${l.p999Ms} | ${l.maxMs} |`,
        );
    }
  }
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
