// confluent-kafka (Debian's python3-confluent-kafka 1.7 on librdkafka 2.0.2, /usr/bin/python3) against a
// child-process Pier: producer with acks=all, group consumer with synchronous commits, committed
// offsets resumed after a restart.
import { test } from 'node:test';
import { producerGroupResumeScenario, pythonModuleMissing } from './kafka-clients.js';

test(
  'confluent-kafka: produce, consume in a group with commits, resume at the committed offsets after a restart',
  {
    skip: pythonModuleMissing('confluent_kafka', 'python3-confluent-kafka'),
    timeout: 240_000,
  },
  () => producerGroupResumeScenario('confluent_kafka_client.py'),
);
