// `npm run bench -- --report` and `npm run bench -- --check`: the published benchmark report.
//
//   --report   runs the matrix (AMQP against Pier and a RabbitMQ node started for the run, Kafka, SQS),
//              writes bench/results/report.json and regenerates BENCHMARKS.md and its SVG charts
//   --check    runs the same selection and compares it with the stored report.json: exit 1 when a
//              figure regressed by more than the tolerance (see suite-check.ts)
//   --render   regenerates BENCHMARKS.md and the charts from the stored report.json, without running
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ChildBroker, defaultPierBin, startPier } from './broker.js';
import { stopOnInterrupt } from './interrupt.js';
import {
  freePort,
  type RabbitNode,
  rabbitCtl,
  rabbitNode,
  rabbitNodesUnavailable,
  startRabbitNode,
  stopRabbitNodes,
} from './rabbitmq-node.js';
import { machineInfo } from './report.js';
import {
  amqpMatrix,
  type BrokerTarget,
  IDLE_CONNECTIONS,
  memoryPerQueuedMessage,
  runAmqpScenario,
  type Timing,
} from './suite-amqp.js';
import { type CheckBy, checkReportText, compareReports, type FigureKind } from './suite-check.js';
import {
  type BenchReport,
  type MemoryEntry,
  mergeReports,
  parseReport,
  selected,
  toJson,
  type WorkloadEntry,
} from './suite-model.js';
import { jobsEntries, kafkaEntries, kafkaRawEntries, sqsEntries } from './suite-others.js';
import { renderReport } from './suite-render.js';

const HELP = `Usage: npm run bench -- --report [options]
       npm run bench -- --check [options]
       npm run bench -- --render

--report        run the matrix, write bench/results/report.json, regenerate BENCHMARKS.md and
                docs/benchmarks/*.svg
--check         run the same selection, compare with the stored report.json (nothing is
                overwritten; the fresh run goes to bench/results/check.json); exit 1 when a
                figure regressed by more than --tolerance
--render        regenerate BENCHMARKS.md and the charts from the stored report.json only
--merge         with --report and --only: measure only the selection and put its figures in place
                of the stored report's (the rest and its conditions stay; a note says what was
                measured again, when, and how loaded the machine was)

Selection and length:
  --only LIST          comma-separated groups (amqp, kafka, sqs, jobs, memory) or prefixes of workload
                       ids (amqp.1to1, amqp.fanout100.raw.persistent, ...); default everything
  --quick              short runs on a smaller matrix: 2 s windows (1 s warm-up), 1.5 s latency
                       windows, 16 B and 64 KiB bodies only, 100,000 Kafka records, 4 s SQS runs
  --duration S         AMQP saturation window per run (default 10; quick 2)
  --warmup S           AMQP warm-up per run (default 1)
  --latency-duration S open-loop window per latency run, AMQP and Kafka produce (default 5; quick 1.5)
  --no-rabbitmq        skip RabbitMQ (it needs root and Debian's rabbitmq-server)
  --kafka-records N    records for the Kafka runs (default 1000000; quick 100000)
  --sqs-duration S     seconds per SQS run (default 10; quick 4)

Check:
  --against PATH       the stored report (default bench/results/report.json)
  --by MODE            absolute, ratio or both (default both: a figure fails when either its own
                       value or its ratio to the same run's baseline lost more than the tolerance;
                       ratio: the ratio where there is one, the absolute value elsewhere)
  --kinds LIST         throughput, latency, memory (default throughput)
  --tolerance F        largest tolerated loss (default 0.1 = 10 %)
`;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const CHARTS_DIR = join(ROOT, 'docs', 'benchmarks');
const REPORT_PATH = join(RESULTS_DIR, 'report.json');

interface Options {
  mode: 'report' | 'check' | 'render';
  merge: boolean;
  only: string[];
  quick: boolean;
  timing: Timing;
  latencyTiming: Timing;
  rabbitmq: boolean;
  kafkaRecords: number;
  sqsDurationS: number;
  against: string;
  by: CheckBy;
  kinds: FigureKind[];
  tolerance: number;
}

