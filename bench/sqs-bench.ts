// Pier SQS benchmark: 100-byte messages, SendMessageBatch (10) + ReceiveMessage (10) +
// DeleteMessageBatch end to end. (a) @aws-sdk/client-sqs against a do-nothing stub (the SDK's own
// ceiling) and against Pier in the same run; (b) Pier's lean load generator (sqs-load.ts). Standard
// and FIFO queues.
//
//   npm run bench -- sqs [--workers 16] [--lanes 64] [--duration 10] [--queue-type fifo] ...
//   npm run bench -- sqs --help
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DeleteQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BROKER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { cpuSeconds, type ServerProcess, startServer } from './child-server.js';
import { stopOnInterrupt } from './interrupt.js';
import { fmtInt, machineInfo, machineLine } from './report.js';
import { runLoad } from './sqs-load.js';
import { createQueues, type QueueType, runSdkLoad, type SdkTarget, sdkClient } from './sqs-sdk-load.js';

const TARGET_SDK_RATIO = 0.9;
const TARGET_LOAD_MESSAGES_PER_S = 25_000;
const REGION = 'us-east-1';
const ACCESS_KEY_ID = 'AKIDPIERBENCH';
const SECRET_ACCESS_KEY = 'pier-bench-secret-access-key';
const CREDENTIALS = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: REGION };

const HELP = `Usage: npm run bench -- sqs [options]
       node dist/bench/sqs-bench.js [options]

Workload: --body-bytes messages, SendMessageBatch of 10, ReceiveMessage (MaxNumberOfMessages 10,
WaitTimeSeconds 1) and DeleteMessageBatch until those 10 are deleted, per worker and its own queue;
messages/s counts deleted messages (end to end), calls/s all three calls. FIFO queues: each worker
sends in its own message group, every message with its own deduplication id, and checks that Pier
returns its messages in the order sent.

  sdk   @aws-sdk/client-sqs (JSON protocol, keep-alive agent) first against bench/sqs-stub-server.js
        (a child process answering with canned valid answers: the SDK's ceiling), then against Pier;
        reports Pier/stub (target >= ${TARGET_SDK_RATIO * 100}%).
  load  bench/sqs-load.js: keep-alive connections, SendMessageBatch/ReceiveMessage bodies and SigV4
        signatures prepared up front, DeleteMessageBatch signed per call (target >= ${fmtInt(TARGET_LOAD_MESSAGES_PER_S)} msg/s).

Pier runs as a child process (pier serve --sqs-port 0, other listeners off) on a temporary data dir.

Options:
  --only PART          sdk or load (default: both)
  --no-stub            skip the runs against the stub (each part also runs against it by default)
  --rounds N           the sdk part alternates stub and Pier N times, --duration/N seconds each, and
                       sums them (default 4): drifts of a shared machine hit both sides alike
  --workers N          concurrent SDK workers, one queue each (default 64: enough to keep the SDK
                       busy while Pier's answers wait for the disk)
  --lanes N            concurrent load-generator lanes, one queue and connection each (default 64)
  --duration S         measured seconds per run (default 10)
  --warmup S           unmeasured seconds first, on other queues (default 2; 0: cold)
  --body-bytes N       message body size (default 100)
  --queue-type LIST    standard, fifo or standard,fifo (default: standard,fifo): every part runs
                       once per queue type
  --fsync LIST         Pier's --fsync for the load part, comma-separated: always, interval, never
                       (default always; the sdk part uses the first)
  --auth MODE          keys: Pier verifies signatures against a configured key (default);
                       any: Pier's loopback mode accepting any well-formed signature
  --pier-bin PATH      Pier CLI (default: dist/src/cli/pier.js next to this script)
  --http-thread LIST   Pier's --sqs-http-thread for the load part, comma-separated: on, off (default
                       on; the sdk part uses the first); with both, each --fsync mode runs with each
  --pier-cpus LIST     pin Pier (and the stub) with taskset -c LIST (Linux). Default for the sdk
                       part: the last CPU when there are two or more and taskset exists, so the SDK
                       (this process) and the server do not take turns on one core; the load part
                       runs unpinned by default, as Pier's HTTP thread needs the second core;
                       'none' lets the OS place them in both parts
  --dir PATH           parent of the temporary data directory (default: the OS temp dir)
  --json               print the results as JSON instead of markdown
  --help               this text
`;

