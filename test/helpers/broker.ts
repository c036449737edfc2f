/**
 * Test helpers: a real broker in-process on port 0, or in a child process (for kill -9 tests), the
 * CLI run once, and bare servers on free ports.
 *
 * This file is the only way tests start brokers or listen on sockets (test/meta/test-ports.test.ts
 * checks the test sources for it). `startBroker()` and `pier serve` default to the standard ports
 * (5672, 9092, 9324, 15672, 15692; with a certificate the TLS ones 5671, 9093, 9325, 15671) for embedded and dev-server use; the helpers give every listener port 0
 * or switch it off, and refuse a standard port, so `npm test` runs beside a RabbitMQ, a Kafka or an
 * ElasticMQ on the same machine. scripts/run-tests.mjs also holds the standard ports on loopback
 * during the run, so a test that binds one anyway fails.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Broker, type BrokerOptions, startBroker } from '../../src/index.js';

/** The ports `startBroker()` and `pier serve` take by default, by listener. No test binds them. */
export const STANDARD_PORTS: ReadonlyMap<string, number> = new Map([
  ['amqp', 5672],
  ['kafka', 9092],
  ['sqs', 9324],
  ['http', 15672],
  ['prometheus', 15692],
  ['amqps', 5671],
  ['kafka-tls', 9093],
  ['sqs-tls', 9325],
  ['https', 15671],
]);

const STANDARD_PORT_NUMBERS = new Set(STANDARD_PORTS.values());

function refuseStandardPort(where: string, port: number | false | undefined): void {
  if (port !== undefined && port !== false && STANDARD_PORT_NUMBERS.has(port)) {
    throw new Error(
      `${where}: ${port} is a standard port; tests use 0 (a free port) or switch the listener off`,
    );
  }
}

