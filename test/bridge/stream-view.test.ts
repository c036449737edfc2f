/**
 * A Kafka topic partition as an AMQP stream queue (`x-queue-type: stream` + `x-kafka-topic`): one
 * log, both protocols, no shovel. Real clients over real sockets: amqplib publishes → a kafkajs
 * consumer group reads records with keys and headers; kafkajs produces (plain and gzip batches,
 * transactions committed and aborted) → an amqplib stream consumer receives them in offset order
 * from `first` and from an offset; both survive a SIGKILL of `pier serve`; bad declarations are
 * refused with PRECONDITION_FAILED naming the argument.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import amqplib, { type Channel, type ConsumeMessage } from 'amqplib';
import { CompressionTypes, type IHeaders, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { spawnBroker, startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';
import { GROUP_TEST_ARGS, TEST_KAFKA_SETTINGS } from '../helpers/kafka.js';

interface Received {
  readonly offset: number;
  readonly key: string | undefined;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Reads `count` records of `topic` with a new consumer group, from the beginning. */
async function readWithGroup(
  kafka: Kafka,
  topic: string,
  count: number,
  groupId: string,
): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: Received[] = [];
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        received.push(summarize(message));
        if (received.length >= count) resolve();
      },
    });
  });
  await done;
  await consumer.disconnect();
  return received.sort((a, b) => a.offset - b.offset);
}

