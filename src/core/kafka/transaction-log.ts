/**
 * The transaction log as the transaction coordinator sees it: the durable state of every
 * transactional id (Kafka's __transaction_state, one record per state change) and the aborted
 * transactions' offset ranges per partition (what Kafka keeps in each partition's .txnindex), so a
 * read_committed Fetch can name them after a restart. A store applies a change to its tables at once
 * and calls `onDurable` once the change has reached the disk per the fsync policy.
 */
import type { OffsetCommitEntry } from './group-offsets.js';

/** Kafka's transaction states (TransactionState in the coordinator; DescribeTransactions' names). */
export type TransactionState =
  | 'Empty'
  | 'Ongoing'
  | 'PrepareCommit'
  | 'PrepareAbort'
  | 'CompleteCommit'
  | 'CompleteAbort';

/** A partition in a transaction: where its log ended when it was added (the txn's data lies after). */
export interface TransactionPartition {
  readonly topic: string;
  /** The topic's id (hex): a deleted and re-created topic is another topic. */
  readonly topicId: string;
  readonly partition: number;
  /** The partition's log end offset when AddPartitionsToTxn added it; ≤ the txn's first offset there. */
  readonly startOffset: number;
}

/** Offsets a TxnOffsetCommit staged for a group; they reach the group only when the txn commits. */
export interface PendingGroupOffsets {
  readonly groupId: string;
  readonly entries: readonly OffsetCommitEntry[];
}

export interface StoredTransaction {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  readonly state: TransactionState;
  /** When the current transaction started (its first AddPartitions/AddOffsets); -1 when none. */
  readonly startTimeMs: number;
  readonly updateTimeMs: number;
  readonly partitions: readonly TransactionPartition[];
  readonly groups: readonly string[];
  readonly pendingOffsets: readonly PendingGroupOffsets[];
}

/** An aborted transaction's data in one partition: [firstOffset, lastOffset] (lastOffset: its marker). */
export interface AbortedRange {
  readonly topicId: string;
  readonly partition: number;
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export interface TransactionLog {
  /** Every transactional id's newest state, as loaded at open and changed since. */
  readonly transactions: ReadonlyMap<string, StoredTransaction>;
  /** Aborted ranges in the order their markers were written. */
  readonly aborted: readonly AbortedRange[];
  /** Records a transaction's new state (and, on completing an abort, its ranges) as one change. */
  append(txn: StoredTransaction, aborted: readonly AbortedRange[], onDurable: () => void): void;
  close(): void;
}

/** A non-durable log (core tests, brokers without a data directory). */
export class MemoryTransactionLog implements TransactionLog {
  readonly transactions = new Map<string, StoredTransaction>();
  readonly aborted: AbortedRange[] = [];

  append(txn: StoredTransaction, aborted: readonly AbortedRange[], onDurable: () => void): void {
    this.transactions.set(txn.transactionalId, txn);
    this.aborted.push(...aborted);
    queueMicrotask(onDurable);
  }

  close(): void {}
}
