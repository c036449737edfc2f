// A three-node RabbitMQ cluster on loopback for the compat suite (nodes booted as
// bench/rabbitmq-node.ts does it): nodes 2 and 3 join node 1 with `rabbitmqctl join_cluster`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  type RabbitNode,
  rabbitCtl,
  rabbitNode,
  rabbitNodesUnavailable,
  startRabbitNode,
  stopRabbitNodes,
} from '../../bench/rabbitmq-node.js';
import { freeLoopbackPort } from '../helpers/broker.js';

export type ClusterNode = RabbitNode;
export const clusterUnavailable = rabbitNodesUnavailable;

export interface RabbitCluster {
  readonly nodes: readonly ClusterNode[];
  /** Runs rabbitmqctl against one node; rejects with its output when it fails. */
  ctl(node: ClusterNode, args: string[], timeoutMs?: number): Promise<string>;
  /** Stops every node and removes their data. */
  stop(): Promise<void>;
}

/** Boots three nodes side by side and joins nodes 2 and 3 to node 1. */
export async function startRabbitCluster(): Promise<RabbitCluster> {
  const run = randomBytes(3).toString('hex');
  const base = mkdtempSync('/tmp/pier-rabbit-cluster-');
  const nodes: ClusterNode[] = [];
  for (let i = 1; i <= 3; i++) {
    const ports = {
      amqp: await freeLoopbackPort(),
      http: await freeLoopbackPort(),
      dist: await freeLoopbackPort(),
    };
    nodes.push(rabbitNode(`pier-cluster-${run}-${i}@localhost`, ports));
  }
  const stop = async () => {
    await stopRabbitNodes(nodes, `pier-cluster-${run}-`);
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((node) => startRabbitNode(node, base, ['rabbitmq_management'])));
    for (const node of nodes.slice(1)) {
      await rabbitCtl(node, ['stop_app']);
      await rabbitCtl(node, ['join_cluster', nodes[0]!.name]);
      await rabbitCtl(node, ['start_app']);
      await rabbitCtl(node, ['await_startup', '--timeout', '120'], 130_000);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, ctl: rabbitCtl, stop };
}
