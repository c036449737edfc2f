/** Test helpers: a real broker in-process on port 0, or in a child process (for kill -9 tests). */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Broker, type BrokerOptions, startBroker } from '../../src/index.js';

export function tempDir(prefix = 'pier-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestBroker extends Broker {
  /** The AMQP URL; '' when the AMQP listener is off (`amqpPort: false`). */
  readonly url: string;
  /** Closes the broker and deletes its data directory. */
  stop(): Promise<void>;
}

/** Starts an in-process broker with a fresh data directory and only the AMQP listener, on a free port. */
export async function startTestBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const dataDir = options.dataDir ?? tempDir();
  const broker = await startBroker({
    amqpPort: 0,
    kafkaPort: false,
    sqsPort: false,
    httpPort: false,
    fsync: 'always',
    log: () => {},
    ...options,
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
 * args come last, so they override the defaults, e.g. `--kafka-port 0`).
 */
export async function spawnBroker(
  dataDir: string,
  extraArgs: string[] = [],
  waitFor: readonly string[] = ['amqp'],
): Promise<ChildBroker> {
  const child = spawn(
    process.execPath,
    [
      CLI,
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
      'off',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
  const port = listeners.get('amqp')?.port ?? 0;
  return { process: child, port, url: `amqp://guest:guest@127.0.0.1:${port}`, exited, listeners };
}
