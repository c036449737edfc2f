// Bounded queues: x-max-length and x-max-length-bytes with each x-overflow mode, as publishers
// (confirms, returns) and the dead-letter queue see them.
import { differentialSuite, type Scenario } from './harness.js';
import {
  counts,
  drain,
  drainBodies,
  type Observation,
  publishConfirmed,
  type Session,
  withSession,
} from './kit.js';

/** A queue with `args` and a dead-letter exchange into `dlq`; publishes `bodies` with confirms. */
async function fill(
  s: Session,
  args: Record<string, unknown>,
  bodies: string[],
): Promise<{ confirms: string[]; work: string; dlq: string }> {
  const dlx = await s.exchange('dlx', 'fanout');
  const dlq = await s.queue('dlq');
  await s.bind(dlq, dlx);
  const work = await s.queue('work', { arguments: { 'x-dead-letter-exchange': dlx, ...args } });
  const ch = await s.confirmChannel();
  const confirms: string[] = [];
  // One at a time, so each confirm is known to belong to its message.
  for (const body of bodies) confirms.push(await publishConfirmed(ch, '', work, body, { mandatory: true }));
  return { confirms, work, dlq };
}

/** What the publisher, the queue and the dead-letter queue ended with. */
async function outcome(s: Session, confirms: string[], work: string, dlq: string): Promise<Observation> {
  const ch = await s.channel();
  return {
    confirms,
    queued: await counts(ch, work),
    work: await drainBodies(ch, work),
    dead: await drain(ch, dlq),
  };
}

const five = ['m1', 'm2', 'm3', 'm4', 'm5'];

const scenarios: Scenario[] = [
  {
    name: 'x-max-length with drop-head (the default) dead-letters the oldest with reason maxlen',
    run: (url) =>
      withSession(url, async (s) => {
        const { confirms, work, dlq } = await fill(s, { 'x-max-length': 2 }, five);
        return outcome(s, confirms, work, dlq);
      }),
  },
  {
    name: 'x-overflow drop-head named explicitly, and x-max-length 0 drops every message',
    run: (url) =>
      withSession(url, async (s) => {
        const { confirms, work, dlq } = await fill(s, { 'x-max-length': 0, 'x-overflow': 'drop-head' }, [
          'a',
          'b',
        ]);
        return outcome(s, confirms, work, dlq);
      }),
  },
  {
    name: 'x-overflow reject-publish nacks the confirms of messages that do not fit and does not dead-letter them',
    run: (url) =>
      withSession(url, async (s) => {
        const returns: string[] = [];
        const { confirms, work, dlq } = await fill(
          s,
          { 'x-max-length': 2, 'x-overflow': 'reject-publish' },
          five,
        );
        const ch = await s.channel();
        // Room again after a message leaves.
        await ch.get(work, { noAck: true });
        const again = await s.confirmChannel();
        again.on('return', (m) => returns.push(m.content.toString()));
        const more = [
          await publishConfirmed(again, '', work, 'm6'),
          await publishConfirmed(again, '', work, 'm7'),
        ];
        return { ...(await outcome(s, [...confirms, ...more], work, dlq)), returns };
      }),
  },
  {
    name: 'x-overflow reject-publish-dlx nacks and dead-letters the messages that do not fit',
    run: (url) =>
      withSession(url, async (s) => {
        const { confirms, work, dlq } = await fill(
          s,
          { 'x-max-length': 2, 'x-overflow': 'reject-publish-dlx' },
          five,
        );
        return outcome(s, confirms, work, dlq);
      }),
  },
  {
    name: 'x-max-length-bytes counts body bytes and drops from the head',
    run: (url) =>
      withSession(url, async (s) => {
        const { confirms, work, dlq } = await fill(s, { 'x-max-length-bytes': 10 }, [
          'aaaa',
          'bbbb',
          'cc',
          'dddddd',
          'eeeeeeeeeeee', // larger than the limit on its own
        ]);
        return outcome(s, confirms, work, dlq);
      }),
  },
  {
    name: 'x-max-length-bytes with reject-publish; x-max-length and -bytes together, the tighter wins',
    run: (url) =>
      withSession(url, async (s) => {
        const first = await fill(s, { 'x-max-length-bytes': 6, 'x-overflow': 'reject-publish' }, [
          'aaa',
          'bbb',
          'c',
          '',
        ]);
        const byBytes = await outcome(s, first.confirms, first.work, first.dlq);
        const ch = await s.confirmChannel();
        const both = await s.queue('both', { arguments: { 'x-max-length': 3, 'x-max-length-bytes': 5 } });
        for (const body of ['1', '22', '333', '4']) await publishConfirmed(ch, '', both, body);
        return { byBytes, both: await drainBodies(ch, both) };
      }),
  },
  {
    name: 'x-max-length counts ready messages only; a requeue over the limit drops from the head',
    run: (url) =>
      withSession(url, async (s) => {
        const dlx = await s.exchange('dlx', 'fanout');
        const dlq = await s.queue('dlq');
        await s.bind(dlq, dlx);
        const work = await s.queue('work', {
          arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': dlx },
        });
        const ch = await s.confirmChannel();
        await publishConfirmed(ch, '', work, 'held');
        const held = await ch.get(work); // unacked
        for (const body of ['r1', 'r2', 'r3']) await publishConfirmed(ch, '', work, body);
        const before = await counts(ch, work);
        if (held) ch.nack(held, false, true);
        // The same channel, so the requeue is done before the gets.
        return { before, work: await drain(ch, work), dead: await drainBodies(ch, dlq) };
      }),
  },
];

differentialSuite('max-length and overflow', scenarios);
