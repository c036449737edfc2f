export { crc32c } from '../util/crc32c.js';
export type { DefinitionEntry, DefinitionKind } from './definitions.js';
export { DefinitionsStore, type DefinitionsStoreOptions } from './definitions-store.js';
export {
  DEFAULT_WINDOW_BYTES,
  DEFAULT_WINDOW_MESSAGES,
  DiskQueueStore,
  type DiskQueueStoreOptions,
} from './disk-queue-store.js';
export {
  AppendFile,
  type CommitFs,
  type FsyncPolicy,
  fsyncDir,
  GroupCommitter,
  type GroupCommitterOptions,
} from './group-commit.js';
export {
  decodeMessageRecord,
  encodeMessageRecord,
  MESSAGE_RECORD_TYPE,
  messageRecordLength,
} from './message-record.js';
export {
  DEFAULT_SEGMENT_SIZE_BYTES,
  type LogLocation,
  type LogRecord,
  QueueLog,
  type QueueLogOptions,
} from './queue-log.js';
export {
  encodeRecord,
  MAX_RECORD_PAYLOAD_BYTES,
  RECORD_HEADER_BYTES,
  type RecordVisitor,
  type ScanResult,
  scanBuffer,
  scanFile,
  writeRecordHeader,
} from './record-format.js';
export {
  DiskSqsMessageStore,
  DiskSqsStorage,
  type SqsStoreOptions,
  sqsQueueDirName,
} from './sqs-store.js';
export { Storage, StorageLockedError, type StorageOptions } from './storage.js';
