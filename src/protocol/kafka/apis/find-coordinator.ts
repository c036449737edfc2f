/**
 * FindCoordinator v0-4: Pier is a one-broker cluster, so this node coordinates every group
 * (key type 0) and every transactional id (key type 1). Other key types get INVALID_REQUEST, as in
 * Kafka.
 */

import type { KafkaCluster } from '../cluster.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';

const GROUP_KEY_TYPE = 0;
const TRANSACTION_KEY_TYPE = 1;

export interface FindCoordinatorServices {
  readonly cluster: KafkaCluster;
}

interface Lookup {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

function lookup(cluster: KafkaCluster, keyType: number): Lookup {
  if (keyType === GROUP_KEY_TYPE || keyType === TRANSACTION_KEY_TYPE) {
    return {
      errorCode: KafkaError.NONE,
      errorMessage: null,
      nodeId: cluster.nodeId,
      host: cluster.advertisedHost,
      port: cluster.advertisedPort,
    };
  }
  const errorMessage = `unknown coordinator key type ${keyType}`;
  return { errorCode: KafkaError.INVALID_REQUEST, errorMessage, nodeId: -1, host: '', port: -1 };
}

export function findCoordinatorApis(services: FindCoordinatorServices): KafkaApi[] {
  return [
    {
      apiKey: API_KEYS.FindCoordinator,
      minVersion: 0,
      maxVersion: 4,
      handle(call: KafkaCall<FindCoordinatorRequest>): FindCoordinatorResponse {
        const { body } = call;
        // v0 has no key type: it always asks for a group coordinator.
        const keyType = call.header.apiVersion === 0 ? GROUP_KEY_TYPE : body.keyType;
        if (call.header.apiVersion >= 4) {
          return {
            throttleTimeMs: 0,
            errorCode: KafkaError.NONE,
            errorMessage: null,
            nodeId: 0,
            host: '',
            port: 0,
            coordinators: body.coordinatorKeys.map((key) => ({ key, ...lookup(services.cluster, keyType) })),
          };
        }
        return { throttleTimeMs: 0, ...lookup(services.cluster, keyType), coordinators: [] };
      },
    },
  ];
}
