// A three-node RabbitMQ cluster on loopback for the compat suite, made of Debian's rabbitmq-server:
// each node gets its own name (`pier-cluster-<run>-<i>@localhost`), AMQP, distribution and
// management ports and a throwaway data directory, runs as the rabbitmq user (so all share that
// user's Erlang cookie, which clustering needs), and nodes 2 and 3 join node 1 with
// `rabbitmqctl join_cluster`. The machine's own reference node (rabbit@host) is left alone.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort } from '../helpers/broker.js';
import { run } from './helpers.js';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const BOOT_TIMEOUT_S = 240;

/** Why a cluster cannot be started here, or false when it can. */
export function clusterUnavailable(): string | false {
  if (!existsSync(SERVER)) return 'rabbitmq-server is not installed (apt-get install rabbitmq-server)';
  if (process.getuid?.() !== 0) return 'starting RabbitMQ nodes as the rabbitmq user needs root';
  return false;
}

export interface ClusterNode {
  readonly name: string;
  readonly amqpPort: number;
  readonly httpPort: number;
  readonly amqpUrl: string;
  readonly httpUrl: string;
}

export interface RabbitCluster {
  readonly nodes: readonly ClusterNode[];
  /** Runs rabbitmqctl against one node; rejects with its output when it fails. */
  ctl(node: ClusterNode, args: string[], timeoutMs?: number): Promise<string>;
  /** Stops every node and removes their data. */
  stop(): Promise<void>;
}

async function ctl(node: { name: string }, args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await run('rabbitmqctl', ['-q', '-n', node.name, ...args], { timeoutMs });
  if (r.code !== 0) {
    throw new Error(
      `rabbitmqctl -n ${node.name} ${args.join(' ')} failed (${r.code}): ${r.stdout}${r.stderr}`,
    );
  }
  return r.stdout.toString();
}

async function startNode(base: string, node: ClusterNode, distPort: number): Promise<void> {
  const dir = join(base, node.name.split('@')[0]!);
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
  writeFileSync(join(dir, 'enabled_plugins'), '[rabbitmq_management].\n');
  await run('chown', ['-R', 'rabbitmq:rabbitmq', base]);
  // The package's wrapper drops the environment through su: set it inside the shell.
  const env = [
    `RABBITMQ_NODENAME=${node.name}`,
    `RABBITMQ_DIST_PORT=${distPort}`,
    `RABBITMQ_CONFIG_FILE=${join(dir, 'rabbitmq.conf')}`,
    `RABBITMQ_ENABLED_PLUGINS_FILE=${join(dir, 'enabled_plugins')}`,
    `RABBITMQ_MNESIA_BASE=${join(dir, 'mnesia')}`,
    `RABBITMQ_LOG_BASE=${join(dir, 'log')}`,
  ].join(' ');
  const started = await run('su', [
    'rabbitmq',
    '-s',
    '/bin/sh',
    '-c',
    `cd /var/lib/rabbitmq && ${env} ${SERVER} -detached`,
  ]);
  if (started.code !== 0) throw new Error(`rabbitmq-server ${node.name} did not start: ${started.stderr}`);
  await awaitBoot(node, dir);
}

/** Waits for the node to register and finish booting (await_startup fails while epmd does not know it yet). */
async function awaitBoot(node: ClusterNode, dir: string): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_S * 1000;
  for (;;) {
    const r = await run('rabbitmqctl', ['-q', '-n', node.name, 'await_startup', '--timeout', '30'], {
      timeoutMs: 40_000,
    });
    if (r.code === 0) return;
    if (Date.now() > deadline) {
      const log = await run('sh', ['-c', `tail -n 30 ${join(dir, 'log')}/*.log`]);
      throw new Error(`RabbitMQ node ${node.name} did not boot in ${BOOT_TIMEOUT_S} s:\n${log.stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Boots three nodes side by side and joins nodes 2 and 3 to node 1. */
export async function startRabbitCluster(): Promise<RabbitCluster> {
  const run_ = randomBytes(3).toString('hex');
  const base = mkdtempSync('/tmp/pier-rabbit-cluster-');
  const nodes: ClusterNode[] = [];
  const distPorts: number[] = [];
  for (let i = 1; i <= 3; i++) {
    const amqpPort = await freeLoopbackPort();
    const httpPort = await freeLoopbackPort();
    distPorts.push(await freeLoopbackPort());
    nodes.push({
      name: `pier-cluster-${run_}-${i}@localhost`,
      amqpPort,
      httpPort,
      amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      httpUrl: `http://guest:guest@127.0.0.1:${httpPort}`,
    });
  }
  const stop = async () => {
    await Promise.all(nodes.map((node) => ctl(node, ['stop'], 60_000).catch(() => undefined)));
    await run('pkill', ['-9', '-u', 'rabbitmq', '-f', `pier-cluster-${run_}-`]);
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((node, i) => startNode(base, node, distPorts[i]!)));
    for (const node of nodes.slice(1)) {
      await ctl(node, ['stop_app']);
      await ctl(node, ['join_cluster', nodes[0]!.name]);
      await ctl(node, ['start_app']);
      await ctl(node, ['await_startup', '--timeout', '120'], 130_000);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, ctl, stop };
}
