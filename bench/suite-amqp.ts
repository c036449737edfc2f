// The report's AMQP matrix: the workloads users run, each measured at saturation and then open-loop
// at fractions of that rate, against every target (Pier and RabbitMQ) in turn. Uses the bench's own
// load generator (raw-load.ts) and amqplib (amqplib-load.ts).
import { readFileSync } from 'node:fs';
import { AmqplibRunner } from './amqplib-load.js';
import { loadRates } from './open-loop.js';
import { RawConnection } from './raw-client.js';
import { RawRunner } from './raw-load.js';
import {
  type ClientKind,
  type LoadRunner,
  type RunConfig,
  RunStats,
  sleep,
  type Workload,
  withTimeout,
} from './stats.js';
import type { LatencyAtLoad, MemoryEntry, TargetFigures, WorkloadEntry } from './suite-model.js';

type Amqplib = typeof import('amqplib');

async function loadAmqplib(): Promise<Amqplib> {
  const mod = (await import('amqplib')) as Amqplib & { default?: Amqplib };
  return mod.default ?? mod;
}

/** A broker the matrix runs against. */
export interface BrokerTarget {
  name: string;
  url: string;
  /** The broker's process, for RSS and CPU from /proc; null when unknown. */
  pid: number | null;
  /** Why the broker cannot be used any more (it exited), or null. */
  broken(): string | null;
  /**
   * Stops and restarts the broker's process while another target is measured (SIGSTOP/SIGCONT):
   * an idle RabbitMQ node beside Pier cost Pier ~20 % on 64 KiB messages, an idle Pier costs
   * RabbitMQ nothing. Absent: left running.
   */
  pause?(): void;
  resume?(): void;
}

export type Shape = '1to1' | '10to10' | '100queues' | 'fanout100' | 'idle1000';

export interface AmqpScenario {
  id: string;
  title: string;
  shape: Shape;
  client: ClientKind;
  workload: Workload;
  size: number;
}

const SHAPE_TITLES: Record<Shape, string> = {
  '1to1': '1 → 1',
  '10to10': '10 → 10, one queue',
  '100queues': '100 queues, 1 → 1 each',
  fanout100: 'fan-out 1 → 100 queues',
  idle1000: '1,000 idle + 10 busy conns',
};

function sizeLabel(size: number): string {
  if (size >= 1024 * 1024) return `${size / 1024 / 1024} MiB`;
  if (size >= 1024) return `${size / 1024} KiB`;
  return `${size} B`;
}

function scenario(shape: Shape, client: ClientKind, workload: Workload, size: number): AmqpScenario {
  return {
    id: `amqp.${shape}.${client}.${workload}.${sizeLabel(size).replace(' ', '')}`,
    title: `${SHAPE_TITLES[shape]}, ${client}, ${workload}, ${sizeLabel(size)}`,
    shape,
    client,
    workload,
    size,
  };
}

export const BODY_SIZES = [16, 1024, 64 * 1024, 1024 * 1024];
const WORKLOADS: Workload[] = ['transient', 'persistent'];

/**
 * The issue's matrix. Body sizes vary on 1 → 1 with the bench's own generator; the other shapes use
 * 1 KiB bodies; amqplib runs the single-queue shapes as an application would.
 * `quick` keeps one size per shape and the own generator only, except one amqplib pair.
 */
export function amqpMatrix(quick: boolean): AmqpScenario[] {
  const out: AmqpScenario[] = [];
  const sizes = quick ? [16, 64 * 1024] : BODY_SIZES;
  for (const w of WORKLOADS) for (const size of sizes) out.push(scenario('1to1', 'raw', w, size));
  for (const w of WORKLOADS) out.push(scenario('1to1', 'amqplib', w, 1024));
  for (const shape of ['10to10', '100queues', 'fanout100', 'idle1000'] as const)
    for (const w of WORKLOADS) out.push(scenario(shape, 'raw', w, 1024));
  if (!quick) for (const w of WORKLOADS) out.push(scenario('10to10', 'amqplib', w, 1024));
  return out;
}

// ---------------------------------------------------------------------------------------------

