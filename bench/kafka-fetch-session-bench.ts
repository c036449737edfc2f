// Fetch sessions (KIP-227) benchmark: the cost of a consumer that follows 1,000 partitions, with
// incremental fetch sessions and without (every fetch names and answers all partitions), on one
// child broker. Two phases per mode:
//   idle     the consumer polls (maxWaitMs 0) with nothing new: fetches/s, bytes on the wire per
//            fetch, client CPU and broker CPU per fetch;
//   trickle  before each fetch a producer appends one record to each of 10 random partitions; the
//            consumer fetches them and moves its offsets: the same figures.
// Sessions on: a full fetch with epoch 0, then incremental fetches naming only moved partitions.
// Sessions off: epoch -1, the whole partition list every time (what kafkajs and librdkafka send).
//
//   npm run bench -- kafka-fetch-sessions [--partitions 1000] [--fetches 2000]
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  API_KEYS,
  decodeResponse,
  encodeRequest,
  type FetchResponse,
  type KafkaStruct,
} from '../src/protocol/kafka/codec/index.js';
import { encodeRecordBatch } from '../src/protocol/kafka/record-batch-encoder.js';
import { cpuSeconds, startKafkaOnlyPier } from './child-server.js';
import { machineInfo, machineLine } from './report.js';

const { values } = parseArgs({
  options: {
    partitions: { type: 'string', default: '1000' },
    fetches: { type: 'string', default: '2000' },
  },
});
const PARTITIONS = Number(values.partitions);
const FETCHES = Number(values.fetches);
const TOPIC = 'bench-sessions';
const FETCH_VERSION = 12;
const CHANGED_PER_ROUND = 10;