function summarize(message: KafkaMessage): Received {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? ({} as IHeaders))) {
    headers[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return {
    offset: Number(message.offset),
    key: message.key === null ? undefined : message.key.toString(),
    value: message.value?.toString() ?? '',
    headers,
  };
}

/** Consumes `count` deliveries of a stream queue from `offset` (acking each for credit). */
async function consumeStream(
  channel: Channel,
  queue: string,
  offset: unknown,
  count: number,
): Promise<ConsumeMessage[]> {
  const got: ConsumeMessage[] = [];
  let tag = '';
  await new Promise<void>((resolve, reject) => {
    channel.once('error', reject);
    channel
      .consume(
        queue,
        (message) => {
          if (!message) return reject(new Error('consumer cancelled'));
          got.push(message);
          channel.ack(message);
          if (got.length === count) resolve();
        },
        { arguments: { 'x-stream-offset': offset } },
      )
      .then((ok) => {
        tag = ok.consumerTag;
      }, reject);
  });
  await channel.cancel(tag);
  return got;
}

const streamOffsetOf = (m: ConsumeMessage) => Number(m.properties.headers?.['x-stream-offset']);

describe('a Kafka topic as an AMQP stream queue (x-kafka-topic)', () => {
  let broker: TestBroker;
  let kafka: Kafka;
  let connection: amqplib.ChannelModel;
  const logLines: string[] = [];

  before(async () => {
    broker = await startTestBroker({
      kafkaPort: 0,
      kafka: TEST_KAFKA_SETTINGS,
      log: (line) => logLines.push(line),
    });
    kafka = new Kafka({ brokers: [broker.kafka!.bootstrap], logLevel: logLevel.NOTHING });
    connection = await amqplib.connect(broker.url);
  });
  after(async () => {
    await connection.close();
    await broker.stop();
  });

  const declareView = async (channel: Channel, queue: string, args: Record<string, unknown>) =>
    channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'stream', ...args } });

  test('amqplib publishes to the view → a kafkajs consumer group reads the records with keys and headers', async () => {
    const channel = await connection.createConfirmChannel();
    await declareView(channel, 'orders-view', { 'x-kafka-topic': 'orders' });
    await channel.assertExchange('shop', 'direct', { durable: true });
    await channel.bindQueue('orders-view', 'shop', 'eu');
    // Through the default exchange: no key unless x-message-key names one.
    channel.sendToQueue('orders-view', Buffer.from('first'), {
      messageId: 'm-1',
      contentType: 'text/plain',
      headers: { 'x-message-key': 'customer-7', region: 'eu', attempt: 3, urgent: true },
    });
    channel.sendToQueue('orders-view', Buffer.from('second'), { correlationId: 'c-2' });
    // Through a named exchange: the routing key is the record key.
    channel.publish('shop', 'eu', Buffer.from('third'), { headers: { note: 'via exchange' } });
    await channel.waitForConfirms();
    await channel.close();

    const records = await readWithGroup(kafka, 'orders', 3, 'orders-readers');
    assert.deepEqual(
      records.map((r) => [r.offset, r.key, r.value]),
      [
        [0, 'customer-7', 'first'],
        [1, undefined, 'second'],
        [2, 'eu', 'third'],
      ],
    );
    const [first, second, third] = records;
    assert.equal(first!.headers.region, 'eu');
    assert.equal(first!.headers.attempt, '3');
    assert.equal(first!.headers.urgent, 'true');
    assert.equal(first!.headers['message-id'], 'm-1');
    assert.equal(first!.headers['content-type'], 'text/plain');
    assert.deepEqual(JSON.parse(first!.headers['x-pier-header-types']!), { attempt: 'int', urgent: 'bool' });
    assert.equal(first!.headers['x-message-key'], undefined, 'the key header became the record key');
    assert.equal(second!.headers['correlation-id'], 'c-2');
    assert.equal(third!.headers.note, 'via exchange');

    // And the same log read back over AMQP: the properties and typed headers restored.
    const reader = await connection.createChannel();
    await reader.prefetch(10);
    const back = await consumeStream(reader, 'orders-view', 'first', 3);
    await reader.close();
    assert.deepEqual(back.map(streamOffsetOf), [0, 1, 2]);
    assert.deepEqual(
      back.map((m) => m.content.toString()),
      ['first', 'second', 'third'],
    );
    assert.equal(back[0]!.properties.messageId, 'm-1');
    assert.equal(back[0]!.properties.contentType, 'text/plain');
    assert.equal(back[0]!.properties.headers?.attempt, 3);
    assert.equal(back[0]!.properties.headers?.urgent, true);
    assert.equal(back[0]!.fields.routingKey, 'customer-7');
    assert.equal(back[1]!.properties.correlationId, 'c-2');
    assert.equal(
      back[1]!.fields.routingKey,
      'orders-view',
      'no key: the queue name, as a default-exchange publish',
    );
    assert.equal(back[2]!.fields.routingKey, 'eu');
  });

  test('kafkajs produces (headers, gzip batches) → an amqplib stream consumer gets them in offset order, from first and from an offset', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'events',
      messages: [
        { key: 'a', value: 'e0', headers: { source: 'kafka', trace: 't-0' } },
        { key: 'b', value: 'e1', headers: { source: 'kafka', trace: 't-1' } },
      ],
    });
    await producer.send({
      topic: 'events',
      compression: CompressionTypes.GZIP,
      messages: Array.from({ length: 5 }, (_, i) => ({
        key: `k${i}`,
        value: `gz${i}`,
        headers: { 'content-type': 'application/json', seq: String(i) },
      })),
    });
    await producer.disconnect();

    const channel = await connection.createChannel();
    await declareView(channel, 'events-view', { 'x-kafka-topic': 'events' });
    // A window smaller than a batch: deliveries follow the credit, one record at a time.
    await channel.prefetch(2);
    const all = await consumeStream(channel, 'events-view', 'first', 7);
    assert.deepEqual(all.map(streamOffsetOf), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(
      all.map((m) => m.content.toString()),
      ['e0', 'e1', 'gz0', 'gz1', 'gz2', 'gz3', 'gz4'],
    );
    assert.deepEqual(
      all.map((m) => m.fields.routingKey),
      ['a', 'b', 'k0', 'k1', 'k2', 'k3', 'k4'],
    );
    assert.equal(all[0]!.properties.headers?.source, 'kafka');
    assert.equal(all[1]!.properties.headers?.trace, 't-1');
    assert.equal(all[4]!.properties.contentType, 'application/json', 'content-type header → property');
    assert.equal(all[4]!.properties.headers?.seq, '2');
    assert.equal(all[4]!.properties.deliveryMode, 2);

    // From an offset in the middle of the gzip batch.
    const fromFour = await consumeStream(channel, 'events-view', 4, 3);
    assert.deepEqual(fromFour.map(streamOffsetOf), [4, 5, 6]);
    assert.deepEqual(
      fromFour.map((m) => m.content.toString()),
      ['gz2', 'gz3', 'gz4'],
    );
    await channel.close();
  });

  test("x-stream-offset 'last' starts at the newest batch and 'next' sees only what comes after it", async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'ticks', messages: [{ value: 't0' }, { value: 't1' }] });
    await producer.send({ topic: 'ticks', messages: [{ value: 't2' }, { value: 't3' }] });
    const channel = await connection.createChannel();
    await declareView(channel, 'ticks-view', { 'x-kafka-topic': 'ticks' });
    await channel.prefetch(10);
    const last = await consumeStream(channel, 'ticks-view', 'last', 2);
    assert.deepEqual(
      last.map((m) => [streamOffsetOf(m), m.content.toString()]),
      [
        [2, 't2'],
        [3, 't3'],
      ],
    );
    const next: ConsumeMessage[] = [];
    const gotOne = new Promise<void>((resolve) => {
      void channel.consume(
        'ticks-view',
        (message) => {
          if (!message) return;
          next.push(message);
          channel.ack(message);
          resolve();
        },
        { arguments: { 'x-stream-offset': 'next' } },
      );
    });
    // A round trip on the channel: the consume is registered before the produce.
    await channel.checkQueue('ticks-view');
    await producer.send({ topic: 'ticks', messages: [{ value: 't4' }] });
    await gotOne;
    await producer.disconnect();
    assert.deepEqual(
      next.map((m) => [streamOffsetOf(m), m.content.toString()]),
      [[4, 't4']],
    );
    await channel.close();
  });

  test('transactions: aborted records never reach the AMQP consumer; committed ones do once committed', async () => {
    const channel = await connection.createChannel();
    await declareView(channel, 'txn-view', { 'x-kafka-topic': 'txn' });
    await channel.prefetch(10);
    const producer = kafka.producer({
      transactionalId: 'view-txn',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic: 'txn', messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic: 'txn', messages: [{ value: 'committed-1' }] });
    await committed.commit();
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: 'txn', messages: [{ value: 'after' }] });
    await plain.disconnect();
    await producer.disconnect();

    const got = await consumeStream(channel, 'txn-view', 'first', 2);
    assert.deepEqual(
      got.map((m) => m.content.toString()),
      ['committed-1', 'after'],
    );
    // Offsets are Kafka's: the aborted records and the markers took theirs.
    assert.ok(streamOffsetOf(got[0]!) >= 3, `committed-1 at ${streamOffsetOf(got[0]!)}`);
    await channel.close();
  });

  test("the topic's configs apply to AMQP publishes: compression.type recompresses, a compacted topic nacks a keyless record", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'zipped', numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'gzip' }] },
        { topic: 'compact', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
    });
    await admin.disconnect();
    const channel = await connection.createConfirmChannel();
    await declareView(channel, 'zipped-view', { 'x-kafka-topic': 'zipped' });
    await declareView(channel, 'compact-view', { 'x-kafka-topic': 'compact' });
    channel.sendToQueue('zipped-view', Buffer.from('z'.repeat(1000)), { headers: { n: 1 } });
    channel.sendToQueue('compact-view', Buffer.from('keyed'), { headers: { 'x-message-key': 'id-1' } });
    await channel.waitForConfirms();
    const nacked = new Promise<boolean>((resolve) =>
      channel.sendToQueue('compact-view', Buffer.from('keyless'), {}, (error) => resolve(error !== null)),
    );
    assert.equal(await nacked, true, 'a keyless record in a compacted topic is nacked');
    assert.ok(
      logLines.some((line) => /stream view \/\/compact-view: publish refused .*compacted/.test(line)),
      `the broker says why: ${logLines.join('\n')}`,
    );
    await channel.close();
    const zipped = await readWithGroup(kafka, 'zipped', 1, 'zipped-readers');
    assert.equal(zipped[0]!.value, 'z'.repeat(1000));
    assert.equal(zipped[0]!.headers.n, '1');
    const compacted = await readWithGroup(kafka, 'compact', 1, 'compact-readers');
    assert.deepEqual(
      compacted.map((r) => [r.key, r.value]),
      [['id-1', 'keyed']],
    );
  });

  test('declarations that do not fit are refused with PRECONDITION_FAILED naming the argument', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'wide', numPartitions: 3 }] });
    await admin.disconnect();
    const refusal = async (queue: string, args: Record<string, unknown>, durable = true) => {
      const channel = await connection.createChannel();
      const closed = new Promise<Error>((resolve) => channel.once('error', resolve));
      await assert.rejects(channel.assertQueue(queue, { durable, arguments: args }));
      const error = (await closed) as Error & { code?: number };
      assert.equal(error.code, 406, error.message);
      return error.message;
    };
    assert.match(
      await refusal('w', { 'x-queue-type': 'stream', 'x-kafka-topic': 'wide' }),
      /invalid arg 'x-kafka-partition'.*3 partitions/,
    );
    assert.match(
      await refusal('w', { 'x-queue-type': 'stream', 'x-kafka-topic': 'wide', 'x-kafka-partition': 3 }),
      /invalid arg 'x-kafka-partition'.*0 to 2, not 3/,
    );
    assert.match(
      await refusal('w', { 'x-queue-type': 'stream', 'x-kafka-partition': 1 }),
      /invalid arg 'x-kafka-partition'.*needs x-kafka-topic/,
    );
    assert.match(
      await refusal('w', { 'x-kafka-topic': 'wide' }),
      /invalid arg 'x-kafka-topic'.*rabbit_classic_queue/,
    );
    assert.match(
      await refusal('w', {
        'x-queue-type': 'stream',
        'x-kafka-topic': 'wide',
        'x-kafka-partition': 1,
        'x-max-age': '1h',
      }),
      /invalid arg 'x-max-age'.*retention/,
    );
    assert.match(
      await refusal('w', { 'x-queue-type': 'stream', 'x-kafka-topic': 'bad name!' }),
      /invalid arg 'x-kafka-topic'/,
    );
    assert.match(
      await refusal('w', { 'x-queue-type': 'stream', 'x-kafka-topic': 'new-topic', 'x-kafka-partition': 2 }),
      /invalid arg 'x-kafka-partition'.*does not exist/,
    );
    // The partition named: accepted; declared again with another partition: inequivalent.
    const channel = await connection.createChannel();
    await declareView(channel, 'wide-1', { 'x-kafka-topic': 'wide', 'x-kafka-partition': 1 });
    await channel.close();
    assert.match(
      await refusal('wide-1', { 'x-queue-type': 'stream', 'x-kafka-topic': 'wide', 'x-kafka-partition': 2 }),
      /inequivalent arg 'x-kafka-partition'/,
    );
  });

  test('deleting the view keeps the topic; deleting the topic deletes the view and cancels its consumers', async () => {
    const channel = await connection.createChannel();
    await declareView(channel, 'temp-view', { 'x-kafka-topic': 'temp' });
    channel.sendToQueue('temp-view', Buffer.from('kept'));
    await channel.deleteQueue('temp-view');
    const records = await readWithGroup(kafka, 'temp', 1, 'temp-readers');
    assert.deepEqual(
      records.map((r) => r.value),
      ['kept'],
    );
    await declareView(channel, 'temp-view', { 'x-kafka-topic': 'temp' });
    await channel.prefetch(5);
    const cancelled = new Promise<void>((resolve) => {
      void channel.consume(
        'temp-view',
        (message) => {
          if (message === null) resolve();
          else channel.ack(message);
        },
        { arguments: { 'x-stream-offset': 'first' } },
      );
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: ['temp'] });
    await admin.disconnect();
    await cancelled;
    const closed = new Promise<Error>((resolve) => channel.once('error', resolve));
    await assert.rejects(channel.checkQueue('temp-view'));
    assert.match((await closed).message, /NOT_FOUND/);
  });
});

