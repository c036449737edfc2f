/**
 * CreateTopics (v0-7), DeleteTopics (v0-6) and CreatePartitions (v0-3) on the one-broker cluster:
 * replication factor 1 (or -1, the default) only, manual assignments only to this broker, and
 * Kafka's error codes and messages for everything else.
 */
import { formatTopicId, type TopicRegistry, validateTopicName } from '../../../core/kafka/topic-registry.js';
import type {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsRequestCreatableTopic,
  CreateTopicsResponse,
  CreateTopicsResponseCreatableTopicResult,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DeleteTopicsResponseDeletableTopicResult,
} from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { describeTopicConfigs } from './configs.js';
import { fromTopicError, type KafkaErrorAnswer, kafkaError, NO_ERROR, ZERO_UUID } from './topic-errors.js';

export const CREATE_TOPICS_KEY = 19;
export const DELETE_TOPICS_KEY = 20;
export const CREATE_PARTITIONS_KEY = 37;

export type AdminTopics = Pick<
  TopicRegistry,
  'get' | 'create' | 'delete' | 'addPartitions' | 'defaultPartitions' | 'brokerDefaults'
>;

export interface TopicAdminServices {
  readonly topics: AdminTopics;
  /** The only broker replicas may be assigned to. */
  readonly nodeId: number;
}

