/**
 * InitProducerId v0-4, for idempotent producers. Without a transactionalId Kafka "always blindly
 * accepts the request and returns a new producerId" with epoch 0 — also when a v3+ request names
 * its current producerId/epoch (an idempotent producer bumps its epoch itself; only transactional
 * ids get server-side bumps), so Pier does the same. Ids are never reused across restarts
 * (producers.ts).
 *
 * Transactions are not implemented: a transactionalId gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED
 * (53), which Kafka's clients treat as fatal and report plainly (the Java client's
 * initTransactions() throws TransactionalIdAuthorizationException, kafkajs and librdkafka fail
 * with "Transactional Id authorization failed"), instead of COORDINATOR_NOT_AVAILABLE, which they
 * would retry until they time out. An empty transactionalId is INVALID_REQUEST, as in Kafka.
 */
import type { InitProducerIdRequest, InitProducerIdResponse } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';

export const INIT_PRODUCER_ID_KEY = 22;

export interface InitProducerIdServices {
  readonly producers: { nextProducerId(): number };
}

export function initProducerIdApis(services: InitProducerIdServices): KafkaApi[] {
  return [
    {
      apiKey: INIT_PRODUCER_ID_KEY,
      minVersion: 0,
      maxVersion: 4,
      handle: (call: KafkaCall<InitProducerIdRequest>) => initProducerId(services, call.body),
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
  if (body.transactionalId !== null) return refuse(KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  let producerId: number;
  try {
    producerId = s.producers.nextProducerId();
  } catch {
    // The id block could not be stored (disk full, ids exhausted): a retriable server error.
    return refuse(KafkaError.UNKNOWN_SERVER_ERROR);
  }
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, producerId: BigInt(producerId), producerEpoch: 0 };
}
