// Pier's memory with a deep SQS queue: a child process starts a broker (in-process, on a fresh
// data directory, --fsync never) and sends N messages of --body-bytes bytes into one durable
// standard queue through the SQS core (no HTTP: the client would dominate the run time on a small
// machine, and the queue's memory does not depend on how the messages came), then reports its RSS;
// a second child starts a broker on that data directory and reports start-up time, depth and RSS
// after recovery. Both children run with --expose-gc and collect garbage before measuring; the
// fill child also reports the empty broker's RSS, so the restart's per-message cost can be
// given without the broker's fixed memory (recoveredBytesPerMessageOverEmptyBroker).
//
//   npm run bench -- sqs-depth [--messages 1000000] [--body-bytes 100] [--window 64MiB]
//   npm run bench -- sqs-depth --dist /path/to/another/checkout/dist   (before/after comparisons:
//                  the broker of that build is measured; it needs no --sqs-memory-window-bytes)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo, machineLine } from './report.js';

const HELP = `Usage: npm run bench -- sqs-depth [options]

Options:
  --messages N       messages to queue (default 1000000)
  --body-bytes N     body size (default 100)
  --window BYTES     the broker's sqs.memoryWindowBytes (default: the build's default)
  --dist PATH        the dist/ directory whose broker is measured (default: this one)
  --dir PATH         parent of the temporary data directory (default: the OS temp dir)
  --json             results as JSON`;

const { values: opts } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    'body-bytes': { type: 'string', default: '100' },
    window: { type: 'string' },
    dist: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) },
    dir: { type: 'string', default: tmpdir() },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    child: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});

function rssMiB(): { rssMiB: number; peakMiB: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024) };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 500));
}

async function child(mode: string, dataDir: string): Promise<void> {
  const { startBroker } = await import(pathToFileURL(join(opts.dist, 'src/broker.js')).href);
  const { defaultQueueSettings } = await import(
    pathToFileURL(join(opts.dist, 'src/core/sqs/settings.js')).href
  );
  const window = opts.window === undefined ? {} : { sqs: { memoryWindowBytes: Number(opts.window) } };
  const idle = rssMiB();
  const started = Date.now();
  const broker = await startBroker({
    dataDir,
    fsync: 'never',
    amqpPort: false,
    kafkaPort: false,
    sqsPort: false,
    httpPort: false,
    prometheusPort: false,
    log: () => {},
    ...window,
  });
  const startMs = Date.now() - started;
  const registry = broker.sqsQueues;
  const out: Record<string, number> = { startMs };
  if (mode === 'fill') {
    // The broker without messages: what the queue's messages cost is measured from here.
    await settle();
    out.brokerRssMiB = rssMiB().rssMiB;
  }
  if (mode === 'fill') {
    const queue = registry.create('depth', defaultQueueSettings(false), {});
    const messages = Number(opts.messages);
    const bodyBytes = Number(opts['body-bytes']);
    const fillStarted = Date.now();
    for (let i = 0; i < messages; i++) {
      // A string of its own per message, as bodies parsed from requests are.
      const body = `${i}:`.padEnd(bodyBytes, 'x');
      queue.send({
        body,
        bodyMd5: createHash('md5').update(body).digest('hex'),
        sizeBytes: bodyBytes,
        senderId: '000000000000',
      });
      if (i % 2000 === 1999) await new Promise((resolve) => setImmediate(resolve));
    }
    out.fillMessagesPerS = Math.round(messages / ((Date.now() - fillStarted) / 1000));
  }
  await settle();
  const queue = registry.get('depth');
  out.depth = queue?.counts().visible ?? -1;
  const memory = rssMiB();
  out.idleRssMiB = idle.rssMiB;
  out.rssMiB = memory.rssMiB;
  out.peakMiB = memory.peakMiB;
  await broker.close();
  console.log(JSON.stringify(out));
}

if (opts.help) {
  console.log(HELP);
} else if (opts.child) {
  await child(opts.child, opts['data-dir']!);
} else {
  const dataDir = join(opts.dir, `pier-sqs-depth-${process.pid}`);
  const passOn = ['--messages', opts.messages, '--body-bytes', opts['body-bytes'], '--dist', opts.dist];
  if (opts.window !== undefined) passOn.push('--window', opts.window);
  const run = (mode: string) => {
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', self, '--child', mode, '--data-dir', dataDir, ...passOn],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{'))
      throw new Error(`${mode} child failed:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(line) as Record<string, number>;
  };
  try {
    // The broker's own memory is outside the messages' cost only when both children measure alike.
    const fill = run('fill');
    const recover = run('recover');
    const messages = Number(opts.messages);
    const perMessage = (r: Record<string, number>) =>
      Math.round(((r.rssMiB! - r.idleRssMiB!) * 1048576) / messages);
    const result = {
      dist: opts.dist,
      messages,
      bodyBytes: Number(opts['body-bytes']),
      fillMessagesPerS: fill.fillMessagesPerS,
      filledRssMiB: fill.rssMiB,
      filledPeakMiB: fill.peakMiB,
      filledBytesPerMessage: perMessage(fill),
      restartMs: recover.startMs,
      depthAfterRestart: recover.depth,
      recoveredRssMiB: recover.rssMiB,
      recoveredPeakMiB: recover.peakMiB,
      recoveredBytesPerMessage: perMessage(recover),
      // RSS after the restart above that of the same broker with no messages (fill child, before
      // it sent any): the index and whatever else the queued messages cost after a restart.
      emptyBrokerRssMiB: fill.brokerRssMiB,
      recoveredBytesPerMessageOverEmptyBroker: Math.round(
        ((recover.rssMiB! - fill.brokerRssMiB!) * 1048576) / messages,
      ),
      loadavg1m: Number(loadavg()[0]!.toFixed(2)),
    };
    if (opts.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(
        `# SQS queue depth: ${messages} messages of ${opts['body-bytes']} B\n\n${machineLine(machineInfo())}\n`,
      );
      for (const [key, v] of Object.entries(result)) console.log(`- ${key}: ${v}`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