/** Resident memory of a process in bytes, from /proc (Linux); null elsewhere. */
export function rssBytes(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system) of a process in ms, from /proc (Linux); null elsewhere. */
function cpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** At most this many bytes published and not yet consumed, over all lanes of a run. */
const MAX_OUTSTANDING_BYTES = 64 * 1024 * 1024;
const MAX_OUTSTANDING_MSGS = 10_000;

interface Lane {
  runner: LoadRunner;
  stats: RunStats;
}

interface Measured {
  /**
   * Deliveries per second in the window. Publishers are held to a bounded backlog, so at
   * saturation this is the sustained end-to-end rate; it is used rather than "published and
   * consumed inside the window" because at saturation a message waits about backlog / rate, which
   * can exceed a short window.
   */
  rate: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  brokerCpuPct: number | null;
}

export interface Timing {
  warmupS: number;
  durationS: number;
}

let runCounter = 0;

/** Builds the lanes of one run. `publishRate` is per whole run (0: as fast as the caps allow). */
async function buildLanes(
  s: AmqpScenario,
  target: BrokerTarget,
  publishRate: number,
  cleanups: Array<() => Promise<void>>,
): Promise<Lane[]> {
  const tag = `pier-report-${process.pid}-${++runCounter}`;
  const base = (queue: string, lanes: number, extra: Partial<RunConfig> = {}): RunConfig => ({
    url: target.url,
    workload: s.workload,
    queue,
    size: s.size,
    publishers: 1,
    consumers: 1,
    prefetch: 1000,
    ackEvery: 250,
    maxOutstanding: Math.max(
      16,
      Math.floor(Math.min(MAX_OUTSTANDING_MSGS, MAX_OUTSTANDING_BYTES / s.size) / lanes),
    ),
    confirmWindow: s.client === 'raw' ? 5000 : 1000,
    rate: publishRate / lanes,
    openLoop: publishRate > 0,
    ...extra,
  });
  const newRunner = (cfg: RunConfig, stats: RunStats): LoadRunner =>
    s.client === 'raw' ? new RawRunner(cfg, stats) : new AmqplibRunner(cfg, stats);
  switch (s.shape) {
    case '1to1': {
      const stats = new RunStats();
      return [{ runner: newRunner(base(tag, 1), stats), stats }];
    }
    case '10to10': {
      const stats = new RunStats();
      const cfg = base(tag, 1, { publishers: 10, consumers: 10, rate: publishRate });
      return [{ runner: newRunner(cfg, stats), stats }];
    }
    case 'idle1000': {
      // 10 busy connections: 5 publishers and 5 consumers on one queue
      const stats = new RunStats();
      const cfg = base(tag, 1, { publishers: 5, consumers: 5, rate: publishRate });
      return [{ runner: newRunner(cfg, stats), stats }];
    }
    case '100queues': {
      const lanes: Lane[] = [];
      for (let i = 0; i < 100; i++) {
        const stats = new RunStats();
        lanes.push({ runner: newRunner(base(`${tag}-${i}`, 100), stats), stats });
      }
      return lanes;
    }
    case 'fanout100': {
      const amqp = await loadAmqplib();
      const conn = await amqp.connect(target.url);
      conn.on('error', () => undefined);
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      const durable = s.workload === 'persistent';
      const exchange = `${tag}-fanout`;
      const queues = Array.from({ length: 100 }, (_, i) => `${tag}-${i}`);
      await ch.assertExchange(exchange, 'fanout', { durable, autoDelete: false });
      for (const q of queues) {
        await ch.assertQueue(q, { durable, autoDelete: false });
        await ch.bindQueue(q, exchange, '');
      }
      cleanups.push(async () => {
        for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
        await ch.deleteExchange(exchange).catch(() => undefined);
        await withTimeout(
          conn.close().catch(() => undefined),
          3000,
        );
      });
      const stats = new RunStats();
      stats.copiesPerPublish = queues.length;
      const cfg = base(queues[0], 1, {
        exchange,
        consumeQueues: queues,
        consumers: queues.length,
        topologyDeclared: true,
        // the cap counts deliveries: 100 per publish
        maxOutstanding: Math.max(200, Math.floor(Math.min(100_000, (4 * MAX_OUTSTANDING_BYTES) / s.size))),
      });
      return [{ runner: new RawRunner(cfg, stats), stats }];
    }
  }
}