function fail(message: string): never {
  process.stderr.write(`bench --report/--check: ${message}\n(see npm run bench -- --report --help)\n`);
  process.exit(2);
}

function num(value: string | undefined, def: number, flag: string): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) fail(`${flag}: expected a positive number, got "${value}"`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      report: { type: 'boolean' },
      check: { type: 'boolean' },
      render: { type: 'boolean' },
      merge: { type: 'boolean' },
      only: { type: 'string' },
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'latency-duration': { type: 'string' },
      'no-rabbitmq': { type: 'boolean' },
      'kafka-records': { type: 'string' },
      'sqs-duration': { type: 'string' },
      against: { type: 'string' },
      by: { type: 'string' },
      kinds: { type: 'string' },
      tolerance: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const modes = (['report', 'check', 'render'] as const).filter((m) => values[m]);
  if (modes.length !== 1) fail('give exactly one of --report, --check, --render');
  const quick = values.quick === true;
  if (values.merge && (modes[0] !== 'report' || !values.only))
    fail('--merge goes with --report and --only (the groups or workloads to measure again)');
  const by = (values.by ?? 'both') as CheckBy;
  if (!['absolute', 'ratio', 'both'].includes(by)) fail(`--by: absolute, ratio or both, not "${by}"`);
  const kinds = (values.kinds ?? 'throughput').split(',').map((k) => k.trim()) as FigureKind[];
  for (const k of kinds)
    if (!['throughput', 'latency', 'memory'].includes(k))
      fail(`--kinds: throughput, latency or memory, not "${k}"`);
  return {
    mode: modes[0],
    merge: values.merge === true,
    only: (values.only ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    quick,
    timing: {
      durationS: num(values.duration, quick ? 2 : 10, '--duration'),
      warmupS: num(values.warmup, 1, '--warmup'),
    },
    latencyTiming: {
      durationS: num(values['latency-duration'], quick ? 1.5 : 5, '--latency-duration'),
      warmupS: quick ? 0.3 : 0.5,
    },
    rabbitmq: values['no-rabbitmq'] !== true,
    kafkaRecords: num(values['kafka-records'], quick ? 100_000 : 1_000_000, '--kafka-records'),
    sqsDurationS: num(values['sqs-duration'], quick ? 4 : 10, '--sqs-duration'),
    against: values.against ?? REPORT_PATH,
    by,
    kinds,
    tolerance: num(values.tolerance, 0.1, '--tolerance'),
  };
}

/** Some selected workload's id starts with `prefix` (`--only kafka.raw-produce` touches `kafka.raw-`). */
function touches(only: readonly string[], prefix: string): boolean {
  return only.length === 0 || only.some((o) => o.startsWith(prefix) || prefix.startsWith(o));
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface Started {
  targets: BrokerTarget[];
  rabbitVersion: string | null;
  stop(): Promise<void>;
}

/** Sends a signal, ignoring a process that is gone (it is reported when it is next used). */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone
  }
}

