// Which consumer gets what: round-robin between equals, single active consumer (and its hand-over on
// cancel and on channel close), consumer x-priority with prefetch limits.
import { differentialSuite, type Scenario } from './harness.js';
import { counts, type Inbox, settle, withSession } from './kit.js';

const bodies = (inbox: Inbox) =>
  inbox.messages.map((m) => (m ? `${m.content}${m.fields.redelivered ? '*' : ''}` : null));

const scenarios: Scenario[] = [
  {
    name: 'two consumers of equal priority share messages round-robin',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await s.queue('shared');
        const a = await s.channel();
        const b = await s.channel();
        const inboxA = await s.consume(a, q, 'a', { noAck: true });
        const inboxB = await s.consume(b, q, 'b', { noAck: true });
        const pub = await s.confirmChannel();
        for (let i = 1; i <= 6; i++) pub.sendToQueue(q, Buffer.from(`m${i}`));
        await pub.waitForConfirms();
        await s.waitFor(inboxA, 3, 'to a');
        await s.waitFor(inboxB, 3, 'to b');
        return { a: bodies(inboxA), b: bodies(inboxB) };
      }),
  },
  {
    name: 'single active consumer: only the first gets messages; the next takes over on cancel and gets requeued ones',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await s.queue('sac', { arguments: { 'x-single-active-consumer': true } });
        const a = await s.channel();
        const b = await s.channel();
        const inboxA = await s.consume(a, q, 'a');
        const inboxB = await s.consume(b, q, 'b');
        const afterConsume = await counts(a, q);
        const pub = await s.confirmChannel();
        for (const body of ['m1', 'm2', 'm3']) pub.sendToQueue(q, Buffer.from(body));
        await pub.waitForConfirms();
        await s.waitFor(inboxA, 3, 'to the active consumer');
        a.ack(inboxA.messages[0]!);
        a.ack(inboxA.messages[1]!); // m3 stays unacked
        await a.cancel('a');
        for (const body of ['m4', 'm5']) pub.sendToQueue(q, Buffer.from(body));
        await pub.waitForConfirms();
        await s.waitFor(inboxB, 2, 'to the consumer taking over');
        await a.close(); // m3 goes back, to b
        await s.waitFor(inboxB, 3, 'the requeued message');
        for (const m of inboxB.messages) b.ack(m!);
        await settle(b, q);
        return { afterConsume, a: bodies(inboxA), b: bodies(inboxB), end: await counts(b, q) };
      }),
  },
  {
    name: 'single active consumer: closing the active consumer channel hands over to the next in line',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await s.queue('sac', { arguments: { 'x-single-active-consumer': true } });
        const chans = [await s.channel(), await s.channel(), await s.channel()];
        const inboxes = [];
        for (const [i, ch] of chans.entries()) inboxes.push(await s.consume(ch, q, `c${i}`, { noAck: true }));
        const pub = await s.confirmChannel();
        pub.sendToQueue(q, Buffer.from('first'));
        await pub.waitForConfirms();
        await s.waitFor(inboxes[0]!, 1, 'to c0');
        await chans[0]!.close();
        pub.sendToQueue(q, Buffer.from('second'));
        await pub.waitForConfirms();
        await s.waitFor(inboxes[1]!, 1, 'to c1');
        await settle(chans[2]!, q);
        return { inboxes: inboxes.map(bodies), left: await counts(pub, q) };
      }),
  },
  {
    name: 'consumer x-priority: the higher one gets messages while it has prefetch room, then the lower',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await s.queue('prio-consumers');
        const high = await s.channel();
        const low = await s.channel();
        await high.prefetch(2);
        await low.prefetch(10);
        const lowInbox = await s.consume(low, q, 'low', { priority: 0 });
        const highInbox = await s.consume(high, q, 'high', { priority: 10 });
        for (let i = 1; i <= 5; i++) high.sendToQueue(q, Buffer.from(`m${i}`));
        await s.waitFor(highInbox, 2, 'to high');
        await s.waitFor(lowInbox, 3, 'to low');
        high.ack(highInbox.messages[1]!, true);
        // Published on the same channel after the ack, so high has room again when they arrive.
        for (let i = 6; i <= 7; i++) high.sendToQueue(q, Buffer.from(`m${i}`));
        await s.waitFor(highInbox, 4, 'to high after its ack');
        await settle(low, q);
        return { high: bodies(highInbox), low: bodies(lowInbox) };
      }),
  },
  {
    // What kombu/Celery do: a channel-wide prefetch over two queues, raised while an ETA task is held.
    name: 'basic.qos on a channel with consumers: a raised global limit delivers at once; global=false lifts it',
    run: (url) =>
      withSession(url, async (s) => {
        const a = await s.queue('qos-a');
        const b = await s.queue('qos-b');
        const ch = await s.channel();
        for (const q of [a, b]) for (let i = 1; i <= 3; i++) ch.sendToQueue(q, Buffer.from(`${q}-${i}`));
        await ch.prefetch(1, true);
        const inboxA = await s.consume(ch, a, 'a');
        const inboxB = await s.consume(ch, b, 'b');
        const delivered = async () => {
          await settle(ch, a);
          return inboxA.messages.length + inboxB.messages.length;
        };
        const global1 = await delivered();
        await ch.prefetch(2, true);
        const global2 = await delivered();
        // RabbitMQ 3.x: a per-consumer limit is for consumers created afterwards, and lifts the global one.
        await ch.prefetch(1, false);
        const perConsumerAfter = await delivered();
        for (const m of [...inboxA.messages, ...inboxB.messages]) ch.ack(m!);
        await settle(ch, a);
        return { global1, global2, perConsumerAfter };
      }),
  },
  {
    name: 'basic.qos global=false: existing consumers keep their prefetch, new ones take the new one',
    run: (url) =>
      withSession(url, async (s) => {
        const a = await s.queue('per-consumer-a');
        const b = await s.queue('per-consumer-b');
        const ch = await s.channel();
        for (const q of [a, b]) for (let i = 1; i <= 4; i++) ch.sendToQueue(q, Buffer.from(`${q}-${i}`));
        await ch.prefetch(1);
        const inboxA = await s.consume(ch, a, 'a');
        await settle(ch, a);
        const before = inboxA.messages.length;
        await ch.prefetch(3);
        const inboxB = await s.consume(ch, b, 'b');
        await settle(ch, a);
        return { before, existing: inboxA.messages.length, created: inboxB.messages.length };
      }),
  },
];

differentialSuite('consumers', scenarios);
