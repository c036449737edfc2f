// Pier AMQP 0-9-1 throughput / latency benchmark.
//
//   npm run bench -- --help
//
// Runs each workload (transient, persistent) with each client (raw, amqplib)
// on a fresh queue against a Pier broker (started as a child process by
// default) and optionally against RabbitMQ, then prints markdown tables.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AmqplibRunner } from './amqplib-load.js';
import { type ChildBroker, defaultPierBin, startPier } from './broker.js';
import { startServer } from './child-server.js';
import { RawRunner } from './raw-load.js';
import {
  comparisonTable,
  fmtInt,
  fmtMs,
  machineInfo,
  machineLine,
  type RunResult,
  resultsTable,
} from './report.js';
import {
  type ClientKind,
  type LoadRunner,
  type RunConfig,
  RunStats,
  sleep,
  type Workload,
  withTimeout,
} from './stats.js';

const DEFAULT_RABBITMQ = 'amqp://guest:guest@127.0.0.1:5672';
/** The outstanding cap is lowered for large bodies to keep at most this many bytes in flight. */
const MAX_OUTSTANDING_BYTES = 64 * 1024 * 1024;

const HELP = `Usage: npm run bench -- [options]
       node dist/bench/amqp-bench.js [options]

Measures publish rate, consume rate, end-to-end throughput and end-to-end
latency (p50/p95/p99/max) of an AMQP 0-9-1 broker. Every (target, client,
workload) combination is a separate run on a freshly declared queue that is
deleted afterwards.

Targets:
  --pier                 Start a Pier broker as a child process on a temp data
                         dir and an ephemeral port (default).
  --pier-url URL         Use an already running Pier instead (amqp://...).
  --pier-bin PATH        Pier CLI to start (default: dist/src/cli/pier.js
                         next to this script).
  --pier-cpus LIST       Pin the started Pier to these CPUs with taskset -c
                         (Linux), e.g. 1 or 2-3; consider pinning the bench
                         itself elsewhere (taskset -c 0 npm run bench ...).
  --no-pier              Do not benchmark Pier (e.g. only --rabbitmq).
  --rabbitmq [URL]       Also run everything against RabbitMQ (default URL
                         ${DEFAULT_RABBITMQ}) and print a side-by-side
                         table with Pier/RabbitMQ ratios.
  --stub                 Also run everything against a stub server that only
                         acknowledges (amqp-stub-server.ts: confirms each
                         publish at once, passes each message straight to a
                         consumer, stores nothing), started as a child process:
                         the client's own ceiling. With Pier alone beside it,
                         the table of ratios says what share of that ceiling
                         the client reaches against Pier.

Load:
  --client LIST          raw, amqplib or raw,amqplib (default: raw,amqplib).
                         raw: the bench's own minimal AMQP client: pre-encoded
                         frames written in large batches, multiple=true acks,
                         one connection per publisher/consumer, so the client
                         is not the bottleneck. amqplib: ordinary
                         channel.sendToQueue / ConfirmChannel / consume.
  --workload LIST        transient, persistent or both (default: both).
                         transient: non-durable queue, delivery-mode 1, no
                         confirms. persistent: durable queue, delivery-mode 2,
                         publisher confirms with a bounded window.
  --size BYTES           Message body size, >= 8 (default 100).
  --duration SECONDS     Measurement window per run (default 10).
  --warmup SECONDS       Load before the window opens, not measured (default 1).
  --publishers N         Publisher connections (default 1).
  --consumers N          Consumer connections (default 1).
  --prefetch N           basic.qos prefetch per consumer (default 1000).
  --ack-every N          Ack with multiple=true every N deliveries
                         (default prefetch/4, at most prefetch).
  --rate N               Target publish rate in msgs/s summed over all
                         publishers (default 0 = as fast as the caps allow).
                         Use it to measure latency at a fixed load below
                         saturation; at saturation latency is roughly
                         max-outstanding / throughput.
  --open-loop            With --rate: send on an open-loop schedule, as the
                         report's latency runs do: message k is due at
                         start + k / rate and its latency counts from then,
                         so a stall delays (and shows in) every message
                         behind it instead of being skipped.
  --max-outstanding N    Cap on published-but-not-yet-consumed messages across
                         all publishers, so latency is not just queue build-up
                         (default 10000, lowered for big bodies so at most
                         64 MiB are in flight; 0 = unlimited).
  --confirm-window N     Max unconfirmed publishes per publisher in the
                         persistent workload (default 5000 raw, 1000 amqplib).

Output:
  --json                 Print results as JSON on stdout (progress stays on
                         stderr).
  --quiet                No progress display.
  -h, --help             Show this help.

Example:
  npm run bench -- --duration 5 --rabbitmq
  npm run bench -- --no-pier --rabbitmq amqp://guest:guest@127.0.0.1:5672 --client raw
`;

