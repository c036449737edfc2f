/**
 * When acknowledged writes reach the disk. `always`: fdatasync before a publisher confirm (or an
 * SQS/Kafka answer); `interval`: fdatasync every `fsyncIntervalMs`, answer after the write;
 * `never`: leave it to the OS.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

/** Group commit: lets the publisher-facing layers wait until what was written so far is durable. */
export interface DurabilityBarrier {
  /** Calls `callback` once every write made before this call is durable per the fsync policy. */
  afterDurable(callback: () => void): void;
}