/** Deliveries per publish in a scenario: the open-loop publish rate is the delivery rate / this. */
function copies(s: AmqpScenario): number {
  return s.shape === 'fanout100' ? 100 : 1;
}

/** One run: set up, warm up, measure a window, tear down. Throws when a connection or the broker failed. */
async function runOnce(
  s: AmqpScenario,
  target: BrokerTarget,
  publishRate: number,
  timing: Timing,
  log: (line: string) => void,
): Promise<Measured> {
  const cleanups: Array<() => Promise<void>> = [];
  let lanes: Lane[] = [];
  const broken = (): string | null =>
    target.broken() ?? lanes.find((l) => l.runner.error)?.runner.error?.message ?? null;
  try {
    lanes = await buildLanes(s, target, publishRate, cleanups);
    for (const l of lanes) await l.runner.setup();
    for (const l of lanes) l.runner.start();
    const waitChecking = async (seconds: number): Promise<void> => {
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        const err = broken();
        if (err) throw new Error(err);
        await sleep(Math.min(200, Math.max(1, end - performance.now())));
      }
    };
    await waitChecking(timing.warmupS);
    for (const l of lanes) l.stats.openWindow();
    const consumed0 = lanes.reduce((sum, l) => sum + l.stats.consumed, 0);
    const cpu0 = cpuMs(target.pid);
    const t0 = performance.now();
    await waitChecking(timing.durationS);
    for (const l of lanes) l.stats.windowOpen = false;
    const seconds = (performance.now() - t0) / 1000;
    const consumed = lanes.reduce((sum, l) => sum + l.stats.consumed, 0) - consumed0;
    const cpu1 = cpuMs(target.pid);
    if (consumed === 0) throw new Error(`nothing was delivered in the ${timing.durationS} s window`);
    const merged = new RunStats().latency;
    for (const l of lanes) merged.mergeFrom(l.stats.latency);
    const ms = (p: number): number | null => (merged.count > 0 ? merged.percentileUs(p) / 1000 : null);
    const result: Measured = {
      rate: consumed / seconds,
      p50Ms: ms(50),
      p90Ms: ms(90),
      p99Ms: ms(99),
      maxMs: merged.count > 0 ? merged.maxUs / 1000 : null,
      brokerCpuPct: cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) / (seconds * 1000)) * 100 : null,
    };
    const fmt = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(2));
    log(
      `  ${target.name.padEnd(8)} ${publishRate > 0 ? `open loop ${Math.round(publishRate * copies(s))}/s` : 'saturation'}: ` +
        `${Math.round(result.rate)} msgs/s, p50 ${fmt(result.p50Ms)} p99 ${fmt(result.p99Ms)} ms` +
        (result.brokerCpuPct !== null ? `, broker CPU ${result.brokerCpuPct.toFixed(0)} %` : ''),
    );
    return result;
  } finally {
    for (const l of lanes) await l.runner.stop().catch(() => undefined);
    await Promise.all(
      lanes.map((l) =>
        withTimeout(
          l.runner.teardown().catch(() => undefined),
          20_000,
        ),
      ),
    );
    for (const c of cleanups) await withTimeout(c(), 20_000);
  }
}

/** Opens `count` idle AMQP connections with one channel each; returns a closer. */
async function openIdleConnections(url: string, count: number): Promise<() => Promise<void>> {
  const conns: RawConnection[] = [];
  const close = async (): Promise<void> => {
    for (let i = 0; i < conns.length; i += 100)
      await Promise.all(conns.slice(i, i + 100).map((c) => c.close().catch(() => undefined)));
  };
  try {
    // small batches: RabbitMQ on a busy machine times handshakes out when 50 arrive at once
    for (let i = 0; i < count; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, count - i) }, (_, j) =>
          RawConnection.connect(url, `pier-report idle ${i + j}`),
        ),
      );
      conns.push(...batch);
      await Promise.all(batch.map((c) => c.openChannel(1)));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return close;
}

