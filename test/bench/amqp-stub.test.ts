// The stub the AMQP bench measures a client's own ceiling against (bench/amqp-stub-server.ts) must
// look like a broker to amqplib: handshake, confirms for every publish, each message handed to the
// queue's consumer byte for byte with its properties, several consumers served in turn.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from 'amqplib';
import { startAmqpStub } from '../../bench/amqp-stub-server.js';

let stub: Awaited<ReturnType<typeof startAmqpStub>>;
let url: string;

before(async () => {
  stub = await startAmqpStub('127.0.0.1', 0);
  url = `amqp://guest:guest@127.0.0.1:${stub.port}`;
});
after(() => stub.close());

test('confirms every publish and passes each message to the consumer unchanged', async () => {
  const consumerConnection = await connect(url);
  const publisherConnection = await connect(url);
  try {
    const consumer = await consumerConnection.createChannel();
    await consumer.assertQueue('stub-q', { durable: false });
    await consumer.prefetch(100);
    const received: Array<{ body: string; messageId: string | undefined; deliveryTag: number }> = [];
    const allReceived = new Promise<void>((resolve) => {
      void consumer.consume('stub-q', (msg) => {
        if (!msg) return;
        received.push({
          body: msg.content.toString(),
          messageId: msg.properties.messageId as string | undefined,
          deliveryTag: msg.fields.deliveryTag,
        });
        consumer.ack(msg);
        if (received.length === 300) resolve();
      });
    });
    const publisher = await publisherConnection.createConfirmChannel();
    const large = 'x'.repeat(300_000); // spans several frames of the stub's 128 KiB frame_max
    for (let i = 0; i < 300; i++) {
      const body = i === 150 ? large : `message-${i}`;
      publisher.sendToQueue('stub-q', Buffer.from(body), { messageId: `id-${i}`, persistent: true });
    }
    await publisher.waitForConfirms();
    await allReceived;
    assert.deepEqual(
      received.map((r) => (r.body.length === large.length ? 'large' : r.body)),
      Array.from({ length: 300 }, (_, i) => (i === 150 ? 'large' : `message-${i}`)),
    );
    assert.equal(received[150]!.body, large);
    assert.deepEqual(
      received.map((r) => r.messageId),
      Array.from({ length: 300 }, (_, i) => `id-${i}`),
    );
    assert.deepEqual(
      received.map((r) => r.deliveryTag),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
  } finally {
    await publisherConnection.close();
    await consumerConnection.close();
  }
});

test('two consumers of one queue are served in turn', async () => {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    const got: Record<string, number> = { a: 0, b: 0 };
    const done = new Promise<void>((resolve) => {
      for (const name of ['a', 'b'] as const) {
        void channel.consume(
          'stub-turns',
          () => {
            got[name]!++;
            if (got.a! + got.b! === 10) resolve();
          },
          { noAck: true, consumerTag: name },
        );
      }
    });
    // Both consume-oks are in before the first publish: amqplib answers them in order.
    await channel.checkQueue('stub-turns');
    for (let i = 0; i < 10; i++) channel.sendToQueue('stub-turns', Buffer.from(`t${i}`));
    await done;
    assert.deepEqual(got, { a: 5, b: 5 });
  } finally {
    await connection.close();
  }
});