async function startTargets(useRabbit: boolean, notes: string[]): Promise<Started> {
  const pier: ChildBroker = await startPier(defaultPierBin());
  const unregisterPier = stopOnInterrupt(() => pier.stop());
  log(`Pier pid ${pier.pid} at ${pier.url.replace(/:[^:@]*@/, ':***@')}`);
  const targets: BrokerTarget[] = [
    {
      name: 'Pier',
      url: pier.url,
      pid: pier.pid,
      broken: () => (pier.exited() ? `Pier exited:\n${pier.output()}` : null),
    },
  ];
  let node: RabbitNode | null = null;
  let baseDir: string | null = null;
  let rabbitVersion: string | null = null;
  let unregisterRabbit = (): void => {};
  const namePrefix = `pier-bench-report-${process.pid}`;
  if (useRabbit) {
    const unavailable = rabbitNodesUnavailable();
    if (unavailable) {
      notes.push(`RabbitMQ not run: ${unavailable}`);
      log(`RabbitMQ skipped: ${unavailable}`);
    } else {
      node = rabbitNode(`${namePrefix}@localhost`, {
        amqp: await freePort(),
        http: await freePort(),
        dist: await freePort(),
      });
      baseDir = mkdtempSync(join(tmpdir(), 'pier-bench-rabbit-'));
      const starting = node;
      const startingDir = baseDir;
      // A node suspended (SIGSTOP) while Pier is measured must be woken to be stopped.
      let rabbitPidForInterrupt: number | null = null;
      unregisterRabbit = stopOnInterrupt(async () => {
        if (rabbitPidForInterrupt !== null) signal(rabbitPidForInterrupt, 'SIGCONT');
        await stopRabbitNodes([starting], namePrefix);
        rmSync(startingDir, { recursive: true, force: true });
      });
      log(`starting RabbitMQ node ${node.name} (can take minutes on a busy machine)`);
      const t0 = Date.now();
      await startRabbitNode(node, baseDir, []);
      const pidText = await rabbitCtl(node, ['eval', 'os:getpid().']);
      const version = await rabbitCtl(node, ['eval', 'rabbit_misc:version().']);
      rabbitVersion = `RabbitMQ ${version.trim().replace(/"/g, '')}`;
      const pid = Number(pidText.trim().replace(/"/g, ''));
      log(`${rabbitVersion} up in ${((Date.now() - t0) / 1000).toFixed(0)} s, pid ${pid}`);
      const rabbit = node;
      const rabbitPid = Number.isInteger(pid) && pid > 0 ? pid : null;
      rabbitPidForInterrupt = rabbitPid;
      targets.push({
        name: 'RabbitMQ',
        url: rabbit.amqpUrl,
        pid: rabbitPid,
        broken: () => null,
        ...(rabbitPid === null
          ? {}
          : { pause: () => signal(rabbitPid, 'SIGSTOP'), resume: () => signal(rabbitPid, 'SIGCONT') }),
      });
    }
  }
  return {
    targets,
    rabbitVersion,
    stop: async () => {
      unregisterPier();
      unregisterRabbit();
      await pier.stop();
      if (node) await stopRabbitNodes([node], namePrefix);
      if (baseDir) rmSync(baseDir, { recursive: true, force: true });
    },
  };
}

async function run(options: Options): Promise<BenchReport> {
  const startedAt = new Date();
  const t0 = Date.now();
  const loadAverageStart = loadavg();
  const notes: string[] = [];
  const workloads: WorkloadEntry[] = [];
  const memory: MemoryEntry[] = [];
  const scenarios = amqpMatrix(options.quick).filter((s) => selected(options.only, s.id));
  const wantMemory = selected(options.only, 'memory.') || options.only.includes('amqp');
  let rabbitVersion: string | null = null;
  if (scenarios.length > 0 || wantMemory) {
    const started = await startTargets(options.rabbitmq, notes);
    try {
      if (wantMemory) {
        const count = options.quick ? 20_000 : 100_000;
        for (const workload of ['transient', 'persistent'] as const) {
          const entry: MemoryEntry = {
            id: `memory.queued.${workload}.100B`,
            title: `per queued ${workload} message, 100 B body (${count.toLocaleString('en-US')} queued)`,
            unit: 'bytes',
            results: {},
          };
          for (const t of started.targets) {
            try {
              entry.results[t.name] = await memoryPerQueuedMessage(t, workload, count, 100);
              log(`memory per queued ${workload} message, ${t.name}: ${entry.results[t.name]?.toFixed(0)} B`);
            } catch (err) {
              log(`memory per queued message, ${t.name}: FAILED: ${(err as Error).message}`);
              entry.results[t.name] = null;
            }
          }
          memory.push(entry);
        }
      }
      const perConnection: MemoryEntry = {
        id: 'memory.connection.idle',
        title: `per idle connection with one channel (${IDLE_CONNECTIONS.toLocaleString('en-US')} opened)`,
        unit: 'bytes',
        results: {},
      };
      for (const s of scenarios)
        workloads.push(
          await runAmqpScenario(
            s,
            started.targets,
            options.timing,
            options.latencyTiming,
            log,
            perConnection,
          ),
        );
      if (Object.keys(perConnection.results).length > 0) memory.push(perConnection);
    } finally {
      await started.stop();
    }
    rabbitVersion = started.rabbitVersion;
  }
  // Each bench below measures several workloads in one go; those not selected are dropped after.
  const others: WorkloadEntry[] = [];
  if (touches(options.only, 'kafka.produce') || touches(options.only, 'kafka.consume')) {
    log(`Kafka: kcat, ${options.kafkaRecords.toLocaleString('en-US')} records`);
    others.push(...(await kafkaEntries(options.kafkaRecords, log)));
  }
  if (touches(options.only, 'kafka.raw-')) {
    log('Kafka: raw producer and consumer (not the limit)');
    others.push(...(await kafkaRawEntries(options.kafkaRecords * 2, options.latencyTiming.durationS, log)));
  }
  if (touches(options.only, 'sqs.')) {
    log(`SQS: ${options.sqsDurationS} s runs`);
    others.push(...(await sqsEntries(options.sqsDurationS, options.quick ? 1 : 2, log)));
  }
  if (touches(options.only, 'jobs.')) {
    log('Jobs: piermq/jobs on Pier, BullMQ on redis-server');
    others.push(...(await jobsEntries(options.quick ? 5_000 : 20_000, log)));
  }
  workloads.push(...others.filter((entry) => selected(options.only, entry.id)));
  return {
    schema: 1,
    createdAt: startedAt.toISOString(),
    quick: options.quick,
    only: options.only,
    conditions: {
      machine: machineInfo(),
      loadAverageStart,
      loadAverageEnd: loadavg(),
      durationS: options.timing.durationS,
      warmupS: options.timing.warmupS,
      fsync: 'always',
      rabbitmq: rabbitVersion,
      elapsedS: (Date.now() - t0) / 1000,
      notes,
    },
    workloads,
    memory,
  };
}

/** Writes BENCHMARKS.md and the charts for a report. */
function writeRendered(report: BenchReport): void {
  const rendered = renderReport(report, { chartPath: (name) => `docs/benchmarks/${name}` });
  mkdirSync(CHARTS_DIR, { recursive: true });
  for (const svg of rendered.svgs) writeFileSync(join(CHARTS_DIR, svg.name), svg.content);
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), rendered.markdown);
  log(`wrote BENCHMARKS.md and ${rendered.svgs.length} chart(s) in docs/benchmarks/`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2).filter((a) => a !== '--'));
  if (options.mode === 'render') {
    writeRendered(parseReport(readFileSync(REPORT_PATH, 'utf8'), REPORT_PATH));
    return;
  }
  let stored: BenchReport | null = null;
  if (options.mode === 'check' || options.merge) {
    try {
      stored = parseReport(readFileSync(options.against, 'utf8'), options.against);
    } catch (err) {
      fail(`cannot read the stored report: ${(err as Error).message}`);
    }
    if (stored.quick !== options.quick && options.merge)
      fail(
        `the stored report is ${stored.quick ? '' : 'not '}a --quick run: merge a run made alike, or regenerate it all with --report`,
      );
    if (stored.quick !== options.quick)
      log(
        `note: the stored report is ${stored.quick ? '' : 'not '}a --quick run and this one is ${options.quick ? '' : 'not'}: ` +
          'absolute figures differ by design, compare with --by ratio or run alike',
      );
  }
  const report = await run(options);
  mkdirSync(RESULTS_DIR, { recursive: true });
  if (options.mode === 'report') {
    const written = stored && options.merge ? mergeReports(stored, report) : report;
    writeFileSync(REPORT_PATH, toJson(written));
    log(`wrote ${REPORT_PATH} (${(report.conditions.elapsedS / 60).toFixed(1)} min)`);
    writeRendered(written);
    process.exitCode = 0;
  } else if (stored) {
    const freshPath = join(RESULTS_DIR, 'check.json');
    writeFileSync(freshPath, toJson(report));
    const checkOptions = { tolerance: options.tolerance, kinds: options.kinds, by: options.by };
    const result = compareReports(stored, parseReport(toJson(report), freshPath), checkOptions);
    process.stdout.write(checkReportText(result, checkOptions));
    process.exitCode = result.regressions.length > 0 ? 1 : 0;
  }
  // amqplib or a stuck socket must not keep the process alive
  setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
}

main().catch((err) => {
  process.stderr.write(`bench --report/--check: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