interface Options {
  only: 'sdk' | 'load' | null;
  noStub: boolean;
  rounds: number;
  workers: number;
  lanes: number;
  durationS: number;
  warmupS: number;
  bodyBytes: number;
  fsync: string[];
  auth: 'keys' | 'any';
  pierBin: string;
  pierCpus: string | null;
  /** The load part's pinning: --pier-cpus when given, else none. */
  loadCpus: string | null;
  httpThread: Array<'on' | 'off'>;
  queueTypes: QueueType[];
  dir: string;
  json: boolean;
}

/** --pier-cpus: a taskset list, 'none', or (absent) the last CPU when that leaves the others to the client. */
function serverCpus(flag: string | undefined): string | null {
  if (flag === 'none') return null;
  if (flag !== undefined) return flag;
  const hasTaskset = ['/usr/bin/taskset', '/bin/taskset'].some((path) => existsSync(path));
  return hasTaskset && cpus().length >= 2 ? String(cpus().length - 1) : null;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      'no-stub': { type: 'boolean', default: false },
      workers: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '4' },
      lanes: { type: 'string', default: '64' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      'body-bytes': { type: 'string', default: '100' },
      fsync: { type: 'string', default: 'always' },
      auth: { type: 'string', default: 'keys' },
      'pier-bin': { type: 'string', default: fileURLToPath(new URL('../src/cli/pier.js', import.meta.url)) },
      'pier-cpus': { type: 'string' },
      'http-thread': { type: 'string', default: 'on' },
      'queue-type': { type: 'string', default: 'standard,fifo' },
      dir: { type: 'string', default: tmpdir() },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const number = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: '${value}' must be a number >= ${min}`);
    return n;
  };
  const oneOf = <T extends string>(name: string, value: string, allowed: readonly T[]): T => {
    if (!allowed.includes(value as T))
      throw new Error(`--${name}: '${value}' is not one of ${allowed.join(', ')}`);
    return value as T;
  };
  return {
    only: values.only === undefined ? null : oneOf('only', values.only, ['sdk', 'load'] as const),
    noStub: values['no-stub'],
    rounds: number('rounds', values.rounds, 1),
    workers: number('workers', values.workers, 1),
    lanes: number('lanes', values.lanes, 1),
    durationS: number('duration', values.duration, 0.1),
    warmupS: number('warmup', values.warmup, 0),
    bodyBytes: number('body-bytes', values['body-bytes'], 60),
    fsync: values.fsync.split(',').map((f) => oneOf('fsync', f, ['always', 'interval', 'never'] as const)),
    auth: oneOf('auth', values.auth, ['keys', 'any'] as const),
    pierBin: values['pier-bin'],
    pierCpus: serverCpus(values['pier-cpus']),
    loadCpus: values['pier-cpus'] === undefined ? null : serverCpus(values['pier-cpus']),
    httpThread: values['http-thread'].split(',').map((t) => oneOf('http-thread', t, ['on', 'off'] as const)),
    queueTypes: values['queue-type']
      .split(',')
      .map((t) => oneOf('queue-type', t, ['standard', 'fifo'] as const)),
    dir: values.dir,
    json: values.json,
  };
}

function progressLine(text: string, final = false): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
  else if (final) process.stderr.write(`${text}\n`);
}

interface Row {
  client: string;
  target: string;
  queueType: QueueType;
  concurrency: number;
  seconds: number;
  messagesPerS: number;
  callsPerS: number;
  serverCpuPct: number | null;
  clientCpuPct: number;
}

async function measure(
  client: string,
  target: string,
  queueType: QueueType,
  concurrency: number,
  server: ServerProcess,
  run: (onProgress: (messages: number, calls: number) => void) => Promise<{
    messages: number;
    calls: number;
    seconds: number;
  }>,
): Promise<Row> {
  const label = `${client} → ${target}, ${queueType} queues`;
  const cpuBefore = cpuSeconds(server.child.pid!);
  const clientBefore = process.cpuUsage();
  const startedMs = Date.now();
  const result = await run((messages, calls) => {
    const s = (Date.now() - startedMs) / 1000;
    progressLine(
      `${label}: ${fmtInt(messages)} messages, ${fmtInt(messages / s)} msg/s, ${fmtInt(calls / s)} calls/s`,
    );
  });
  const cpuAfter = cpuSeconds(server.child.pid!);
  const clientUsage = process.cpuUsage(clientBefore);
  const row: Row = {
    client,
    target,
    queueType,
    concurrency,
    seconds: result.seconds,
    messagesPerS: result.messages / result.seconds,
    callsPerS: result.calls / result.seconds,
    serverCpuPct:
      cpuBefore !== null && cpuAfter !== null ? ((cpuAfter - cpuBefore) / result.seconds) * 100 : null,
    clientCpuPct: ((clientUsage.user + clientUsage.system) / 1e6 / result.seconds) * 100,
  };
  progressLine(
    `${label}: ${fmtInt(result.messages)} messages in ${result.seconds.toFixed(2)} s: ${fmtInt(row.messagesPerS)} msg/s, ${fmtInt(row.callsPerS)} calls/s`,
    true,
  );
  return row;
}

/** Every message sent was deleted: the queues hold nothing, visible or in flight. */
async function checkEmpty(client: SQSClient, queueUrls: readonly string[]): Promise<void> {
  for (const QueueUrl of queueUrls) {
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const left =
      Number(Attributes?.ApproximateNumberOfMessages) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
    if (left !== 0) throw new Error(`${QueueUrl} still holds ${left} messages after the run`);
  }
}

async function deleteQueues(client: SQSClient, queueUrls: readonly string[]): Promise<void> {
  for (const QueueUrl of queueUrls) await client.send(new DeleteQueueCommand({ QueueUrl }));
}

function pierArgs(options: Options, dataDir: string, fsync: string, httpThread: 'on' | 'off'): string[] {
  const args = [...BROKER_NODE_FLAGS, options.pierBin, 'serve', '--data-dir', dataDir, '--amqp-port', 'off'];
  args.push('--kafka-port', 'off', '--prometheus-port', 'off');
  args.push('--sqs-port', '0', '--http-port', 'off', '--fsync', fsync);
  args.push('--sqs-http-thread', httpThread === 'on' ? 'true' : 'false');
  if (options.auth === 'keys') args.push('--sqs-access-key', `${ACCESS_KEY_ID}:${SECRET_ACCESS_KEY}`);
  return args;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const root = join(options.dir, `pier-sqs-bench-${process.pid}`);
  const servers: ServerProcess[] = [];
  const cleanup = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  stopOnInterrupt(cleanup);
  const loadAverageAtStart = loadavg()[0]!;
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    for (const queueType of options.queueTypes)
      rows.push(...(await queueTypeRuns(options, queueType, root, servers)));
  } finally {
    await cleanup();
  }
  for (const queueType of options.queueTypes) {
    const stubRow = rows.find(
      (r) => r.queueType === queueType && r.client === '@aws-sdk/client-sqs' && r.target === 'stub',
    );
    const sdkPier = rows.find(
      (r) => r.queueType === queueType && r.client === '@aws-sdk/client-sqs' && r.target !== 'stub',
    );
    if (stubRow && sdkPier) {
      const ratio = sdkPier.messagesPerS / stubRow.messagesPerS;
      notes.push(
        `- ${queueType} queues, SDK against Pier / SDK against the stub: ${(ratio * 100).toFixed(1)} % (target ≥ ${TARGET_SDK_RATIO * 100} %: ${ratio >= TARGET_SDK_RATIO ? 'met' : 'NOT met'})`,
      );
    }
  }
  for (const row of rows.filter((r) => r.client === 'sqs-load' && r.target !== 'stub')) {
    notes.push(
      `- sqs-load → ${row.target}, ${row.queueType} queues: ${fmtInt(row.messagesPerS)} msg/s (target ≥ ${fmtInt(TARGET_LOAD_MESSAGES_PER_S)}: ${row.messagesPerS >= TARGET_LOAD_MESSAGES_PER_S ? 'met' : 'NOT met'})`,
    );
  }
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ machine: machineInfo(), loadAverageAtStart, options, rows }, null, 2)}\n`,
    );
    return;
  }
  const header =
    '| client | target | queues | concurrency | seconds | messages/s | calls/s | server CPU | client CPU |\n' +
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = rows.map(
    (r) =>
      `| ${r.client} | ${r.target} | ${r.queueType} | ${r.concurrency} | ${r.seconds.toFixed(1)} | ${fmtInt(r.messagesPerS)} | ${fmtInt(r.callsPerS)} | ${r.serverCpuPct === null ? 'n/a' : `${r.serverCpuPct.toFixed(0)} %`} | ${r.clientCpuPct.toFixed(0)} % |`,
  );
  process.stdout.write(
    [
      `# Pier SQS benchmark`,
      '',
      machineLine(machineInfo()),
      `1-minute load average at start: ${loadAverageAtStart.toFixed(2)} on ${cpus().length} cores`,
      `${options.bodyBytes}-byte messages; ${options.durationS} s per run after ${options.warmupS} s warm-up; CPU as % of one core`,
      options.pierCpus === null
        ? 'servers not pinned (the OS places them and the client)'
        : `SDK part: servers (stub and Pier) pinned to CPU ${options.pierCpus} with taskset; the client runs on the others`,
      options.loadCpus === null
        ? 'load part: servers not pinned (Pier has an HTTP thread beside its main thread)'
        : `load part: servers pinned to CPU ${options.loadCpus}`,
      '',
      header,
      ...lines,
      '',
      ...notes,
      '',
    ].join('\n'),
  );
}

