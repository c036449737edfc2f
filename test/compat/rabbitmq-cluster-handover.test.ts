// Issue 17's hand-over to a real RabbitMQ cluster: three RabbitMQ 3.10 nodes on loopback
// (rabbitmq-cluster.ts), `pier handover rabbitmq --quorum` moving 100,000 persistent messages from
// 20 durable queues while Pier is SIGKILLed and restarted and one RabbitMQ node is stopped and
// started. Every message arrives, the queues are quorum queues replicated on the cluster, and an
// amqplib consumer connected to another node reads them unchanged.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { connect } from 'amqplib';
import { type ChildBroker, freeLoopbackPort, spawnBroker, spawnPier, tempDir } from '../helpers/broker.js';
import { apiClient } from '../management/api-client.js';
import {
  type ClusterNode,
  clusterUnavailable,
  type RabbitCluster,
  startRabbitCluster,
} from './rabbitmq-cluster.js';

const QUEUES = 20;
const PER_QUEUE = 5000;
const queueName = (i: number) => `orders-${String(i).padStart(2, '0')}`;

/** Publishes persistent messages with ids on a confirm channel, waiting for confirms every 1,000. */
async function fill(url: string): Promise<void> {
  const connection = await connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    for (let q = 0; q < QUEUES; q++) {
      await channel.assertQueue(queueName(q), { durable: true });
      for (let i = 0; i < PER_QUEUE; i++) {
        channel.sendToQueue(queueName(q), Buffer.from(`order ${q}/${i}`), {
          persistent: true,
          messageId: `${queueName(q)}-${i}`,
          headers: { seq: i },
        });
        if (i % 1000 === 999) await channel.waitForConfirms();
      }
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

interface HandoverRun {
  /** Resolves with the exit code (or signal). */
  readonly exited: Promise<number | string | null>;
  /** Resolves at the next progress line ("moved N of M") after the call. */
  nextProgress(): Promise<void>;
  output(): string;
}

function startHandover(args: string[]): HandoverRun {
  const child = spawnPier(['handover', 'rabbitmq', ...args]);
  let text = '';
  const waiting: Array<() => void> = [];
  child.stdout!.on('data', (chunk) => {
    text += chunk;
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    text += `${line}\n`;
    if (/: moved \d+ of \d+/.test(line)) for (const resolve of waiting.splice(0)) resolve();
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return {
    exited,
    output: () => text,
    nextProgress: () =>
      Promise.race([
        new Promise<void>((resolve) => waiting.push(resolve)),
        exited.then((code) => {
          throw new Error(`the hand-over ended (${code}) before the next progress line:\n${text}`);
        }),
      ]),
  };
}

describe('pier handover rabbitmq to a three-node RabbitMQ cluster', { skip: clusterUnavailable() }, () => {
  let cluster: RabbitCluster;

  before(async () => {
    cluster = await startRabbitCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('moves 100,000 persistent messages into quorum queues while Pier is SIGKILLed and a node is stopped and started', async (t) => {
    const [node1, node2, node3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const status = await cluster.ctl(node1, ['cluster_status', '--formatter', 'json']);
    const running = (JSON.parse(status) as { running_nodes: string[] }).running_nodes;
    assert.deepEqual(
      [...running].sort(),
      cluster.nodes.map((n) => n.name).sort(),
      'the three nodes form one cluster',
    );

    const dataDir = tempDir();
    const port = await freeLoopbackPort();
    const start = () => spawnBroker(dataDir, ['--amqp-port', String(port)]);
    let pier: ChildBroker | undefined = await start();
    try {
      await fill(pier.url);
      const args = [
        '--amqp',
        node1.amqpUrl,
        '--http',
        node1.httpUrl,
        '--from',
        pier.url,
        '--data-dir',
        dataDir,
        '--quorum',
      ];
      let handover = startHandover(args);

      // Pier dies mid-move and comes back on the same port and data directory.
      await handover.nextProgress();
      pier.process.kill('SIGKILL');
      await pier.exited;
      pier = await start();
      // Then one RabbitMQ node stops and starts again while the move goes on.
      await handover.nextProgress();
      await cluster.ctl(node3, ['stop_app']);
      await handover.nextProgress().catch(() => undefined);
      await cluster.ctl(node3, ['start_app']);
      await cluster.ctl(node3, ['await_startup', '--timeout', '120'], 130_000);

      // A hand-over that gave up while the node was away is run again, as an operator would.
      let code = await handover.exited;
      for (let attempt = 2; code !== 0 && attempt <= 3; attempt++) {
        t.diagnostic(`hand-over run ${attempt - 1} ended with ${code}; running it again`);
        handover = startHandover(args);
        code = await handover.exited;
      }
      assert.equal(code, 0, handover.output());
      assert.match(handover.output(), /hand-over complete/);

      // The queues are quorum queues on the cluster, and a consumer on another node reads them all.
      const api = apiClient(`http://127.0.0.1:${node2.httpPort}`, 'guest', 'guest');
      const consumer = await connect(node2.amqpUrl);
      let duplicates = 0;
      try {
        const channel = await consumer.createChannel();
        await channel.prefetch(1000);
        for (let q = 0; q < QUEUES; q++) {
          const name = queueName(q);
          const info = (await api('GET', `/api/queues/%2F/${name}`)).body as {
            type: string;
            members?: string[];
          };
          assert.equal(info.type, 'quorum', `${name} on the cluster`);
          const depth = (await channel.checkQueue(name)).messageCount;
          const ids = new Set<string>();
          await new Promise<void>((resolve, reject) => {
            let seen = 0;
            const timer = setTimeout(
              () => reject(new Error(`${name}: ${seen} of ${depth} read in 60 s`)),
              60_000,
            );
            void channel.consume(name, (message) => {
              if (message === null) return;
              ids.add(message.properties.messageId as string);
              channel.ack(message);
              if (++seen === depth) {
                clearTimeout(timer);
                resolve();
              }
            });
          });
          const missing = Array.from({ length: PER_QUEUE }, (_, i) => `${name}-${i}`).filter(
            (id) => !ids.has(id),
          );
          assert.deepEqual(missing.slice(0, 10), [], `${name}: ${missing.length} message(s) lost`);
          duplicates += depth - PER_QUEUE;
        }
      } finally {
        await consumer.close();
      }
      t.diagnostic(`${duplicates} duplicate(s) in 100,000 after the interruptions (acks lost with Pier)`);
    } finally {
      pier?.process.kill('SIGKILL');
      await pier?.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
