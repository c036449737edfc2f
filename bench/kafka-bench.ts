// Pier Kafka benchmark: kcat (librdkafka) produces N fixed-size records from a prepared file to one
// partition with acks=all, then consumes them from the beginning; each phase is timed from kcat's
// start to its exit. The disk's sequential write rate is measured first, in the same run and on the
// same filesystem as the broker's data directory, so MB/s can be read against it.
//
//   npm run bench -- kafka [--records 1000000] [--record-bytes 100] [--fsync always] ...
//   npm run bench -- kafka --help
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { API_KEYS } from '../src/protocol/kafka/codec/index.js';
import { KafkaWireClient } from '../test/helpers/kafka-wire.js';
import { cpuSeconds, type ServerProcess, startKafkaOnlyPier } from './child-server.js';
import { stopOnInterrupt } from './interrupt.js';
import { fmtInt, machineInfo, machineLine } from './report.js';

/** LinkedIn's single-producer figure (one producer thread, no replication: 821,557 records/s of 100 bytes). */
const TARGET_RECORDS_PER_S = 821_000;
const TOPIC = 'pier-bench';

const HELP = `Usage: npm run bench -- kafka [options]
       node dist/bench/kafka-bench.js [options]

Starts Pier (pier serve, Kafka listener only) on a temporary data directory, measures the disk's
sequential write rate there, then times kcat producing --records records of --record-bytes bytes
to one partition with acks=all (from a prepared file, kcat -P -l) and consuming them
(kcat -C -o beginning -c N -e). Needs kcat on PATH (Debian: apt-get install kcat).

Options:
  --records N             records to produce and consume (default 1000000)
  --warmup N              records produced first to another topic, untimed, so the broker's JIT
                          and buffers are warm as in a long-running broker (default 200000; 0: cold)
  --record-bytes N        bytes per record value (default 100)
  --fsync POLICY          the broker's --fsync: always (default), interval or never
  --disk-test-mib N       size of the sequential write test in MiB (default 512; 0 skips it)
  --dir PATH              parent of the temporary directory (default: the OS temp dir)
  --producer-config K=V   extra librdkafka producer setting for kcat -P, repeatable (e.g. linger.ms=20)
  --partitions N          partitions of the topic (default 1); above 1 kcat -P spreads the records
                          with librdkafka's partitioner and kcat -C reads every partition
  --groups N              consume with N consumer groups at once (N kcat -G processes, each reading
                          every record) instead of one plain consumer; records/s counts all groups
                          (default 0: one kcat -C without a group)
  --pier-bin PATH         Pier CLI (default: dist/src/cli/pier.js next to this script)
  --pier-cpus LIST        pin the broker with taskset -c LIST (Linux)
  --json                  print the results as JSON instead of markdown
  --help                  this text
`;

interface Options {
  records: number;
  partitions: number;
  groups: number;
  warmup: number;
  recordBytes: number;
  fsync: string;
  diskTestMiB: number;
  dir: string;
  producerConfig: string[];
  pierBin: string;
  pierCpus: string | null;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '1000000' },
      partitions: { type: 'string', default: '1' },
      groups: { type: 'string', default: '0' },
      warmup: { type: 'string', default: '200000' },
      'record-bytes': { type: 'string', default: '100' },
      fsync: { type: 'string', default: 'always' },
      'disk-test-mib': { type: 'string', default: '512' },
      dir: { type: 'string', default: tmpdir() },
      'producer-config': { type: 'string', multiple: true, default: [] },
      'pier-bin': { type: 'string', default: fileURLToPath(new URL('../src/cli/pier.js', import.meta.url)) },
      'pier-cpus': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const positive = (name: string, value: string, allowZero = false) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
      throw new Error(`--${name}: '${value}' must be a ${allowZero ? 'non-negative' : 'positive'} integer`);
    }
    return n;
  };
  return {
    records: positive('records', values.records),
    partitions: positive('partitions', values.partitions),
    groups: positive('groups', values.groups, true),
    warmup: positive('warmup', values.warmup, true),
    recordBytes: positive('record-bytes', values['record-bytes']),
    fsync: values.fsync,
    diskTestMiB: positive('disk-test-mib', values['disk-test-mib'], true),
    dir: values.dir,
    producerConfig: values['producer-config'],
    pierBin: values['pier-bin'],
    pierCpus: values['pier-cpus'] ?? null,
    json: values.json,
  };
}

