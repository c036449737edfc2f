// Start a Pier broker as a child process (own process => own core) on a
// temporary data directory and an ephemeral AMQP port.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from '../src/cli/node-flags.js';

export interface ChildBroker {
  url: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
  /** True once the child process has exited. */
  exited(): boolean;
  /** Tail of the broker's stdout/stderr. */
  output(): string;
}

/** dist/bench/amqp-bench.js -> dist/src/cli/pier.js */
export function defaultPierBin(): string {
  return fileURLToPath(new URL('../src/cli/pier.js', import.meta.url));
}

const LISTEN_RE = /amqp listening on ([^\s:]+):(\d+)/;

/**
 * @param cpus optional CPU list for `taskset -c` (Linux) to pin the broker to
 *   its own core(s), e.g. "1" or "2-3".
 */
export async function startPier(
  bin: string,
  cpus: string | null = null,
  timeoutMs = 30_000,
): Promise<ChildBroker> {
  if (!existsSync(bin)) {
    throw new Error(
      `Pier CLI not found at ${bin} (run \`npm run build\`, pass --pier-bin, or use --pier-url / --no-pier)`,
    );
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'pier-bench-'));
  const args = [
    ...BROKER_NODE_FLAGS,
    bin,
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
    // Off too: a bench that dies leaves its broker running, which must not hold a standard port.
    '--prometheus-port',
    'off',
  ];
  const child: ChildProcess =
    cpus === null
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', cpus, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 5000);
      await exitPromise;
      clearTimeout(t);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Pier did not report an AMQP listener within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.length > 64 * 1024) output = output.slice(-32 * 1024);
        const m = LISTEN_RE.exec(output);
        if (m) {
          clearTimeout(timer);
          const host = m[1] === '0.0.0.0' || m[1] === '::' ? '127.0.0.1' : m[1];
          resolve(`amqp://guest:guest@${host}:${m[2]}`);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Pier exited early (code ${code}, signal ${signal}):\n${output.trim()}`));
      });
    });
    // the 'data' listeners stay attached: they keep draining the pipes (so the
    // broker never blocks on a full pipe) and keep a tail for error reports
    return {
      url,
      pid: child.pid ?? 0,
      dataDir,
      stop,
      exited: () => exited,
      output: () => output.slice(-4000),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
