/**
 * ApiVersions (v0-3): the APIs and versions this broker answers. Only what is fully implemented is
 * listed, since clients pick min(their max, ours) and use it without further checks. A request at
 * a version Pier does not know gets UNSUPPORTED_VERSION with a v0 body (KIP-511), so the client
 * can retry at a version both support.
 */
import type { ApiVersionsResponse } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi } from '../kafka-api.js';

export const API_VERSIONS_KEY = 18;

function apiKeys(apis: ReadonlyMap<number, KafkaApi>): ApiVersionsResponse['apiKeys'] {
  return [...apis.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion }));
}

/** The v0 body answering a version Pier does not support. */
export function apiVersionsFallback(apis: ReadonlyMap<number, KafkaApi>): Partial<ApiVersionsResponse> {
  return { errorCode: KafkaError.UNSUPPORTED_VERSION, apiKeys: apiKeys(apis) };
}

/** `apis` is the whole table, this entry included (filled in by the caller). */
export function apiVersionsApi(apis: ReadonlyMap<number, KafkaApi>): KafkaApi {
  return {
    apiKey: API_VERSIONS_KEY,
    minVersion: 0,
    maxVersion: 3,
    handle(): Partial<ApiVersionsResponse> {
      return {
        errorCode: KafkaError.NONE,
        apiKeys: apiKeys(apis),
        throttleTimeMs: 0,
        supportedFeatures: [],
        finalizedFeaturesEpoch: -1n,
        finalizedFeatures: [],
        zkMigrationReady: false,
      };
    },
  };
}
