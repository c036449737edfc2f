// The jobs library's crash-counting and lease-extension paths against the reference RabbitMQ 3.10
// (test/jobs/amqp-crash-suite.ts; the same suite runs against Pier in test/jobs/worker-crash.test.ts):
// worker processes SIGKILLed mid-job and while holding a leased job, a poison job, lease renewals;
// and the stream-backed processed-id store (test/jobs/stream-store-suite.ts, also run against Pier in
// test/jobs/stream-processed-ids.test.ts).
// Skipped when PIER_REFERENCE_AMQP_URL is unset.
import { describe } from 'node:test';
import { amqpCrashSuite } from '../jobs/amqp-crash-suite.js';
import { streamStoreSuite } from '../jobs/stream-store-suite.js';

const url = process.env.PIER_REFERENCE_AMQP_URL;

describe('jobs crashes and leases, against the reference RabbitMQ', {
  skip: url ? false : 'PIER_REFERENCE_AMQP_URL is not set',
}, () => {
  amqpCrashSuite({ url: () => url! });
});

describe('StreamProcessedIds against the reference RabbitMQ', {
  skip: url ? false : 'PIER_REFERENCE_AMQP_URL is not set',
}, () => {
  streamStoreSuite({ url: () => url! });
});
