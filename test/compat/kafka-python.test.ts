// kafka-python 2.0.2 (Debian's python3-kafka, /usr/bin/python3) against a child-process Pier: producer
// with acks=all, group consumer with synchronous commits, committed offsets resumed after a restart.
import { test } from 'node:test';
import { producerGroupResumeScenario, pythonModuleMissing } from './kafka-clients.js';

test(
  'kafka-python: produce, consume in a group with commits, resume at the committed offsets after a restart',
  {
    skip: pythonModuleMissing('kafka', 'python3-kafka'),
    timeout: 240_000,
  },
  () => producerGroupResumeScenario('kafka_python_client.py'),
);
