// `npm run bench -- scale [--connections N] [--queues N] [--rabbitmq URL]`: memory at scale, as issue
// 16 asks it to be reported. Starts Pier as a child process, declares N durable queues, then opens N
// idle AMQP connections (each with one channel open, as clients keep them), and reports the broker's
// resident memory per queue and per connection (RSS deltas from /proc after the broker settles; a
// garbage collection in between makes a delta noisy, so use thousands). With --rabbitmq the same
// load goes to a running RabbitMQ and its beam.smp RSS is read the same way, side by side.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPierBin, startPier } from './broker.js';
import { RawConnection } from './raw-client.js';
import { fmtInt, machineInfo, machineLine } from './report.js';

interface Options {
  connections: number;
  queues: number;
  rabbitmq: string | null;
  settleMs: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { connections: 10_000, queues: 10_000, rabbitmq: null, settleMs: 3_000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--help') {
      console.log(
        'npm run bench -- scale [--connections N (10000)] [--queues N (10000)] [--rabbitmq amqp://...] [--settle-ms MS (3000)]',
      );
      process.exit(0);
    }
    if (value === undefined) throw new Error(`${flag} needs a value (see --help)`);
    if (flag === '--connections') options.connections = Number(value);
    else if (flag === '--queues') options.queues = Number(value);
    else if (flag === '--rabbitmq') options.rabbitmq = value;
    else if (flag === '--settle-ms') options.settleMs = Number(value);
    else throw new Error(`unknown option ${flag} (see --help)`);
    i++;
  }
  return options;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

function beamPid(): number {
  const out = execFileSync('pgrep', ['-o', 'beam.smp'], { encoding: 'utf8' }).trim();
  if (!out) throw new Error('no beam.smp process: is RabbitMQ running?');
  return Number(out);
}

interface ScaleResult {
  broker: string;
  baseRssBytes: number;
  perConnectionBytes: number;
  perQueueBytes: number;
}

/** Opens `count` connections with a channel each, `concurrency` handshakes at a time. */
async function openConnections(url: string, count: number): Promise<RawConnection[]> {
  const connections: RawConnection[] = [];
  const concurrency = 200;
  let next = 0;
  const started = Date.now();
  async function worker(): Promise<void> {
    while (next < count) {
      next++;
      const connection = await RawConnection.connect(url, `scale-${next}`);
      await connection.openChannel(1);
      connections.push(connection);
      if (connections.length % 1000 === 0) {
        process.stdout.write(
          `  ${fmtInt(connections.length)} connections (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
        );
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return connections;
}

/** Declares `count` durable queues, 50 declarations in flight on as many channels (group commit). */
async function declareQueues(url: string, count: number, prefix: string): Promise<void> {
  const connection = await RawConnection.connect(url, 'scale-declare');
  const channels = 50;
  for (let c = 1; c <= channels; c++) await connection.openChannel(c);
  const started = Date.now();
  let next = 0;
  let done = 0;
  async function worker(channel: number): Promise<void> {
    while (next < count) {
      const i = next++;
      await connection.declareQueue(channel, `${prefix}-${i}`, true);
      if (++done % 2000 === 0) {
        process.stdout.write(`  ${fmtInt(done)} queues (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
      }
    }
  }
  await Promise.all(Array.from({ length: channels }, (_, c) => worker(c + 1)));
  await connection.close();
}

async function measure(name: string, url: string, pid: number, options: Options): Promise<ScaleResult> {
  console.log(
    `${name}: ${fmtInt(options.queues)} durable queues, then ${fmtInt(options.connections)} idle connections`,
  );
  await sleep(options.settleMs);
  const base = rssBytes(pid);
  const prefix = `scale-${process.pid}`;
  await declareQueues(url, options.queues, prefix);
  await sleep(options.settleMs);
  const withQueues = rssBytes(pid);
  const connections = await openConnections(url, options.connections);
  await sleep(options.settleMs);
  const withConnections = rssBytes(pid);
  for (const connection of connections) connection.socket.destroy();
  const cleanup = await RawConnection.connect(url, 'scale-cleanup');
  await cleanup.openChannel(1);
  for (let i = 0; i < options.queues; i++) await cleanup.deleteQueue(1, `${prefix}-${i}`);
  await cleanup.close();
  return {
    broker: name,
    baseRssBytes: base,
    perConnectionBytes: (withConnections - withQueues) / options.connections,
    perQueueBytes: (withQueues - base) / options.queues,
  };
}

const options = parseOptions(process.argv.slice(2));
console.log(machineLine(machineInfo()));
const results: ScaleResult[] = [];
const pier = await startPier(defaultPierBin());
try {
  results.push(await measure('Pier', pier.url, pier.pid, options));
} finally {
  await pier.stop();
}
if (options.rabbitmq) results.push(await measure('RabbitMQ', options.rabbitmq, beamPid(), options));

console.log('\n| broker | RSS at rest | per idle connection (+1 channel) | per durable queue |');
console.log('|---|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.broker} | ${(r.baseRssBytes / 2 ** 20).toFixed(1)} MiB | ${(r.perConnectionBytes / 1024).toFixed(1)} KiB | ${(r.perQueueBytes / 1024).toFixed(1)} KiB |`,
  );
}