/** Settles the broker and reads its RSS: a few samples 300 ms apart, the lowest (after GC has had a chance). */
async function settledRss(pid: number | null): Promise<number | null> {
  let best: number | null = null;
  for (let i = 0; i < 4; i++) {
    await sleep(300);
    const r = rssBytes(pid);
    if (r !== null && (best === null || r < best)) best = r;
  }
  return best;
}

export const IDLE_CONNECTIONS = 1000;

/** Runs one scenario against every target: saturation, then the latency runs. */
export async function runAmqpScenario(
  s: AmqpScenario,
  targets: BrokerTarget[],
  timing: Timing,
  latencyTiming: Timing,
  log: (line: string) => void,
  memory: MemoryEntry,
): Promise<WorkloadEntry> {
  log(`${s.title}`);
  const results: Record<string, TargetFigures> = {};
  for (const target of targets) {
    let closeIdle: (() => Promise<void>) | null = null;
    const figures: TargetFigures = { rate: null, latency: [] };
    results[target.name] = figures;
    const others = targets.filter((t) => t !== target);
    for (const other of others) other.pause?.();
    try {
      if (s.shape === 'idle1000') {
        const before = await settledRss(target.pid);
        closeIdle = await openIdleConnections(target.url, IDLE_CONNECTIONS);
        const after = await settledRss(target.pid);
        if (before !== null && after !== null && memory.results[target.name] === undefined)
          memory.results[target.name] = (after - before) / IDLE_CONNECTIONS;
      }
      const sat = await runOnce(s, target, 0, timing, log);
      figures.rate = sat.rate;
      figures.p50Ms = sat.p50Ms;
      figures.p99Ms = sat.p99Ms;
      figures.brokerCpuPct = sat.brokerCpuPct;
      const latency: LatencyAtLoad[] = [];
      for (const { fraction, rate } of loadRates(sat.rate)) {
        const m = await runOnce(s, target, rate / copies(s), latencyTiming, log);
        latency.push({
          fraction,
          targetRate: rate,
          achievedRate: m.rate,
          p50Ms: m.p50Ms,
          p90Ms: m.p90Ms,
          p99Ms: m.p99Ms,
          maxMs: m.maxMs,
        });
      }
      figures.latency = latency;
    } catch (err) {
      figures.error = (err as Error).message;
      log(`  ${target.name}: FAILED: ${figures.error.split('\n')[0]}`);
    } finally {
      if (closeIdle) await closeIdle();
      for (const other of others) other.resume?.();
    }
    await sleep(300);
  }
  return {
    id: s.id,
    group: 'amqp',
    title: s.title,
    unit: s.shape === 'fanout100' ? 'deliveries/s' : 'msgs/s',
    baseline: targets.some((t) => t.name === 'RabbitMQ') ? 'RabbitMQ' : null,
    results,
  };
}

/**
 * Memory per queued message: publish `count` messages of `size` bytes with confirms to a queue
 * without consumers and divide the broker's RSS growth by the count.
 */
export async function memoryPerQueuedMessage(
  target: BrokerTarget,
  workload: Workload,
  count: number,
  size: number,
): Promise<number | null> {
  const amqp = await loadAmqplib();
  const conn = await amqp.connect(target.url);
  conn.on('error', () => undefined);
  const queue = `pier-report-depth-${process.pid}-${++runCounter}`;
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: workload === 'persistent', autoDelete: false });
    const before = await settledRss(target.pid);
    const body = Buffer.alloc(size, 0x61);
    const mode = workload === 'persistent' ? 2 : 1;
    for (let sent = 0; sent < count; ) {
      const n = Math.min(1000, count - sent);
      for (let i = 0; i < n; i++) ch.sendToQueue(queue, body, { deliveryMode: mode });
      await ch.waitForConfirms();
      sent += n;
    }
    const after = await settledRss(target.pid);
    await ch.deleteQueue(queue);
    return before !== null && after !== null ? (after - before) / count : null;
  } finally {
    await withTimeout(
      conn.close().catch(() => undefined),
      5000,
    );
  }
}
