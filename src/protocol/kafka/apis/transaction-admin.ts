/**
 * The operators' transaction APIs (KIP-664, what kafka-transactions.sh calls): DescribeTransactions
 * v0, ListTransactions v0-1 and DescribeProducers v0. Unknown transactional ids are
 * TRANSACTIONAL_ID_NOT_FOUND; unknown state filters are echoed in unknownStateFilters.
 */
import type { TopicLookup, TopicPartition } from '../../../core/kafka/topic.js';
import {
  TRANSACTION_STATES,
  type TransactionCoordinator,
} from '../../../core/kafka/transaction-coordinator.js';
import type { StoredTransaction } from '../../../core/kafka/transaction-log.js';
import type {
  DescribeProducersRequest,
  DescribeProducersResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import type { PartitionProducerState } from '../producer-state.js';

export interface TransactionAdminServices {
  readonly transactions: TransactionCoordinator;
  readonly topics: TopicLookup;
  readonly producers: { stateFor(partition: TopicPartition): PartitionProducerState };
  readonly clock: { now(): number };
}

/** The topics of a transaction as DescribeTransactions lists them (groups: their offsets topic). */
export function transactionTopics(txn: StoredTransaction): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const p of txn.partitions) {
    const list = byTopic.get(p.topic) ?? [];
    list.push(p.partition);
    byTopic.set(p.topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

export function transactionAdminApis(s: TransactionAdminServices): KafkaApi[] {
  return [
    {
      apiKey: API_KEYS.DescribeTransactions,
      minVersion: 0,
      maxVersion: 0,
      handle(call: KafkaCall<DescribeTransactionsRequest>): DescribeTransactionsResponse {
        return {
          throttleTimeMs: 0,
          transactionStates: call.body.transactionalIds.map((id) => {
            const txn = s.transactions.describe(id);
            if (!txn) {
              return {
                errorCode: KafkaError.TRANSACTIONAL_ID_NOT_FOUND,
                transactionalId: id,
                transactionState: '',
                transactionTimeoutMs: 0,
                transactionStartTimeMs: -1n,
                producerId: -1n,
                producerEpoch: -1,
                topics: [],
              };
            }
            return {
              errorCode: KafkaError.NONE,
              transactionalId: id,
              transactionState: txn.state,
              transactionTimeoutMs: txn.timeoutMs,
              transactionStartTimeMs: BigInt(txn.startTimeMs),
              producerId: BigInt(txn.producerId),
              producerEpoch: txn.producerEpoch,
              topics: transactionTopics(txn),
            };
          }),
        };
      },
    },
    {
      apiKey: API_KEYS.ListTransactions,
      minVersion: 0,
      maxVersion: 1,
      handle(call: KafkaCall<ListTransactionsRequest>): ListTransactionsResponse {
        const b = call.body;
        const known = new Set<string>(TRANSACTION_STATES);
        const states = new Set(b.stateFilters);
        const producerIds = new Set(b.producerIdFilters.map(Number));
        const minDurationMs = call.header.apiVersion >= 1 ? Number(b.durationFilter) : -1;
        const nowMs = s.clock.now();
        const matching = s.transactions
          .list()
          .filter(
            (t) =>
              (states.size === 0 || states.has(t.state)) &&
              (producerIds.size === 0 || producerIds.has(t.producerId)) &&
              (minDurationMs < 0 || (t.startTimeMs >= 0 && nowMs - t.startTimeMs >= minDurationMs)),
          );
        return {
          throttleTimeMs: 0,
          errorCode: KafkaError.NONE,
          unknownStateFilters: b.stateFilters.filter((f) => !known.has(f)),
          transactionStates: matching.map((t) => ({
            transactionalId: t.transactionalId,
            producerId: BigInt(t.producerId),
            transactionState: t.state,
          })),
        };
      },
    },
    {
      apiKey: API_KEYS.DescribeProducers,
      minVersion: 0,
      maxVersion: 0,
      handle(call: KafkaCall<DescribeProducersRequest>): DescribeProducersResponse {
        return {
          throttleTimeMs: 0,
          topics: call.body.topics.map((t) => {
            const topic = s.topics.get(t.name);
            return {
              name: t.name,
              partitions: t.partitionIndexes.map((index) => {
                const partition = topic?.partitions[index];
                if (!partition) {
                  return {
                    partitionIndex: index,
                    errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
                    errorMessage: `${t.name}-${index} does not exist`,
                    activeProducers: [],
                  };
                }
                const activeProducers = [...s.producers.stateFor(partition).active()].map((p) => ({
                  producerId: BigInt(p.producerId),
                  producerEpoch: p.epoch,
                  lastSequence: p.lastBatch?.lastSeq ?? -1,
                  lastTimestamp: BigInt(p.lastBatch?.maxTimestampMs ?? -1),
                  coordinatorEpoch: 0,
                  currentTxnStartOffset: BigInt(
                    s.transactions.openTransactionStart(partition, p.producerId) ?? -1,
                  ),
                }));
                return {
                  partitionIndex: index,
                  errorCode: KafkaError.NONE,
                  errorMessage: null,
                  activeProducers,
                };
              }),
            };
          }),
        };
      },
    },
  ];
}
