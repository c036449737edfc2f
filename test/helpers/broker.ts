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
    url: broker.amqp!.url,
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
  /** host:port of the Kafka listener, when extraArgs switched it on (`--kafka-port 0`). */
  readonly kafkaBootstrap?: string;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

/** Runs `pier serve` as a child process and waits for its AMQP listener line. */
export async function spawnBroker(dataDir: string, extraArgs: string[] = []): Promise<ChildBroker> {
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
  // The last --kafka-port wins; the Kafka line is printed after the AMQP one.
  const kafkaOn =
    extraArgs.lastIndexOf('--kafka-port') >= 0 &&
    extraArgs[extraArgs.lastIndexOf('--kafka-port') + 1] !== 'off';
  let kafkaBootstrap: string | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    let amqpPort: number | undefined;
    lines.on('line', (line) => {
      const amqpMatch = /amqp listening on (\S+):(\d+)/.exec(line);
      if (amqpMatch) amqpPort = Number(amqpMatch[2]);
      const kafkaMatch = /kafka listening on (\S+)/.exec(line);
      if (kafkaMatch) kafkaBootstrap = kafkaMatch[1];
      if (amqpPort !== undefined && (!kafkaOn || kafkaBootstrap)) resolve(amqpPort);
    });
    exited.then((code) => reject(new Error(`broker exited (${code}) before listening: ${stderr}`)));
  });
  return { process: child, port, url: `amqp://guest:guest@127.0.0.1:${port}`, kafkaBootstrap, exited };
}