export function tempDir(prefix = 'pier-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestBroker extends Broker {
  /** The AMQP URL; '' when the AMQP listener is off (`amqpPort: false`). */
  readonly url: string;
  /** Closes the broker and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts an in-process broker with a fresh data directory and only the AMQP listener, on a free
 * port. Listener ports the caller leaves out (or undefined) are 0 for AMQP and off for the others.
 */
export async function startTestBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const ports = {
    amqpPort: options.amqpPort ?? 0,
    kafkaPort: options.kafkaPort ?? false,
    sqsPort: options.sqsPort ?? false,
    httpPort: options.httpPort ?? false,
    prometheusPort: options.prometheusPort ?? false,
    amqpsPort: options.amqpsPort ?? false,
    kafkaTlsPort: options.kafkaTlsPort ?? false,
    sqsTlsPort: options.sqsTlsPort ?? false,
    httpsPort: options.httpsPort ?? false,
  } as const;
  for (const [option, port] of Object.entries(ports)) refuseStandardPort(`startTestBroker ${option}`, port);
  const dataDir = options.dataDir ?? tempDir();
  const broker = await startBroker({
    fsync: 'always',
    log: () => {},
    ...options,
    ...ports,
    dataDir,
  });
  return Object.assign(Object.create(broker) as Broker, broker, {
    url: broker.amqp?.url ?? '',
    async stop() {
      await broker.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

const CLI = fileURLToPath(new URL('../../src/cli/pier.js', import.meta.url));

/** `pier serve` flags that set every listener's port: AMQP on a free port, the others off. */
const SERVE_LISTENER_ARGS: readonly string[] = [
  '--amqp-port',
  '0',
  '--kafka-port',
  'off',
  '--sqs-port',
  'off',
  '--http-port',
  'off',
  '--prometheus-port',
  'off',
  '--amqps-port',
  'off',
  '--kafka-tls-port',
  'off',
  '--sqs-tls-port',
  'off',
  '--https-port',
  'off',
];

/**
 * The same as environment variables, for one-shot CLI runs: a flag or variable the test gives
 * overrides them (flags beat the environment in `pier serve`).
 */
const SERVE_LISTENER_ENV: Readonly<Record<string, string>> = {
  PIER_AMQP_PORT: '0',
  PIER_KAFKA_PORT: 'off',
  PIER_SQS_PORT: 'off',
  PIER_HTTP_PORT: 'off',
  PIER_PROMETHEUS_PORT: 'off',
  PIER_AMQPS_PORT: 'off',
  PIER_KAFKA_TLS_PORT: 'off',
  PIER_SQS_TLS_PORT: 'off',
  PIER_HTTPS_PORT: 'off',
};

/** Throws if `pier serve` arguments set a listener to a standard port (`--sqs-port 9324`). */
function refuseStandardPortArgs(where: string, args: readonly string[]): void {
  for (let i = 0; i < args.length; i++) {
    const match = /^--(amqp|kafka|sqs|http|prometheus|amqps|kafka-tls|sqs-tls|https)-port(?:=(.*))?$/.exec(
      args[i]!,
    );
    if (!match) continue;
    const value = match[2] ?? args[i + 1];
    if (value !== undefined && /^\d+$/.test(value))
      refuseStandardPort(`${where} --${match[1]}-port`, Number(value));
  }
}

function refuseStandardPortEnv(where: string, env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(SERVE_LISTENER_ENV)) {
    const value = env[name];
    if (value !== undefined && /^\d+$/.test(value)) refuseStandardPort(`${where} ${name}`, Number(value));
  }
}

export interface PierRun {
  /** The exit code (1 when the process ended otherwise, e.g. by the timeout). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the `pier` CLI once, to its exit, as an async child process (a synchronous one would block
 * a broker in this process). For `serve` the listeners default to AMQP on a free port and the
 * others off, through the environment, so the test's own flags and variables still win.
 */
export async function runPier(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<PierRun> {
  const env = { ...process.env, ...SERVE_LISTENER_ENV, ...options.env };
  refuseStandardPortArgs('runPier', args);
  refuseStandardPortEnv('runPier', env);
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env, timeout: options.timeoutMs ?? 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
    child.stdin!.end(options.input ?? '');
  });
}

/**
 * Starts a one-shot `pier` command (not `serve`) as a child process and returns at once, for a test
 * that interrupts it (e.g. SIGKILLs a hand-over mid-way); stdout and stderr are pipes to read.
 */
export function spawnPier(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const env = { ...process.env, ...SERVE_LISTENER_ENV, ...options.env };
  refuseStandardPortArgs('spawnPier', args);
  refuseStandardPortEnv('spawnPier', env);
  return spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface ChildBroker {
  readonly process: ChildProcess;
  readonly url: string;
  readonly port: number;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Each `pier: <name> listening on HOST:PORT` line seen at start-up, by listener name. */
  readonly listeners: ReadonlyMap<string, { host: string; port: number }>;
}

/**
 * Runs `pier serve` as a child process and waits for the listener lines named in `waitFor` (extra
 * args come last, so they override the defaults, e.g. `--kafka-port 0`; a standard port is refused).
 */
export async function spawnBroker(
  dataDir: string,
  extraArgs: string[] = [],
  waitFor: readonly string[] = ['amqp'],
  options: {
    /** A command the broker runs under, e.g. `['nsenter', '-t', pid, '-m', '--']` (another mount namespace). */
    wrapper?: readonly string[];
  } = {},
): Promise<ChildBroker> {
  refuseStandardPortArgs('spawnBroker', extraArgs);
  const command = [
    ...(options.wrapper ?? []),
    process.execPath,
    CLI,
    'serve',
    '--data-dir',
    dataDir,
    ...SERVE_LISTENER_ARGS,
    ...extraArgs,
  ];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout! });
  const listeners = new Map<string, { host: string; port: number }>();
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `broker printed no '${waitFor.join("', '")} listening on' line in 20 s:\n${stdout}${stderr}`,
        ),
      );
    }, 20_000);
    lines.on('line', (line) => {
      if (stdout.length < 8192) stdout += `${line}\n`;
      const match = /(\w+) listening on (\S+):(\d+)/.exec(line);
      if (match) listeners.set(match[1]!, { host: match[2]!, port: Number(match[3]) });
      if (waitFor.every((name) => listeners.has(name))) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code}) before listening: ${stderr}`));
    });
  });
  for (const [name, address] of listeners) {
    if (STANDARD_PORT_NUMBERS.has(address.port)) {
      child.kill('SIGKILL');
      throw new Error(`spawnBroker: the ${name} listener bound the standard port ${address.port}`);
    }
  }
  const port = listeners.get('amqp')?.port ?? 0;
  return { process: child, port, url: `amqp://guest:guest@127.0.0.1:${port}`, exited, listeners };
}

/** A Pier protocol server (AmqpServer, KafkaServer, SqsServer) tested on its own. */
interface ProtocolServer<Address> {
  listen(host: string, port: number): Promise<Address>;
}

/** Starts a protocol server on a free loopback port; resolves with what its listen() does. */
export function listenOnFreePort<Address>(server: ProtocolServer<Address>): Promise<Address> {
  return server.listen('127.0.0.1', 0);
}

/** Starts a node:net or node:http server on a free loopback port; resolves with the port. */
export async function listenNodeServer(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

/**
 * A loopback port free a moment ago, for a program the test runs that cannot pick its own port
 * (a real Prometheus's --web.listen-address). Never a standard port.
 */
export async function freeLoopbackPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  const port = await listenNodeServer(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  refuseStandardPort('freeLoopbackPort', port);
  return port;
}
