// Python pika (Debian's python3-pika, run with /usr/bin/python3) against the broker, checked from amqplib
// and the other way round. The Python side lives in test/compat/python/; each script prints JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from 'amqplib';
import { withBroker } from './broker.js';
import { cleanup, consumeN, drain, runPython, uniqueName, withAmqplib } from './helpers.js';

type Tagged = null | boolean | number | string | Tagged[] | { [key: string]: Tagged };

interface PikaMessage {
  body_b64: string;
  properties: Record<string, Tagged>;
  exchange: string;
  routing_key: string;
  redelivered: boolean;
  delivery_tag: number;
}

/** amqplib's message properties without the ones it reports as undefined (i.e. absent on the wire). */
function setProperties(msg: Message): Record<string, unknown> {
  return Object.fromEntries(Object.entries(msg.properties).filter(([, v]) => v !== undefined));
}

function bodyOf(m: PikaMessage): Buffer {
  return Buffer.from(m.body_b64, 'base64');
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const LARGE = 300_000; // bigger than the default frame-max (131072): several body frames

function largeBody(unit: string, length: number): Buffer {
  return Buffer.from(unit.repeat(Math.ceil(length / unit.length)).slice(0, length));
}

test('pika', async (t) => {
  await withBroker(async (url) => {
    await t.test('connection.start advertises the capabilities pika checks', async () => {
      const out = await runPython<{
        server_properties: Record<string, Tagged>;
        capabilities: Record<string, Tagged>;
        supported: Record<string, boolean>;
      }>('pika_server_properties.py', [url]);
      assert.deepEqual(out.supported, {
        basic_nack: true,
        consumer_cancel_notify: true,
        exchange_exchange_bindings: true,
        publisher_confirms: true,
      });
      for (const name of [
        'basic.nack',
        'consumer_cancel_notify',
        'exchange_exchange_bindings',
        'publisher_confirms',
      ]) {
        assert.equal(out.capabilities[name], true, `capability ${name}`);
      }
      assert.equal(typeof out.server_properties.product, 'string');
      assert.equal(typeof out.server_properties.version, 'string');
    });

    await t.test('pika publishes with properties, amqplib consumes them intact and in order', async () => {
      const queue = uniqueName('pika-to-amqplib');
      const headers = {
        'x-string': 'héllo wörld ✓',
        'x-int': 42,
        'x-negative': -100000,
        'x-long': 2 ** 40,
        'x-bool': true,
        'x-false': false,
        'x-null': null,
        'x-bytes': { $bytes: Buffer.from([0, 1, 254, 255]).toString('base64') },
        'x-decimal': { $decimal: '3.14' },
        'x-timestamp': { $timestamp: 1_700_000_123 },
        'x-table': { inner: 'value', depth: { n: 7 } },
        'x-array': [1, 'two', true, { three: 3 }],
      };
      // What amqplib decodes the table above into.
      const expectedHeaders = {
        'x-string': 'héllo wörld ✓',
        'x-int': 42,
        'x-negative': -100000,
        'x-long': 2 ** 40,
        'x-bool': true,
        'x-false': false,
        'x-null': null,
        'x-bytes': Buffer.from([0, 1, 254, 255]),
        'x-decimal': { '!': 'decimal', value: { places: 2, digits: 314 } },
        'x-timestamp': { '!': 'timestamp', value: 1_700_000_123 },
        'x-table': { inner: 'value', depth: { n: 7 } },
        'x-array': [1, 'two', true, { three: 3 }],
      };
      const messages = [
        {
          body: { text: '{"order":1,"note":"ünïcode"}' },
          properties: {
            content_type: 'application/json',
            content_encoding: 'utf-8',
            headers,
            delivery_mode: 2,
            priority: 5,
            correlation_id: 'corr-1',
            reply_to: 'reply.queue',
            expiration: '600000',
            message_id: 'msg-1',
            timestamp: 1_700_000_000,
            type: 'order.created',
            app_id: 'pika-compat',
          },
        },
        {
          body: { b64: allBytes.toString('base64') },
          properties: {
            content_type: 'application/octet-stream',
            delivery_mode: 2,
            correlation_id: 'corr-2',
            message_id: 'msg-2',
          },
        },
        { body: { text: '' }, properties: { delivery_mode: 2, message_id: 'msg-3-empty' } },
        {
          body: { repeat: 'pika-large-', length: LARGE },
          properties: { content_type: 'text/plain', delivery_mode: 2, message_id: 'msg-4-large' },
        },
        {
          body: { text: 'five' },
          properties: { delivery_mode: 2, correlation_id: 'corr-5', message_id: 'msg-5' },
        },
        { body: { text: 'six' }, properties: { delivery_mode: 1, message_id: 'msg-6' } },
      ];
      const expected = [
        {
          content: Buffer.from('{"order":1,"note":"ünïcode"}'),
          properties: {
            contentType: 'application/json',
            contentEncoding: 'utf-8',
            headers: expectedHeaders,
            deliveryMode: 2,
            priority: 5,
            correlationId: 'corr-1',
            replyTo: 'reply.queue',
            expiration: '600000',
            messageId: 'msg-1',
            timestamp: 1_700_000_000,
            type: 'order.created',
            appId: 'pika-compat',
          },
        },
        {
          content: allBytes,
          properties: {
            contentType: 'application/octet-stream',
            deliveryMode: 2,
            correlationId: 'corr-2',
            messageId: 'msg-2',
          },
        },
        { content: Buffer.alloc(0), properties: { deliveryMode: 2, messageId: 'msg-3-empty' } },
        {
          content: largeBody('pika-large-', LARGE),
          properties: { contentType: 'text/plain', deliveryMode: 2, messageId: 'msg-4-large' },
        },
        {
          content: Buffer.from('five'),
          properties: { deliveryMode: 2, correlationId: 'corr-5', messageId: 'msg-5' },
        },
        { content: Buffer.from('six'), properties: { deliveryMode: 1, messageId: 'msg-6' } },
      ];
      try {
        await withAmqplib(url, async (ch) => {
          await ch.assertQueue(queue, { durable: true });
          const out = await runPython<{ published: number }>('pika_publish.py', [
            url,
            '',
            queue,
            JSON.stringify(messages),
          ]);
          assert.equal(out.published, messages.length);
          const got = await consumeN(ch, queue, messages.length);
          assert.equal(got.length, expected.length);
          got.forEach((msg, i) => {
            assert.ok(msg.content.equals(expected[i].content), `body of message ${i}`);
            assert.deepEqual(setProperties(msg), expected[i].properties, `properties of message ${i}`);
            assert.equal(msg.fields.exchange, '');
            assert.equal(msg.fields.routingKey, queue);
            assert.equal(msg.fields.redelivered, false);
          });
          const check = await ch.checkQueue(queue);
          assert.equal(check.messageCount, 0);
        });
      } finally {
        await cleanup(url, { queues: [queue] });
      }
    });

    await t.test('amqplib publishes, pika consumes with manual acks and sees every field', async () => {
      const queue = uniqueName('amqplib-to-pika');
      const sent = [
        {
          content: Buffer.from('first ✓'),
          options: {
            contentType: 'text/plain',
            contentEncoding: 'utf-8',
            headers: {
              'x-string': 'from amqplib',
              'x-byte': 7,
              'x-short': 1000,
              'x-int': 100000,
              'x-negative': -100000,
              'x-bool': true,
              'x-null': null,
              'x-bytes': Buffer.from([0, 255, 10]),
              'x-table': { a: 'b', n: 1 },
              'x-array': ['one', 2, false],
            },
            persistent: true,
            priority: 3,
            correlationId: 'c-1',
            replyTo: 'replies',
            expiration: '600000',
            messageId: 'm-1',
            timestamp: 1_700_000_456,
            type: 'greeting',
            appId: 'amqplib-compat',
          },
        },
        {
          content: allBytes,
          options: { contentType: 'application/octet-stream', persistent: true, messageId: 'm-2' },
        },
        { content: Buffer.alloc(0), options: { messageId: 'm-3-empty' } },
        {
          content: largeBody('amqplib-large-', LARGE),
          options: { persistent: true, messageId: 'm-4-large' },
        },
        {
          content: Buffer.from('fifth'),
          options: { persistent: false, correlationId: 'c-5', messageId: 'm-5' },
        },
      ];
      // What pika decodes those properties into (see pikautil.to_json for the tagging).
      const expectedProperties = [
        {
          content_type: 'text/plain',
          content_encoding: 'utf-8',
          headers: {
            'x-string': 'from amqplib',
            'x-byte': 7,
            'x-short': 1000,
            'x-int': 100000,
            'x-negative': -100000,
            'x-bool': true,
            'x-null': null,
            'x-bytes': { $bytes: Buffer.from([0, 255, 10]).toString('base64') },
            'x-table': { a: 'b', n: 1 },
            'x-array': ['one', 2, false],
          },
          delivery_mode: 2,
          priority: 3,
          correlation_id: 'c-1',
          reply_to: 'replies',
          expiration: '600000',
          message_id: 'm-1',
          timestamp: 1_700_000_456,
          type: 'greeting',
          app_id: 'amqplib-compat',
        },
        // amqplib always sends a headers table, empty if none was given.
        { content_type: 'application/octet-stream', headers: {}, delivery_mode: 2, message_id: 'm-2' },
        { headers: {}, message_id: 'm-3-empty' },
        { headers: {}, delivery_mode: 2, message_id: 'm-4-large' },
        { headers: {}, delivery_mode: 1, correlation_id: 'c-5', message_id: 'm-5' },
      ];
      try {
        await withAmqplib(url, async (_ch, model) => {
          const ch = await model.createConfirmChannel();
          await ch.assertQueue(queue, { durable: true });
          for (const m of sent) ch.sendToQueue(queue, m.content, m.options);
          await ch.waitForConfirms();
          const out = await runPython<{
            messages: PikaMessage[];
            timed_out: boolean;
            cancel_ok: boolean;
            consumer_tag: string;
          }>('pika_consume.py', [url, queue, String(sent.length), '2']);
          assert.equal(out.timed_out, false);
          assert.equal(out.cancel_ok, true);
          assert.ok(out.consumer_tag.length > 0);
          assert.equal(out.messages.length, sent.length);
          out.messages.forEach((m, i) => {
            assert.ok(bodyOf(m).equals(sent[i].content), `body of message ${i}`);
            assert.deepEqual(m.properties, expectedProperties[i], `properties of message ${i}`);
            assert.equal(m.exchange, '');
            assert.equal(m.routing_key, queue);
            assert.equal(m.redelivered, false);
            assert.equal(m.delivery_tag, i + 1);
          });
          // The acks took effect (unacked messages would have been requeued when pika disconnected) and the
          // consumer is gone.
          const check = await ch.checkQueue(queue);
          assert.equal(check.messageCount, 0);
          assert.equal(check.consumerCount, 0);
        });
      } finally {
        await cleanup(url, { queues: [queue] });
      }
    });

    await t.test(
      'pika publisher confirms: acks for routed messages, basic.return for unroutable ones',
      async () => {
        const queue = uniqueName('pika-confirms');
        const missing = uniqueName('pika-confirms-missing');
        const batch = Array.from({ length: 20 }, (_, i) => ({
          body: { text: `confirmed-${i}` },
          properties: { delivery_mode: 2, message_id: `id-${i}` },
        }));
        try {
          await withAmqplib(url, async (ch) => {
            await ch.assertQueue(queue, { durable: true });
            const first = await runPython<{ published: number; results: string[] }>('pika_publish.py', [
              url,
              '',
              queue,
              JSON.stringify(batch),
              '--confirm',
            ]);
            assert.deepEqual(first, { published: 20, results: Array(20).fill('ack') });
            const second = await runPython<{ published: number; results: string[] }>('pika_publish.py', [
              url,
              '',
              queue,
              JSON.stringify([
                { body: { text: 'routed-a' } },
                { body: { text: 'nowhere' }, routing_key: missing },
                { body: { text: 'routed-b' } },
              ]),
              '--confirm',
              '--mandatory',
            ]);
            assert.deepEqual(second, { published: 3, results: ['ack', 'unroutable', 'ack'] });
            const got = await drain(ch, queue);
            assert.deepEqual(
              got.map((m) => m.content.toString()),
              [...batch.map((_, i) => `confirmed-${i}`), 'routed-a', 'routed-b'],
            );
            assert.deepEqual(
              got.slice(0, 20).map((m) => [m.properties.messageId, m.properties.deliveryMode]),
              batch.map((_, i) => [`id-${i}`, 2]),
            );
          });
        } finally {
          await cleanup(url, { queues: [queue] });
        }
      },
    );

    await t.test('pika basic_get reads messages with message-count, then get-empty', async () => {
      const queue = uniqueName('pika-get');
      try {
        await withAmqplib(url, async (_ch, model) => {
          const ch = await model.createConfirmChannel();
          await ch.assertQueue(queue, { durable: false });
          for (const body of ['g1', 'g2', 'g3']) {
            ch.sendToQueue(queue, Buffer.from(body), { contentType: 'text/plain', headers: { 'x-n': body } });
          }
          await ch.waitForConfirms();
          const out = await runPython<{ messages: PikaMessage[]; message_counts: number[]; empty: boolean }>(
            'pika_get.py',
            [url, queue, '10'],
          );
          assert.deepEqual(
            out.messages.map((m) => bodyOf(m).toString()),
            ['g1', 'g2', 'g3'],
          );
          assert.deepEqual(
            out.messages.map((m) => m.properties),
            ['g1', 'g2', 'g3'].map((n) => ({ content_type: 'text/plain', headers: { 'x-n': n } })),
          );
          assert.deepEqual(out.message_counts, [2, 1, 0]);
          assert.deepEqual(
            out.messages.map((m) => [m.exchange, m.routing_key, m.redelivered]),
            Array(3).fill(['', queue, false]),
          );
          assert.equal(out.empty, true);
          assert.equal((await ch.checkQueue(queue)).messageCount, 0);
        });
      } finally {
        await cleanup(url, { queues: [queue] });
      }
    });

    await t.test(
      'pika declares a topic exchange and binds; amqplib receives exactly the matching messages',
      async () => {
        const queue = uniqueName('pika-topic-q');
        const exchange = uniqueName('pika-topic-x');
        const keys = [
          'orders.new.eu',
          'orders.new.us',
          'audit',
          'audit.login.failed',
          'orders.eu',
          'misc',
          'orders.cancelled.eu',
        ];
        const matching = ['orders.new.eu', 'audit', 'audit.login.failed', 'orders.cancelled.eu'];
        try {
          await withAmqplib(url, async (ch) => {
            await ch.assertQueue(queue, { durable: false });
            const out = await runPython<{ declared: boolean; bound: string[]; results: string[] }>(
              'pika_topic.py',
              [url, exchange, queue, JSON.stringify(['orders.*.eu', 'audit.#']), JSON.stringify(keys)],
            );
            assert.deepEqual(out, {
              declared: true,
              bound: ['orders.*.eu', 'audit.#'],
              results: keys.map((k) => (matching.includes(k) ? 'routed' : 'unroutable')),
            });
            await ch.checkExchange(exchange);
            const got = await consumeN(ch, queue, matching.length);
            assert.deepEqual(
              got.map((m) => [m.content.toString(), m.fields.exchange, m.fields.routingKey]),
              matching.map((k) => [k, exchange, k]),
            );
            assert.equal((await ch.checkQueue(queue)).messageCount, 0);
          });
        } finally {
          await cleanup(url, { queues: [queue], exchanges: [exchange] });
        }
      },
    );
  });
});
