/** What both flavours share: job types, backoff, schemas, processed-id stores. */
export { type Backoff, type BackoffFunction, backoffDelayMs } from './backoff.js';
export { type CronSchedule, parseCron } from './cron.js';
export { FileProcessedIds } from './file-processed-ids.js';
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
export type {
  JobMetricEvent,
  JobMetrics,
  JobSpan,
  JobTracer,
  TraceContextExtractor,
  TraceContextInjector,
} from './job-metrics.js';
export { type HasOptions, MemoryProcessedIds, type ProcessedIdStore } from './processed-ids.js';
export type { RateLimit } from './rate-limiter.js';
export type { RepeatHandle, RepeatSchedule } from './repeat.js';
export { type StandardSchemaV1, ValidationError } from './standard-schema.js';
