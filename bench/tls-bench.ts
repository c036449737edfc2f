// `npm run bench -- tls`: what TLS costs per protocol, side by side in one run. One Pier child
// process serves every listener twice, plain and TLS (certificates from `pier tls dev-cert`), and
// each workload runs against both, alternating plain/TLS for --rounds rounds:
//   AMQP   amqplib, a confirm channel publishing --messages messages, then a consumer reading them;
//   Kafka  kcat producing --messages records, then kcat consuming them (security.protocol=ssl);
//   SQS    @aws-sdk/client-sqs, 8 workers sending batches of 10, then receiving and deleting.
// Prints msgs/s per round and the ratio TLS / plain of the medians.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import { defaultPierBin } from './broker.js';
import { machineInfo, machineLine } from './report.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    size: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    fsync: { type: 'string', default: 'always' },
    only: { type: 'string' },
    'pier-bin': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run bench -- tls [--messages 20000] [--size 1024] [--rounds 3] [--fsync always|interval|never]\n' +
      '  [--only amqp|kafka|sqs] [--pier-bin PATH]\n',
  );
  process.exit(0);
}
const MESSAGES = Number(values.messages);
const BODY = Buffer.alloc(Number(values.size), 'x');
const ROUNDS = Number(values.rounds);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Pier {
  readonly ports: Record<string, number>;
  readonly child: ChildProcess;
  readonly ca: Buffer;
  readonly caFile: string;
}

async function startPier(certDir: string, dataDir: string): Promise<Pier> {
  const bin = values['pier-bin'] ?? defaultPierBin();
  const made = spawnSync(process.execPath, [bin, 'tls', 'dev-cert', '--out', certDir], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`pier tls dev-cert failed:\n${made.stderr}`);
  const args = [
    bin,
    'serve',
    '--data-dir',
    dataDir,
    '--fsync',
    values.fsync,
    '--http-port',
    'off',
    '--prometheus-port',
    'off',
    '--tls-cert',
    join(certDir, 'server.pem'),
    '--tls-key',
    join(certDir, 'server-key.pem'),
  ];
  for (const flag of ['amqp-port', 'amqps-port', 'kafka-port', 'kafka-tls-port', 'sqs-port', 'sqs-tls-port'])
    args.push(`--${flag}`, '0');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const wanted = ['amqp', 'amqps', 'kafka', 'kafka-tls', 'sqs', 'sqs-tls'];
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const found: Record<string, number> = {};
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(/pier: ([a-z-]+) listening on [^\s]+:(\d+)/g))
        found[m[1]!] = Number(m[2]);
      if (wanted.every((w) => found[w] !== undefined)) resolve(found);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`Pier exited (${code}):\n${output}`)));
  });
  const caFile = join(certDir, 'ca.pem');
  return { ports, child, ca: readFileSync(caFile), caFile };
}

