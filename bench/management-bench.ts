// `npm run bench -- management`: the management API and Prometheus endpoints under load. Starts
// Pier as a child process (HTTP API and Prometheus listener on ephemeral ports), declares
// --queues queues and opens --connections idle AMQP connections, drives messages through
// --load-queues queues with the raw load generator (raw-load.ts), and measures:
//   1. the latency (p50/p99) of GET /api/overview, /api/queues?page=1&page_size=100, /api/queues
//      (full), /metrics and /metrics/per-object, requested one after another while the load runs
//      at --rate msgs/s;
//   2. the throughput cost of scraping: the load at full speed in alternating windows without and
//      with a scraper (GET /metrics and /metrics/per-object every --scrape-interval s), and the
//      ratio of the two.
// The requests of 1. and the scraper of 2. run in a process of their own (http-prober.ts), apart
// from the load generator, as a monitoring system would.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultPierBin } from './broker.js';
import type { ProberAnswer, ProberClient, ProberCommand } from './http-prober.js';
import { RawConnection } from './raw-client.js';
import { RawRunner } from './raw-load.js';
import { machineInfo, machineLine } from './report.js';
import { type RunConfig, RunStats, sleep } from './stats.js';

const { values } = parseArgs({
  options: {
    queues: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '1000' },
    'load-queues': { type: 'string', default: '4' },
    rate: { type: 'string', default: '50000' },
    'latency-seconds': { type: 'string', default: '40' },
    'cost-seconds': { type: 'string', default: '15' },
    'cost-rounds': { type: 'string', default: '2' },
    'scrape-interval': { type: 'string', default: '5' },
    // Scrapes (and full lists) made with the load stopped to read the broker's CPU time per answer.
    'cpu-requests': { type: 'string', default: '20' },
    // Which requests the latency phase makes (all by default): a subset shows whether the
    // small requests' tails come from the megabyte-sized ones made in the same loop.
    requests: { type: 'string', default: 'overview,page,full,metrics,per-object' },
    // How the latency phase's client reads answers (http-prober.ts): fetch, or node:http counting
    // the bytes (less of the client's own CPU in the figure).
    'prober-client': { type: 'string', default: 'fetch' },
    // Ask for gzip (Accept-Encoding: gzip, decoded by the client) in the latency and CPU phases;
    // without it every request says Accept-Encoding: identity (fetch would otherwise ask for gzip).
    'prober-gzip': { type: 'boolean', default: false },
    // The latency phase makes a round of its requests (one after another) every this many ms, as
    // dashboards and scrapers do on a timer; 0 = a closed loop (the next round as soon as one ends).
    'round-interval-ms': { type: 'string', default: '250' },

    'pier-bin': { type: 'string' },
    // A directory for the broker's CPU profile (node --cpu-prof), written when it stops.
    'broker-cpu-prof': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run bench -- management [--queues 10000] [--connections 1000] [--load-queues 4] [--rate 50000]\n' +
      '  [--latency-seconds 40] [--cost-seconds 15] [--cost-rounds 2] [--scrape-interval 5] [--pier-bin PATH]\n' +
      '  [--broker-cpu-prof DIR] [--prober-client fetch|http] [--prober-gzip]\n' +
      '  [--requests overview,page,full,metrics,per-object] [--cpu-requests 20] [--round-interval-ms 250]\n' +
      '  (--cost-rounds 0: no cost phase; --cpu-requests 0: no CPU-per-request phase)\n',
  );
  process.exit(0);
}
const QUEUES = Number(values.queues);
const CONNECTIONS = Number(values.connections);
const LOAD_QUEUES = Number(values['load-queues']);
const RATE = Number(values.rate);
const LATENCY_S = Number(values['latency-seconds']);
const COST_S = Number(values['cost-seconds']);
const COST_ROUNDS = Number(values['cost-rounds']);
const CPU_REQUESTS = Number(values['cpu-requests']);
const SCRAPE_MS = Number(values['scrape-interval']) * 1000;
const PROBER_CLIENT = values['prober-client'] as ProberClient;
if (PROBER_CLIENT !== 'fetch' && PROBER_CLIENT !== 'http')
  throw new Error(`--prober-client: '${PROBER_CLIENT}' is neither fetch nor http`);

