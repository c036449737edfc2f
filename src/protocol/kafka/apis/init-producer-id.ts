/**
 * InitProducerId v0-4, for idempotent producers. Without a transactionalId Kafka "always blindly
 * accepts the request and returns a new producerId" with epoch 0 — also when a v3+ request names
 * its current producerId/epoch (an idempotent producer bumps its epoch itself; only transactional
 * ids get server-side bumps), so Pier does the same. Ids are never reused across restarts
 * (producers.ts).
 *
 * With a transactionalId the transaction coordinator answers (core/kafka/transaction-coordinator.ts):
 * the id's producer id with its epoch bumped, fencing older instances. PRODUCER_FENCED is sent as
 * INVALID_PRODUCER_EPOCH below v4, as Kafka does for clients that predate it (KIP-588). An empty
 * transactionalId is INVALID_REQUEST, as in Kafka.
 */
import type { TransactionCoordinator } from '../../../core/kafka/transaction-coordinator.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { txnErrorCode } from './transactions.js';

export const INIT_PRODUCER_ID_KEY = 22;

export interface InitProducerIdServices {
  readonly producers: { nextProducerId(): number };
  readonly transactions: Pick<TransactionCoordinator, 'initProducer'>;
}

export function initProducerIdApis(services: InitProducerIdServices): KafkaApi[] {
  return [
    {
      apiKey: INIT_PRODUCER_ID_KEY,
      minVersion: 0,
      maxVersion: 4,
      handle: (call: KafkaCall<InitProducerIdRequest>) =>
        call.body.transactionalId
          ? initTransactional(services, call.body, call.header.apiVersion)
          : initProducerId(services, call.body),
    },
  ];
}

function initProducerId(s: InitProducerIdServices, body: InitProducerIdRequest): InitProducerIdResponse {
  const refuse = (errorCode: number) => ({
    throttleTimeMs: 0,
    errorCode,
    producerId: -1n,
    producerEpoch: -1,
  });
  if (body.transactionalId === '') return refuse(KafkaError.INVALID_REQUEST);
  let producerId: number;
  try {
    producerId = s.producers.nextProducerId();
  } catch {
    // The id block could not be stored (disk full, ids exhausted): a retriable server error.
    return refuse(KafkaError.UNKNOWN_SERVER_ERROR);
  }
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, producerId: BigInt(producerId), producerEpoch: 0 };
}

async function initTransactional(
  s: InitProducerIdServices,
  body: InitProducerIdRequest,
  version: number,
): Promise<InitProducerIdResponse> {
  const result = await s.transactions.initProducer(body.transactionalId!, body.transactionTimeoutMs, {
    producerId: version >= 3 ? Number(body.producerId) : -1,
    producerEpoch: version >= 3 ? body.producerEpoch : -1,
  });
  return {
    throttleTimeMs: 0,
    errorCode: txnErrorCode(result.error, version < 4),
    producerId: BigInt(result.producerId),
    producerEpoch: result.producerEpoch,
  };
}