/** One connection, one request at a time, counting the bytes both ways. */
class CountingClient {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | undefined;
  private correlationId = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length < 4) return;
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(frame);
    });
  }

  static async connect(host: string, port: number): Promise<CountingClient> {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new CountingClient(socket);
  }

  get bytes(): number {
    return this.socket.bytesRead + this.socket.bytesWritten;
  }

  async send<T = KafkaStruct>(apiKey: number, apiVersion: number, body: KafkaStruct): Promise<T> {
    const correlationId = ++this.correlationId;
    const frame = await new Promise<Buffer>((resolve) => {
      this.waiting = resolve;
      this.socket.write(encodeRequest({ apiKey, apiVersion, correlationId, clientId: 'bench' }, body));
    });
    return decodeResponse(apiKey, apiVersion, frame).body as T;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A consumer's fetch state: its offsets, and its session when it uses one. */
class Consumer {
  readonly offsets = new Array<number>(PARTITIONS).fill(0);
  /** Partitions whose offset moved since the last request (sent in the next incremental one). */
  private moved = new Set<number>();
  private sessionId = 0;
  private epoch = 0;

  constructor(
    private readonly client: CountingClient,
    private readonly sessions: boolean,
  ) {}

  async fetch(): Promise<number> {
    const incremental = this.sessions && this.sessionId !== 0;
    const named = incremental ? [...this.moved] : this.offsets.map((_, p) => p);
    this.moved = new Set();
    const response = await this.client.send<FetchResponse>(API_KEYS.Fetch, FETCH_VERSION, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 50 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: this.sessions ? this.sessionId : 0,
      sessionEpoch: this.sessions ? this.epoch : -1,
      topics: [
        {
          topic: TOPIC,
          partitions: named.map((partition) => ({
            partition,
            fetchOffset: BigInt(this.offsets[partition]!),
            partitionMaxBytes: 1024 * 1024,
            currentLeaderEpoch: -1,
            logStartOffset: -1n,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    if (response.errorCode !== 0) throw new Error(`Fetch: error code ${response.errorCode}`);
    if (this.sessions) {
      this.sessionId = response.sessionId;
      this.epoch = this.sessionId === 0 ? 0 : this.epoch + 1;
    }
    let records = 0;
    for (const t of response.responses) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0)
          throw new Error(`Fetch partition ${p.partitionIndex}: error code ${p.errorCode}`);
        const highWatermark = Number(p.highWatermark);
        if ((p.records?.length ?? 0) > 0 && this.offsets[p.partitionIndex]! < highWatermark) {
          records += highWatermark - this.offsets[p.partitionIndex]!;
          this.offsets[p.partitionIndex] = highWatermark;
          this.moved.add(p.partitionIndex);
        }
      }
    }
    return records;
  }
}

interface PhaseResult {
  fetchesPerS: number;
  bytesPerFetch: number;
  clientUsPerFetch: number;
  brokerUsPerFetch: number;
  records: number;
}

async function phase(
  consumer: Consumer,
  client: CountingClient,
  brokerPid: number,
  beforeFetch: (() => Promise<void>) | undefined,
): Promise<PhaseResult> {
  await consumer.fetch(); // the full fetch (and session) before measuring
  await consumer.fetch();
  let fetchMs = 0;
  let clientCpuUs = 0;
  let bytes = 0;
  let records = 0;
  // Broker CPU over the whole loop (/proc counts in 10 ms ticks); in the trickle phase it includes
  // the produce requests, the same in both modes.
  const brokerBefore = cpuSeconds(brokerPid) ?? 0;
  for (let i = 0; i < FETCHES; i++) {
    if (beforeFetch) await beforeFetch();
    const bytesBefore = client.bytes;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    records += await consumer.fetch();
    fetchMs += performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    clientCpuUs += cpu.user + cpu.system;
    bytes += client.bytes - bytesBefore;
  }
  const brokerS = (cpuSeconds(brokerPid) ?? 0) - brokerBefore;
  return {
    fetchesPerS: FETCHES / (fetchMs / 1000),
    bytesPerFetch: bytes / FETCHES,
    clientUsPerFetch: clientCpuUs / FETCHES,
    brokerUsPerFetch: (brokerS * 1e6) / FETCHES,
    records,
  };
}

const dataDir = mkdtempSync(join(tmpdir(), 'pier-fetch-session-bench-'));
const pierBin = fileURLToPath(new URL('../src/cli/pier.js', import.meta.url));
const server = await startKafkaOnlyPier(pierBin, dataDir);
try {
  const setup = await CountingClient.connect(server.host, server.port);
  const created = await setup.send<{ topics: { errorCode: number }[] }>(API_KEYS.CreateTopics, 4, {
    topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  if (created.topics[0]?.errorCode !== 0) throw new Error(`CreateTopics: ${created.topics[0]?.errorCode}`);
  const producer = setup;
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const trickle = async () => {
    const partitions = new Set<number>();
    while (partitions.size < CHANGED_PER_ROUND) partitions.add(random() % PARTITIONS);
    await producer.send(API_KEYS.Produce, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [
        {
          name: TOPIC,
          partitionData: [...partitions].map((index) => ({
            index,
            records: encodeRecordBatch({ records: [{ value: 'x'.repeat(100), timestampMs: Date.now() }] }),
          })),
        },
      ],
    });
  };
  const rows: string[] = [];
  const results = new Map<string, PhaseResult>();
  for (const [name, trickleFn] of [
    ['idle', undefined],
    ['trickle', trickle],
  ] as const) {
    for (const sessions of [false, true]) {
      const client = await CountingClient.connect(server.host, server.port);
      const consumer = new Consumer(client, sessions);
      // Start where the log ends, as a caught-up consumer would.
      const catchUp = new Consumer(client, false);
      await catchUp.fetch();
      consumer.offsets.splice(0, PARTITIONS, ...catchUp.offsets);
      const r = await phase(consumer, client, server.child.pid!, trickleFn);
      client.close();
      results.set(`${name}-${sessions}`, r);
      rows.push(
        `| ${name} | ${sessions ? 'on' : 'off'} | ${Math.round(r.fetchesPerS)} | ${Math.round(r.bytesPerFetch)} | ` +
          `${Math.round(r.clientUsPerFetch)} | ${Math.round(r.brokerUsPerFetch)} | ${r.records} |`,
      );
    }
  }
  setup.close();
  console.log(machineLine(machineInfo()));
  console.log(
    `Kafka fetch sessions: one consumer following ${PARTITIONS} partitions, Fetch v${FETCH_VERSION}, maxWaitMs 0, ` +
      `${FETCHES} fetches per row (trickle: ${CHANGED_PER_ROUND} one-record batches to random partitions before each)`,
  );
  console.log(
    '| phase | sessions | fetches/s | bytes/fetch (both ways) | client CPU µs/fetch | broker CPU µs/fetch | records |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  for (const name of ['idle', 'trickle']) {
    const off = results.get(`${name}-false`)!;
    const on = results.get(`${name}-true`)!;
    console.log(
      `${name}: sessions on / off — fetches/s ${(on.fetchesPerS / off.fetchesPerS).toFixed(1)}x, ` +
        `bytes ${(on.bytesPerFetch / off.bytesPerFetch).toFixed(3)}, client CPU ${(on.clientUsPerFetch / off.clientUsPerFetch).toFixed(2)}, ` +
        `broker CPU ${(on.brokerUsPerFetch / off.brokerUsPerFetch).toFixed(2)}`,
    );
  }
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
