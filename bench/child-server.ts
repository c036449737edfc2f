// Servers the benches run as child processes (Pier, the SQS stub), optionally pinned with taskset,
// and their CPU use from /proc.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BROKER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { stopOnInterrupt } from './interrupt.js';

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly host: string;
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns `node args...` (under taskset -c cpus when given) and waits for `<name> listening on HOST:PORT`. */
export async function startServer(args: string[], name: string, cpus: string | null): Promise<ServerProcess> {
  const child =
    cpus === null
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', cpus, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-16_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    unregister();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const unregister = stopOnInterrupt(stop);
  const pattern = new RegExp(`${name} listening on (\\S+):(\\d+)`);
  const { host, port } = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} printed no '${name} listening on' line in 30 s:\n${output}`)),
      30_000,
    );
    const check = () => {
      const match = pattern.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({ host: match[1] === '0.0.0.0' ? '127.0.0.1' : match[1]!, port: Number(match[2]) });
    };
    child.stdout!.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return {
    child,
    host,
    port,
    output: () => output,
    stop,
  };
}

/** Linux's USER_HZ (clock ticks in /proc/<pid>/stat). */
const CLOCK_TICKS_PER_S =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU seconds (user + system) a process has used, from /proc; null where there is no /proc. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** `pier serve` with only the Kafka listener (port 0), as the Kafka benches run it. */
export function startKafkaOnlyPier(
  pierBin: string,
  dataDir: string,
  options: { fsync?: string; nodeArgs?: readonly string[]; cpus?: string | null } = {},
): Promise<ServerProcess> {
  const args = [
    ...BROKER_NODE_FLAGS,
    ...(options.nodeArgs ?? []),
    pierBin,
    'serve',
    '--data-dir',
    dataDir,
    '--amqp-port',
    'off',
    '--kafka-port',
    '0',
    '--sqs-port',
    'off',
    '--http-port',
    'off',
    '--prometheus-port',
    'off',
    ...(options.fsync ? ['--fsync', options.fsync] : []),
  ];
  return startServer(args, 'kafka', options.cpus ?? null);
}