/** The do-nothing SQS server (bench/sqs-stub-server.ts) as a child process: a client's ceiling. */
function startStub(cpus: string | null): Promise<ServerProcess> {
  return startServer([fileURLToPath(new URL('./sqs-stub-server.js', import.meta.url))], 'sqs-stub', cpus);
}

/** Every part of the run for one queue type: the SDK comparison, the generator's ceiling, Pier. */
async function queueTypeRuns(
  options: Options,
  queueType: QueueType,
  root: string,
  servers: ServerProcess[],
): Promise<Row[]> {
  const rows: Row[] = [];
  if (options.only !== 'load' && !options.noStub)
    rows.push(...(await sdkComparison(options, queueType, root, servers)));
  if (!options.noStub && options.only !== 'sdk') {
    const stub = await startStub(options.loadCpus);
    servers.push(stub);
    const target: SdkTarget = { ...CREDENTIALS, endpoint: `http://${stub.host}:${stub.port}` };
    // The load generator's own ceiling: a Pier figure well below it is Pier's limit, not the client's.
    rows.push(await loadRun(options, queueType, target, stub, 'stub'));
    await stub.stop();
  }
  for (const [i, fsync] of options.fsync.entries()) {
    for (const [j, thread] of options.httpThread.entries()) {
      const sdkToo = options.only !== 'load' && i === 0 && j === 0 && options.noStub;
      if (!sdkToo && options.only === 'sdk') continue;
      const dataDir = join(root, `data-${queueType}-${fsync}-${thread}`);
      mkdirSync(dataDir, { recursive: true });
      const cpus = sdkToo ? options.pierCpus : options.loadCpus;
      const pier = await startServer(pierArgs(options, dataDir, fsync, thread), 'sqs', cpus);
      servers.push(pier);
      const target: SdkTarget = { ...CREDENTIALS, endpoint: `http://${pier.host}:${pier.port}` };
      const label = `pier (fsync ${fsync}, auth ${options.auth}, http thread ${thread})`;
      if (sdkToo) rows.push(await sdkRun(options, queueType, target, pier, label));
      if (options.only !== 'sdk') rows.push(await loadRun(options, queueType, target, pier, label));
      await pier.stop();
    }
  }
  return rows;
}

