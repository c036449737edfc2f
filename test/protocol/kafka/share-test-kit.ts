/** What the share-group tests share: kafkajs to create topics and produce, and group configs over the wire. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import kafkajs from 'kafkajs';
import { API_KEYS } from '../../../src/protocol/kafka/codec/index.js';
import { type KafkaTestBroker, startKafkaTestBroker, uniqueKafkaName } from '../../helpers/kafka.js';
import { KafkaWireClient } from '../../helpers/kafka-wire.js';
import type { ShareRecord } from './share-consumer.js';

const { Kafka, logLevel } = kafkajs;

export async function produce(bootstrap: string, topic: string, values: readonly string[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'share-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
}

export async function createTopic(bootstrap: string, topic: string, numPartitions = 1): Promise<void> {
  const kafka = new Kafka({ clientId: 'share-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await admin.disconnect();
}

/** IncrementalAlterConfigs SET on a GROUP resource (type 32). */
export async function setGroupConfigs(
  client: KafkaWireClient,
  groupId: string,
  configs: Record<string, string>,
) {
  const answer = await client.send(API_KEYS.IncrementalAlterConfigs, 1, {
    resources: [
      {
        resourceType: 32,
        resourceName: groupId,
        configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })),
      },
    ],
    validateOnly: false,
  });
  return answer.responses[0]!;
}

export const values = (records: readonly ShareRecord[]) => records.map((r) => r.value);

export interface ShareSuite {
  readonly broker: KafkaTestBroker;
  /** A wire client for the APIs kafkajs lacks (group configs, the share-group admin APIs). */
  readonly admin: KafkaWireClient;
  /** A new topic with records v0..v(n-1) and a new share group reading it from the earliest offset. */
  setUp(n: number, configs?: Record<string, string>): Promise<{ topic: string; group: string }>;
}

/**
 * A broker (share locks may be as short as 1 s) and a wire client for the calling suite: started in
 * its `before`, stopped in its `after`.
 */
export function shareSuite(namePrefix: string): ShareSuite {
  let broker: KafkaTestBroker | undefined;
  let admin: KafkaWireClient | undefined;
  before(async () => {
    broker = await startKafkaTestBroker({ kafka: { shareMinLockDurationMs: 1000 } });
    admin = await KafkaWireClient.connect(broker.host, broker.port);
  });
  after(async () => {
    admin?.close();
    await broker?.stop();
  });
  const suite: ShareSuite = {
    get broker() {
      assert.ok(broker, 'the suite has not started yet');
      return broker;
    },
    get admin() {
      assert.ok(admin, 'the suite has not started yet');
      return admin;
    },
    async setUp(n, configs = {}) {
      const topic = uniqueKafkaName(namePrefix);
      const group = uniqueKafkaName(`${namePrefix}-g`);
      await createTopic(suite.broker.bootstrap, topic);
      const set = await setGroupConfigs(suite.admin, group, {
        'share.auto.offset.reset': 'earliest',
        ...configs,
      });
      assert.equal(set.errorCode, 0, set.errorMessage ?? '');
      if (n > 0)
        await produce(
          suite.broker.bootstrap,
          topic,
          Array.from({ length: n }, (_, i) => `v${i}`),
        );
      return { topic, group };
    },
  };
  return suite;
}
