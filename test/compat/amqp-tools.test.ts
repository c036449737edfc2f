// rabbitmq-c's command-line tools (Debian amqp-tools) against the broker, checked from amqplib and the
// other way round. The tools take the broker URL with --url (the short -u means --if-unused to
// amqp-delete-queue), and popt needs "--" before amqp-consume's command.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Channel, ChannelModel } from 'amqplib';
import { withBroker } from './broker.js';
import { cleanup, consumeN, drain, run, runOk, uniqueName, withAmqplib } from './helpers.js';

async function publishConfirmed(model: ChannelModel, queue: string, bodies: (string | Buffer)[]) {
  const ch = await model.createConfirmChannel();
  for (const body of bodies) ch.sendToQueue(queue, Buffer.isBuffer(body) ? body : Buffer.from(body));
  await ch.waitForConfirms();
  await ch.close();
}

/** checkQueue on a throwaway channel (a 404 closes the channel); resolves to the reply or the error. */
async function probeQueue(model: ChannelModel, queue: string) {
  const ch: Channel = await model.createChannel();
  ch.on('error', () => {});
  try {
    const ok = await ch.checkQueue(queue);
    await ch.close();
    return ok;
  } catch (error) {
    return error as Error;
  }
}

test('amqp-tools', async (t) => {
  await withBroker(async (url) => {
    const conn = `--url=${url}`;

    await t.test('amqp-declare-queue declares named and server-named queues', async () => {
      const named = uniqueName('tools-declare');
      let generated = '';
      try {
        const out = await runOk('amqp-declare-queue', [conn, '--durable', `--queue=${named}`]);
        assert.equal(out.stdout.toString(), `${named}\n`);
        // Redeclaring with the same arguments is fine.
        await runOk('amqp-declare-queue', [conn, '--durable', `--queue=${named}`]);
        const anon = await runOk('amqp-declare-queue', [conn, '--queue=']);
        generated = anon.stdout.toString().trim();
        assert.match(generated, /^\S+$/);
        assert.notEqual(generated, named);
        await withAmqplib(url, async (_ch, model) => {
          const a = await probeQueue(model, named);
          assert.ok(!(a instanceof Error), `declared queue missing: ${a}`);
          assert.equal(a.queue, named);
          assert.equal(a.messageCount, 0);
          const b = await probeQueue(model, generated);
          assert.ok(!(b instanceof Error), `server-named queue missing: ${b}`);
          assert.equal(b.queue, generated);
        });
      } finally {
        await cleanup(url, { queues: [named, ...(generated ? [generated] : [])] });
      }
    });

    await t.test('amqp-publish (persistent, content type, headers) reaches amqplib intact', async () => {
      const queue = uniqueName('tools-publish');
      const exchange = uniqueName('tools-publish-x');
      try {
        await withAmqplib(url, async (ch) => {
          await ch.assertQueue(queue, { durable: true });
          await ch.assertExchange(exchange, 'direct', { durable: false });
          await ch.bindQueue(queue, exchange, 'tools.key');
          await runOk('amqp-publish', [
            conn,
            '--routing-key',
            queue,
            '-p',
            '-C',
            'application/json',
            '-E',
            'utf-8',
            '-t',
            'reply.to.me',
            '-H',
            'x-origin: amqp-tools',
            '-H',
            'x-second: two words',
            '-b',
            '{"tool":"amqp-publish","n":1}',
          ]);
          await runOk('amqp-publish', [conn, '-r', queue, '-C', 'text/plain', '-b', 'transient ✓']);
          // Body from stdin, one message in all.
          await runOk('amqp-publish', [conn, '-r', queue, '-p'], {
            input: Buffer.from([0, 1, 2, 255, 10, 13]),
          });
          // Through an exchange.
          await runOk('amqp-publish', [conn, '-e', exchange, '-r', 'tools.key', '-p', '-b', 'via exchange']);
          await runOk('amqp-publish', [conn, '-e', exchange, '-r', 'other.key', '-b', 'dropped']);
          // -l: each line of stdin is its own message (rabbitmq-c keeps the newline in the body).
          await runOk('amqp-publish', [conn, '-r', queue, '-l', '-p'], {
            input: 'line one\nline two\nline three\n',
          });

          const got = await drain(ch, queue);
          assert.equal(got.length, 7, `got ${got.map((m) => JSON.stringify(m.content.toString()))}`);
          const props = got.map((m) =>
            Object.fromEntries(Object.entries(m.properties).filter(([, v]) => v !== undefined)),
          );
          assert.equal(got[0].content.toString(), '{"tool":"amqp-publish","n":1}');
          assert.deepEqual(props[0], {
            contentType: 'application/json',
            contentEncoding: 'utf-8',
            replyTo: 'reply.to.me',
            deliveryMode: 2,
            headers: { 'x-origin': 'amqp-tools', 'x-second': 'two words' },
          });
          assert.equal(got[1].content.toString(), 'transient ✓');
          // Without -p rabbitmq-c sends delivery-mode 1 explicitly.
          assert.deepEqual(props[1], { contentType: 'text/plain', deliveryMode: 1 });
          assert.ok(got[2].content.equals(Buffer.from([0, 1, 2, 255, 10, 13])), 'stdin body');
          assert.deepEqual(props[2], { deliveryMode: 2 });
          assert.equal(got[3].content.toString(), 'via exchange');
          assert.equal(got[3].fields.exchange, exchange);
          assert.equal(got[3].fields.routingKey, 'tools.key');
          assert.deepEqual(props[3], { deliveryMode: 2 });
          assert.deepEqual(
            got.slice(4).map((m) => [m.content.toString(), m.fields.exchange, m.fields.routingKey]),
            ['line one\n', 'line two\n', 'line three\n'].map((b) => [b, '', queue]),
          );
          assert.deepEqual(props.slice(4), Array(3).fill({ deliveryMode: 2 }));
        });
      } finally {
        await cleanup(url, { queues: [queue], exchanges: [exchange] });
      }
    });

    await t.test(
      'amqplib publishes, amqp-get reads one message per call in order, then reports empty',
      async () => {
        const queue = uniqueName('tools-get');
        const bodies = ['get one', 'get two ✓', Buffer.from([0, 10, 255])];
        try {
          await withAmqplib(url, async (ch, model) => {
            await ch.assertQueue(queue, { durable: false });
            await publishConfirmed(model, queue, bodies);
            for (const body of bodies) {
              const out = await runOk('amqp-get', [conn, `--queue=${queue}`]);
              assert.ok(
                out.stdout.equals(Buffer.isBuffer(body) ? body : Buffer.from(body)),
                `amqp-get printed ${out.stdout}`,
              );
            }
            // basic.get-empty: rabbitmq-c's amqp-get prints nothing and exits 2.
            const empty = await run('amqp-get', [conn, `--queue=${queue}`]);
            assert.equal(empty.code, 2, `amqp-get on an empty queue: ${empty.stderr}`);
            assert.equal(empty.stdout.length, 0);
            assert.equal((await ch.checkQueue(queue)).messageCount, 0);
          });
        } finally {
          await cleanup(url, { queues: [queue] });
        }
      },
    );

    await t.test(
      'amqplib publishes, amqp-consume -c N takes exactly N in order and leaves the rest',
      async () => {
        const queue = uniqueName('tools-consume');
        const bodies = ['c1', 'c2 ✓', 'c3 multi\nline', 'c4', 'c5'];
        try {
          await withAmqplib(url, async (ch, model) => {
            await ch.assertQueue(queue, { durable: false });
            await publishConfirmed(model, queue, bodies);
            // amqp-consume pipes each body to the command's stdin; bracket each so boundaries are visible.
            const out = await runOk('amqp-consume', [
              conn,
              `--queue=${queue}`,
              '-c',
              '3',
              '--',
              '/bin/sh',
              '-c',
              'printf "["; cat; printf "]\\n"',
            ]);
            assert.equal(out.stdout.toString(), '[c1]\n[c2 ✓]\n[c3 multi\nline]\n');
            // amqp-consume acked what it consumed; the remaining two are still there, in order.
            const left = await consumeN(ch, queue, 2);
            assert.deepEqual(
              left.map((m) => m.content.toString()),
              ['c4', 'c5'],
            );
            assert.equal((await ch.checkQueue(queue)).messageCount, 0);

            // --no-ack mode.
            await publishConfirmed(model, queue, ['n1', 'n2']);
            const noAck = await runOk('amqp-consume', [
              conn,
              `--queue=${queue}`,
              '--no-ack',
              '-c',
              '2',
              '--',
              '/bin/sh',
              '-c',
              'printf "["; cat; printf "]\\n"',
            ]);
            assert.equal(noAck.stdout.toString(), '[n1]\n[n2]\n');
            assert.equal((await ch.checkQueue(queue)).messageCount, 0);
          });
        } finally {
          await cleanup(url, { queues: [queue] });
        }
      },
    );

    await t.test('amqp-delete-queue reports the message count and removes the queue', async () => {
      const queue = uniqueName('tools-delete');
      try {
        await withAmqplib(url, async (ch, model) => {
          await ch.assertQueue(queue, { durable: true });
          await publishConfirmed(model, queue, ['d1', 'd2']);
          // --if-empty on a non-empty queue is refused (406 PRECONDITION_FAILED) and the queue survives.
          const refused = await run('amqp-delete-queue', [conn, `--queue=${queue}`, '--if-empty']);
          assert.notEqual(refused.code, 0);
          assert.match(refused.stderr, /406|PRECONDITION/i);
          const still = await probeQueue(model, queue);
          assert.ok(!(still instanceof Error), `queue gone after refused delete: ${still}`);
          assert.equal(still.messageCount, 2);

          const out = await runOk('amqp-delete-queue', [conn, `--queue=${queue}`]);
          assert.equal(out.stdout.toString(), '2\n');
          const gone = await probeQueue(model, queue);
          assert.ok(gone instanceof Error, 'queue still exists after amqp-delete-queue');
          assert.match(gone.message, /404|NOT_FOUND/);
        });
      } finally {
        await cleanup(url, { queues: [queue] });
      }
    });
  });
});
