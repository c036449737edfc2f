// Routing: which queues each published message reaches, per exchange type, through exchange-to-exchange
// bindings and alternate exchanges, and what a mandatory publish nobody takes brings back.
import type { ConfirmChannel } from 'amqplib';
import { differentialSuite, type Scenario } from './harness.js';
import {
  drain,
  drainBodies,
  messageRecord,
  type Observation,
  publishConfirmed,
  type Session,
  withSession,
} from './kit.js';

/** Publishes each [routingKey, body] on a confirm channel, waits for the confirms, returns them. */
async function publishAll(
  ch: ConfirmChannel,
  exchange: string,
  messages: Array<[string, string, Record<string, unknown>?]>,
): Promise<string[]> {
  return Promise.all(
    messages.map(([key, body, headers]) =>
      publishConfirmed(ch, exchange, key, body, headers ? { headers } : {}),
    ),
  );
}

/** The bodies each queue holds, by queue suffix. */
async function contents(s: Session, suffixes: string[]): Promise<Observation> {
  const ch = await s.channel();
  const out: Observation = {};
  for (const suffix of suffixes) out[suffix] = await drainBodies(ch, s.name(suffix));
  return out;
}

const scenarios: Scenario[] = [
  {
    name: 'direct exchange: a key reaches every queue bound with it, one copy per queue',
    run: (url) =>
      withSession(url, async (s) => {
        const ex = await s.exchange('direct', 'direct');
        for (const q of ['a', 'b', 'ab']) await s.queue(q);
        await s.bind(s.name('a'), ex, 'a');
        await s.bind(s.name('b'), ex, 'b');
        await s.bind(s.name('ab'), ex, 'a');
        await s.bind(s.name('ab'), ex, 'b');
        await s.bind(s.name('ab'), ex, 'a'); // a duplicate binding adds nothing
        const ch = await s.confirmChannel();
        const confirms = await publishAll(ch, ex, [
          ['a', '1'],
          ['b', '2'],
          ['c', '3'],
          ['', '4'],
          ['A', '5'],
        ]);
        return { confirms, queues: await contents(s, ['a', 'b', 'ab']) };
      }),
  },
  {
    name: 'fanout exchange: every bound queue gets every message, whatever the key',
    run: (url) =>
      withSession(url, async (s) => {
        const ex = await s.exchange('fanout', 'fanout');
        for (const q of ['x', 'y']) {
          await s.queue(q);
          await s.bind(s.name(q), ex, `ignored-${q}`);
        }
        await s.queue('unbound');
        const ch = await s.confirmChannel();
        await publishAll(ch, ex, [
          ['k', '1'],
          ['', '2'],
          ['ignored-x', '3'],
        ]);
        return { queues: await contents(s, ['x', 'y', 'unbound']) };
      }),
  },
  {
    name: 'topic exchange: * matches one word, # zero or more, across edge-case keys',
    run: (url) =>
      withSession(url, async (s) => {
        const ex = await s.exchange('topic', 'topic');
        const patterns: Record<string, string> = {
          star: '*.orange.*',
          tail: '*.*.rabbit',
          lazy: 'lazy.#',
          all: '#',
          hashMid: 'a.#.b',
          hashHash: '#.#',
          starOnly: '*',
          exact: 'quick.brown.fox',
          empty: '',
          hashStar: '#.*',
        };
        for (const [q, pattern] of Object.entries(patterns)) {
          await s.queue(q);
          await s.bind(s.name(q), ex, pattern);
        }
        const keys = [
          'quick.orange.rabbit',
          'lazy.orange.elephant',
          'quick.orange.fox',
          'lazy.brown.fox',
          'lazy.pink.rabbit',
          'quick.brown.fox',
          'orange',
          'quick.orange.male.rabbit',
          'lazy.orange.male.rabbit',
          'lazy',
          '',
          'a.b',
          'a.x.y.b',
          'a..b',
          '.',
          'lazy.',
        ];
        const ch = await s.confirmChannel();
        await publishAll(
          ch,
          ex,
          keys.map((key) => [key, `key=${key}`]),
        );
        return { queues: await contents(s, Object.keys(patterns)) };
      }),
  },
  {
    name: 'headers exchange: x-match all and any, void values, x- keys ignored, key ignored',
    run: (url) =>
      withSession(url, async (s) => {
        const ex = await s.exchange('headers', 'headers');
        const bindings: Record<string, Record<string, unknown>> = {
          all: { 'x-match': 'all', format: 'pdf', type: 'report' },
          any: { 'x-match': 'any', format: 'pdf', type: 'report' },
          defaultAll: { format: 'zip' },
          number: { 'x-match': 'all', n: 42 },
          none: {},
          xKey: { 'x-match': 'all', 'x-tag': 'v' },
        };
        for (const [q, args] of Object.entries(bindings)) {
          await s.queue(q);
          await s.bind(s.name(q), ex, 'ignored', args);
        }
        const ch = await s.confirmChannel();
        await publishAll(ch, ex, [
          ['k', 'pdf-report', { format: 'pdf', type: 'report' }],
          ['k', 'pdf-only', { format: 'pdf' }],
          ['k', 'report-extra', { type: 'report', other: 1 }],
          ['k', 'zip', { format: 'zip' }],
          ['k', 'n42', { n: 42 }],
          ['k', 'n-string', { n: '42' }],
          ['k', 'no-headers'],
          ['k', 'x-tag', { 'x-tag': 'v' }],
          ['k', 'case', { Format: 'pdf', Type: 'report' }],
        ]);
        return { queues: await contents(s, Object.keys(bindings)) };
      }),
  },
  {
    name: 'exchange-to-exchange bindings: chains, fan-out through two paths, and a cycle deliver once',
    run: (url) =>
      withSession(url, async (s) => {
        const front = await s.exchange('front', 'topic');
        const middle = await s.exchange('middle', 'fanout');
        const back = await s.exchange('back', 'direct');
        const admin = await s.admin();
        await admin.bindExchange(middle, front, 'orders.#');
        await admin.bindExchange(back, front, 'orders.eu');
        await admin.bindExchange(front, middle, ''); // a cycle: front -> middle -> front
        await s.queue('fromMiddle');
        await s.bind(s.name('fromMiddle'), middle);
        await s.queue('fromBack');
        await s.bind(s.name('fromBack'), back, 'orders.eu');
        await s.queue('both');
        await s.bind(s.name('both'), middle);
        await s.bind(s.name('both'), back, 'orders.eu');
        const ch = await s.confirmChannel();
        await publishAll(ch, front, [
          ['orders.eu', 'eu'],
          ['orders.us', 'us'],
          ['billing', 'billing'],
        ]);
        await admin.unbindExchange(middle, front, 'orders.#');
        await publishAll(ch, front, [['orders.eu', 'eu-after-unbind']]);
        return { queues: await contents(s, ['fromMiddle', 'fromBack', 'both']) };
      }),
  },
  {
    name: 'sender-selected distribution: CC and BCC headers add routing keys; BCC is removed from the message',
    run: (url) =>
      withSession(url, async (s) => {
        const ex = await s.exchange('direct', 'direct');
        for (const q of ['main', 'cc', 'bcc', 'other']) {
          await s.queue(q);
          await s.bind(s.name(q), ex, q);
        }
        const ch = await s.confirmChannel();
        await publishConfirmed(ch, ex, 'main', 'both', { CC: ['cc'], BCC: ['bcc'], headers: { h: 'v' } });
        await publishConfirmed(ch, ex, 'nowhere', 'cc-only', { CC: 'cc' });
        await publishConfirmed(ch, ex, 'main', 'duplicate-keys', { CC: ['main', 'main'] });
        const reader = await s.channel();
        const out: Observation = {};
        for (const q of ['main', 'cc', 'bcc', 'other']) out[q] = await drain(reader, s.name(q));
        return out;
      }),
  },
  {
    name: 'default exchange: routes by queue name only; binding to it is refused',
    run: (url) =>
      withSession(url, async (s) => {
        const q = await s.queue('target');
        const ch = await s.confirmChannel();
        const returns: Observation[] = [];
        ch.on('return', (m) => returns.push({ key: m.fields.routingKey, body: m.content.toString() }));
        const confirms = await publishAll(ch, '', [
          [q, 'by-name'],
          [s.name('missing'), 'to-nowhere'],
        ]);
        await publishConfirmed(ch, '', s.name('missing'), 'mandatory-to-nowhere', { mandatory: true });
        const bound = await (await s.channel()).bindQueue(q, '', 'x').then(
          () => 'ok',
          (e: Error) => e.message.replace(/^.*with message "(.*)"$/s, '$1'),
        );
        return { confirms, returns, target: await drainBodies(await s.channel(), q), bound };
      }),
  },
  {
    name: 'mandatory: an unroutable message comes back as basic.return 312 NO_ROUTE before its ack',
    run: (url) =>
      withSession(url, async (s) => {
        const ex = await s.exchange('mandatory', 'direct');
        await s.queue('bound');
        await s.bind(s.name('bound'), ex, 'yes');
        const ch = await s.confirmChannel();
        const events: Observation[] = [];
        ch.on('return', (m) => events.push({ returned: messageRecord(m) }));
        const publish = async (key: string, body: string, mandatory: boolean) => {
          const confirm = await publishConfirmed(ch, ex, key, body, { mandatory, headers: { h: 1 } });
          events.push({ confirmed: body, confirm });
        };
        await publish('no', 'unroutable-mandatory', true);
        await publish('no', 'unroutable-plain', false);
        await publish('yes', 'routable-mandatory', true);
        const amqDirect = await new Promise<Observation>((resolve) => {
          ch.once('return', (m) => resolve({ exchange: m.fields.exchange, key: m.fields.routingKey }));
          ch.publish('amq.direct', s.name('nobody'), Buffer.from('x'), { mandatory: true });
        });
        return { events, amqDirect, bound: await drainBodies(await s.channel(), s.name('bound')) };
      }),
  },
  {
    name: 'alternate-exchange: unroutable messages go to it; mandatory returns only if it routes nowhere too',
    run: (url) =>
      withSession(url, async (s) => {
        const ae = await s.exchange('ae', 'fanout');
        const emptyAe = await s.exchange('empty-ae', 'fanout');
        const main = await s.exchange('main', 'direct', { alternateExchange: ae });
        const main2 = await s.exchange('main2', 'direct', { alternateExchange: emptyAe });
        const main3 = await s.exchange('main3', 'direct', { alternateExchange: s.name('no-such-ae') });
        await s.queue('primary');
        await s.bind(s.name('primary'), main, 'known');
        await s.queue('unrouted');
        await s.bind(s.name('unrouted'), ae);
        const ch = await s.confirmChannel();
        const returns: Observation[] = [];
        ch.on('return', (m) =>
          returns.push({
            body: m.content.toString(),
            exchange: m.fields.exchange,
            key: m.fields.routingKey,
            reply: (m.fields as unknown as { replyText: string }).replyText,
          }),
        );
        const confirms = [
          await publishConfirmed(ch, main, 'known', 'known'),
          await publishConfirmed(ch, main, 'unknown', 'unknown', { mandatory: true }),
          await publishConfirmed(ch, main2, 'unknown', 'nowhere-via-empty-ae', { mandatory: true }),
          await publishConfirmed(ch, main3, 'unknown', 'nowhere-via-missing-ae', { mandatory: true }),
        ];
        return { confirms, returns, queues: await contents(s, ['primary', 'unrouted']) };
      }),
  },
];

differentialSuite('routing', scenarios);