async function amqpRound(pier: Pier, tls: boolean, round: number): Promise<number> {
  const url = tls
    ? `amqps://guest:guest@localhost:${pier.ports.amqps}`
    : `amqp://guest:guest@127.0.0.1:${pier.ports.amqp}`;
  const connection = await amqplib.connect(url, tls ? { ca: [pier.ca] } : {});
  const queue = `tls-bench-${tls ? 'tls' : 'plain'}-${round}`;
  const started = performance.now();
  const publisher = await connection.createConfirmChannel();
  await publisher.assertQueue(queue, { durable: true });
  for (let i = 0; i < MESSAGES; i++) {
    if (!publisher.sendToQueue(queue, BODY, { persistent: true })) {
      await new Promise((resolve) => publisher.once('drain', resolve));
    }
  }
  await publisher.waitForConfirms();
  const consumer = await connection.createChannel();
  await consumer.prefetch(1000);
  await new Promise<void>((resolve) => {
    let received = 0;
    void consumer.consume(queue, (message) => {
      if (!message) return;
      consumer.ack(message);
      if (++received === MESSAGES) resolve();
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await publisher.deleteQueue(queue);
  await connection.close();
  return MESSAGES / seconds;
}

function run(command: string, args: string[], input?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${code}: ${stderr}`)),
    );
    child.stdin!.end(input);
  });
}

async function kafkaRound(pier: Pier, tls: boolean, round: number): Promise<number> {
  const port = tls ? pier.ports['kafka-tls'] : pier.ports.kafka;
  const common = ['-b', `localhost:${port}`, '-t', `tls-bench-${tls ? 'tls' : 'plain'}-${round}`];
  if (tls) common.push('-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${pier.caFile}`);
  const line = `${BODY.toString('latin1').slice(0, BODY.length - 1)}\n`;
  const input = Buffer.from(line.repeat(MESSAGES), 'latin1');
  const started = performance.now();
  await run('kcat', ['-P', ...common, '-X', 'acks=all'], input);
  await run('kcat', ['-C', ...common, '-o', 'beginning', '-e', '-q']);
  return MESSAGES / ((performance.now() - started) / 1000);
}

async function sqsRound(pier: Pier, tls: boolean, round: number): Promise<number> {
  const endpoint = tls ? `https://localhost:${pier.ports['sqs-tls']}` : `http://127.0.0.1:${pier.ports.sqs}`;
  const sqs = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    ...(tls ? { requestHandler: { httpsAgent: new Agent({ ca: pier.ca, keepAlive: true }) } } : {}),
  });
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `tls-bench-${tls ? 'tls' : 'plain'}-${round}` }),
  );
  const body = BODY.toString('latin1');
  const workers = 8;
  const batches = Math.ceil(MESSAGES / 10);
  let nextBatch = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (nextBatch < batches) {
        const batch = nextBatch++;
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl,
            Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `${batch}:${body}` })),
          }),
        );
      }
    }),
  );
  let received = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (received < batches * 10) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        if (Messages.length === 0) continue;
        received += Messages.length;
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: Messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  sqs.destroy();
  return (batches * 10) / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const certDir = mkdtempSync(join(tmpdir(), 'pier-tls-bench-certs-'));
const dataDir = mkdtempSync(join(tmpdir(), 'pier-tls-bench-data-'));
const pier = await startPier(certDir, dataDir);
log(machineLine(machineInfo()));
log(`${MESSAGES} messages of ${BODY.length} B per round, ${ROUNDS} rounds, fsync ${values.fsync}`);
const workloads = [
  ['amqp (amqplib, confirms)', amqpRound],
  ['kafka (kcat, acks=all)', kafkaRound],
  ['sqs (SDK, 8 workers, batches of 10)', sqsRound],
] as const;
const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
const rows: string[] = [];
try {
  for (const [name, round] of workloads) {
    if (values.only && !name.startsWith(values.only)) continue;
    if (name.startsWith('kafka') && !hasKcat) {
      log('kafka: kcat is not installed (apt-get install kcat); skipped');
      continue;
    }
    const plain: number[] = [];
    const secure: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first: the first run of a round pays for warm-up and page cache.
      if (r % 2 === 0) {
        plain.push(await round(pier, false, r));
        secure.push(await round(pier, true, r));
      } else {
        secure.push(await round(pier, true, r));
        plain.push(await round(pier, false, r));
      }
      log(
        `${name} round ${r + 1}: plain ${Math.round(plain.at(-1)!)} msgs/s, TLS ${Math.round(secure.at(-1)!)} msgs/s`,
      );
    }
    rows.push(
      `| ${name} | ${Math.round(median(plain))} | ${Math.round(median(secure))} | ${(median(secure) / median(plain)).toFixed(2)} |`,
    );
  }
} finally {
  pier.child.kill('SIGTERM');
  await new Promise((resolve) => pier.child.once('exit', resolve));
  rmSync(certDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}
process.stdout.write(
  `| Workload | plain msgs/s | TLS msgs/s | TLS / plain |\n| --- | --: | --: | --: |\n${rows.join('\n')}\n`,
);
