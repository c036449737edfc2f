// TTL and dead-lettering: queue and per-message TTL expiring into a dead-letter exchange, rejects and
// nacks without requeue, the x-death header (and x-first-death-*) as messages cycle, cycle dropping,
// and x-expires. TTLs are short and real; every wait is for a delivery, never a fixed sleep.
import { differentialSuite, type Scenario } from './harness.js';
import { counts, drain, type Observation, type Session, settle, withSession } from './kit.js';

const TTL_MS = 50;

/** A direct exchange `dlx` bound to the queue `dlq` with `key` (or a fanout when key is undefined). */
async function deadLetterTarget(s: Session, key?: string): Promise<{ dlx: string; dlq: string }> {
  const dlx = await s.exchange('dlx', key === undefined ? 'fanout' : 'direct');
  const dlq = await s.queue('dlq');
  await s.bind(dlq, dlx, key ?? '');
  return { dlx, dlq };
}

/** Consumes `count` messages from `queue` (no-ack) and returns their records. */
async function collect(s: Session, queue: string, count: number): Promise<Observation[]> {
  const ch = await s.channel();
  const inbox = await s.consume(ch, queue, 'collector', { noAck: true });
  await s.waitFor(inbox, count, `on ${queue}`);
  await ch.cancel('collector');
  return inbox.records();
}