describe('a stream view survives SIGKILL of pier serve', () => {
  test('AMQP-confirmed and Kafka-acknowledged records are all there after a restart, for both protocols', async () => {
    const dataDir = tempDir('pier-streamview-');
    let child = await spawnBroker(dataDir, ['--kafka-port', '0', ...GROUP_TEST_ARGS], ['amqp', 'kafka']);
    try {
      const bootstrap = () => `127.0.0.1:${child.listeners.get('kafka')!.port}`;
      let kafka = new Kafka({ brokers: [bootstrap()], logLevel: logLevel.NOTHING });
      let connection = await amqplib.connect(child.url);
      // The SIGKILL below drops this connection: expected, not a failure.
      connection.on('error', () => {});
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => {});
      await channel.assertQueue('log-view', {
        durable: true,
        arguments: { 'x-queue-type': 'stream', 'x-kafka-topic': 'log' },
      });
      for (let i = 0; i < 50; i++) {
        channel.sendToQueue('log-view', Buffer.from(`amqp-${i}`), { headers: { i } });
      }
      await channel.waitForConfirms();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: 'log',
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: 50 }, (_, i) => ({
          key: `k${i}`,
          value: `kafka-${i}`,
          headers: { i: String(i) },
        })),
      });
      await producer.disconnect();
      child.process.kill('SIGKILL');
      await child.exited;
      await connection.close().catch(() => {});
      child.process.stdout?.destroy();
      child.process.stderr?.destroy();

      child = await spawnBroker(dataDir, ['--kafka-port', '0', ...GROUP_TEST_ARGS], ['amqp', 'kafka']);
      kafka = new Kafka({ brokers: [bootstrap()], logLevel: logLevel.NOTHING });
      connection = await amqplib.connect(child.url);
      const reader = await connection.createChannel();
      // The view was recovered with its arguments (a passive declare finds it) …
      const found = await reader.checkQueue('log-view');
      assert.equal(found.messageCount, 100);
      await reader.prefetch(25);
      const got = await consumeStream(reader, 'log-view', 'first', 100);
      assert.deepEqual(
        got.map(streamOffsetOf),
        Array.from({ length: 100 }, (_, i) => i),
      );
      assert.deepEqual(
        got.map((m) => m.content.toString()),
        [
          ...Array.from({ length: 50 }, (_, i) => `amqp-${i}`),
          ...Array.from({ length: 50 }, (_, i) => `kafka-${i}`),
        ],
      );
      assert.equal(got[7]!.properties.headers?.i, 7);
      // … and it still takes publishes, after the recovered records.
      const writer = await connection.createConfirmChannel();
      writer.sendToQueue('log-view', Buffer.from('after-restart'));
      await writer.waitForConfirms();
      const records = await readWithGroup(kafka, 'log', 101, 'after-restart');
      assert.deepEqual(
        records.map((r) => r.offset),
        Array.from({ length: 101 }, (_, i) => i),
      );
      assert.equal(records[100]!.value, 'after-restart');
      assert.equal(records[3]!.headers.i, '3');
      await connection.close();
    } finally {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
      child.process.stdout?.destroy();
      child.process.stderr?.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
