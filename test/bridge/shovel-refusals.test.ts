/**
 * Destinations that refuse a message for good, over real sockets: a Kafka topic whose
 * max.message.bytes is smaller than the record, an SQS queue whose MaximumMessageSize is smaller
 * than the body, and a second Pier whose queue refuses it (x-overflow reject-publish over
 * x-max-length-bytes: basic.nack), closes the channel over it (406, over its max message size) or
 * returns it (unroutable, basic.return). Without a dead-letter destination the shovel backs off
 * and retries with its state visible while the refused message stays at the source and the
 * following ones move; with one, the refused message lands there with why, after
 * dead-letter-after-attempts refusals, and the source lets go of it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { runPier, startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';

type Row = Record<string, unknown>;

describe('shovels and destinations that refuse a message', () => {
  let broker: TestBroker;
  let remote: TestBroker;
  let dataDir: string;
  let sqs: SQSClient;
  let kafka: Kafka;
  let connection: Awaited<ReturnType<typeof amqplib.connect>>;
  let channel: Awaited<ReturnType<Awaited<ReturnType<typeof amqplib.connect>>['createConfirmChannel']>>;
  const log: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${broker.http!.url}${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`,
        'content-type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  };
  const status = async (name: string) => {
    const { json } = await api('GET', '/api/shovels/%2F');
    return (json as Row[]).find((s) => s.name === name);
  };
  const until = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 1200; i++) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const { json } = await api('GET', '/api/shovels');
    assert.fail(`timed out waiting for ${what}; shovels: ${JSON.stringify(json)}`);
  };
  const addShovel = async (name: string, value: Row) => {
    const put = await api('PUT', `/api/parameters/shovel/%2F/${name}`, { value });
    assert.equal(put.status, 201, JSON.stringify(put.json));
  };
  /** Publishes small messages around one big one, in this order: before, big, after-1, after-2. */
  const publish = async (queue: string, bigBytes: number) => {
    await channel.assertQueue(queue, { durable: true });
    const send = (id: string, body: Buffer) =>
      channel.sendToQueue(queue, body, { messageId: id, persistent: true, headers: { kind: id } });
    send(`${queue}-before`, Buffer.from('before'));
    send(`${queue}-big`, Buffer.alloc(bigBytes, 'x'));
    send(`${queue}-after-1`, Buffer.from('after 1'));
    send(`${queue}-after-2`, Buffer.from('after 2'));
    await channel.waitForConfirms();
  };
  const depth = async (queue: string) => (await channel.checkQueue(queue)).messageCount;
  /** Deletes the shovel, then counts what its source queue holds once the shovel's consumer is gone. */
  const deleteAndCount = async (name: string, queue: string) => {
    assert.equal((await api('DELETE', `/api/parameters/shovel/%2F/${name}`)).status, 204);
    await until(
      'the shovel to let go of its source',
      async () => (await channel.checkQueue(queue)).consumerCount === 0,
    );
    return depth(queue);
  };
  /** Waits for a shovel's status counts. */
  const counted = async (name: string, moved: number, deadLettered: number) =>
    until(`${name}: ${moved} moved, ${deadLettered} dead-lettered`, async () => {
      const s = await status(name);
      return s?.messages_moved === moved && s?.messages_dead_lettered === deadLettered;
    });
  /** Every record of a topic so far, by message-id header, read from the start without a group commit. */
  const topicRecords = async (topic: string, expected: number) => {
    const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Map<string, { size: number; headers: Record<string, string> }>();
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          );
          seen.set(headers['message-id'] ?? '', { size: message.value?.length ?? 0, headers });
          if (seen.size >= expected) resolve();
        },
      });
    });
    await consumer.disconnect();
    return seen;
  };

  before(async () => {
    dataDir = tempDir();
    broker = await startTestBroker({
      dataDir,
      kafkaPort: 0,
      sqsPort: 0,
      httpPort: 0,
      log: (line) => {
        if (line.includes('shovel')) log.push(line);
        if (process.env.SHOVEL_DEBUG && line.includes('shovel')) console.error(line);
      },
    });
    remote = await startTestBroker({ amqp: { maxMessageSizeBytes: 8192 } });
    sqs = new SQSClient({
      endpoint: broker.sqs!.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    kafka = new Kafka({ brokers: [broker.kafka!.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'small', configEntries: [{ name: 'max.message.bytes', value: '4096' }] },
        { topic: 'k-events', numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    connection = await amqplib.connect(broker.url);
    channel = await connection.createConfirmChannel();
  });
  after(async () => {
    await connection.close();
    sqs.destroy();
    await broker.stop();
    await remote.stop();
  });

  test('AMQP → Kafka, a record over the topic max.message.bytes, no dead-letter destination: backs off, the source keeps it, the others move', async () => {
    await publish('to-small', 20_000);
    await addShovel('to-small', { 'src-queue': 'to-small', 'dest-topic': 'small', 'reconnect-delay': 0.05 });
    await until('a second refusal', async () => Number((await status('to-small'))?.messages_refused) >= 2);
    const records = await topicRecords('small', 3);
    assert.deepEqual([...records.keys()].sort(), ['to-small-after-1', 'to-small-after-2', 'to-small-before']);
    const s = (await status('to-small'))!;
    assert.match(String(s.last_error), /MESSAGE_TOO_LARGE/);
    assert.match(String(s.last_error), /to-small-big/);
    assert.ok(Number(s.failures_in_row) >= 1);
    assert.equal(s.messages_dead_lettered, 0);
    assert.equal(s.dead_letter, null);
    assert.ok(log.some((l) => /retrying in \d+ ms \(failure \d+ in a row\)/.test(l)));
    await counted('to-small', 3, 0);
    assert.equal(await deleteAndCount('to-small', 'to-small'), 1, 'the refused record stays at the source');
  });

  test('AMQP → Kafka with dead-letter-queue: the big record is dead-lettered with why, the source drains, later records move', async () => {
    await publish('to-small-dl', 20_000);
    await addShovel('to-small-dl', {
      'src-queue': 'to-small-dl',
      'dest-topic': 'small',
      'reconnect-delay': 0.05,
      'dead-letter-queue': 'small-dead',
      'dead-letter-after-attempts': 2,
    });
    await counted('to-small-dl', 3, 1);
    const dead = await channel.get('small-dead', { noAck: true });
    assert.ok(dead, 'a dead-lettered copy');
    assert.equal(dead.content.length, 20_000);
    const h = dead.properties.headers!;
    assert.equal(dead.properties.messageId, 'to-small-dl-big');
    assert.equal(h.kind, 'to-small-dl-big');
    assert.match(String(h['x-shovel-dead-letter-reason']), /MESSAGE_TOO_LARGE/);
    assert.equal(h['x-shovel-dead-letter-attempts'], 2);
    assert.equal(h['x-shovel-dead-letter-shovel'], '//to-small-dl');
    assert.equal(h['x-shovel-dead-letter-source'], "local queue 'to-small-dl'");
    assert.equal(h['x-shovel-dead-letter-destination'], "local topic 'small'");
    assert.equal(h['x-shovel-message-id'], '//to-small-dl/amqp/to-small-dl-big');
    assert.equal(await depth('small-dead'), 0, 'dead-lettered once');
    channel.sendToQueue('to-small-dl', Buffer.from('later'), { messageId: 'to-small-dl-later' });
    await channel.waitForConfirms();
    const records = await topicRecords('small', 7);
    for (const id of ['before', 'after-1', 'after-2', 'later'])
      assert.ok(records.has(`to-small-dl-${id}`), id);
    const s = (await status('to-small-dl'))!;
    assert.equal(s.messages_dead_lettered, 1);
    assert.equal(s.messages_refused, 2);
    assert.equal(s.dead_letter, "local amqp-queue 'small-dead'");
    assert.match(String(s.last_dead_letter_reason), /MESSAGE_TOO_LARGE/);
    await counted('to-small-dl', 4, 1);
    assert.equal(await deleteAndCount('to-small-dl', 'to-small-dl'), 0);
  });

  test('AMQP → SQS, a body over the queue MaximumMessageSize: without and with dead-letter-sqs-queue', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'tiny', Attributes: { MaximumMessageSize: '1024' } }),
    );
    const { QueueUrl: deadUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'tiny-dead' }));
    const count = async (url: string) => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages);
    };
    await publish('to-tiny', 4000);
    await addShovel('to-tiny', { 'src-queue': 'to-tiny', 'dest-sqs-queue': 'tiny', 'reconnect-delay': 0.05 });
    await until('a second refusal', async () => Number((await status('to-tiny'))?.messages_refused) >= 2);
    await until('three messages at SQS', async () => (await count(QueueUrl!)) === 3);
    assert.match(String((await status('to-tiny'))?.last_error), /InvalidParameterValue.*shorter than 1024/);
    await counted('to-tiny', 3, 0);
    assert.equal(await deleteAndCount('to-tiny', 'to-tiny'), 1, 'the refused message stays at the source');

    await publish('to-tiny-dl', 4000);
    await addShovel('to-tiny-dl', {
      'src-queue': 'to-tiny-dl',
      'dest-sqs-queue': 'tiny',
      'reconnect-delay': 0.05,
      'dead-letter-sqs-queue': 'tiny-dead',
      'dead-letter-after-attempts': 1,
    });
    await counted('to-tiny-dl', 3, 1);
    await until('three more messages at SQS', async () => (await count(QueueUrl!)) === 6);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deadUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    assert.equal(Messages.length, 1);
    const m = Messages[0]!;
    assert.equal(m.Body!.length, 4000);
    const a = m.MessageAttributes!;
    const attribute = (name: string) =>
      a[name]?.StringValue ?? (JSON.parse(a['x-pier-attributes']?.StringValue ?? '{}')[name]?.[1] as string);
    assert.match(attribute('x-shovel-dead-letter-reason'), /shorter than 1024/);
    assert.equal(attribute('x-shovel-dead-letter-attempts'), '1');
    assert.equal(attribute('x-shovel-dead-letter-destination'), "local sqs queue 'tiny'");
    assert.equal((await status('to-tiny-dl'))?.messages_dead_lettered, 1);
    assert.equal(await deleteAndCount('to-tiny-dl', 'to-tiny-dl'), 0);
  });

  test('Kafka → SQS with dead-letter-queue: the big record is dead-lettered, the group commits past it, the others arrive', async () => {
    await sqs.send(
      new CreateQueueCommand({ QueueName: 'tiny-k', Attributes: { MaximumMessageSize: '1024' } }),
    );
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'k-events',
      messages: [
        { key: 'a', value: 'small 1' },
        { key: 'b', value: Buffer.alloc(4000, 'y') },
        { key: 'c', value: 'small 2' },
      ],
    });
    await producer.disconnect();
    await addShovel('k-to-tiny', {
      'src-topic': 'k-events',
      'dest-sqs-queue': 'tiny-k',
      'reconnect-delay': 0.05,
      'dead-letter-queue': 'k-dead',
      'dead-letter-after-attempts': 2,
    });
    // A Kafka source commits nothing past the refused record until it is settled: the records
    // around it may be sent again (same stable id), so "moved" counts at least the two.
    await until('the record dead-lettered and the others moved', async () => {
      const s = await status('k-to-tiny');
      return s?.messages_dead_lettered === 1 && Number(s?.messages_moved) >= 2;
    });
    const dead = await channel.get('k-dead', { noAck: true });
    assert.ok(dead);
    assert.equal(dead.content.length, 4000);
    assert.match(String(dead.properties.headers!['x-shovel-dead-letter-reason']), /shorter than 1024/);
    assert.match(
      String(dead.properties.headers!['x-shovel-message-id']),
      /^\/\/k-to-tiny\/kafka\/k-events\/0\/1$/,
    );
    const admin = kafka.admin();
    await admin.connect();
    await until('the group to commit past the refused record', async () => {
      const [offsets] = await admin.fetchOffsets({
        groupId: 'pier-shovel-/-k-to-tiny',
        topics: ['k-events'],
      });
      return offsets?.partitions.every((p) => p.offset === '3') ?? false;
    });
    await admin.disconnect();
    await api('DELETE', '/api/parameters/shovel/%2F/k-to-tiny');
  });

  test('AMQP → a remote Pier queue full with x-overflow reject-publish (basic.nack): without a dead-letter destination the message waits and moves once there is room; with one it is dead-lettered and later messages move', async () => {
    const remoteConnection = await amqplib.connect(remote.url);
    const remoteChannel = await remoteConnection.createChannel();
    const args = { 'x-max-length': 3, 'x-overflow': 'reject-publish' };
    await remoteChannel.assertQueue('inbox', { durable: true, arguments: args });
    await publish('to-remote', 100);
    await addShovel('to-remote', {
      'src-queue': 'to-remote',
      'dest-uri': remote.url,
      'dest-queue': 'inbox',
      'dest-queue-args': args,
      'reconnect-delay': 0.05,
    });
    await until('a second refusal', async () => Number((await status('to-remote'))?.messages_refused) >= 2);
    const waiting = (await status('to-remote'))!;
    assert.match(String(waiting.last_error), /basic\.nack/);
    assert.match(String(waiting.last_error), /to-remote-after-2/);
    assert.ok(Number(waiting.failures_in_row) >= 1);
    assert.equal((await remoteChannel.checkQueue('inbox')).messageCount, 3);
    await counted('to-remote', 3, 0);
    // Room at the destination: the shovel's next try moves it.
    await remoteChannel.purgeQueue('inbox');
    await counted('to-remote', 4, 0);
    const moved = await remoteChannel.get('inbox', { noAck: true });
    assert.ok(moved);
    assert.equal(moved.properties.messageId, 'to-remote-after-2');
    await until('the shovel to run again', async () => (await status('to-remote'))?.state === 'running');
    assert.equal(await deleteAndCount('to-remote', 'to-remote'), 0);

    await remoteChannel.assertQueue('inbox-dl', { durable: true, arguments: args });
    await publish('to-remote-dl', 100);
    await addShovel('to-remote-dl', {
      'src-queue': 'to-remote-dl',
      'dest-uri': remote.url,
      'dest-queue': 'inbox-dl',
      'dest-queue-args': args,
      'reconnect-delay': 0.05,
      'dead-letter-queue': 'remote-dead',
      'dead-letter-after-attempts': 3,
    });
    await counted('to-remote-dl', 3, 1);
    assert.equal((await remoteChannel.checkQueue('inbox-dl')).messageCount, 3);
    const dead = await channel.get('remote-dead', { noAck: true });
    assert.ok(dead);
    assert.equal(dead.properties.messageId, 'to-remote-dl-after-2');
    assert.match(String(dead.properties.headers!['x-shovel-dead-letter-reason']), /basic\.nack/);
    assert.equal(dead.properties.headers!['x-shovel-dead-letter-attempts'], 3);
    assert.match(
      String(dead.properties.headers!['x-shovel-dead-letter-destination']),
      /^amqp:\/\/.*inbox-dl'$/,
    );
    const s = (await status('to-remote-dl'))!;
    assert.equal(s.messages_dead_lettered, 1);
    assert.equal(s.messages_refused, 3);
    // The shovel goes on: with room again, the next message moves.
    await remoteChannel.purgeQueue('inbox-dl');
    channel.sendToQueue('to-remote-dl', Buffer.from('later'), { messageId: 'to-remote-dl-later' });
    await channel.waitForConfirms();
    await until(
      'the later message at the remote',
      async () => (await remoteChannel.checkQueue('inbox-dl')).messageCount === 1,
    );
    assert.equal(await depth('remote-dead'), 0);
    await counted('to-remote-dl', 4, 1);
    assert.equal(await deleteAndCount('to-remote-dl', 'to-remote-dl'), 0);
    await remoteConnection.close();
  });

  test('AMQP → a remote Pier that closes the channel over a message (406, over its max message size) or returns it (unroutable): dead-lettered, the others move', async () => {
    const remoteConnection = await amqplib.connect(remote.url);
    const remoteChannel = await remoteConnection.createChannel();
    await publish('to-remote-406', 20_000);
    await addShovel('to-remote-406', {
      'src-queue': 'to-remote-406',
      'dest-uri': remote.url,
      'dest-queue': 'inbox-406',
      'reconnect-delay': 0.05,
      'dead-letter-queue': 'remote-dead-406',
      'dead-letter-after-attempts': 2,
    });
    await counted('to-remote-406', 3, 1);
    assert.equal((await remoteChannel.checkQueue('inbox-406')).messageCount >= 3, true);
    const dead = await channel.get('remote-dead-406', { noAck: true });
    assert.ok(dead);
    assert.equal(dead.properties.messageId, 'to-remote-406-big');
    assert.match(String(dead.properties.headers!['x-shovel-dead-letter-reason']), /406.*max size/);
    assert.equal(await depth('remote-dead-406'), 0, 'only the big message was dead-lettered');
    assert.equal(await deleteAndCount('to-remote-406', 'to-remote-406'), 0);

    await publish('to-nowhere', 10);
    await addShovel('to-nowhere', {
      'src-queue': 'to-nowhere',
      'dest-uri': remote.url,
      'dest-exchange': 'amq.direct',
      'dest-exchange-key': 'no-such-binding',
      'dead-letter-queue': 'unroutable',
      'dead-letter-after-attempts': 1,
    });
    await counted('to-nowhere', 0, 4);
    assert.equal(await depth('unroutable'), 4);
    const returned = await channel.get('unroutable', { noAck: true });
    assert.ok(returned);
    assert.match(
      String(returned.properties.headers!['x-shovel-dead-letter-reason']),
      /unroutable.*312 NO_ROUTE/,
    );
    assert.equal(await deleteAndCount('to-nowhere', 'to-nowhere'), 0);
    await remoteConnection.close();
  });

  test('dead-letter keys are checked with the field named, and carried by pier shovel add and definitions export/import', async () => {
    const refused = async (value: Row, field: RegExp) => {
      const put = await api('PUT', '/api/parameters/shovel/%2F/bad', { value });
      assert.equal(put.status, 400);
      assert.match(JSON.stringify(put.json), field);
    };
    await refused(
      { 'src-queue': 'a', 'dest-topic': 'b', 'dead-letter-after-attempts': 2 },
      /dead-letter-after-attempts: only applies/,
    );
    await refused(
      { 'src-queue': 'a', 'dest-topic': 'b', 'dead-letter-queue': 'd', 'dead-letter-topic': 'e' },
      /dead-letter-topic: give only one/,
    );
    await refused(
      { 'src-queue': 'a', 'dest-topic': 'b', 'dead-letter-queue': 'd', 'dead-letter-after-attempts': 0 },
      /dead-letter-after-attempts: an integer >= 1/,
    );
    await refused(
      { 'src-queue': 'a', 'dest-topic': 'b', 'dead-letter-sqs-queue': '' },
      /dead-letter-sqs-queue: must be a non-empty string/,
    );
    await refused(
      { 'src-queue': 'a', 'dest-queue': 'b', 'dead-letter-queue': 'b' },
      /dead-letter-queue: must not be the destination itself/,
    );

    const value = {
      'src-queue': 'cli-src',
      'dest-topic': 'cli-dest',
      'dead-letter-topic': 'cli-dead',
      'dead-letter-after-attempts': 4,
    };
    const added = await runPier(['shovel', 'add', 'from-cli', JSON.stringify(value), '--data-dir', dataDir]);
    assert.equal(added.code, 0, added.stderr);
    const bad = await runPier([
      'shovel',
      'add',
      'bad',
      JSON.stringify({ ...value, 'dead-letter-after-attempts': 'x' }),
      '--data-dir',
      dataDir,
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /dead-letter-after-attempts/);
    await until('the CLI shovel to run', async () => (await status('from-cli'))?.state === 'running');
    assert.equal((await status('from-cli'))?.dead_letter, "local kafka-topic 'cli-dead'");
    const shown = await runPier(['shovel', 'status', '--data-dir', dataDir]);
    assert.match(shown.stdout, /dead-lettered/);

    const exported = await api('GET', '/api/definitions');
    const parameters = (exported.json as { parameters: Row[] }).parameters;
    const mine = parameters.find((p) => p.component === 'shovel' && p.name === 'from-cli');
    assert.deepEqual(mine?.value, value);
    await api('DELETE', '/api/parameters/shovel/%2F/from-cli');
    assert.equal(await status('from-cli'), undefined);
    const imported = await api('POST', '/api/definitions', { parameters: [{ ...mine, name: 'imported' }] });
    assert.ok(imported.status < 300, JSON.stringify(imported.json));
    await until('the imported shovel to run', async () => (await status('imported'))?.state === 'running');
    assert.equal((await status('imported'))?.dead_letter, "local kafka-topic 'cli-dead'");
    await api('DELETE', '/api/parameters/shovel/%2F/imported');
  });
});