/** Checks a manual replica assignment: each partition on exactly this broker. */
function checkReplicas(brokerIds: readonly number[], nodeId: number, partition: number): KafkaErrorAnswer {
  if (brokerIds.length === 0)
    return kafkaError(
      KafkaError.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes an empty replica list (partition ${partition}).`,
    );
  const unknown = brokerIds.filter((id) => id !== nodeId);
  if (unknown.length > 0)
    return kafkaError(
      KafkaError.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes broker ${unknown[0]}, but no such broker is registered (Pier is the single broker ${nodeId}).`,
    );
  if (brokerIds.length > 1)
    return kafkaError(
      KafkaError.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes the broker ${nodeId} more than once (partition ${partition}).`,
    );
  return NO_ERROR;
}

/** How many partitions a CreateTopics entry asks for, or why it cannot be created here. */
function plannedPartitions(
  topic: CreateTopicsRequestCreatableTopic,
  defaultPartitions: number,
  nodeId: number,
): number | KafkaErrorAnswer {
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1)
      return kafkaError(
        KafkaError.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
      );
    const indexes = topic.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
    if (indexes.some((index, i) => index !== i))
      return kafkaError(
        KafkaError.INVALID_REPLICA_ASSIGNMENT,
        'Partitions should be a consecutive 0-based integer sequence',
      );
    for (const a of topic.assignments) {
      const answer = checkReplicas(a.brokerIds, nodeId, a.partitionIndex);
      if (answer !== NO_ERROR) return answer;
    }
    return topic.assignments.length;
  }
  const rf = topic.replicationFactor;
  if (rf === 0 || rf < -1)
    return kafkaError(
      KafkaError.INVALID_REPLICATION_FACTOR,
      'Replication factor must be larger than 0, or -1 to use the default value.',
    );
  if (rf > 1)
    return kafkaError(
      KafkaError.INVALID_REPLICATION_FACTOR,
      `Replication factor: ${rf} larger than available brokers: 1.`,
    );
  if (topic.numPartitions === -1) return defaultPartitions;
  if (topic.numPartitions < 1)
    return kafkaError(
      KafkaError.INVALID_PARTITIONS,
      'Number of partitions was set to an invalid non-positive value.',
    );
  return topic.numPartitions;
}

function createFailed(name: string, answer: KafkaErrorAnswer): CreateTopicsResponseCreatableTopicResult {
  return {
    name,
    topicId: ZERO_UUID,
    ...answer,
    topicConfigErrorCode: KafkaError.NONE,
    numPartitions: -1,
    replicationFactor: -1,
    configs: [],
  };
}

export function topicAdminApis({ topics, nodeId }: TopicAdminServices): KafkaApi[] {
  function createOne(
    topic: CreateTopicsRequestCreatableTopic,
    validateOnly: boolean,
  ): CreateTopicsResponseCreatableTopicResult {
    const failed = (answer: KafkaErrorAnswer) => createFailed(topic.name, answer);
    try {
      // Kafka reports a bad or taken name before anything else about the request.
      validateTopicName(topic.name);
      if (topics.get(topic.name))
        return failed(kafkaError(KafkaError.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`));
      const partitions = plannedPartitions(topic, topics.defaultPartitions, nodeId);
      if (typeof partitions !== 'number') return failed(partitions);
      const created = topics.create(topic.name, partitions, topic.configs, { validateOnly });
      return {
        name: topic.name,
        topicId: validateOnly ? ZERO_UUID : formatTopicId(created.id),
        ...NO_ERROR,
        topicConfigErrorCode: KafkaError.NONE,
        numPartitions: created.partitionCount,
        replicationFactor: 1,
        configs: describeTopicConfigs(
          created.overrides,
          { keys: null, includeSynonyms: false, includeDocumentation: false },
          topics.brokerDefaults,
        ).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          configSource: c.configSource,
          isSensitive: false,
        })),
      };
    } catch (error) {
      return failed(fromTopicError(error));
    }
  }

  const createTopics: KafkaApi = {
    apiKey: CREATE_TOPICS_KEY,
    minVersion: 0,
    maxVersion: 7,
    handle({ header, body }: KafkaCall<CreateTopicsRequest>): CreateTopicsResponse {
      const counts = new Map<string, number>();
      for (const t of body.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
      const answered = new Set<string>();
      const results: CreateTopicsResponseCreatableTopicResult[] = [];
      for (const topic of body.topics) {
        if (answered.has(topic.name)) continue;
        answered.add(topic.name);
        if (counts.get(topic.name)! > 1) {
          const message = `Create topics request from client \`${header.clientId}\` contains multiple entries for the following topics: ${topic.name}`;
          results.push(createFailed(topic.name, kafkaError(KafkaError.INVALID_REQUEST, message)));
        } else {
          results.push(createOne(topic, body.validateOnly));
        }
      }
      return { throttleTimeMs: 0, topics: results };
    },
  };

  const deleteTopics: KafkaApi = {
    apiKey: DELETE_TOPICS_KEY,
    minVersion: 0,
    maxVersion: 6,
    handle({ header, body }: KafkaCall<DeleteTopicsRequest>): DeleteTopicsResponse {
      // v0-5 name topics in topicNames; v6 in topics, by name or by id.
      const requested =
        header.apiVersion >= 6 ? body.topics : body.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
      const seen = new Set<string>();
      const responses = requested.map(({ name, topicId }): DeleteTopicsResponseDeletableTopicResult => {
        const byId = topicId !== ZERO_UUID;
        const answer = (errorCode: number, errorMessage: string | null, found = name) => ({
          name: found,
          topicId,
          errorCode,
          errorMessage,
        });
        if (name !== null && byId)
          return answer(KafkaError.INVALID_REQUEST, 'You may not specify both topic name and topic id.');
        if (name === null && !byId)
          return answer(KafkaError.INVALID_REQUEST, 'Neither topic name nor id were specified.');
        const key = name ?? topicId;
        if (seen.has(key)) return answer(KafkaError.INVALID_REQUEST, `Duplicate topic in request: ${key}`);
        seen.add(key);
        try {
          const deleted = topics.delete(byId ? Buffer.from(topicId.replaceAll('-', ''), 'hex') : name!);
          return { name: deleted.name, topicId: formatTopicId(deleted.id), ...NO_ERROR };
        } catch (error) {
          const { errorCode, errorMessage } = fromTopicError(error);
          return answer(errorCode, errorMessage);
        }
      });
      return { throttleTimeMs: 0, responses };
    },
  };

  const createPartitions: KafkaApi = {
    apiKey: CREATE_PARTITIONS_KEY,
    minVersion: 0,
    maxVersion: 3,
    handle({ body }: KafkaCall<CreatePartitionsRequest>): CreatePartitionsResponse {
      const counts = new Map<string, number>();
      for (const t of body.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
      const results = body.topics.map(({ name, count, assignments }) => {
        const answer = (a: KafkaErrorAnswer) => ({ name, ...a });
        if (counts.get(name)! > 1)
          return answer(kafkaError(KafkaError.INVALID_REQUEST, 'Duplicate topic in request.'));
        try {
          // Unknown topic and shrinking are reported before the assignment is looked at.
          topics.addPartitions(name, count, { validateOnly: true });
          if (assignments !== null) {
            const adding = count - topics.get(name)!.partitions.length;
            if (assignments.length !== adding)
              return answer(
                kafkaError(
                  KafkaError.INVALID_REPLICA_ASSIGNMENT,
                  `Increasing the number of partitions by ${adding} but ${assignments.length} assignments provided.`,
                ),
              );
            const current = count - adding;
            for (const [i, a] of assignments.entries()) {
              const checked = checkReplicas(a.brokerIds, nodeId, current + i);
              if (checked !== NO_ERROR) return answer(checked);
            }
          }
          if (!body.validateOnly) topics.addPartitions(name, count);
          return answer(NO_ERROR);
        } catch (error) {
          return answer(fromTopicError(error));
        }
      });
      return { throttleTimeMs: 0, results };
    },
  };

  return [createTopics, deleteTopics, createPartitions];
}
