// Calls Kafka API handlers the way the listener does, through the codec both ways, so each test
// also proves the request decodes and the answer encodes at that version.

import type { TopicRegistryOptions } from '../../../src/core/kafka/topic-registry.js';
import { configApis } from '../../../src/protocol/kafka/apis/configs.js';
import { metadataApis } from '../../../src/protocol/kafka/apis/metadata.js';
import { topicAdminApis } from '../../../src/protocol/kafka/apis/topics-admin.js';
import type { KafkaCluster } from '../../../src/protocol/kafka/cluster.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type KafkaStruct,
} from '../../../src/protocol/kafka/codec/index.js';
import { type KafkaApi, type KafkaSession, NO_RESPONSE } from '../../../src/protocol/kafka/kafka-api.js';
import { TopicHarness } from '../../core/kafka/topic-harness.js';

const session: KafkaSession = {
  id: 1,
  remoteAddress: '127.0.0.1',
  principal: undefined,
  closed: false,
  onClose() {},
  close() {},
};

export class TopicApiHarness extends TopicHarness {
  readonly cluster: KafkaCluster = {
    nodeId: 0,
    clusterId: 'pier-test-cluster-0000',
    advertisedHost: 'broker.test',
    advertisedPort: 19092,
  };
  readonly apis: ReadonlyMap<number, KafkaApi>;

  constructor(options: Partial<TopicRegistryOptions> = {}) {
    super(options);
    const services = { topics: this.registry, cluster: this.cluster };
    this.apis = new Map(
      [
        ...metadataApis(services),
        ...topicAdminApis({ topics: this.registry, nodeId: 0 }),
        ...configApis(services),
      ].map((api) => [api.apiKey, api]),
    );
  }

  /** Sends `body` as a request of `apiKey` at `version`; returns the decoded answer. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers loosely
  async call(apiKey: number, version: number, body: KafkaStruct): Promise<any> {
    const api = this.apis.get(apiKey)!;
    if (version < api.minVersion || version > api.maxVersion)
      throw new Error(`version ${version} not advertised`);
    const frame = encodeRequest(
      { apiKey, apiVersion: version, correlationId: 7, clientId: 'test-client' },
      body,
    );
    const { header, body: decoded } = decodeRequest(frame.subarray(4));
    const answer = await api.handle({ header, body: decoded, session });
    if (answer === NO_RESPONSE) throw new Error('no response');
    const encoded = encodeResponse(apiKey, version, 7, answer);
    return decodeResponse(apiKey, version, encoded.subarray(4)).body;
  }
}
