// Redelivery: the redelivered flag, delivery tags and the order messages come back in after a nack or
// reject with requeue, basic.recover, a closed channel with unacked deliveries, and multiple acks.
import type { Channel, Message } from 'amqplib';
import { differentialSuite, type Scenario } from './harness.js';
import { counts, drain, type Inbox, messageRecord, type Session, withSession } from './kit.js';

const numbered = (n: number) => Array.from({ length: n }, (_, i) => `m${i + 1}`);

/** A queue holding `bodies`, published with confirms on the session's channel. */
async function queueWith(s: Session, bodies: string[]): Promise<string> {
  const q = await s.queue('q');
  const ch = await s.confirmChannel();
  for (const body of bodies) ch.sendToQueue(q, Buffer.from(body));
  await ch.waitForConfirms();
  return q;
}

/** body, delivery tag and redelivered flag: what a consumer acts on. */
const brief = (m: Message | null) =>
  m ? [m.content.toString(), m.fields.deliveryTag, m.fields.redelivered] : null;
const briefs = (inbox: Inbox) => inbox.messages.map(brief);

async function getAll(ch: Channel, q: string, n: number): Promise<Message[]> {
  const got: Message[] = [];
  for (let i = 0; i < n; i++) {
    const m = await ch.get(q);
    if (m) got.push(m);
  }
  return got;
}

const scenarios: Scenario[] = [
  {
    name: 'nack with requeue: the message comes back to the consumer flagged redelivered, with a new tag',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await queueWith(s, numbered(3));
        const ch = await s.channel();
        const inbox = await s.consume(ch, q, 'c');
        await s.waitFor(inbox, 3, 'first deliveries');
        ch.nack(inbox.messages[1]!, false, true);
        await s.waitFor(inbox, 4, 'the redelivery');
        ch.reject(inbox.messages[3]!, true);
        await s.waitFor(inbox, 5, 'the second redelivery');
        ch.ackAll();
        return { deliveries: inbox.records(), end: await counts(ch, q) };
      }),
  },
  {
    name: 'requeued messages go back to their original places, whatever order they are nacked in',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await queueWith(s, numbered(6));
        const ch = await s.channel();
        const got = await getAll(ch, q, 4); // m1..m4 unacked, m5 m6 ready
        ch.nack(got[3]!, false, true);
        ch.nack(got[0]!, false, true);
        ch.nack(got[2]!, false, true);
        ch.ack(got[1]!);
        return { after: await drain(ch, q) };
      }),
  },
  {
    name: 'basic.recover redelivers every unacked message on the channel, flagged, in order',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await queueWith(s, numbered(4));
        const ch = await s.channel();
        const inbox = await s.consume(ch, q, 'c');
        await s.waitFor(inbox, 4, 'first deliveries');
        ch.ack(inbox.messages[0]!);
        ch.ack(inbox.messages[2]!);
        await ch.recover();
        await s.waitFor(inbox, 6, 'the recovered ones');
        ch.ackAll();
        return { deliveries: inbox.messages.map(brief), end: await counts(ch, q) };
      }),
  },
  {
    name: 'closing a channel with unacked deliveries requeues them in order for the next consumer',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await queueWith(s, numbered(5));
        const first = await s.channel();
        await first.prefetch(3);
        const firstInbox = await s.consume(first, q, 'first');
        await s.waitFor(firstInbox, 3, 'up to the prefetch');
        first.ack(firstInbox.messages[1]!);
        await first.close();
        const second = await s.channel();
        const secondInbox = await s.consume(second, q, 'second', { noAck: true });
        await s.waitFor(secondInbox, 4, 'requeued and never-delivered');
        return { first: briefs(firstInbox), second: briefs(secondInbox) };
      }),
  },
  {
    name: 'ack and nack with multiple cover every earlier unacked tag on the channel',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await queueWith(s, numbered(6));
        const ch = await s.channel();
        const got = await getAll(ch, q, 6);
        ch.ack(got[2]!, true); // m1..m3
        ch.nack(got[4]!, true, true); // m4, m5 back
        ch.reject(got[5]!, true); // m6 back
        // No passive declare here: RabbitMQ answers it ahead of the requeues (a prioritised call).
        return { again: await drain(ch, q) };
      }),
  },
  {
    name: 'basic.get after a requeue: redelivered flag and message-count',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await queueWith(s, numbered(2));
        const ch = await s.channel();
        const m = await ch.get(q);
        const firstGet = messageRecord(m || null);
        if (m) ch.reject(m, true);
        const again = await ch.get(q);
        const secondGet = messageRecord(again || null);
        if (again) ch.ack(again);
        return { firstGet, secondGet, rest: await drain(ch, q) };
      }),
  },
  {
    name: 'a no-ack consumer never sees redelivered messages; a cancelled consumer keeps its unacked ones',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await queueWith(s, numbered(3));
        const ch = await s.channel();
        const inbox = await s.consume(ch, q, 'c');
        await s.waitFor(inbox, 3, 'deliveries');
        await ch.cancel('c');
        const afterCancel = await counts(ch, q);
        ch.nack(inbox.messages[0]!, true, true); // m1 only
        ch.ack(inbox.messages[2]!); // m3; m2 stays unacked
        const other = await s.channel();
        const noAck = await s.consume(other, q, 'no-ack', { noAck: true });
        await s.waitFor(noAck, 1, 'the requeued message');
        return { afterCancel, consumer: briefs(inbox), noAck: briefs(noAck), end: await counts(other, q) };
      }),
  },
];

differentialSuite('redelivery', scenarios);