const PROBER_GZIP = values['prober-gzip'];
const ROUND_INTERVAL_MS = Number(values['round-interval-ms']);
if (!(ROUND_INTERVAL_MS >= 0))
  throw new Error(`--round-interval-ms: '${values['round-interval-ms']}' is not a number ≥ 0`);
const ACCEPT_ENCODING = PROBER_GZIP ? 'gzip' : 'identity';

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Pier {
  amqp: string;
  http: string;
  prometheus: string;
  child: ChildProcess;
  dataDir: string;
}

async function startPier(): Promise<Pier> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pier-mgmt-bench-'));
  const child = spawn(
    process.execPath,
    [
      ...(values['broker-cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['broker-cpu-prof']] : []),
      values['pier-bin'] ?? defaultPierBin(),
      'serve',
      '--data-dir',
      dataDir,
      '--amqp-port',
      '0',
      '--kafka-port',
      'off',
      '--sqs-port',
      'off',
      '--http-port',
      '0',
      '--prometheus-port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const ports = await new Promise<Record<string, string>>((resolve, reject) => {
    const found: Record<string, string> = {};
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(/(amqp|http|prometheus) listening on ([^\s]+):(\d+)/g))
        found[m[1]!] = `127.0.0.1:${m[3]}`;
      if (found.amqp && found.http && found.prometheus) resolve(found);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`Pier exited (${code}):\n${output}`)));
  });
  return {
    amqp: `amqp://guest:guest@${ports.amqp}`,
    http: `http://${ports.http}`,
    prometheus: `http://${ports.prometheus}`,
    child,
    dataDir,
  };
}

const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

async function timedGet(url: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: AUTH, 'accept-encoding': ACCEPT_ENCODING } });
  const body = await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return { ms: performance.now() - started, bytes: body.byteLength };
}

