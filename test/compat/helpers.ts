// Shared plumbing for the compat suite: running other clients as child processes with a timeout,
// unique resource names, and amqplib connections used to check what those clients did.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Channel, type ChannelModel, connect } from 'amqplib';

// Debian's python3-pika installs for the system interpreter; the python3 first on PATH may be another one.
export const PYTHON = '/usr/bin/python3';

// The .py files are not compiled: find test/compat/python in the source tree, walking up from the compiled
// file (dist/test/compat/ in the project build) and then trying the working directory.
export const PYTHON_DIR = findPythonDir();

function findPythonDir(): string {
  const override = process.env.PIER_COMPAT_PYTHON_DIR;
  if (override) return override;
  const candidates: string[] = [];
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    candidates.push(join(dir, 'test', 'compat', 'python'));
    if (dirname(dir) === dir) break;
  }
  candidates.push(join(process.cwd(), 'test', 'compat', 'python'));
  const found = candidates.find((dir) => existsSync(join(dir, 'pikautil.py')));
  if (!found) throw new Error(`test/compat/python not found; tried ${candidates.join(', ')}`);
  return found;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Runs a command to completion (or kills it after timeoutMs) and collects its output. Never rejects on exit status. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms; stderr:\n${stderr}`));
        return;
      }
      resolve({ code, signal, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => {}); // the child may exit without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Like run, but rejects (with the command's stderr) unless it exits 0. */
export async function runOk(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${result.code ?? result.signal}\nstdout:\n${result.stdout.toString('utf8')}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

/** Runs test/compat/python/<script> with the system python and parses the JSON it prints. */
export async function runPython<T>(script: string, args: string[], timeoutMs = 30_000): Promise<T> {
  const result = await runOk(PYTHON, [join(PYTHON_DIR, script), ...args], { timeoutMs });
  const text = result.stdout.toString('utf8').trim();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${script} printed no JSON:\n${text}\nstderr:\n${result.stderr}`);
  }
}

/** A queue or exchange name no other scenario (or concurrent run against a shared server) uses. */
export function uniqueName(scenario: string): string {
  return `compat.${scenario}.${process.pid}.${randomBytes(4).toString('hex')}`;
}

/** Opens an amqplib connection and channel for the duration of fn. */
export async function withAmqplib<T>(url: string, fn: (channel: Channel, model: ChannelModel) => Promise<T>) {
  const model = await connect(url);
  // Without listeners an 'error' event (e.g. the server closing the channel) would crash the test process;
  // the failed operation still rejects, which is what the tests report.
  model.on('error', () => {});
  try {
    const channel = await model.createChannel();
    channel.on('error', () => {});
    return await fn(channel, model);
  } finally {
    await model.close().catch(() => {});
  }
}

/** Deletes queues and exchanges on a fresh connection; used in finally blocks, so failures are ignored. */
export async function cleanup(
  url: string,
  names: { queues?: string[]; exchanges?: string[] },
): Promise<void> {
  await withAmqplib(url, async (_channel, model) => {
    for (const queue of names.queues ?? []) {
      const ch = await model.createChannel();
      await ch.deleteQueue(queue).catch(() => {});
      await ch.close().catch(() => {});
    }
    for (const exchange of names.exchanges ?? []) {
      const ch = await model.createChannel();
      await ch.deleteExchange(exchange).catch(() => {});
      await ch.close().catch(() => {});
    }
  }).catch(() => {});
}

/** Consumes exactly count messages with amqplib (acking each), failing after timeoutMs. */
export async function consumeN(channel: Channel, queue: string, count: number, timeoutMs = 10_000) {
  const received: import('amqplib').ConsumeMessage[] = [];
  let consumerTag = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`amqplib got ${received.length} of ${count} messages from ${queue}`)),
      timeoutMs,
    );
    channel
      .consume(
        queue,
        (msg) => {
          if (!msg) return;
          received.push(msg);
          channel.ack(msg);
          if (received.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
        { noAck: false },
      )
      .then((ok) => {
        consumerTag = ok.consumerTag;
        if (count === 0) {
          clearTimeout(timer);
          resolve();
        }
      }, reject);
  });
  await channel.cancel(consumerTag);
  return received;
}

/** Gets messages with amqplib basic.get until the queue is empty. */
export async function drain(channel: Channel, queue: string) {
  const got: import('amqplib').GetMessage[] = [];
  for (;;) {
    const msg = await channel.get(queue, { noAck: true });
    if (msg === false) return got;
    got.push(msg);
  }
}
