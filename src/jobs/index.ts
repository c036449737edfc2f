/**
 * piermq/jobs: typed jobs over AMQP 0-9-1 (Pier or RabbitMQ). The SQS flavour is piermq/jobs/sqs.
 * docs/jobs.md describes the API, its guarantees and what each broker gives.
 */
export { type BulkJob, type DeadLetter, Queue, type QueueOptions } from './amqp-queue.js';
export type { BrokerFeatures, TopologyOptions } from './amqp-topology.js';
export { type Processor, Worker, type WorkerOptions } from './amqp-worker.js';
export * from './index-common.js';
// Loads amqplib only when it connects: SQS users without amqplib can import this module.
export {
  DEFAULT_PROCESSED_IDS_STREAM,
  StreamProcessedIds,
  type StreamProcessedIdsOptions,
} from './stream-processed-ids.js';
