// Delayed messages at scale: schedules N persistent delayed messages (default 1,000,000) with
// delays spread over a span (default a day) through a real Pier broker over AMQP, reports the
// broker's memory while they are pending, then checks that they all fire, in due order, and how
// late (percentiles).
//
//   node dist/bench/delayed-bench.js [--messages N] [--span-ms MS] [--speedup X] [--size BYTES]
//
// To avoid waiting a day, the broker runs in a child process on a fast clock: broker time runs
// `--speedup` times faster than real time (now() = start + elapsed * speedup; timers wait
// delay / speedup). Lateness is measured in broker time at the moment each message fires (a
// metrics hook on the exchange's scheduler) and also shown in real milliseconds (÷ speedup);
// one real millisecond of timer resolution is `speedup` broker milliseconds.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from 'amqplib';
import type { Clock, TimerHandle } from '../src/core/clock.js';
import { startBroker } from '../src/index.js';
import { prng } from '../test/helpers/prng.js';
import { Encoder, FRAME_BODY, FRAME_HEADER, frame, methodFrame, RawConnection } from './raw-client.js';
import { LatencyHistogram } from './stats.js';

const DAY_MS = 24 * 3600 * 1000;
const EXCHANGE = 'bench.delayed';
const QUEUE = 'bench.delayed.q';
const CH = 1;

// ---- messages between the bench and its broker child ----------------------------------------

interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
}

interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

type ToChild = { type: 'watch' } | { type: 'phase'; phase: 'scheduling' | 'firing' } | { type: 'report' };

type FromChild =
  | { type: 'ready'; url: string }
  | { type: 'watching' }
  | { type: 'progress'; fired: number; pending: number; indexBytes: number; memory: MemorySample }
  | {
      type: 'report';
      fired: number;
      orderViolations: number;
      /** Lateness of all messages, and of those that fired after scheduling had finished. */
      lateness: Percentiles;
      latenessAfterScheduling: Percentiles;
      peakScheduling: MemorySample;
      peakFiring: MemorySample;
      baseline: MemorySample;
      maxIndexBytes: number;
    };

// ---- the fast clock --------------------------------------------------------------------------

/** Broker time that runs `speedup` times faster than real time. */
export class FastClock implements Clock {
  private readonly startWallMs = Date.now();
  private readonly startPerfMs = performance.now();

  constructor(readonly speedup: number) {}

  now(): number {
    return this.startWallMs + (performance.now() - this.startPerfMs) * this.speedup;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = setTimeout(callback, Math.max(0, delayMs) / this.speedup);
    timer.unref();
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}

// ---- child: the broker -----------------------------------------------------------------------

function memory(): MemorySample {
  const m = process.memoryUsage();
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
  };
}

function maxSample(a: MemorySample, b: MemorySample): MemorySample {
  return {
    rssBytes: Math.max(a.rssBytes, b.rssBytes),
    heapUsedBytes: Math.max(a.heapUsedBytes, b.heapUsedBytes),
    externalBytes: Math.max(a.externalBytes, b.externalBytes),
    arrayBuffersBytes: Math.max(a.arrayBuffersBytes, b.arrayBuffersBytes),
  };
}