/**
 * The SDK against the stub and against Pier (first --fsync mode), alternating --rounds times with
 * both servers up, each side summed into one row.
 */
async function sdkComparison(
  options: Options,
  queueType: QueueType,
  root: string,
  servers: ServerProcess[],
): Promise<Row[]> {
  const stub = await startStub(options.pierCpus);
  servers.push(stub);
  const fsync = options.fsync[0]!;
  const dataDir = join(root, `data-sdk-${queueType}-${fsync}`);
  mkdirSync(dataDir, { recursive: true });
  const pier = await startServer(
    pierArgs(options, dataDir, fsync, options.httpThread[0]!),
    'sqs',
    options.pierCpus,
  );
  servers.push(pier);
  const sides = [
    { server: stub, label: 'stub', runs: [] as Row[] },
    { server: pier, label: `pier (fsync ${fsync}, auth ${options.auth})`, runs: [] as Row[] },
  ];
  for (let round = 0; round < options.rounds; round++) {
    for (const side of sides) {
      const target: SdkTarget = {
        ...CREDENTIALS,
        endpoint: `http://${side.server.host}:${side.server.port}`,
      };
      const segment = {
        ...options,
        durationS: options.durationS / options.rounds,
        warmupS: round === 0 ? options.warmupS : 0,
      };
      side.runs.push(await sdkRun(segment, queueType, target, side.server, side.label));
    }
  }
  await stub.stop();
  await pier.stop();
  return sides.map((side) => combineRows(side.runs));
}

