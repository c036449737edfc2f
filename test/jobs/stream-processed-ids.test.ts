// The broker-backed processed-id store against an in-process Pier (stream-store-suite.ts; the same
// suite runs against RabbitMQ 3.10 in test/differential/jobs-reliability.test.ts).
import { after, before, describe } from 'node:test';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { streamStoreSuite } from './stream-store-suite.js';

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker();
});
after(async () => {
  await broker?.stop();
});

describe('StreamProcessedIds: a processed-id store in a broker stream, shared across hosts', () => {
  streamStoreSuite({ url: () => broker.url });
});