interface Options {
  clients: ClientKind[];
  workloads: Workload[];
  size: number;
  duration: number;
  warmup: number;
  publishers: number;
  consumers: number;
  prefetch: number;
  ackEvery: number;
  maxOutstanding: number;
  confirmWindow: number | null;
  rate: number;
  openLoop: boolean;
  pier: boolean;
  pierUrl: string | null;
  pierBin: string;
  pierCpus: string | null;
  rabbitmq: string | null;
  stub: boolean;
  json: boolean;
  quiet: boolean;
}

function fail(msg: string): never {
  process.stderr.write(`amqp-bench: ${msg}\n(see --help)\n`);
  process.exit(2);
}

function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 1 && items[0] === 'all') return [...allowed];
  for (const item of items) {
    if (!allowed.includes(item as T))
      fail(`${flag}: unknown value "${item}" (expected ${allowed.join(', ')})`);
  }
  if (items.length === 0) fail(`${flag}: empty list`);
  return [...new Set(items)] as T[];
}

function parseNum(flag: string, value: string | undefined, def: number, min: number, integer = true): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    fail(`${flag}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got "${value}"`);
  }
  return n;
}

function parseOptions(argv: string[]): Options {
  // `--rabbitmq` may be given without a URL
  const args = [...argv];
  const ri = args.indexOf('--rabbitmq');
  if (ri >= 0 && (ri === args.length - 1 || args[ri + 1].startsWith('-'))) {
    args.splice(ri + 1, 0, DEFAULT_RABBITMQ);
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        client: { type: 'string' },
        workload: { type: 'string' },
        size: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        publishers: { type: 'string' },
        consumers: { type: 'string' },
        prefetch: { type: 'string' },
        'ack-every': { type: 'string' },
        'max-outstanding': { type: 'string' },
        'confirm-window': { type: 'string' },
        rate: { type: 'string' },
        'open-loop': { type: 'boolean' },
        pier: { type: 'boolean' },
        'no-pier': { type: 'boolean' },
        'pier-url': { type: 'string' },
        'pier-bin': { type: 'string' },
        'pier-cpus': { type: 'string' },
        rabbitmq: { type: 'string' },
        stub: { type: 'boolean' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const prefetch = parseNum('--prefetch', str('prefetch'), 1000, 0);
  if (prefetch > 65535) fail('--prefetch: at most 65535');
  const defaultAck = prefetch === 0 ? 250 : Math.max(1, Math.floor(prefetch / 4));
  let ackEvery = parseNum('--ack-every', str('ack-every'), defaultAck, 1);
  if (prefetch > 0) ackEvery = Math.min(ackEvery, prefetch);
  const size = parseNum('--size', str('size'), 100, 8);
  const pier = values['no-pier'] !== true;
  const opts: Options = {
    clients: parseList('--client', str('client') ?? 'raw,amqplib', ['raw', 'amqplib'] as const),
    workloads: parseList('--workload', str('workload') ?? 'transient,persistent', [
      'transient',
      'persistent',
    ] as const),
    size,
    duration: parseNum('--duration', str('duration'), 10, 0.1, false),
    warmup: parseNum('--warmup', str('warmup'), 1, 0, false),
    publishers: parseNum('--publishers', str('publishers'), 1, 1),
    consumers: parseNum('--consumers', str('consumers'), 1, 1),
    prefetch,
    ackEvery,
    maxOutstanding: parseNum('--max-outstanding', str('max-outstanding'), 10_000, 0),
    confirmWindow:
      str('confirm-window') === undefined ? null : parseNum('--confirm-window', str('confirm-window'), 0, 1),
    rate: parseNum('--rate', str('rate'), 0, 0, false),
    openLoop: values['open-loop'] === true,
    pier,
    pierUrl: str('pier-url') ?? null,
    pierBin: str('pier-bin') ?? defaultPierBin(),
    pierCpus: str('pier-cpus') ?? null,
    rabbitmq: str('rabbitmq') ?? null,
    stub: values.stub === true,
    json: values.json === true,
    quiet: values.quiet === true,
  };
  for (const u of [opts.pierUrl, opts.rabbitmq]) {
    if (u !== null && !/^amqp:\/\//.test(u)) fail(`expected an amqp:// URL, got "${u}"`);
  }
  if (!opts.pier && !opts.rabbitmq && !opts.stub)
    fail('nothing to benchmark: --no-pier without --rabbitmq or --stub');
  if (opts.openLoop && opts.rate <= 0) fail('--open-loop needs --rate N (the schedule to keep)');
  return opts;
}

/** Hide the password in URLs we print. */
function redact(url: string): string {
  return url.replace(/(amqp:\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** CPU time (utime + stime) of a process in ms, from /proc (Linux only). */
function procCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (clock ticks, almost always 100/s)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

class Progress {
  private readonly tty: boolean;
  private lastLen = 0;
  constructor(private readonly enabled: boolean) {
    this.tty = process.stderr.isTTY === true;
  }
  get interval(): number {
    return this.tty ? 250 : 2000;
  }
  update(line: string): void {
    if (!this.enabled) return;
    if (this.tty) {
      const cols = process.stderr.columns || 120;
      const text = line.length > cols - 1 ? line.slice(0, cols - 1) : line;
      process.stderr.write(`\r${text}${' '.repeat(Math.max(0, this.lastLen - text.length))}`);
      this.lastLen = text.length;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }
  log(line: string): void {
    if (!this.enabled) return;
    this.clear();
    process.stderr.write(`${line}\n`);
  }
  clear(): void {
    if (this.tty && this.lastLen > 0) {
      process.stderr.write(`\r${' '.repeat(this.lastLen)}\r`);
      this.lastLen = 0;
    }
  }
}

let interrupted = false;

interface Target {
  name: string;
  url: string;
  broker: ChildBroker | null;
}

async function runOne(
  opts: Options,
  target: Target,
  client: ClientKind,
  workload: Workload,
  progress: Progress,
): Promise<RunResult> {
  const confirmWindow = opts.confirmWindow ?? (client === 'raw' ? 5000 : 1000);
  // Also bound the in-flight bytes so big messages do not turn into GBs of queue.
  const maxOutstanding =
    opts.maxOutstanding === 0
      ? 0
      : Math.max(16, Math.min(opts.maxOutstanding, Math.floor(MAX_OUTSTANDING_BYTES / opts.size)));
  const cfg: RunConfig = {
    url: target.url,
    workload,
    queue: `pier-bench-${workload}-${client}-${process.pid}-${Date.now().toString(36)}`,
    size: opts.size,
    publishers: opts.publishers,
    consumers: opts.consumers,
    prefetch: opts.prefetch,
    ackEvery: opts.ackEvery,
    maxOutstanding,
    confirmWindow,
    rate: opts.rate,
    openLoop: opts.openLoop && opts.rate > 0,
  };
  const stats = new RunStats();
  const runner: LoadRunner = client === 'raw' ? new RawRunner(cfg, stats) : new AmqplibRunner(cfg, stats);
  const label = `${target.name} ${client}/${workload}`;
  const result: RunResult = {
    target: target.name,
    client,
    workload,
    seconds: 0,
    published: 0,
    consumed: 0,
    confirmed: 0,
    nacked: 0,
    endToEnd: 0,
    publishRate: 0,
    consumeRate: 0,
    confirmRate: 0,
    endToEndRate: 0,
    latencyMs: { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN },
    maxOutstanding: 0,
    outstandingCap: maxOutstanding,
    confirmWindow: workload === 'persistent' ? confirmWindow : null,
    clientCpuPct: 0,
    brokerCpuPct: null,
    error: null,
  };
  const broken = (): string | null => {
    if (runner.error) return runner.error.message;
    if (target.broker?.exited()) return `broker exited:\n${target.broker.output()}`;
    if (interrupted) return 'interrupted';
    return null;
  };

  try {
    await runner.setup();
    runner.start();
    const t0 = Date.now();
    const total = opts.warmup + opts.duration;
    let windowStart = 0;
    let snap = { published: 0, consumed: 0, confirmed: 0, nacked: 0, cpu: process.cpuUsage(), brokerCpu: 0 };
    let last = { t: t0, published: 0, consumed: 0, confirmed: 0 };
    let opened = false;
    while (true) {
      const err = broken();
      if (err) throw new Error(err);
      const now = Date.now();
      const elapsed = (now - t0) / 1000;
      if (!opened && elapsed >= opts.warmup) {
        opened = true;
        stats.openWindow();
        windowStart = performance.now();
        snap = {
          published: stats.published,
          consumed: stats.consumed,
          confirmed: stats.confirmed,
          nacked: stats.nacked,
          cpu: process.cpuUsage(),
          brokerCpu: target.broker ? (procCpuMs(target.broker.pid) ?? 0) : 0,
        };
      }
      if (elapsed >= total) break;
      const dt = (now - last.t) / 1000;
      if (dt >= 0.2) {
        const pub = (stats.published - last.published) / dt;
        const con = (stats.consumed - last.consumed) / dt;
        const conf = (stats.confirmed - last.confirmed) / dt;
        const p99 = stats.tickLatency.percentileUs(99) / 1000;
        stats.tickLatency.reset();
        const phase = opened ? `${(elapsed - opts.warmup).toFixed(1)}/${opts.duration}s` : 'warmup';
        progress.update(
          `[${label}] ${phase}  pub ${fmtInt(pub)}/s  cons ${fmtInt(con)}/s` +
            (workload === 'persistent' ? `  conf ${fmtInt(conf)}/s` : '') +
            `  outstanding ${fmtInt(stats.outstanding)}  p99 ${fmtMs(p99)} ms${stats.blocked ? '  BLOCKED' : ''}`,
        );
        last = { t: now, published: stats.published, consumed: stats.consumed, confirmed: stats.confirmed };
      }
      const untilNext = opened ? total - elapsed : opts.warmup - elapsed;
      await sleep(Math.max(1, Math.min(progress.interval, untilNext * 1000)));
    }
    stats.windowOpen = false;
    const seconds = (performance.now() - windowStart) / 1000;
    const cpu = process.cpuUsage(snap.cpu);
    result.seconds = seconds;
    result.published = stats.published - snap.published;
    result.consumed = stats.consumed - snap.consumed;
    result.confirmed = stats.confirmed - snap.confirmed;
    result.nacked = stats.nacked - snap.nacked;
    result.endToEnd = stats.e2e;
    result.publishRate = result.published / seconds;
    result.consumeRate = result.consumed / seconds;
    result.confirmRate = result.confirmed / seconds;
    result.endToEndRate = result.endToEnd / seconds;
    const h = stats.latency;
    result.latencyMs = {
      p50: h.percentileUs(50) / 1000,
      p95: h.percentileUs(95) / 1000,
      p99: h.percentileUs(99) / 1000,
      max: h.count ? h.maxUs / 1000 : Number.NaN,
      mean: h.count ? h.sumUs / h.count / 1000 : Number.NaN,
    };
    result.maxOutstanding = stats.maxOutstanding;
    result.clientCpuPct = ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100;
    if (target.broker) {
      const b = procCpuMs(target.broker.pid);
      if (b !== null) result.brokerCpuPct = ((b - snap.brokerCpu) / (seconds * 1000)) * 100;
    }
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    await runner.stop().catch(() => undefined);
    progress.update(`[${label}] cleaning up`);
    await withTimeout(
      runner.teardown().catch(() => undefined),
      20_000,
    );
  }
  progress.clear();
  if (result.error) {
    progress.log(`[${label}] FAILED: ${result.error}`);
  } else {
    progress.log(
      `[${label}] pub ${fmtInt(result.publishRate)}/s  cons ${fmtInt(result.consumeRate)}/s  ` +
        `e2e ${fmtInt(result.endToEndRate)}/s  p50 ${fmtMs(result.latencyMs.p50)}  p95 ${fmtMs(result.latencyMs.p95)}  ` +
        `p99 ${fmtMs(result.latencyMs.p99)}  max ${fmtMs(result.latencyMs.max)} ms  ` +
        `(client CPU ${result.clientCpuPct.toFixed(0)}%` +
        (result.brokerCpuPct !== null ? `, broker CPU ${result.brokerCpuPct.toFixed(0)}%)` : ')'),
    );
  }
  return result;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const progress = new Progress(!opts.quiet);
  const machine = machineInfo();
  const results: RunResult[] = [];
  const children: Array<{ stop(): Promise<void> }> = [];

  let sigints = 0;
  const onSignal = (): void => {
    interrupted = true;
    if (++sigints > 1) {
      for (const c of children) void c.stop();
      process.exit(130);
    }
    process.stderr.write('\ninterrupted, cleaning up (press Ctrl-C again to force)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const targets: Array<() => Promise<Target>> = [];
  if (opts.pier) {
    targets.push(async () => {
      if (opts.pierUrl) return { name: 'Pier', url: opts.pierUrl, broker: null };
      progress.log(`starting Pier: ${opts.pierBin}`);
      const broker = await startPier(opts.pierBin, opts.pierCpus);
      children.push(broker);
      progress.log(`Pier pid ${broker.pid} listening at ${redact(broker.url)} (data dir ${broker.dataDir})`);
      return { name: 'Pier', url: broker.url, broker };
    });
  }
  if (opts.rabbitmq) {
    const url = opts.rabbitmq;
    targets.push(async () => ({ name: 'RabbitMQ', url, broker: null }));
  }
  if (opts.stub) {
    targets.push(async () => {
      const stub = await startServer(
        [fileURLToPath(new URL('./amqp-stub-server.js', import.meta.url))],
        'amqp-stub',
        null,
      );
      children.push(stub);
      progress.log(`stub pid ${stub.child.pid} listening at ${stub.host}:${stub.port}`);
      return { name: 'stub', url: `amqp://guest:guest@${stub.host}:${stub.port}`, broker: null };
    });
  }

  progress.log(`machine: ${machineLine(machine)}`);
  let exitCode = 0;
  try {
    for (const makeTarget of targets) {
      if (interrupted) break;
      const target = await makeTarget();
      try {
        for (const client of opts.clients) {
          for (const workload of opts.workloads) {
            if (interrupted) break;
            const r = await runOne(opts, target, client, workload, progress);
            results.push(r);
            if (r.error) exitCode = 1;
            await sleep(500);
          }
        }
      } finally {
        if (target.broker) {
          progress.log('stopping Pier');
          await target.broker.stop();
        }
      }
    }
  } catch (err) {
    progress.clear();
    process.stderr.write(`amqp-bench: ${(err as Error).message}\n`);
    exitCode = 1;
  } finally {
    for (const c of children) await c.stop().catch(() => undefined);
  }

  const settings = {
    size: opts.size,
    durationS: opts.duration,
    warmupS: opts.warmup,
    publishers: opts.publishers,
    consumers: opts.consumers,
    prefetch: opts.prefetch,
    ackEvery: opts.ackEvery,
    maxOutstanding: opts.maxOutstanding,
    confirmWindow: opts.confirmWindow ?? { raw: 5000, amqplib: 1000 },
    rate: opts.rate,
  };
  if (opts.json) {
    const targetsOut: Record<string, string> = {};
    if (opts.pier) targetsOut.Pier = opts.pierUrl ? redact(opts.pierUrl) : 'child process';
    if (opts.rabbitmq) targetsOut.RabbitMQ = redact(opts.rabbitmq);
    if (opts.stub) targetsOut.stub = 'child process (amqp-stub-server.js)';
    const clean = (n: number): number | null => (Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null);
    process.stdout.write(
      `${JSON.stringify(
        { machine, settings, targets: targetsOut, results },
        (_k, v) => (typeof v === 'number' ? clean(v) : v),
        2,
      )}\n`,
    );
  } else if (results.length > 0) {
    const cw =
      opts.confirmWindow !== null
        ? String(opts.confirmWindow)
        : '5,000 (raw) / 1,000 (amqplib) per publisher';
    const out = [
      '',
      `Machine: ${machineLine(machine)}`,
      `Settings: ${opts.size} B bodies, ${opts.duration} s window (+${opts.warmup} s warmup) per run, ` +
        `${opts.publishers} publisher(s), ${opts.consumers} consumer(s), prefetch ${opts.prefetch}, ` +
        `ack every ${opts.ackEvery} (multiple), max outstanding ${opts.maxOutstanding === 0 ? 'unlimited' : fmtInt(opts.maxOutstanding)}, ` +
        `confirm window ${cw}, publish rate ${opts.rate > 0 ? `${fmtInt(opts.rate)} msg/s` : 'unlimited'}`,
      '',
      resultsTable(results),
      '',
    ];
    const names = [...new Set(results.map((r) => r.target))];
    if (names.length === 2) {
      out.push(
        `${names[0]} vs ${names[1]} (ratio > 1 means ${names[0]} is higher: better for msg/s, worse for latency):`,
        '',
        comparisonTable(names[0], names[1], results),
        '',
      );
    }
    const errors = results.filter((r) => r.error);
    for (const r of errors) out.push(`${r.target} ${r.client}/${r.workload} failed: ${r.error}`);
    process.stdout.write(`${out.join('\n')}\n`);
  }
  process.exitCode = exitCode;
  // amqplib or a stuck socket must not keep the process alive
  setTimeout(() => process.exit(exitCode), 1000).unref();
}

main().catch((err) => {
  process.stderr.write(`amqp-bench: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