async function runChild(dataDir: string, speedup: number): Promise<void> {
  const send = (message: FromChild) => process.send!(message);
  const clock = new FastClock(speedup);
  const broker = await startBroker({
    dataDir,
    amqpPort: 0,
    kafkaPort: false,
    sqsPort: false,
    httpPort: false,
    fsync: 'always',
    clock,
    log: (line) => process.stderr.write(`broker: ${line}\n`),
  });
  const lateness = new LatencyHistogram();
  const latenessAfterScheduling = new LatencyHistogram();
  let fired = 0;
  let orderViolations = 0;
  let lastDueMs = Number.NEGATIVE_INFINITY;
  let phase: 'idle' | 'scheduling' | 'firing' = 'idle';
  const baseline = memory();
  let peakScheduling = baseline;
  let peakFiring = baseline;
  let maxIndexBytes = 0;
  const delayedMessages = () => {
    const vhost = broker.core.vhosts.get('/')!;
    return vhost.extensions.delayedMessages(vhost.getExchange(EXCHANGE));
  };
  const sample = () => {
    const m = memory();
    if (phase === 'scheduling') peakScheduling = maxSample(peakScheduling, m);
    if (phase === 'firing') peakFiring = maxSample(peakFiring, m);
    const delayed = phase === 'idle' ? undefined : delayedMessages();
    if (delayed) maxIndexBytes = Math.max(maxIndexBytes, delayed.indexBytes);
    return { m, delayed };
  };
  setInterval(sample, 100).unref();
  setInterval(() => {
    const { m, delayed } = sample();
    if (delayed)
      send({
        type: 'progress',
        fired,
        pending: delayed.pendingCount,
        indexBytes: delayed.indexBytes,
        memory: m,
      });
  }, 1000).unref();
  process.on('message', (message: ToChild) => {
    if (message.type === 'watch') {
      delayedMessages()!.onFired = (dueAtMs, firedAtMs) => {
        fired++;
        if (dueAtMs < lastDueMs) orderViolations++;
        lastDueMs = dueAtMs;
        // Broker ms recorded as "ns", so that percentileUs() reads back ms × 1000.
        lateness.record((firedAtMs - dueAtMs) * 1e6);
        if (phase === 'firing') latenessAfterScheduling.record((firedAtMs - dueAtMs) * 1e6);
      };
      send({ type: 'watching' });
    } else if (message.type === 'phase') {
      sample();
      phase = message.phase;
    } else if (message.type === 'report') {
      sample();
      const percentiles = (h: LatencyHistogram): Percentiles => ({
        count: h.count,
        p50: h.percentileUs(50) / 1000,
        p90: h.percentileUs(90) / 1000,
        p99: h.percentileUs(99) / 1000,
        p999: h.percentileUs(99.9) / 1000,
        max: h.maxUs / 1000,
      });
      send({
        type: 'report',
        fired,
        orderViolations,
        lateness: percentiles(lateness),
        latenessAfterScheduling: percentiles(latenessAfterScheduling),
        peakScheduling,
        peakFiring,
        baseline,
        maxIndexBytes,
      });
    }
  });
  process.once('disconnect', () => {
    broker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  send({ type: 'ready', url: broker.amqp!.url });
}

// ---- parent: the load --------------------------------------------------------------------------

interface Options {
  messages: number;
  spanMs: number;
  speedup: number;
  sizeBytes: number;
  confirmWindow: number;
  seed: number;
}

const HELP = `delayed-bench: schedules persistent delayed messages through a Pier broker and checks them fire in order

  --messages N        messages to schedule (default 1000000)
  --span-ms MS        delays are spread uniformly over (0, MS] (default ${DAY_MS}, a day)
  --speedup X         broker time runs X times faster than real time (default: span / 180 s)
  --size BYTES        body size (default 100)
  --confirm-window N  unconfirmed publishes allowed (default 20000)
  --seed N            seed of the delay generator (default 1)
  -h, --help          this help
`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: 'string' },
      'span-ms': { type: 'string' },
      speedup: { type: 'string' },
      size: { type: 'string' },
      'confirm-window': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const num = (name: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) {
      process.stderr.write(`delayed-bench: --${name} must be a positive number, got '${value}'\n${HELP}`);
      process.exit(2);
    }
    return n;
  };
  const spanMs = num('span-ms', values['span-ms'], DAY_MS);
  return {
    messages: Math.floor(num('messages', values.messages, 1_000_000)),
    spanMs,
    speedup: num('speedup', values.speedup, Math.max(1, spanMs / 180_000)),
    sizeBytes: Math.floor(num('size', values.size, 100)),
    confirmWindow: Math.floor(num('confirm-window', values['confirm-window'], 20_000)),
    seed: Math.floor(num('seed', values.seed, 1)),
  };
}

/**
 * One persistent basic.publish to the delayed exchange with an `x-delay` header (an 'l' field),
 * encoded once; `delayOffset` is where the 8-byte delay value goes.
 */
