// Extra RabbitMQ nodes on loopback from Debian's rabbitmq-server, for benchmarks and the compat
// suite: each node gets its own name, AMQP, distribution and management ports, plugins and a
// throwaway data directory, and runs as the rabbitmq user (so every node shares that user's Erlang
// cookie, which clustering and rabbitmqctl need). The machine's own node (rabbit@host) is left alone.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const BOOT_TIMEOUT_MS = 400_000;

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Why extra nodes cannot be started here, or false when they can. */
export function rabbitNodesUnavailable(): string | false {
  if (!existsSync(SERVER)) return 'rabbitmq-server is not installed (apt-get install rabbitmq-server)';
  if (process.getuid?.() !== 0) return 'starting RabbitMQ nodes as the rabbitmq user needs root';
  return false;
}

export interface RabbitNode {
  /** The Erlang node name, e.g. `pier-cluster-1a2b3c-1@localhost`. */
  readonly name: string;
  readonly amqpPort: number;
  readonly httpPort: number;
  readonly distPort: number;
  readonly amqpUrl: string;
  readonly httpUrl: string;
}

/** A node's ports and name; `startRabbitNode` boots it. */
export function rabbitNode(name: string, ports: { amqp: number; http: number; dist: number }): RabbitNode {
  return {
    name,
    amqpPort: ports.amqp,
    httpPort: ports.http,
    distPort: ports.dist,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${ports.amqp}`,
    httpUrl: `http://guest:guest@127.0.0.1:${ports.http}`,
  };
}

/** Runs a command to completion; resolves with its exit code and output. */
function exec(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** rabbitmqctl against one node; rejects with its output when it fails. */
export async function rabbitCtl(node: { name: string }, args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await exec('rabbitmqctl', ['-q', '-n', node.name, ...args], timeoutMs);
  if (r.code !== 0)
    throw new Error(`rabbitmqctl -n ${node.name} ${args.join(' ')} failed (${r.code}): ${r.output}`);
  return r.output;
}

/** Boots a node with its data under baseDir and waits until it has started. */
export async function startRabbitNode(
  node: RabbitNode,
  baseDir: string,
  plugins: readonly string[],
): Promise<void> {
  const dir = join(baseDir, node.name.split('@')[0]!);
  mkdirSync(join(dir, 'mnesia'), { recursive: true });
  mkdirSync(join(dir, 'log'), { recursive: true });
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${node.amqpPort}`,
      `management.tcp.port = ${node.httpPort}`,
      'management.tcp.ip = 127.0.0.1',
      'distribution.listener.interface = 127.0.0.1',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
  await exec('chown', ['-R', 'rabbitmq:rabbitmq', baseDir], 30_000);
  // The package's wrapper drops the environment through su: set it inside the shell.
  const env = [
    `RABBITMQ_NODENAME=${node.name}`,
    `RABBITMQ_DIST_PORT=${node.distPort}`,
    `RABBITMQ_CONFIG_FILE=${join(dir, 'rabbitmq.conf')}`,
    `RABBITMQ_ENABLED_PLUGINS_FILE=${join(dir, 'enabled_plugins')}`,
    `RABBITMQ_MNESIA_BASE=${join(dir, 'mnesia')}`,
    `RABBITMQ_LOG_BASE=${join(dir, 'log')}`,
  ].join(' ');
  const started = await exec(
    'su',
    [
      'rabbitmq',
      '-s',
      '/bin/sh',
      '-c',
      `cd /var/lib/rabbitmq && ulimit -n $(ulimit -Hn) && ${env} ${SERVER} -detached`,
    ],
    30_000,
  );
  if (started.code !== 0) throw new Error(`rabbitmq-server ${node.name} did not start: ${started.output}`);
  // await_startup fails at once while epmd does not know the node yet: try again until the deadline.
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  for (;;) {
    // rabbitmqctl itself (an Erlang VM) takes ~40 s to start on a loaded 2-core machine: give it room.
    const r = await exec('rabbitmqctl', ['-q', '-n', node.name, 'await_startup', '--timeout', '60'], 150_000);
    if (r.code === 0) return;
    if (Date.now() > deadline) {
      const log = await exec('sh', ['-c', `tail -n 30 ${join(dir, 'log')}/*.log`], 10_000);
      throw new Error(
        `RabbitMQ node ${node.name} did not boot in ${BOOT_TIMEOUT_MS / 1000} s:\n${log.output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Stops nodes (and kills what is left of them). */
export async function stopRabbitNodes(nodes: readonly RabbitNode[], namePattern: string): Promise<void> {
  await Promise.all(nodes.map((node) => rabbitCtl(node, ['stop']).catch(() => undefined)));
  await exec('pkill', ['-9', '-u', 'rabbitmq', '-f', namePattern], 10_000);
}
