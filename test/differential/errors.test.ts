// Error codes and reply texts: a table of bad operations, each on a fresh connection, recording how the
// operation failed, how the channel and connection were closed (code, text, the method named), and
// whether the connection still works afterwards.
import type { Channel } from 'amqplib';
import { differentialSuite, type Scenario } from './harness.js';
import {
  type Observation,
  outcome,
  type Session,
  type TrackedChannel,
  type TrackedConnection,
  WAIT_MS,
  withSession,
} from './kit.js';

interface Attempt {
  s: Session;
  /** A channel on its own connection, opened for the bad operation. */
  ch: TrackedChannel;
  conn: TrackedConnection;
}

/** The bad operation; for operations without a reply (publish, ack) it resolves once sent. */
type BadOperation = (attempt: Attempt) => Promise<unknown>;

async function attempt(s: Session, operation: BadOperation): Promise<Observation> {
  const conn = await s.connect();
  const ch = await s.channel(conn);
  ch.once('close', () => closedChannels.add(ch));
  const result = await outcome(operation({ s, ch, conn }));
  // A failed RPC closes the channel right behind its error; wait for that close to be seen.
  if (result !== 'ok') await untilClosed(ch);
  const alive = await outcome(
    (async () => {
      const probe: Channel = await conn.createChannel();
      await probe.checkExchange('amq.direct');
      await probe.close();
    })(),
  );
  return {
    result,
    channelClosed: closedChannels.has(ch),
    channelErrors: ch.errors,
    connectionErrors: conn.errors,
    connectionUsableAfter: alive,
  };
}

/** Channels seen closing; a close can come before anyone waits for it (with an RPC's error). */
const closedChannels = new WeakSet<TrackedChannel>();

/** Resolves once the channel has closed, or after WAIT_MS if it stays open. */
async function untilClosed(ch: TrackedChannel): Promise<void> {
  if (closedChannels.has(ch)) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => ch.once('close', resolve)),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
}

/** For operations the broker does not answer: publishes and waits for the channel to close. */
async function publishThenWait(ch: TrackedChannel, exchange: string, key: string): Promise<void> {
  ch.publish(exchange, key, Buffer.from('x'));
  await untilClosed(ch);
}

const q = (s: Session, suffix = 'q') => s.track('queue', s.name(suffix));
const x = (s: Session, suffix = 'x') => s.track('exchange', s.name(suffix));

