/**
 * piermq/jobs: typed jobs over AMQP 0-9-1 (Pier or RabbitMQ). The SQS flavour is piermq/jobs/sqs.
 * docs/jobs.md describes the API, its guarantees and what each broker gives.
 */
export { type BulkJob, type DeadLetter, Queue, type QueueOptions } from './amqp-queue.js';
export type { BrokerFeatures, TopologyOptions } from './amqp-topology.js';
export { type Processor, Worker, type WorkerOptions } from './amqp-worker.js';
export { type Backoff, type BackoffFunction, backoffDelayMs } from './backoff.js';
export {
  type ActiveJob,
  type AddedJob,
  type AttemptRecord,
  type JobEvent,
  type JobEventName,
  JobFailedError,
  type JobOptions,
  JobTimeoutError,
} from './job.js';
export { MemoryProcessedIds, type ProcessedIdStore } from './processed-ids.js';
export type { RateLimit } from './rate-limiter.js';
export { type StandardSchemaV1, ValidationError } from './standard-schema.js';