/** One row for several runs of the same client and target: totals over their summed time. */
function combineRows(runs: readonly Row[]): Row {
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  const weighted = (value: (r: Row) => number) =>
    runs.reduce((sum, r) => sum + value(r) * r.seconds, 0) / seconds;
  const first = runs[0]!;
  return {
    ...first,
    seconds,
    messagesPerS: weighted((r) => r.messagesPerS),
    callsPerS: weighted((r) => r.callsPerS),
    serverCpuPct: runs.every((r) => r.serverCpuPct !== null) ? weighted((r) => r.serverCpuPct!) : null,
    clientCpuPct: weighted((r) => r.clientCpuPct),
  };
}

async function sdkRun(
  options: Options,
  queueType: QueueType,
  target: SdkTarget,
  server: ServerProcess,
  label: string,
): Promise<Row> {
  const client = sdkClient(target, options.workers);
  // The stub's canned messages say nothing of the order sent.
  const fifo = queueType === 'fifo' ? { checkOrder: label !== 'stub' } : undefined;
  try {
    if (options.warmupS > 0) {
      const warm = await createQueues(client, 'pier-bench-sdk-warmup', options.workers, queueType);
      progressLine(`@aws-sdk/client-sqs → ${label}: warming up for ${options.warmupS} s`);
      await runSdkLoad(client, warm, options.warmupS, options.bodyBytes, undefined, fifo);
      if (label !== 'stub') await deleteQueues(client, warm);
    }
    const queues = await createQueues(client, 'pier-bench-sdk', options.workers, queueType);
    const row = await measure(
      '@aws-sdk/client-sqs',
      label,
      queueType,
      options.workers,
      server,
      (onProgress) => runSdkLoad(client, queues, options.durationS, options.bodyBytes, onProgress, fifo),
    );
    if (label !== 'stub') await checkEmpty(client, queues);
    return row;
  } finally {
    client.destroy();
  }
}

async function loadRun(
  options: Options,
  queueType: QueueType,
  target: SdkTarget,
  server: ServerProcess,
  label: string,
): Promise<Row> {
  const client = sdkClient(target, 4);
  const fifo = queueType === 'fifo' ? { checkOrder: label !== 'stub' } : undefined;
  try {
    const signer = {
      accessKeyId: target.accessKeyId,
      secretAccessKey: target.secretAccessKey,
      region: target.region,
      host: `${server.host}:${server.port}`,
    };
    if (options.warmupS > 0) {
      const warm = await createQueues(client, 'pier-bench-load-warmup', options.lanes, queueType);
      progressLine(`sqs-load → ${label}: warming up for ${options.warmupS} s`);
      await runLoad({
        signer,
        queueUrls: warm,
        durationS: options.warmupS,
        bodyBytes: options.bodyBytes,
        fifo,
      });
      if (label !== 'stub') await deleteQueues(client, warm);
    }
    const queues = await createQueues(client, 'pier-bench-load', options.lanes, queueType);
    const row = await measure('sqs-load', label, queueType, options.lanes, server, (onProgress) =>
      runLoad({
        signer,
        queueUrls: queues,
        durationS: options.durationS,
        bodyBytes: options.bodyBytes,
        onProgress,
        fifo,
      }),
    );
    if (label !== 'stub') await checkEmpty(client, queues);
    return row;
  } finally {
    client.destroy();
  }
}

main().catch((error) => {
  process.stderr.write(`\nsqs-bench: ${(error as Error).message}\n`);
  process.exit(1);
});