const BAD_OPERATIONS: Array<[string, BadOperation]> = [
  [
    'redeclare a queue with a different durable flag',
    async ({ s, ch }) => {
      await s.queue('q', { durable: false });
      return ch.assertQueue(q(s), { durable: true });
    },
  ],
  [
    'redeclare a queue with a different x-max-length',
    async ({ s, ch }) => {
      await s.queue('q', { arguments: { 'x-max-length': 10 } });
      return ch.assertQueue(q(s), { arguments: { 'x-max-length': 20 } });
    },
  ],
  [
    'redeclare a queue adding an argument it was declared without',
    async ({ s, ch }) => {
      await s.queue('q');
      return ch.assertQueue(q(s), { arguments: { 'x-message-ttl': 1000 } });
    },
  ],
  [
    'redeclare an exchange with a different type',
    async ({ s, ch }) => {
      await s.exchange('x', 'direct');
      return ch.assertExchange(x(s), 'topic');
    },
  ],
  [
    'redeclare an exchange with a different durable flag',
    async ({ s, ch }) => {
      await s.exchange('x', 'direct', { durable: true });
      return ch.assertExchange(x(s), 'direct', { durable: false });
    },
  ],
  ['passive declare of a missing queue', async ({ s, ch }) => ch.checkQueue(q(s, 'missing'))],
  ['passive declare of a missing exchange', async ({ s, ch }) => ch.checkExchange(x(s, 'missing'))],
  ['bind a missing queue', async ({ s, ch }) => ch.bindQueue(q(s, 'missing'), 'amq.direct', 'k')],
  [
    'bind to a missing exchange',
    async ({ s, ch }) => {
      const queue = await s.queue('q');
      return ch.bindQueue(queue, x(s, 'missing'), 'k');
    },
  ],
  [
    'bind an exchange to a missing exchange',
    async ({ s, ch }) => ch.bindExchange(await s.exchange('dest', 'fanout'), x(s, 'missing'), ''),
  ],
  ['publish to a missing exchange', async ({ s, ch }) => publishThenWait(ch, x(s, 'missing'), 'k')],
  ['consume from a missing queue', async ({ s, ch }) => ch.consume(q(s, 'missing'), () => {})],
  ['basic.get from a missing queue', async ({ s, ch }) => ch.get(q(s, 'missing'))],
  [
    'x-max-length given as a string',
    async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-max-length': '10' } }),
  ],
  ['x-max-length negative', async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-max-length': -1 } })],
  [
    'x-max-priority 300 (above 255)',
    async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-max-priority': 300 } }),
  ],
  [
    'x-message-ttl negative',
    async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-message-ttl': -5 } }),
  ],
  [
    'x-message-ttl given as a string',
    async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-message-ttl': '1000' } }),
  ],
  ['x-expires zero', async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-expires': 0 } })],
  [
    'x-overflow with an unknown mode',
    async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-overflow': 'drop-tail' } }),
  ],
  [
    'x-dead-letter-routing-key without x-dead-letter-exchange',
    async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-dead-letter-routing-key': 'k' } }),
  ],
  [
    'x-single-active-consumer given as a string',
    async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-single-active-consumer': 'yes' } }),
  ],
  [
    'x-queue-type unknown',
    async ({ s, ch }) => ch.assertQueue(q(s), { arguments: { 'x-queue-type': 'fancy' } }),
  ],
  [
    'declare an exchange with the reserved amq. prefix',
    async ({ s, ch }) => ch.assertExchange(`amq.${s.prefix}`, 'direct'),
  ],
  ['declare a queue with the reserved amq. prefix', async ({ s, ch }) => ch.assertQueue(`amq.${s.prefix}`)],
  ['delete the amq.direct exchange', async ({ ch }) => ch.deleteExchange('amq.direct')],
  ['declare an exchange of an unknown type', async ({ s, ch }) => ch.assertExchange(x(s), 'no-such-type')],
  [
    'use an exclusive queue from another connection',
    async ({ s, ch }) => {
      const owner = await s.channel();
      await owner.assertQueue(q(s, 'exclusive'), { exclusive: true });
      return ch.consume(q(s, 'exclusive'), () => {});
    },
  ],
  [
    'redeclare an exclusive queue from another connection',
    async ({ s, ch }) => {
      const owner = await s.channel();
      await owner.assertQueue(q(s, 'exclusive'), { exclusive: true });
      return ch.assertQueue(q(s, 'exclusive'), { exclusive: true });
    },
  ],
  [
    'ack an unknown delivery tag',
    async ({ ch }) => {
      ch.ack({ fields: { deliveryTag: 42 } } as never);
      await untilClosed(ch);
    },
  ],
  [
    'ack the same delivery twice',
    async ({ s, ch }) => {
      const queue = await s.queue('q');
      ch.sendToQueue(queue, Buffer.from('x'));
      const m = await ch.get(queue);
      if (!m) throw new Error('no message to ack');
      ch.ack(m);
      ch.ack(m);
      await untilClosed(ch);
    },
  ],
  [
    'publish to an internal exchange',
    async ({ s, ch }) => publishThenWait(ch, await s.exchange('internal', 'fanout', { internal: true }), 'k'),
  ],
  [
    'delete a queue in use with if-unused',
    async ({ s, ch }) => {
      const queue = await s.queue('q');
      await (await s.admin()).consume(queue, () => {});
      return ch.deleteQueue(queue, { ifUnused: true });
    },
  ],
  [
    'delete a queue holding messages with if-empty',
    async ({ s, ch }) => {
      const queue = await s.queue('q');
      const admin = await s.admin();
      admin.sendToQueue(queue, Buffer.from('x'));
      await admin.checkQueue(queue);
      return ch.deleteQueue(queue, { ifEmpty: true });
    },
  ],
  [
    'delete an exchange with bindings with if-unused',
    async ({ s, ch }) => {
      const exchange = await s.exchange('x', 'fanout');
      await s.bind(await s.queue('q'), exchange);
      return ch.deleteExchange(exchange, { ifUnused: true });
    },
  ],
  [
    'consume with a consumer tag already in use on the channel',
    async ({ s, ch }) => {
      const queue = await s.queue('q');
      await ch.consume(queue, () => {}, { consumerTag: 'dup' });
      return ch.consume(queue, () => {}, { consumerTag: 'dup' });
    },
  ],
  [
    'consume exclusively from a queue that has a consumer',
    async ({ s, ch }) => {
      const queue = await s.queue('q');
      await (await s.admin()).consume(queue, () => {});
      return ch.consume(queue, () => {}, { exclusive: true });
    },
  ],
  [
    'consume from a queue another consumer holds exclusively',
    async ({ s, ch }) => {
      const queue = await s.queue('q');
      await (await s.admin()).consume(queue, () => {}, { exclusive: true });
      return ch.consume(queue, () => {});
    },
  ],
  ['delete a missing queue (succeeds in 3.10)', async ({ s, ch }) => ch.deleteQueue(q(s, 'missing'))],
];

const scenarios: Scenario[] = BAD_OPERATIONS.map(([name, operation]) => ({
  name,
  run: (url) => withSession(url, (s) => attempt(s, operation)),
}));

differentialSuite('error codes and reply texts', scenarios);