/** The HTTP client in its own process (see http-prober.ts). */
function startProber() {
  const child = fork(new URL('./http-prober.js', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const answer = <T extends ProberAnswer['type']>(type: T) =>
    new Promise<Extract<ProberAnswer, { type: T }>>((resolve, reject) => {
      const onMessage = (message: ProberAnswer) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as Extract<ProberAnswer, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`the HTTP prober exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const command = (c: ProberCommand) => child.send(c);
  return {
    async latency(endpoints: [string, string][], seconds: number) {
      const done = answer('latency-done');
      command({
        type: 'latency',
        endpoints,
        seconds,
        authorization: AUTH,
        client: PROBER_CLIENT,
        gzip: PROBER_GZIP,
        roundIntervalMs: ROUND_INTERVAL_MS,
      });
      return done;
    },
    startScraping(urls: string[], intervalMs: number) {
      command({ type: 'scrape', urls, intervalMs, authorization: AUTH });
    },
    async stopScraping() {
      const done = answer('scrape-stopped');
      command({ type: 'stop-scrape' });
      const stopped = await done;
      if (stopped.error) throw new Error(`scraper: ${stopped.error}`);
      return stopped.scrapes;
    },
    stop: () => child.disconnect(),
  };
}

/** CPU time (user + system) the child has used, in ms, from /proc (clock ticks of 10 ms). */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The broker's CPU time per request, the load stopped: a number that the machine's other work
 * hardly moves, unlike throughput. At one scrape per interval it is the share of a core scraping
 * takes from the broker.
 */
async function cpuPerRequest(pid: number, urls: readonly string[], count: number): Promise<number> {
  for (const url of urls) await timedGet(url); // warm: caches filled, code compiled
  const before = await cpuMsOf(pid);
  for (let i = 0; i < count; i++) for (const url of urls) await timedGet(url);
  return ((await cpuMsOf(pid)) - before) / count;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function declareQueues(url: string): Promise<void> {
  const conn = await RawConnection.connect(url, 'pier-bench management setup');
  const channels = 16;
  for (let c = 1; c <= channels; c++) await conn.openChannel(c);
  let next = 0;
  await Promise.all(
    Array.from({ length: channels }, async (_, i) => {
      while (next < QUEUES) {
        const n = next++;
        await conn.declareQueue(i + 1, `bench-q-${String(n).padStart(5, '0')}`, false);
      }
    }),
  );
  await conn.close();
}

async function openIdle(url: string): Promise<RawConnection[]> {
  const conns: RawConnection[] = [];
  for (let i = 0; i < CONNECTIONS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, CONNECTIONS - i) }, async () => {
        const c = await RawConnection.connect(url, 'pier-bench idle');
        await c.openChannel(1);
        return c;
      }),
    );
    conns.push(...batch);
  }
  return conns;
}

function loadConfig(url: string, queue: string, rate: number): RunConfig {
  return {
    url,
    workload: 'transient',
    queue,
    size: 100,
    publishers: 1,
    consumers: 1,
    prefetch: 1000,
    ackEvery: 250,
    maxOutstanding: 10_000,
    confirmWindow: 5000,
    rate,
  };
}

/** Starts the load; returns the shared stats and a stop function. */
async function startLoad(url: string, totalRate: number, tag: string) {
  const stats = new RunStats();
  const runners = Array.from(
    { length: LOAD_QUEUES },
    (_, i) => new RawRunner(loadConfig(url, `bench-load-${tag}-${i}`, totalRate / LOAD_QUEUES), stats),
  );
  for (const r of runners) await r.setup();
  for (const r of runners) r.start();
  return {
    stats,
    async stop() {
      for (const r of runners) await r.stop();
      for (const r of runners) await r.teardown();
      const failed = runners.find((r) => r.error);
      if (failed) throw failed.error;
    },
  };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  log(`machine: ${machineLine(machine)}`);
  const pier = await startPier();
  try {
    let t = performance.now();
    await declareQueues(pier.amqp);
    log(`declared ${QUEUES} queues in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    const idle = await openIdle(pier.amqp);
    log(`opened ${idle.length} idle connections in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // 1. Latency of each endpoint at --rate msgs/s.
    const allEndpoints: Record<string, [string, string]> = {
      overview: ['GET /api/overview', `${pier.http}/api/overview`],
      page: ['GET /api/queues?page=1&page_size=100', `${pier.http}/api/queues?page=1&page_size=100`],
      full: ['GET /api/queues (full)', `${pier.http}/api/queues`],
      metrics: ['GET /metrics', `${pier.prometheus}/metrics`],
      'per-object': ['GET /metrics/per-object', `${pier.prometheus}/metrics/per-object`],
    };
    const endpoints = values.requests.split(',').map((key) => {
      const endpoint = allEndpoints[key];
      if (!endpoint)
        throw new Error(`--requests: '${key}' is none of ${Object.keys(allEndpoints).join(', ')}`);
      return endpoint;
    });
    const load = await startLoad(pier.amqp, RATE, 'latency');
    await sleep(2000);
    const prober = startProber();
    const consumedBefore = load.stats.consumed;
    const latencyStart = performance.now();
    const latency = await prober.latency(endpoints, LATENCY_S);
    const samples = new Map(Object.entries(latency.samplesMs));
    const sizes = new Map(Object.entries(latency.sizesBytes));
    const latencyRate = (load.stats.consumed - consumedBefore) / ((performance.now() - latencyStart) / 1000);
    await load.stop();

    // CPU per answer, the load stopped.
    const cpu: string[] = [];
    if (CPU_REQUESTS > 0) {
      const pid = pier.child.pid!;
      const scrape = await cpuPerRequest(
        pid,
        [`${pier.prometheus}/metrics`, `${pier.prometheus}/metrics/per-object`],
        CPU_REQUESTS,
      );
      const list = await cpuPerRequest(pid, [`${pier.http}/api/queues`], CPU_REQUESTS);
      cpu.push(
        `Broker CPU per answer (load stopped, ${CPU_REQUESTS} each): /metrics + /metrics/per-object ${scrape.toFixed(1)} ms` +
          ` (${((scrape / SCRAPE_MS) * 100).toFixed(2)} % of a core at one scrape per ${SCRAPE_MS / 1000} s), full /api/queues ${list.toFixed(1)} ms`,
      );
      log(cpu[0]!);
    }

    // 2. Throughput at full speed, alternating windows without and with a scraper.
    const rates = { without: [] as number[], with: [] as number[] };
    const full = COST_ROUNDS > 0 ? await startLoad(pier.amqp, 0, 'cost') : undefined;
    if (full) await sleep(2000);
    for (let round = 0; round < COST_ROUNDS; round++) {
      for (const mode of ['without', 'with'] as const) {
        if (mode === 'with')
          prober.startScraping(
            [`${pier.prometheus}/metrics`, `${pier.prometheus}/metrics/per-object`],
            SCRAPE_MS,
          );
        const before = full!.stats.consumed;
        const started = performance.now();
        await sleep(COST_S * 1000);
        rates[mode].push((full!.stats.consumed - before) / ((performance.now() - started) / 1000));
        if (mode === 'with') await prober.stopScraping();
        log(`cost round ${round + 1} ${mode} scraper: ${Math.round(rates[mode].at(-1)!)} msg/s`);
      }
    }
    await full?.stop();
    prober.stop();
    await Promise.all(idle.map((c) => c.close().catch(() => undefined)));

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const lines = [
      `Machine: ${machineLine(machine)}; ${new Date().toISOString().slice(0, 10)}`,
      `${QUEUES} queues, ${CONNECTIONS} idle connections, load ${RATE} msg/s target through ${LOAD_QUEUES} queues (measured ${Math.round(latencyRate)} msg/s consumed during the latency phase); prober client ${PROBER_CLIENT}${PROBER_GZIP ? ' with gzip' : ''}; ${ROUND_INTERVAL_MS > 0 ? `a round of requests every ${ROUND_INTERVAL_MS} ms (${latency.lateRounds} started late)` : 'rounds back to back (closed loop)'}`,
      '',
      '| Request | n | p50 ms | p99 ms | max ms | first ms | bytes |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    for (const [name] of endpoints) {
      const xs = [...samples.get(name)!].sort((a, b) => a - b);
      lines.push(
        `| ${name} | ${xs.length} | ${percentile(xs, 50).toFixed(1)} | ${percentile(xs, 99).toFixed(1)} | ${xs.at(-1)!.toFixed(1)} | ${latency.firstMs[name]!.toFixed(1)} | ${sizes.get(name)} |`,
      );
    }
    if (cpu.length > 0) lines.push('', ...cpu);
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const pairedRatios = rates.with.map((w, i) => w / rates.without[i]!);
    const without = mean(rates.without);
    const withScraper = mean(rates.with);
    if (COST_ROUNDS > 0)
      lines.push(
        '',
        `Throughput at full speed: ${Math.round(without)} msg/s without a scraper, ${Math.round(withScraper)} msg/s with /metrics + /metrics/per-object scraped every ${SCRAPE_MS / 1000} s; ratio of the means ${(withScraper / without).toFixed(3)} (cost ${((1 - withScraper / without) * 100).toFixed(1)} %), ${COST_ROUNDS} x ${COST_S} s windows each`,
        // Each round's two windows are adjacent in time, so their ratio cancels most of the
        // machine's slower drifts; the median of those ratios is the steadier figure.
        `Paired ratio per round (with ÷ without): ${pairedRatios.map((r) => r.toFixed(3)).join(', ')}; median ${median(pairedRatios).toFixed(3)} (cost ${((1 - median(pairedRatios)) * 100).toFixed(1)} %)`,
      );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    pier.child.kill('SIGTERM');
    await new Promise((resolve) => pier.child.once('exit', resolve));
    await rm(pier.dataDir, { recursive: true, force: true });
  }
}

await main();
