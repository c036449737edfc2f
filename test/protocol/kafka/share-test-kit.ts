/** What the share-group tests share: kafkajs to create topics and produce, and group configs over the wire. */
import kafkajs from 'kafkajs';
import { API_KEYS } from '../../../src/protocol/kafka/codec/index.js';
import type { KafkaWireClient } from '../../helpers/kafka-wire.js';
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
