// The jobs library's AMQP suite against the reference RabbitMQ 3.10 (no plugins): the same
// behaviour through the fallbacks — delays and retries through TTL wait queues dead-lettering into
// the job queue, jobIds deduplicated by the workers' processed-id memory instead of the broker.
// Skipped when PIER_REFERENCE_AMQP_URL is unset. (Not a Pier-vs-RabbitMQ comparison like the other
// files here: the library's own assertions are the oracle on both brokers.)
import { describe } from 'node:test';
import { amqpJobSuite } from '../jobs/amqp-suite.js';

const url = process.env.PIER_REFERENCE_AMQP_URL;

describe('jobs over AMQP, against the reference RabbitMQ (fallback paths)', {
  skip: url ? false : 'PIER_REFERENCE_AMQP_URL is not set',
}, () => {
  amqpJobSuite({ url: () => url!, pier: false });
});
