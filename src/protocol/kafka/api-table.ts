/** Collects the API handlers into the table the connections dispatch on, ApiVersions included. */
import { apiVersionsApi } from './apis/api-versions.js';
import type { KafkaApi } from './kafka-api.js';

export function buildApiTable(apis: readonly KafkaApi[]): ReadonlyMap<number, KafkaApi> {
  const table = new Map<number, KafkaApi>();
  for (const api of apis) {
    if (table.has(api.apiKey)) throw new Error(`two handlers for Kafka API key ${api.apiKey}`);
    table.set(api.apiKey, api);
  }
  const apiVersions = apiVersionsApi(table);
  table.set(apiVersions.apiKey, apiVersions);
  return table;
}