/** One line on a terminal (rewritten in place), every ~2 s otherwise; always to stderr. */
class Progress {
  private lastLineMs = 0;
  update(text: string): void {
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${text}\x1b[K`);
    } else if (Date.now() - this.lastLineMs >= 2000) {
      process.stderr.write(`${text}\n`);
      this.lastLineMs = Date.now();
    }
  }
  done(text: string): void {
    process.stderr.write(process.stderr.isTTY ? `\r${text}\x1b[K\n` : `${text}\n`);
    this.lastLineMs = 0;
  }
}

const progress = new Progress();

/** Writes sizeMiB of incompressible data in 1 MiB chunks, then fdatasync; returns MB/s (10^6 bytes). */
function measureSequentialWrite(dir: string, sizeMiB: number): number {
  const path = join(dir, 'disk-test.bin');
  const chunk = randomBytes(1024 * 1024);
  const fd = openSync(path, 'w');
  const started = process.hrtime.bigint();
  try {
    for (let i = 0; i < sizeMiB; i++) {
      writeSync(fd, chunk);
      if (i % 64 === 63) progress.update(`disk: ${i + 1} / ${sizeMiB} MiB written`);
    }
    progress.update(`disk: ${sizeMiB} MiB written, fdatasync...`);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  unlinkSync(path);
  const mbPerS = (sizeMiB * 1024 * 1024) / 1e6 / seconds;
  progress.done(
    `disk: ${sizeMiB} MiB sequential write + fdatasync in ${seconds.toFixed(2)} s: ${mbPerS.toFixed(0)} MB/s`,
  );
  return mbPerS;
}

/** N lines of exactly recordBytes bytes (a zero-padded index, then filler) and a newline each. */
function writeRecordsFile(path: string, records: number, recordBytes: number): void {
  const fd = openSync(path, 'w');
  const perChunk = 10_000;
  const filler = 'x'.repeat(recordBytes);
  try {
    for (let first = 0; first < records; first += perChunk) {
      const lines: string[] = [];
      for (let i = first; i < Math.min(records, first + perChunk); i++) {
        const id = String(i).padStart(10, '0');
        lines.push((id + filler).slice(0, recordBytes));
      }
      writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
}

async function startPier(options: Options, dataDir: string): Promise<ServerProcess> {
  if (!existsSync(options.pierBin)) {
    throw new Error(`Pier CLI not found at ${options.pierBin} (run \`npm run build\` or pass --pier-bin)`);
  }
  return startKafkaOnlyPier(options.pierBin, dataDir, { fsync: options.fsync, cpus: options.pierCpus });
}

function memoryMiB(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  return total;
}

/** The sum of the high watermarks of the topic's partitions: the records acknowledged so far. */
async function highWatermark(client: KafkaWireClient, partitions: number): Promise<number> {
  const answer = await client.request(API_KEYS.ListOffsets, 1, {
    replicaId: -1,
    topics: [
      {
        name: TOPIC,
        partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({
          partitionIndex,
          currentLeaderEpoch: -1,
          timestamp: -1n,
          maxNumOffsets: 1,
        })),
      },
    ],
  });
  let total = 0;
  for (const partition of answer.topics[0]?.partitions ?? [])
    if (partition.errorCode === 0) total += Number(partition.offset);
  return total;
}

interface PhaseResult {
  phase: string;
  command: string;
  records: number;
  seconds: number;
  recordsPerS: number;
  valueMBPerS: number;
  brokerCpuPct: number | null;
}

/** Runs kcat to completion, calling onTick every 250 ms; rejects on a non-zero exit. */
function runKcat(
  args: string[],
  onStdout: ((chunk: Buffer) => void) | null,
  onTick: () => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('kcat', args, { stdio: ['ignore', onStdout ? 'pipe' : 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-8000);
    });
    if (onStdout) child.stdout!.on('data', onStdout);
    const ticker = setInterval(onTick, 250);
    child.once('error', (error) => {
      clearInterval(ticker);
      reject(new Error(`cannot run kcat (Debian: apt-get install kcat): ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearInterval(ticker);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve(seconds);
      else reject(new Error(`kcat ${args.join(' ')} exited with ${code ?? signal}:\n${stderr}`));
    });
  });
}

function phaseResult(
  phase: string,
  command: string,
  options: Options,
  seconds: number,
  cpuBefore: number | null,
  cpuAfter: number | null,
): PhaseResult {
  return {
    phase,
    command,
    records: options.records,
    seconds,
    recordsPerS: options.records / seconds,
    valueMBPerS: (options.records * options.recordBytes) / 1e6 / seconds,
    brokerCpuPct: cpuBefore !== null && cpuAfter !== null ? ((cpuAfter - cpuBefore) / seconds) * 100 : null,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const onePartition = options.partitions === 1 ? ['-p', '0'] : [];
  const root = join(options.dir, `pier-kafka-bench-${process.pid}`);
  const dataDir = join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  let pier: ServerProcess | undefined;
  let client: KafkaWireClient | undefined;
  const cleanup = async () => {
    client?.close();
    await pier?.stop();
    rmSync(root, { recursive: true, force: true });
  };
  stopOnInterrupt(cleanup);
  // Other processes on a 2-core machine change the numbers a lot: say how busy it was.
  const loadAverageAtStart = loadavg()[0]!;
  try {
    const diskMBPerS = options.diskTestMiB > 0 ? measureSequentialWrite(root, options.diskTestMiB) : null;
    const recordsFile = join(root, 'records.txt');
    progress.update(`preparing ${fmtInt(options.records)} records of ${options.recordBytes} bytes...`);
    writeRecordsFile(recordsFile, options.records, options.recordBytes);
    progress.done(
      `prepared ${fmtInt(options.records)} records of ${options.recordBytes} bytes in ${recordsFile}`,
    );

    pier = await startPier(options, dataDir);
    const bootstrap = `${pier.host}:${pier.port}`;
    const pid = pier.child.pid!;
    client = await KafkaWireClient.connect(pier.host, pier.port, 'kafka-bench');
    const created = await client.request(API_KEYS.CreateTopics, 4, {
      topics: [
        {
          name: TOPIC,
          numPartitions: options.partitions,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    const createError = created.topics[0]?.errorCode ?? -1;
    if (createError !== 0) throw new Error(`CreateTopics ${TOPIC} failed with error code ${createError}`);

    if (options.warmup > 0) {
      const warmupRecords = Math.min(options.warmup, options.records);
      progress.update(`warm-up: producing ${fmtInt(warmupRecords)} records to ${TOPIC}-warmup (untimed)...`);
      const warmupArgs = ['-P', '-b', bootstrap, '-t', `${TOPIC}-warmup`, '-p', '0', '-X', 'acks=all'];
      for (const setting of options.producerConfig) warmupArgs.push('-X', setting);
      await runKcat([...warmupArgs, '-c', String(warmupRecords), '-l', recordsFile], null, () => {});
      progress.done(`warm-up: ${fmtInt(warmupRecords)} records produced to ${TOPIC}-warmup (untimed)`);
    }

    // Produce.
    const producerArgs = ['-P', '-b', bootstrap, '-t', TOPIC, ...onePartition, '-X', 'acks=all'];
    for (const setting of options.producerConfig) producerArgs.push('-X', setting);
    producerArgs.push('-l', recordsFile);
    let cpuBefore = cpuSeconds(pid);
    let started = Date.now();
    let polling = false;
    let produced = 0;
    const produceSeconds = await runKcat(producerArgs, null, () => {
      if (polling) return;
      polling = true;
      highWatermark(client!, options.partitions)
        .then((hw) => {
          produced = hw;
          const rate = hw / ((Date.now() - started) / 1000);
          progress.update(
            `produce: ${fmtInt(hw)} / ${fmtInt(options.records)} records acked (${fmtInt(rate)}/s)`,
          );
        })
        .catch(() => {})
        .finally(() => {
          polling = false;
        });
    });
    const produceResult = phaseResult(
      'produce',
      `kcat ${producerArgs.join(' ')}`,
      options,
      produceSeconds,
      cpuBefore,
      cpuSeconds(pid),
    );
    produced = await highWatermark(client, options.partitions);
    if (produced !== options.records) {
      throw new Error(`kcat exited 0 but the partition holds ${produced} records, not ${options.records}`);
    }
    progress.done(
      `produce: ${fmtInt(options.records)} records in ${produceSeconds.toFixed(2)} s: ${fmtInt(produceResult.recordsPerS)} records/s`,
    );
    const logBytes = directoryBytes(dataDir);
    const memoryAfterProduce = memoryMiB(pid);

    // Consume.
    const lineBytes = options.recordBytes + 1;
    // With groups: one balanced consumer (kcat -G) per group, all at once, each reading every
    // record from the earliest offset and stopping after the count.
    const groups = options.groups;
    const consumerArgs =
      groups === 0
        ? ['-C', '-b', bootstrap, '-t', TOPIC, ...onePartition, '-o', 'beginning', '-e']
        : ['-b', bootstrap, '-X', 'auto.offset.reset=earliest', '-G', 'GROUP', TOPIC];
    consumerArgs.push('-c', String(options.records), '-q');
    const consumers = Math.max(1, groups);
    const expectedRecords = options.records * consumers;
    let consumedBytes = 0;
    cpuBefore = cpuSeconds(pid);
    started = Date.now();
    const consumerTimes = await Promise.all(
      Array.from({ length: consumers }, (_, g) =>
        runKcat(
          consumerArgs.map((a) => (a === 'GROUP' ? `pier-bench-group-${g}` : a)),
          (chunk) => {
            consumedBytes += chunk.length;
          },
          () => {
            if (g !== 0) return;
            const consumed = Math.floor(consumedBytes / lineBytes);
            const rate = consumed / ((Date.now() - started) / 1000);
            progress.update(
              `consume: ${fmtInt(consumed)} / ${fmtInt(expectedRecords)} records (${fmtInt(rate)}/s)`,
            );
          },
        ),
      ),
    );
    const consumeSeconds = Math.max(...consumerTimes);
    const consumeResult = phaseResult(
      'consume',
      `kcat ${consumerArgs.join(' ')}${groups > 1 ? ` (× ${groups} groups)` : ''}`,
      { ...options, records: expectedRecords },
      consumeSeconds,
      cpuBefore,
      cpuSeconds(pid),
    );
    if (consumedBytes !== expectedRecords * lineBytes) {
      throw new Error(
        `kcat printed ${consumedBytes} bytes, not ${expectedRecords} records of ${lineBytes} bytes`,
      );
    }
    progress.done(
      `consume: ${fmtInt(expectedRecords)} records in ${consumeSeconds.toFixed(2)} s: ${fmtInt(consumeResult.recordsPerS)} records/s`,
    );
    const memoryAtEnd = memoryMiB(pid);

    const report = {
      machine: machineInfo(),
      loadAverageAtStart,
      fsync: options.fsync,
      dataDir: root,
      diskSequentialWriteMBPerS: diskMBPerS,
      diskTestMiB: options.diskTestMiB,
      recordBytes: options.recordBytes,
      partitions: options.partitions,
      groups: options.groups,
      logBytes,
      logMBPerSDuringProduce: logBytes / 1e6 / produceSeconds,
      phases: [produceResult, consumeResult],
      brokerMemoryMiB: { afterProduce: memoryAfterProduce, atEnd: memoryAtEnd },
      targetRecordsPerS: TARGET_RECORDS_PER_S,
      targetMet: produceResult.recordsPerS >= TARGET_RECORDS_PER_S,
    };
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      process.stdout.write(markdown(report, options));
    }
  } finally {
    await cleanup();
  }
}

function markdown(
  report: {
    machine: ReturnType<typeof machineInfo>;
    loadAverageAtStart: number;
    diskSequentialWriteMBPerS: number | null;
    logBytes: number;
    logMBPerSDuringProduce: number;
    phases: PhaseResult[];
    brokerMemoryMiB: {
      afterProduce: { rss: number; peak: number } | null;
      atEnd: { rss: number; peak: number } | null;
    };
    targetMet: boolean;
  },
  options: Options,
): string {
  const fsyncText =
    options.fsync === 'always'
      ? 'always (group commit: each acks=all answer waits for the fdatasync of its records)'
      : options.fsync;
  const disk = report.diskSequentialWriteMBPerS;
  const cpu = (p: PhaseResult) => (p.brokerCpuPct === null ? 'n/a' : `${p.brokerCpuPct.toFixed(0)} %`);
  const rows = report.phases.map(
    (p) =>
      `| ${p.phase} | ${fmtInt(p.records)} | ${p.seconds.toFixed(2)} | ${fmtInt(p.recordsPerS)} | ${p.valueMBPerS.toFixed(1)} | ${cpu(p)} |`,
  );
  const produce = report.phases[0]!;
  const mem = report.brokerMemoryMiB.atEnd;
  return [
    '',
    '## Pier Kafka benchmark (kcat)',
    '',
    `- machine: ${machineLine(report.machine)}; 1-minute load average at the start ${report.loadAverageAtStart.toFixed(2)}`,
    `- broker: pier serve, Kafka listener only, --fsync ${fsyncText}`,
    `- disk (same filesystem as the data directory, ${options.dir}): ` +
      (disk === null
        ? 'not measured'
        : `${disk.toFixed(0)} MB/s sequential write (${options.diskTestMiB} MiB in 1 MiB writes, then fdatasync)`),
    `- records: ${options.recordBytes}-byte values, ${options.partitions === 1 ? 'one partition' : `${options.partitions} partitions`}; produce: kcat -P -l <file> -X acks=all` +
      (options.producerConfig.length ? ` ${options.producerConfig.map((c) => `-X ${c}`).join(' ')}` : '') +
      (options.groups > 0
        ? `; consume: ${options.groups} consumer group(s) at once, kcat -G each, -c N; timed until the last exits`
        : '; consume: kcat -C -o beginning -c N -e; each timed from kcat start to exit') +
      (options.warmup > 0
        ? `; after an untimed warm-up of ${fmtInt(Math.min(options.warmup, options.records))} records to another topic`
        : '; cold broker (no warm-up)'),
    '',
    '| phase | records | seconds | records/s | MB/s (values) | broker CPU (% of one core) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `- log on disk after produce: ${(report.logBytes / 1e6).toFixed(1)} MB, written at ${report.logMBPerSDuringProduce.toFixed(1)} MB/s` +
      (disk === null
        ? ''
        : ` (${((report.logMBPerSDuringProduce / disk) * 100).toFixed(0)} % of the disk's sequential rate)`),
    `- broker memory: ${mem ? `RSS ${mem.rss.toFixed(0)} MiB at the end, peak ${mem.peak.toFixed(0)} MiB` : 'n/a'}`,
    `- target ≥ ${fmtInt(TARGET_RECORDS_PER_S)} records/s produced: ${report.targetMet ? 'met' : 'NOT met'} (${fmtInt(produce.recordsPerS)} records/s)`,
    '',
  ].join('\n');
}

main().catch((error) => {
  process.stderr.write(`\nkafka-bench: ${(error as Error).message}\n`);
  process.exit(1);
});
