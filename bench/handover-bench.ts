// `npm run bench -- handover --amqp URL --http URL [--messages N] [--queues Q] [--size BYTES] [--quorum]`:
// `pier handover rabbitmq` throughput, Pier → a real RabbitMQ: N persistent messages spread over Q
// queues in a fresh vhost of an in-process Pier (fsync always) are handed over with on-confirm
// moves (src/bridge/handover), timed from the start of the hand-over to its verified end. The
// vhost is deleted from RabbitMQ afterwards. RabbitMQ's own shovel is not measured here (it needs
// the rabbitmq_shovel plugin and a second node).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import { handoverToRabbitmq, vhostUrl } from '../src/bridge/handover/rabbitmq-handover.js';
import { startBroker } from '../src/broker.js';
import * as management from '../src/core/amqp/management.js';
import { exportDefinitions } from '../src/core/amqp/rabbit-definitions.js';

const { values } = parseArgs({
  options: {
    amqp: {
      type: 'string',
      default: process.env.PIER_REFERENCE_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    },
    http: {
      type: 'string',
      default: process.env.PIER_REFERENCE_HTTP_URL ?? 'http://guest:guest@127.0.0.1:15672',
    },
    messages: { type: 'string', default: '50000' },
    queues: { type: 'string', default: '4' },
    size: { type: 'string', default: '256' },
    quorum: { type: 'boolean', default: false },
  },
});
const messages = Number(values.messages);
const queueCount = Number(values.queues);
const body = Buffer.alloc(Number(values.size), 'x');
const vhost = `bench-handover-${randomBytes(4).toString('hex')}`;

const dataDir = mkdtempSync(join(tmpdir(), 'pier-bench-handover-'));
const pier = await startBroker({
  dataDir,
  amqpPort: 0,
  kafkaPort: false,
  sqsPort: false,
  httpPort: false,
  prometheusPort: false,
  fsync: 'always',
  log: () => {},
});
const http = new URL(values.http);
const auth = `Basic ${Buffer.from(`${decodeURIComponent(http.username)}:${decodeURIComponent(http.password)}`).toString('base64')}`;
try {
  management.addVhost(pier.core, vhost);
  management.setPermissions(pier.core, { user: 'guest', vhost, configure: '.*', write: '.*', read: '.*' });
  const connection = await amqplib.connect(vhostUrl(pier.amqp!.url, vhost));
  const channel = await connection.createConfirmChannel();
  for (let q = 0; q < queueCount; q++) await channel.assertQueue(`q${q}`, { durable: true });
  for (let i = 0; i < messages; i++) {
    if (!channel.sendToQueue(`q${i % queueCount}`, body, { persistent: true, messageId: `m${i}` })) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
  }
  await channel.waitForConfirms();
  await connection.close();

  const started = performance.now();
  const report = await handoverToRabbitmq({
    pierDefinitions: exportDefinitions(pier.core) as Record<string, unknown>,
    sourceAmqpUrl: pier.amqp!.url,
    targetAmqpUrl: values.amqp,
    targetHttpUrl: values.http,
    vhosts: new RegExp(`^${vhost}$`),
    quorum: values.quorum,
    progress: () => {},
  });
  const seconds = (performance.now() - started) / 1000;
  const moved = report.queues.reduce((sum, q) => sum + q.moved, 0);
  console.log(
    `pier handover rabbitmq: ${moved} of ${messages} msgs x ${body.length} B over ${queueCount} ${values.quorum ? 'quorum' : 'classic'} queue(s): ` +
      `${Math.round(moved / seconds)} msgs/s (${seconds.toFixed(2)} s, including the definitions import and the check)${report.complete ? '' : ' INCOMPLETE'}`,
  );
} finally {
  await fetch(`${http.origin}/api/vhosts/${encodeURIComponent(vhost)}`, {
    method: 'DELETE',
    headers: { authorization: auth },
  }).catch(() => {});
  await pier.close();
  rmSync(dataDir, { recursive: true, force: true });
}
