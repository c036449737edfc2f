// Memory of a deep non-durable queue (issue 16, "bounded memory"): publishes N transient messages
// of --body bytes to one non-durable queue of a child Pier with no consumer, reads the broker's
// resident memory (VmRSS, and the peak VmHWM) from /proc, then drains the queue and checks the count.
//
//   npm run bench -- transient-paging --messages 1000000
//   npm run bench -- transient-paging --messages 10000000 --pier-bin /path/to/other/dist/src/cli/pier.js
//
// --pier-bin runs another build (e.g. one from before paging, to compare); --no-drain skips the drain.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { defaultPierBin, startPier } from './broker.js';
import { encodePublish, RawConnection } from './raw-client.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const MESSAGES = Number(flag('messages', '1000000'));
const BODY_BYTES = Number(flag('body', '100'));
const BIN = flag('pier-bin', defaultPierBin());
const DRAIN = !process.argv.includes('--no-drain');
const CONFIRM_WINDOW = 20_000;
const QUEUE = 'transient-paging-bench';

function memoryOf(pid: number): { rssBytes: number; peakBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

const broker = await startPier(BIN);
try {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, ${mib(totalmem())} RAM, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; Node ${process.version}; pier ${BIN}`,
  );
  const idle = memoryOf(broker.pid);
  const pub = await RawConnection.connect(broker.url, 'paging-bench-publisher');
  await pub.openChannel(1);
  await pub.declareQueue(1, QUEUE, false);
  await pub.confirmSelect(1);
  let confirmed = 0;
  let wake: (() => void) | undefined;
  pub.handlers.onConfirm = (tag, multiple, nack) => {
    if (nack) throw new Error(`publish ${tag} nacked`);
    confirmed = multiple ? Math.max(confirmed, tag) : Math.max(confirmed, tag);
    wake?.();
  };
  const template = encodePublish(1, '', QUEUE, BODY_BYTES, 1, pub.frameMax).bytes;
  const BATCH = 1000;
  const batch = Buffer.concat(Array.from({ length: BATCH }, () => template));
  const startedAt = process.hrtime.bigint();
  let published = 0;
  while (published < MESSAGES) {
    while (published - confirmed >= CONFIRM_WINDOW) await new Promise<void>((resolve) => (wake = resolve));
    const n = Math.min(BATCH, MESSAGES - published);
    const ok = pub.send(n === BATCH ? batch : batch.subarray(0, n * template.length));
    published += n;
    if (!ok) await new Promise<void>((resolve) => pub.socket.once('drain', resolve));
  }
  while (confirmed < MESSAGES) await new Promise<void>((resolve) => (wake = resolve));
  const publishSeconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const full = memoryOf(broker.pid);
  console.log(
    `published ${MESSAGES} x ${BODY_BYTES} B transient in ${publishSeconds.toFixed(1)} s ` +
      `(${Math.round(MESSAGES / publishSeconds)} msg/s); broker RSS idle ${mib(idle.rssBytes)}, ` +
      `with the queue full ${mib(full.rssBytes)}, peak ${mib(full.peakBytes)}`,
  );
  await pub.close();
  if (DRAIN) {
    const sub = await RawConnection.connect(broker.url, 'paging-bench-consumer');
    await sub.openChannel(1);
    await sub.qos(1, 2000);
    let received = 0;
    let done: (() => void) | undefined;
    sub.handlers.onDelivery = (_channel, tag) => {
      received++;
      if (received % 500 === 0 || received === MESSAGES) sub.ack(1, tag, true);
      if (received === MESSAGES) done?.();
    };
    const drainStartedAt = process.hrtime.bigint();
    const finished = new Promise<void>((resolve) => (done = resolve));
    await sub.consume(1, QUEUE, 'drain');
    await finished;
    const drainSeconds = Number(process.hrtime.bigint() - drainStartedAt) / 1e9;
    const after = memoryOf(broker.pid);
    console.log(
      `drained ${received} in ${drainSeconds.toFixed(1)} s (${Math.round(received / drainSeconds)} msg/s); ` +
        `broker RSS after ${mib(after.rssBytes)}, peak ${mib(after.peakBytes)}`,
    );
    await sub.close();
  }
} finally {
  await broker.stop();
}
