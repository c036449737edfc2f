// The jobs library over AMQP against an in-process Pier (real sockets): the shared suite, with the
// delayed and deduplicating exchanges.
import { after, before, describe } from 'node:test';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { amqpJobSuite } from './amqp-suite.js';

describe('jobs over AMQP, against Pier', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  amqpJobSuite({ url: () => broker.url, pier: true });
  after(async () => {
    await broker?.stop();
  });
});
