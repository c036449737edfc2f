// A real client that uses fetch sessions (KIP-227): @platformatic/kafka's consumer (kafkajs and
// librdkafka always send full fetches) consuming a topic of many partitions through Pier, while a
// relay records the Fetch traffic: the consumer gets a session, sends incremental fetches naming
// only the partitions it moved on, and Pier's answers leave out the partitions with nothing new.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Consumer, MessagesStreamModes, stringDeserializers } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { FetchRecorder } from './fetch-recorder.js';

const { Kafka, logLevel } = kafkajs;

// @platformatic/kafka is written for Node 22+, whose one feature it needs here is
// Promise.withResolvers; on Node 20 the test supplies it.
const promiseStatics = Promise as unknown as { withResolvers?: () => unknown };
promiseStatics.withResolvers ??= () => {
  let resolve!: (value: unknown) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
const PARTITIONS = 200;

describe('@platformatic/kafka consumer with fetch sessions', () => {
  let broker: TestBroker;
  let recorder: FetchRecorder;
  let kafka: kafkajs.Kafka;
  before(async () => {
    recorder = await FetchRecorder.start();
    broker = await startTestBroker({
      kafkaPort: 0,
      kafka: { advertisedPort: recorder.port, groupInitialRebalanceDelayMs: 0 },
    });
    recorder.forwardTo(broker.kafka!.port);
    kafka = new Kafka({ clientId: 'setup', brokers: [broker.kafka!.bootstrap], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await recorder.close();
    await broker.stop();
  });

  it(`consumes every record of ${PARTITIONS} partitions through incremental fetches`, async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'many', numPartitions: PARTITIONS }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const send = (round: string, partitions: readonly number[]) =>
      producer.send({
        topic: 'many',
        messages: partitions.map((partition) => ({ partition, value: `${round}-${partition}` })),
      });
    const everyPartition = Array.from({ length: PARTITIONS }, (_, p) => p);
    await send('first', everyPartition);

    const consumer = new Consumer({
      groupId: 'sessions',
      clientId: 'platformatic',
      bootstrapBrokers: [`127.0.0.1:${recorder.port}`],
      deserializers: stringDeserializers,
      maxWaitTime: 200,
      retries: 3,
    });
    const seen = new Set<string>();
    let expected = PARTITIONS;
    let onEnough: () => void = () => {};
    const enough = () => new Promise<void>((resolve) => (onEnough = resolve));
    try {
      const stream = await consumer.consume({
        topics: ['many'],
        mode: MessagesStreamModes.EARLIEST,
        autocommit: false,
      });
      stream.on('data', (message: { value: string }) => {
        seen.add(message.value);
        if (seen.size >= expected) onEnough();
      });
      await (seen.size >= expected ? Promise.resolve() : enough());
      // A second round on a few partitions only, consumed through the session.
      const few = [3, 77, 150];
      expected += few.length;
      const more = enough();
      await send('second', few);
      await more;
      // Idle: a few more long polls through the session with nothing new.
      await recorder.moreAnswers(3);
      await stream.close();
    } finally {
      await consumer.close(true);
      await producer.disconnect();
    }
    for (const p of [0, 3, 199]) assert.ok(seen.has(`first-${p}`));
    for (const p of [3, 77, 150]) assert.ok(seen.has(`second-${p}`));
    assert.equal(seen.size, PARTITIONS + 3);

    const fetches = recorder.fetches.filter((f) => f.response !== undefined);
    const incremental = fetches.filter((f) => f.request.sessionEpoch > 0);
    assert.ok(incremental.length > 0, 'the client sent incremental fetches');
    assert.ok(
      incremental.every((f) => f.response!.errorCode === 0),
      `no session errors: ${incremental.map((f) => f.response!.errorCode).join(',')}`,
    );
    const sessionIds = new Set(fetches.map((f) => f.response!.sessionId));
    assert.ok(!sessionIds.has(0) || sessionIds.size > 1, 'Pier gave the consumer a session');
    const count = (topics: readonly { partitions: readonly unknown[] }[]) =>
      topics.reduce((n, t) => n + t.partitions.length, 0);
    const full = fetches.find((f) => f.request.sessionEpoch === 0 && count(f.request.topics) === PARTITIONS);
    assert.ok(full, 'a full fetch named every partition');
    // Incremental requests name only moved partitions; answers carry only partitions with news.
    assert.ok(incremental.some((f) => count(f.request.topics) < PARTITIONS));
    assert.ok(incremental.some((f) => count(f.response!.responses) < PARTITIONS));
    const second = incremental.find((f) => f.response!.responses.some((t) => t.partitions.length > 0));
    assert.ok(second, 'an incremental answer carried records');
    const quiet = incremental.filter((f) => count(f.response!.responses) === 0);
    assert.ok(quiet.length > 0, 'idle incremental fetches were answered with no partitions at all');
  });
});