const scenarios: Scenario[] = [
  {
    name: 'queue TTL expires messages into the DLX with x-dead-letter-routing-key; x-death and x-first-death-*',
    run: (url) =>
      withSession(url, async (s) => {
        const { dlx, dlq } = await deadLetterTarget(s, 'dead');
        const input = await s.exchange('in', 'direct');
        const work = await s.queue('work', {
          arguments: {
            'x-message-ttl': TTL_MS,
            'x-dead-letter-exchange': dlx,
            'x-dead-letter-routing-key': 'dead',
          },
        });
        await s.bind(work, input, 'orig');
        const ch = await s.confirmChannel();
        ch.publish(input, 'orig', Buffer.from('one'), { headers: { app: 'a' }, messageId: 'm1' });
        ch.publish(input, 'orig', Buffer.from('two'), { contentType: 'text/plain', priority: 3 });
        await ch.waitForConfirms();
        const dead = await collect(s, dlq, 2);
        return { dead, work: await counts(ch, work) };
      }),
  },
  {
    name: 'queue TTL without a dead-letter routing key keeps the original keys, CC included and BCC dropped',
    run: (url) =>
      withSession(url, async (s) => {
        const dlx = await s.exchange('dlx', 'direct');
        const dlq = await s.queue('dlq');
        await s.bind(dlq, dlx, 'orig');
        const ccCopies = await s.queue('cc-copies');
        await s.bind(ccCopies, dlx, 'cc-key');
        const input = await s.exchange('in', 'direct');
        const work = await s.queue('work', {
          arguments: { 'x-message-ttl': TTL_MS, 'x-dead-letter-exchange': dlx },
        });
        await s.bind(work, input, 'orig');
        const ch = await s.confirmChannel();
        ch.publish(input, 'orig', Buffer.from('with-cc'), { CC: ['cc-key'], BCC: ['bcc-key'] });
        await ch.waitForConfirms();
        const dead = await collect(s, dlq, 1);
        const cc = await collect(s, ccCopies, 1);
        return { dead, cc };
      }),
  },
  {
    name: 'per-message expiration dead-letters with original-expiration; unexpired messages stay',
    run: (url) =>
      withSession(url, async (s) => {
        const { dlx, dlq } = await deadLetterTarget(s);
        const work = await s.queue('work', { arguments: { 'x-dead-letter-exchange': dlx } });
        const ch = await s.confirmChannel();
        ch.sendToQueue(work, Buffer.from('short'), { expiration: String(TTL_MS) });
        ch.sendToQueue(work, Buffer.from('forever'));
        await ch.waitForConfirms();
        const dead = await collect(s, dlq, 1);
        return { dead, left: await drain(ch, work) };
      }),
  },
  {
    name: 'per-message expiration shorter than the queue TTL wins; the queue TTL caps a longer one',
    run: (url) =>
      withSession(url, async (s) => {
        const { dlx, dlq } = await deadLetterTarget(s);
        const work = await s.queue('work', {
          arguments: { 'x-message-ttl': TTL_MS * 2, 'x-dead-letter-exchange': dlx },
        });
        const ch = await s.confirmChannel();
        ch.sendToQueue(work, Buffer.from('message-ttl-shorter'), { expiration: String(TTL_MS) });
        ch.sendToQueue(work, Buffer.from('message-ttl-longer'), { expiration: '3600000' });
        await ch.waitForConfirms();
        return { dead: await collect(s, dlq, 2) };
      }),
  },
  {
    name: 'reject and nack without requeue dead-letter with reason rejected; ack and requeue do not',
    run: (url) =>
      withSession(url, async (s) => {
        const { dlx, dlq } = await deadLetterTarget(s);
        const work = await s.queue('work', { arguments: { 'x-dead-letter-exchange': dlx } });
        const ch = await s.confirmChannel();
        for (const body of ['rejected', 'nacked', 'acked', 'requeued', 'multi-1', 'multi-2']) {
          ch.sendToQueue(work, Buffer.from(body), { headers: { body } });
        }
        await ch.waitForConfirms();
        const take = async () => (await ch.get(work))! as Parameters<typeof ch.ack>[0];
        ch.reject(await take(), false);
        ch.nack(await take(), false, false);
        ch.ack(await take());
        ch.nack(await take(), false, true);
        const requeued = await take(); // the requeued one comes back first
        await take();
        ch.nack(await take(), true, false); // multiple: 'requeued' again and both multi-*
        const dead = await collect(s, dlq, 5);
        return { requeuedAgain: requeued.fields.redelivered, dead, work: await counts(ch, work) };
      }),
  },
  {
    name: 'x-death count grows and entries reorder when a message cycles through the same queues',
    run: (url) =>
      withSession(url, async (s) => {
        // wait (TTL) --expired--> retry (consumer rejects) --rejected--> wait --expired--> retry
        const toRetry = await s.exchange('to-retry', 'fanout');
        const toWait = await s.exchange('to-wait', 'fanout');
        const wait = await s.queue('wait', {
          arguments: { 'x-message-ttl': TTL_MS, 'x-dead-letter-exchange': toRetry },
        });
        const retry = await s.queue('retry', { arguments: { 'x-dead-letter-exchange': toWait } });
        await s.bind(retry, toRetry);
        await s.bind(wait, toWait);
        const ch = await s.channel();
        const inbox = await s.consume(ch, retry, 'retrier');
        ch.sendToQueue(wait, Buffer.from('cycling'), { headers: { attempt: 0 } });
        if (await s.waitFor(inbox, 1, 'first pass')) ch.reject(inbox.messages[0]!, false);
        if (await s.waitFor(inbox, 2, 'second pass')) ch.reject(inbox.messages[1]!, false);
        if (await s.waitFor(inbox, 3, 'third pass')) ch.ack(inbox.messages[2]!);
        await ch.cancel('retrier');
        return { deliveries: inbox.records() };
      }),
  },
  {
    name: 'an automatic dead-letter cycle back into the same queue is dropped there; other targets get it',
    run: (url) =>
      withSession(url, async (s) => {
        const loop = await s.exchange('loop', 'fanout');
        const looping = await s.queue('looping', {
          arguments: { 'x-message-ttl': TTL_MS, 'x-dead-letter-exchange': loop },
        });
        const monitor = await s.queue('monitor');
        await s.bind(looping, loop);
        await s.bind(monitor, loop);
        const ch = await s.channel();
        ch.sendToQueue(looping, Buffer.from('lap'));
        const laps = await collect(s, monitor, 1);
        // The copy for `looping` was dropped as it was dead-lettered, not queued for another lap.
        return { laps, looping: await counts(ch, looping) };
      }),
  },
  {
    name: 'quorum queue x-delivery-limit: x-delivery-count on redeliveries, then dead-lettered with delivery_limit',
    run: (url) =>
      withSession(url, async (s) => {
        const { dlx, dlq } = await deadLetterTarget(s);
        const work = await s.queue('quorum', {
          durable: true,
          arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 2, 'x-dead-letter-exchange': dlx },
        });
        const ch = await s.channel();
        const inbox = await s.consume(ch, work, 'failing');
        ch.sendToQueue(work, Buffer.from('poison'), { headers: { app: 1 } });
        // Every delivery is returned to the queue, until the limit makes the broker dead-letter it.
        for (let n = 1; n <= 3; n++) {
          if (!(await s.waitFor(inbox, n, `delivery ${n}`))) break;
          ch.nack(inbox.messages[n - 1]!, false, true);
        }
        const dead = await collect(s, dlq, 1);
        await settle(ch, work);
        return { deliveries: inbox.records(), dead, work: await counts(ch, work) };
      }),
  },
  {
    name: 'dead-lettering to a missing exchange drops the message silently',
    run: (url) =>
      withSession(url, async (s) => {
        const work = await s.queue('work', { arguments: { 'x-dead-letter-exchange': s.name('missing') } });
        const ch = await s.channel();
        ch.sendToQueue(work, Buffer.from('doomed'));
        const m = await ch.get(work);
        if (m) ch.reject(m, false);
        return { got: m ? m.content.toString() : false, work: await counts(ch, work), errors: ch.errors };
      }),
  },
  {
    name: 'x-expires deletes a queue left unused (publishing does not count as use)',
    run: (url) =>
      withSession(url, async (s) => {
        const expiring = await s.queue('expiring', { arguments: { 'x-expires': 100 } });
        const ch = await s.channel();
        let returned = false;
        ch.on('return', () => {
          returned = true;
        });
        // A mandatory publish comes back once the queue is gone; a passive declare would reset its timer.
        const gone = await s.until(async () => {
          ch.sendToQueue(expiring, Buffer.from('probe'), { mandatory: true });
          await new Promise((resolve) => setTimeout(resolve, 30));
          return returned;
        }, 'the queue to expire');
        const reply = await ch.checkQueue(expiring).then(
          () => 'still there',
          (e: Error) => /with message "(.*)"/.exec(e.message)?.[1] ?? e.message,
        );
        return { gone, reply };
      }),
  },
];

differentialSuite('ttl and dead-lettering', scenarios);