function publishTemplate(sizeBytes: number): { bytes: Buffer; delayOffset: number } {
  const method = methodFrame(CH, 60, 40, new Encoder().u16(0).shortStr(EXCHANGE).shortStr('k').u8(0).done());
  const table = new Encoder().shortStr('x-delay').u8(0x6c /* l */).u64(0).done();
  const header = frame(
    FRAME_HEADER,
    CH,
    new Encoder()
      .u16(60)
      .u16(0)
      .u64(sizeBytes)
      .u16(0x3000) // headers + delivery-mode
      .longStr(table)
      .u8(2)
      .done(),
  );
  const body = frame(FRAME_BODY, CH, Buffer.alloc(sizeBytes, 0x62));
  const bytes = Buffer.concat([method, header, body]);
  // header frame: 7 (frame) + 2 + 2 + 8 + 2 (flags) + 4 (table length) + 1 + 7 ('x-delay') + 1 (type)
  const delayOffset = method.length + 7 + 14 + 4 + 8 + 1;
  return { bytes, delayOffset };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function describeMemory(m: MemorySample): string {
  return `RSS ${mib(m.rssBytes)}, JS heap ${mib(m.heapUsedBytes)}, array buffers ${mib(m.arrayBuffersBytes)}`;
}

async function runBench(options: Options): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dataDir = mkdtempSync(join(tmpdir(), 'pier-delayed-bench-'));
  const child: ChildProcess = fork(
    fileURLToPath(import.meta.url),
    ['--child', dataDir, String(options.speedup)],

    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: process.env.PIER_BENCH_CHILD_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/pier-prof'] : [],
    },
  );
  let onMessage: ((message: FromChild) => void) | undefined;
  child.on('message', (message: FromChild) => {
    if (message.type === 'progress') latestProgress = message;
    onMessage?.(message);
  });
  let latestProgress: Extract<FromChild, { type: 'progress' }> | undefined;
  const next = <T extends FromChild['type']>(type: T) =>
    new Promise<Extract<FromChild, { type: T }>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`broker child exited (${code})`));
      child.once('exit', onExit);
      onMessage = (message) => {
        if (message.type !== type) return;
        child.off('exit', onExit);
        onMessage = undefined;
        resolve(message as Extract<FromChild, { type: T }>);
      };
    });
  const tell = (message: ToChild) => child.send(message);
  try {
    const { url } = await next('ready');
    log(
      `delayed-bench: ${options.messages.toLocaleString('en')} persistent messages of ${options.sizeBytes} bytes, ` +
        `delays over ${(options.spanMs / 60_000).toFixed(1)} min, broker clock ×${options.speedup.toFixed(0)} ` +
        `(the span takes ${(options.spanMs / options.speedup / 1000).toFixed(0)} s)`,
    );
    const admin = await connect(url);
    const adminCh = await admin.createChannel();
    await adminCh.assertExchange(EXCHANGE, 'x-delayed-message', {
      durable: true,
      arguments: { 'x-delayed-type': 'direct' },
    });
    await adminCh.assertQueue(QUEUE, { durable: true });
    await adminCh.bindQueue(QUEUE, EXCHANGE, 'k');
    const watching = next('watching');
    tell({ type: 'watch' });
    await watching;

    // ---- scheduling ----
    tell({ type: 'phase', phase: 'scheduling' });
    const conn = await RawConnection.connect(url, 'delayed-bench publisher');
    await conn.openChannel(CH);
    await conn.confirmSelect(CH);
    const { bytes, delayOffset } = publishTemplate(options.sizeBytes);
    const random = prng(options.seed);
    let published = 0;
    let confirmed = 0;
    let nacked = 0;
    const scheduleStartMs = performance.now();
    await new Promise<void>((resolve, reject) => {
      conn.onClose((err) => reject(err ?? new Error('publisher connection closed')));
      let waitingDrain = false;
      const pump = () => {
        if (waitingDrain) return;
        for (;;) {
          const room = Math.min(
            options.confirmWindow - (published - confirmed),
            options.messages - published,
          );
          if (room <= 0 || room < Math.min(1000, options.messages - published)) return;
          const n = Math.min(room, 1000);
          const out = Buffer.allocUnsafe(n * bytes.length);
          for (let i = 0; i < n; i++) {
            const at = i * bytes.length;
            bytes.copy(out, at);
            const delayMs = 1 + Math.floor(random() * options.spanMs);
            out.writeUInt32BE(Math.floor(delayMs / 0x100000000), at + delayOffset);
            out.writeUInt32BE(delayMs >>> 0, at + delayOffset + 4);
          }
          published += n;
          if (!conn.send(out)) {
            waitingDrain = true;
            conn.socket.once('drain', () => {
              waitingDrain = false;
              pump();
            });
            return;
          }
        }
      };
      const ticker = setInterval(() => {
        const p = latestProgress;
        log(
          `  scheduling: ${confirmed.toLocaleString('en')} confirmed` +
            (p ? `, ${p.fired.toLocaleString('en')} fired, broker ${describeMemory(p.memory)}` : ''),
        );
      }, 2000);
      conn.handlers = {
        onConfirm: (tag, multiple, nack) => {
          const upTo = multiple ? tag : Math.max(confirmed, tag);
          if (nack) nacked += upTo - confirmed;
          confirmed = Math.max(confirmed, upTo);
          if (confirmed >= options.messages) {
            clearInterval(ticker);
            resolve();
          } else pump();
        },
      };
      conn.onClose(() => clearInterval(ticker));
      pump();
    });
    const scheduleSeconds = (performance.now() - scheduleStartMs) / 1000;
    tell({ type: 'phase', phase: 'firing' });
    log(
      `  scheduled ${options.messages.toLocaleString('en')} in ${scheduleSeconds.toFixed(1)} s ` +
        `(${Math.round(options.messages / scheduleSeconds).toLocaleString('en')} msg/s, ${nacked} nacked)`,
    );
    await conn.close();

    // ---- firing ----
    const firingStartMs = performance.now();
    const spanRealMs = options.spanMs / options.speedup;
    for (;;) {
      await new Promise((r) => setTimeout(r, 2000));
      const p = latestProgress;
      if (!p) continue;
      log(
        `  firing: ${p.fired.toLocaleString('en')} fired, ${p.pending.toLocaleString('en')} pending ` +
          `(index ${mib(p.indexBytes)}), broker ${describeMemory(p.memory)}`,
      );
      if (p.fired >= options.messages && p.pending === 0) break;
      if (performance.now() - firingStartMs > spanRealMs + 120_000) {
        log('  giving up: messages are overdue by more than 2 minutes of real time');
        break;
      }
    }
    const report = next('report');
    tell({ type: 'report' });
    const r = await report;
    const queued = (await adminCh.checkQueue(QUEUE)).messageCount;
    await adminCh.deleteQueue(QUEUE);
    await admin.close();

    const out = (line: string) => process.stdout.write(`${line}\n`);
    const real = (brokerMs: number) => `${(brokerMs / options.speedup).toFixed(2)} ms real`;
    out('');
    out(
      `delayed-bench results (${options.messages.toLocaleString('en')} messages, ${options.sizeBytes} B bodies)`,
    );
    out(
      `  scheduling:  ${scheduleSeconds.toFixed(1)} s, ${Math.round(options.messages / scheduleSeconds).toLocaleString('en')} msg/s`,
    );
    out(`  broker memory before scheduling:   ${describeMemory(r.baseline)}`);
    out(`  broker peak memory, scheduling:    ${describeMemory(r.peakScheduling)}`);
    out(`  broker peak memory, firing:        ${describeMemory(r.peakFiring)}`);
    out(
      `  delay index (peak):                ${mib(r.maxIndexBytes)} (bodies: ${mib(options.messages * options.sizeBytes)} kept on disk)`,
    );
    out(
      `  fired: ${r.fired.toLocaleString('en')}, out of due order: ${r.orderViolations}, in the queue: ${queued.toLocaleString('en')}`,
    );
    out(
      `  lateness in broker time (clock ×${options.speedup.toFixed(0)}: 1 ms real = ${options.speedup.toFixed(0)} ms broker):`,
    );
    const table = (title: string, p: Percentiles) => {
      out(`    ${title} (${p.count.toLocaleString('en')} messages)`);
      for (const name of ['p50', 'p90', 'p99', 'p999', 'max'] as const) {
        out(`      ${name.padEnd(5)} ${p[name].toFixed(0).padStart(8)} ms broker  (${real(p[name])})`);
      }
    };
    table('all messages', r.lateness);
    table('fired after scheduling finished', r.latenessAfterScheduling);
    const ok = r.fired === options.messages && r.orderViolations === 0 && queued === options.messages;
    out(ok ? '  OK: every message fired once, in due order' : '  FAILED: see the counts above');
    process.exitCode = ok ? 0 : 1;
  } finally {
    child.disconnect();
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  runChild(argv[1]!, Number(argv[2])).catch((error) => {
    process.stderr.write(`delayed-bench broker: ${(error as Error).stack}\n`);
    process.exit(1);
  });
} else {
  runBench(parseOptions(argv)).catch((error) => {
    process.stderr.write(`delayed-bench: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
