// `npm run bench -- scale-all`: issue 16's scale figures in one run on one broker. Starts Pier as a
// child process with every protocol on, then holds at once: --queues durable AMQP queues,
// --connections idle AMQP connections, --sqs-queues SQS queues, --partitions Kafka partitions,
// --delayed delayed messages (x-delayed-message, due in an hour) and --messages persistent 100 B
// messages queued in one durable queue; reports the broker's RSS after each step. Then stops the
// broker (SIGTERM, or SIGKILL with --kill) and starts it again on the same data directory:
// start-up time (spawn to every listener up) and RSS after start-up, with every queue, topic and
// message still there (the queued count read back through the management API).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CreateQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import kafkajs from 'kafkajs';
import { defaultPierBin } from './broker.js';
import { RawConnection } from './raw-client.js';
import { RawRunner } from './raw-load.js';
import { fmtInt, machineInfo, machineLine } from './report.js';
import { RunStats } from './stats.js';

const { values } = parseArgs({
  options: {
    queues: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '10000' },
    'sqs-queues': { type: 'string', default: '10000' },
    partitions: { type: 'string', default: '1000' },
    delayed: { type: 'string', default: '100000' },
    messages: { type: 'string', default: '10000000' },
    kill: { type: 'boolean', default: false },
    'pier-bin': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run bench -- scale-all [--queues 10000] [--connections 10000] [--sqs-queues 10000]\n' +
      '  [--partitions 1000] [--delayed 100000] [--messages 10000000] [--kill] [--pier-bin PATH]\n' +
      '  (--kill: stop the broker with SIGKILL before the restart instead of SIGTERM)\n',
  );
  process.exit(0);
}
const QUEUES = Number(values.queues);
const CONNECTIONS = Number(values.connections);
const SQS_QUEUES = Number(values['sqs-queues']);
const PARTITIONS = Number(values.partitions);
const DELAYED = Number(values.delayed);
const MESSAGES = Number(values.messages);
const DEEP_QUEUE = 'scale-deep';

const log = (line: string) => process.stdout.write(`${line}\n`);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const perUnit = (bytes: number) =>
  Math.abs(bytes) < 1024 ? `${bytes.toFixed(0)} B` : `${(bytes / 1024).toFixed(1)} KiB`;

interface Running {
  child: ChildProcess;
  ports: Record<string, number>;
  startupMs: number;
}

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

async function startPier(dataDir: string): Promise<Running> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      values['pier-bin'] ?? defaultPierBin(),
      'serve',
      '--data-dir',
      dataDir,
      ...[
        '--amqp-port',
        '0',
        '--kafka-port',
        '0',
        '--sqs-port',
        '0',
        '--http-port',
        '0',
        '--prometheus-port',
        '0',
      ],
      // Enough descriptors for the idle connections is the operator's part (ulimit -n); the
      // broker's own cap is raised so it is not what refuses them.
      ...['--max-connections', String(CONNECTIONS + 100)],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const found: Record<string, number> = {};
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(/(amqp|kafka|sqs|http) listening on [^\s]+:(\d+)/g))
        found[m[1]!] = Number(m[2]);
      if (found.amqp && found.kafka && found.sqs && found.http) resolve(found);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`Pier exited (${code}):\n${output.slice(-4000)}`)));
  });
  return { child, ports, startupMs: performance.now() - started };
}

async function inParallel(count: number, concurrency: number, each: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await each(next++);
    }),
  );
}

