/** piermq/jobs/sqs: the jobs library over SQS (Pier's SQS listener or AWS SQS). docs/jobs.md. */

export * from '../index-common.js';
// Loads amqplib only when it connects: SQS users without amqplib can import this module.
export {
  DEFAULT_PROCESSED_IDS_STREAM,
  StreamProcessedIds,
  type StreamProcessedIdsOptions,
} from '../stream-processed-ids.js';
export { type SqsBulkJob, SqsQueue, type SqsQueueOptions } from './sqs-queue.js';
export type { SqsTopologyOptions } from './sqs-topology.js';
export { type SqsProcessor, SqsWorker, type SqsWorkerOptions } from './sqs-worker.js';
