/**
 * Metadata (v0-12): the one broker, the cluster id, and the topics asked for (or all), each
 * partition led by this broker with itself as the only replica. Names of missing topics are
 * auto-created when both the broker (auto.create.topics.enable) and the request (v4+) allow it;
 * v0-3 requests always allow it, as in Kafka.
 */
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  ResourceType,
  supportedOperationBits,
} from '../../../core/kafka/acls.js';
import type { Topic } from '../../../core/kafka/topic.js';
import { formatTopicId, isValidTopicName, type TopicRegistry } from '../../../core/kafka/topic-registry.js';
import type { KafkaCluster } from '../cluster.js';
import type {
  MetadataRequest,
  MetadataRequestTopic,
  MetadataResponse,
  MetadataResponsePartition,
  MetadataResponseTopic,
} from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { fromTopicError, ZERO_UUID } from './topic-errors.js';

export const METADATA_KEY = 3;

export type MetadataTopics = Pick<
  TopicRegistry,
  'get' | 'getById' | 'list' | 'autoCreate' | 'autoCreateTopics'
>;

export interface MetadataServices {
  readonly topics: MetadataTopics;
  readonly cluster: KafkaCluster;
}

export { AUTHORIZED_OPERATIONS_OMITTED };

/** Without ACLs every client may do every operation a topic or the cluster supports, as in Kafka. */
export const TOPIC_OPERATIONS = supportedOperationBits(ResourceType.TOPIC);
export const CLUSTER_OPERATIONS = supportedOperationBits(ResourceType.CLUSTER);

export function metadataApis({ topics, cluster }: MetadataServices): KafkaApi[] {
  function describeTopic(topic: Topic, topicOperations: number): MetadataResponseTopic {
    const nodes = [cluster.nodeId];
    return {
      errorCode: KafkaError.NONE,
      name: topic.name,
      topicId: formatTopicId(topic.id),
      isInternal: false,
      partitions: topic.partitions.map(
        (p): MetadataResponsePartition => ({
          errorCode: KafkaError.NONE,
          partitionIndex: p.index,
          leaderId: cluster.nodeId,
          leaderEpoch: 0,
          replicaNodes: nodes,
          isrNodes: nodes,
          offlineReplicas: [],
        }),
      ),
      topicAuthorizedOperations: topicOperations,
    };
  }

  /**
   * A topic that could not be described. Kafka reports authorized operations for every name it
   * looked up, found or not, but not for an unknown topic id (`topicOperations` omitted then).
   */
  function failed(
    name: string | null,
    topicId: string,
    errorCode: number,
    topicOperations = AUTHORIZED_OPERATIONS_OMITTED,
  ): MetadataResponseTopic {
    return {
      errorCode,
      name,
      topicId,
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: topicOperations,
    };
  }

  function lookup(
    requested: MetadataRequestTopic,
    version: number,
    autoCreate: boolean,
    topicOperations: number,
  ): MetadataResponseTopic {
    const { name, topicId } = requested;
    if (name === null) {
      // Topic ids are accepted in requests from v12 (earlier versions need the name).
      if (version < 12) return failed('', ZERO_UUID, KafkaError.INVALID_REQUEST);
      const topic = topicId === ZERO_UUID ? undefined : topics.getById(topicId);
      return topic
        ? describeTopic(topic, topicOperations)
        : failed(null, topicId, KafkaError.UNKNOWN_TOPIC_ID);
    }
    const found = topics.get(name);
    if (found) return describeTopic(found, topicOperations);
    if (!isValidTopicName(name))
      return failed(name, ZERO_UUID, KafkaError.INVALID_TOPIC_EXCEPTION, topicOperations);
    if (!autoCreate) return failed(name, ZERO_UUID, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, topicOperations);
    try {
      return describeTopic(topics.autoCreate(name), topicOperations);
    } catch (error) {
      return failed(name, ZERO_UUID, fromTopicError(error).errorCode, topicOperations);
    }
  }

  return [
    {
      apiKey: METADATA_KEY,
      minVersion: 0,
      maxVersion: 12,
      handle({ header, body }: KafkaCall<MetadataRequest>): MetadataResponse {
        const version = header.apiVersion;
        const topicOperations = body.includeTopicAuthorizedOperations
          ? TOPIC_OPERATIONS
          : AUTHORIZED_OPERATIONS_OMITTED;
        // v0 has no null: an empty list asks for every topic.
        const all = body.topics === null || (version === 0 && body.topics.length === 0);
        let answered: MetadataResponseTopic[];
        if (all) {
          answered = topics.list().map((t) => describeTopic(t, topicOperations));
        } else {
          const autoCreate = topics.autoCreateTopics && body.allowAutoTopicCreation;
          const seen = new Set<string>();
          answered = [];
          for (const requested of body.topics!) {
            const key = requested.name ?? `id:${requested.topicId}`;
            if (seen.has(key)) continue;
            seen.add(key);
            answered.push(lookup(requested, version, autoCreate, topicOperations));
          }
        }
        return {
          throttleTimeMs: 0,
          brokers: [
            {
              nodeId: cluster.nodeId,
              host: cluster.advertisedHost,
              port: cluster.advertisedPort,
              rack: null,
            },
          ],
          clusterId: cluster.clusterId,
          controllerId: cluster.nodeId,
          topics: answered,
          clusterAuthorizedOperations: body.includeClusterAuthorizedOperations
            ? CLUSTER_OPERATIONS
            : AUTHORIZED_OPERATIONS_OMITTED,
        };
      },
    },
  ];
}