function progress(what: string, total: number) {
  const started = performance.now();
  let done = 0;
  return () => {
    done++;
    if (done % Math.max(1, Math.floor(total / 5)) === 0 || done === total)
      log(
        `  ${fmtInt(done)} / ${fmtInt(total)} ${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
  };
}

async function declareQueues(amqpUrl: string): Promise<void> {
  const connection = await RawConnection.connect(amqpUrl, 'scale declare');
  const channels = 50;
  for (let c = 1; c <= channels; c++) await connection.openChannel(c);
  const tick = progress('durable queues', QUEUES);
  let next = 0;
  await Promise.all(
    Array.from({ length: channels }, async (_, c) => {
      while (next < QUEUES) {
        await connection.declareQueue(c + 1, `scale-q-${next++}`, true);
        tick();
      }
    }),
  );
  await connection.close();
}

async function openConnections(amqpUrl: string): Promise<RawConnection[]> {
  const connections: RawConnection[] = [];
  const tick = progress('idle connections', CONNECTIONS);
  await inParallel(CONNECTIONS, 200, async () => {
    const connection = await RawConnection.connect(amqpUrl, 'scale idle');
    await connection.openChannel(1);
    connections.push(connection);
    tick();
  });
  return connections;
}

function sqsClient(port: number): SQSClient {
  return new SQSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

async function createSqsQueues(port: number): Promise<void> {
  const sqs = sqsClient(port);
  const tick = progress('SQS queues', SQS_QUEUES);
  await inParallel(SQS_QUEUES, 50, async (i) => {
    await sqs.send(new CreateQueueCommand({ QueueName: `scale-sqs-${i}` }));
    tick();
  });
  sqs.destroy();
}

async function createPartitions(port: number): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: [`127.0.0.1:${port}`],
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  const perTopic = Math.min(100, PARTITIONS);
  const topics = Math.ceil(PARTITIONS / perTopic);
  await admin.createTopics({
    topics: Array.from({ length: topics }, (_, i) => ({
      topic: `scale-topic-${i}`,
      numPartitions: Math.min(perTopic, PARTITIONS - i * perTopic),
    })),
  });
  await admin.disconnect();
  log(`  ${fmtInt(PARTITIONS)} partitions in ${topics} topics`);
}

async function publishDelayed(amqpUrl: string): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange('scale-delayed', 'x-delayed-message', {
    durable: true,
    arguments: { 'x-delayed-type': 'direct' },
  });
  await channel.assertQueue('scale-delayed-target', { durable: true });
  await channel.bindQueue('scale-delayed-target', 'scale-delayed', 'due');
  const body = Buffer.alloc(100, 0x61);
  const tick = progress('delayed messages', DELAYED);
  for (let i = 0; i < DELAYED; i += 1000) {
    for (let j = i; j < Math.min(DELAYED, i + 1000); j++) {
      channel.publish('scale-delayed', 'due', body, { persistent: true, headers: { 'x-delay': 3_600_000 } });
      tick();
    }
    await channel.waitForConfirms();
  }
  await connection.close();
}

/** Fills one durable queue with persistent messages, confirmed, with no consumer. */
async function fillDeepQueue(amqpUrl: string): Promise<void> {
  const stats = new RunStats();
  const runner = new RawRunner(
    {
      url: amqpUrl,
      workload: 'persistent',
      queue: DEEP_QUEUE,
      size: 100,
      publishers: 2,
      consumers: 0,
      prefetch: 0,
      ackEvery: 1,
      maxOutstanding: 0,
      confirmWindow: 5000,
      rate: 0,
    },
    stats,
  );
  await runner.setup();
  const started = performance.now();
  runner.start();
  let reported = 0;
  while (stats.confirmed < MESSAGES) {
    await sleep(500);
    if (stats.confirmed - reported >= MESSAGES / 10) {
      reported = stats.confirmed;
      log(
        `  ${fmtInt(stats.confirmed)} / ${fmtInt(MESSAGES)} queued messages (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  }
  await runner.stop();
  log(`  ${fmtInt(stats.confirmed)} confirmed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

async function queueDepth(httpPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/queues/%2F/${DEEP_QUEUE}`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  });
  if (res.status !== 200) throw new Error(`GET queue ${DEEP_QUEUE}: ${res.status}`);
  return ((await res.json()) as { messages: number }).messages;
}

async function stop(running: Running, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill(signal);
  await exited;
}

async function main(): Promise<void> {
  log(machineLine(machineInfo()));
  const dataDir = await mkdtemp(join(tmpdir(), 'pier-scale-all-'));
  const rows: [string, string][] = [];
  try {
    let pier = await startPier(dataDir);
    const pid = () => pier.child.pid!;
    const amqpUrl = () => `amqp://guest:guest@127.0.0.1:${pier.ports.amqp}`;
    await sleep(2000);
    rows.push(['empty broker', mib(rssBytes(pid()))]);
    let previous = rssBytes(pid());
    const step = async (
      name: string,
      target: number,
      unit: string,
      run: () => Promise<number | undefined>,
    ) => {
      log(`${name} ...`);
      const count = (await run()) ?? target;
      await sleep(2000);
      const now = rssBytes(pid());
      rows.push([
        `+ ${fmtInt(count)} ${name}`,
        `${mib(now)} (+${mib(now - previous)}, ${perUnit((now - previous) / count)} per ${unit})`,
      ]);
      previous = now;
    };
    const done = async (work: Promise<void>) => {
      await work;
      return undefined;
    };
    await step('durable queues', QUEUES, 'queue', () => done(declareQueues(amqpUrl())));
    let idle: RawConnection[] = [];
    await step('idle AMQP connections', CONNECTIONS, 'connection', async () => {
      idle = await openConnections(amqpUrl());
      return undefined;
    });
    await step('SQS queues', SQS_QUEUES, 'queue', () => done(createSqsQueues(pier.ports.sqs!)));
    await step('Kafka partitions', PARTITIONS, 'partition', () => done(createPartitions(pier.ports.kafka!)));
    await step('delayed messages', DELAYED, 'message', () => done(publishDelayed(amqpUrl())));
    // The publishers stop once the target is confirmed, with their window still in flight: the
    // queue's own count is the figure.
    let depth = 0;
    await step('queued persistent messages', MESSAGES, 'message', async () => {
      await fillDeepQueue(amqpUrl());
      depth = await queueDepth(pier.ports.http!);
      return depth;
    });
    for (const c of idle) c.socket.destroy();

    const signal = values.kill ? 'SIGKILL' : 'SIGTERM';
    log(`stopping the broker (${signal}) and starting it again on the same data directory ...`);
    await stop(pier, signal);
    pier = await startPier(dataDir);
    const rssAfterStart = rssBytes(pid());
    const depthAfter = await queueDepth(pier.ports.http!);
    const sqs = sqsClient(pier.ports.sqs!);
    let sqsCount = 0;
    for (let token: string | undefined; ; ) {
      const page = await sqs.send(new ListQueuesCommand({ MaxResults: 1000, NextToken: token }));
      sqsCount += page.QueueUrls?.length ?? 0;
      token = page.NextToken;
      if (!token) break;
    }
    sqs.destroy();
    rows.push(
      [`start-up after ${signal} (spawn to every listener up)`, `${(pier.startupMs / 1000).toFixed(1)} s`],
      ['RSS right after start-up', mib(rssAfterStart)],
      [`${DEEP_QUEUE} depth before / after restart`, `${fmtInt(depth)} / ${fmtInt(depthAfter)}`],
      ['SQS queues after restart', fmtInt(sqsCount)],
    );
    await stop(pier, 'SIGTERM');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  log('\n| step | broker RSS |');
  log('| --- | ---: |');
  for (const [name, value] of rows) log(`| ${name} | ${value} |`);
}

await main();
