// Priority queues: x-max-priority delivery order, priorities above the maximum, requeues, and a queue
// without x-max-priority ignoring priorities.
import { differentialSuite, type Scenario } from './harness.js';
import { drain, type Observation, withSession } from './kit.js';

/** [body, priority or undefined] in publish order. */
const MIXED: Array<[string, number | undefined]> = [
  ['none-1', undefined],
  ['p1', 1],
  ['p5-a', 5],
  ['p3', 3],
  ['p9-above-max', 9],
  ['p0', 0],
  ['p5-b', 5],
  ['p255', 255],
  ['p2', 2],
  ['none-2', undefined],
];

const scenarios: Scenario[] = [
  {
    name: 'x-max-priority 5: highest first, FIFO within a priority, priorities above the max count as the max',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await s.queue('prio', { arguments: { 'x-max-priority': 5 } });
        const ch = await s.confirmChannel();
        for (const [body, priority] of MIXED) ch.sendToQueue(q, Buffer.from(body), { priority });
        await ch.waitForConfirms();
        return { order: await drain(ch, q) };
      }),
  },
  {
    name: 'priority order holds for a consumer started after publishing, and for requeued messages',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await s.queue('prio', { arguments: { 'x-max-priority': 10 } });
        const ch = await s.confirmChannel();
        for (const [body, priority] of MIXED) ch.sendToQueue(q, Buffer.from(body), { priority });
        await ch.waitForConfirms();
        const first = await ch.get(q);
        const second = await ch.get(q);
        if (first && second) ch.nackAll(true); // both back, in their priority places
        await ch.prefetch(1);
        const inbox = await s.consume(ch, q, 'prio-consumer');
        const order: Observation[] = [];
        for (let n = 1; n <= MIXED.length; n++) {
          if (!(await s.waitFor(inbox, n, 'in priority order'))) break;
          const m = inbox.messages[n - 1]!;
          order.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
          ch.ack(m);
        }
        return { order };
      }),
  },
  {
    name: 'without x-max-priority the priority property is kept but ignored for ordering',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await s.queue('plain');
        const ch = await s.confirmChannel();
        for (const [body, priority] of MIXED) ch.sendToQueue(q, Buffer.from(body), { priority });
        await ch.waitForConfirms();
        return { order: await drain(ch, q) };
      }),
  },
];

differentialSuite('priorities', scenarios);
