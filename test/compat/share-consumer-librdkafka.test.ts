// A real share consumer (KIP-932) against Pier: librdkafka 2.15's preview share consumer (the C API,
// rd_kafka_share_consumer_new; it speaks ShareGroupHeartbeat, ShareFetch and ShareAcknowledge v1),
// built by scripts/build-share-client.sh from the librdkafka source in the npm package
// @confluentinc/kafka-javascript 1.10.1 (Debian's librdkafka 2.0.2 has no share consumer), running
// test/compat/share-consumer/share_check.c: explicit acknowledgement, RELEASE of a first delivery
// (redelivered with delivery count 2), REJECT of a poison record (never delivered again).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type KafkaTestBroker, startKafkaTestBroker } from '../helpers/kafka.js';
import { KafkaWireClient } from '../helpers/kafka-wire.js';
import { createTopic, produce, setGroupConfigs } from '../protocol/kafka/share-test-kit.js';
import { run } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLIENT = `${ROOT}.cache/share-client/share_check`;
// CI builds it before the suite (.ci/run); locally the first run builds it (a few minutes).
const build = spawnSync('bash', [`${ROOT}scripts/build-share-client.sh`], { stdio: 'inherit' });
const skip =
  build.status === 0 && existsSync(CLIENT)
    ? false
    : 'the librdkafka share client could not be built (scripts/build-share-client.sh: needs gcc, make and the npm registry)';

let broker: KafkaTestBroker;

before(async () => {
  if (!skip) broker = await startKafkaTestBroker();
});

after(async () => {
  await broker?.stop();
});

interface Delivery {
  partition: number;
  offset: number;
  deliveryCount: number;
  value: string;
}

async function consume(group: string, topic: string, want: number, timeoutS: number) {
  const result = await run(CLIENT, [broker.bootstrap, group, topic, String(want), String(timeoutS)], {
    timeoutMs: (timeoutS + 30) * 1000,
  });
  const deliveries: Delivery[] = result.stdout
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [partition, offset, deliveryCount, ...value] = line.split(' ');
      return {
        partition: Number(partition),
        offset: Number(offset),
        deliveryCount: Number(deliveryCount),
        value: value.join(' '),
      };
    });
  return { code: result.code, deliveries, stderr: result.stderr.toString() };
}

test('librdkafka share consumer: records split over 3 partitions, accept / release / reject, delivery counts', {
  skip,
}, async () => {
  const topic = 'share-librdkafka';
  const group = 'share-librdkafka-group';
  await createTopic(broker.bootstrap, topic, 3);
  const [host, port] = broker.bootstrap.split(':');
  const wire = await KafkaWireClient.connect(host!, Number(port));
  try {
    assert.equal(
      (await setGroupConfigs(wire, group, { 'share.auto.offset.reset': 'earliest' })).errorCode,
      0,
    );
  } finally {
    wire.close();
  }
  const plain = Array.from({ length: 30 }, (_, i) => `v${i}`);
  await produce(broker.bootstrap, topic, [...plain, 'again-1', 'again-2', 'poison-1']);

  // 30 plain + 2 released-then-accepted records are accepted; the poison one is rejected.
  const first = await consume(group, topic, 32, 30);
  assert.equal(first.code, 0, `share consumer failed:\n${first.stderr}`);
  const byValue = new Map<string, Delivery[]>();
  for (const d of first.deliveries) byValue.set(d.value, [...(byValue.get(d.value) ?? []), d]);
  for (const value of plain) {
    assert.deepEqual(
      byValue.get(value)?.map((d) => d.deliveryCount),
      [1],
      `${value}: delivered once, delivery count 1`,
    );
  }
  for (const value of ['again-1', 'again-2'])
    assert.deepEqual(
      byValue.get(value)?.map((d) => d.deliveryCount),
      [1, 2],
      `${value}: released, then redelivered`,
    );
  assert.deepEqual(
    byValue.get('poison-1')?.map((d) => d.deliveryCount),
    [1],
    'rejected once',
  );
  assert.deepEqual(new Set(first.deliveries.map((d) => d.partition)), new Set([0, 1, 2]));

  // A new member of the group gets only what came after: accepted and rejected records stay settled.
  await produce(broker.bootstrap, topic, ['after']);
  const second = await consume(group, topic, 1, 20);
  assert.equal(second.code, 0, `share consumer failed:\n${second.stderr}`);
  assert.deepEqual(
    second.deliveries.map((d) => `${d.value}:${d.deliveryCount}`),
    ['after:1'],
  );
});
