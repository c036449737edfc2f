/**
 * DescribeConfigs (v0-4), AlterConfigs (v0-2) and IncrementalAlterConfigs (v0-1) for topics
 * (resource type 2) and, read-only, for the broker (type 4). Topic configs are Kafka's names with
 * Kafka's defaults (src/core/kafka/topic-config.ts); a change is durable and takes effect at once.
 */

import { SHARE_GROUP_CONFIGS, type ShareGroupCoordinator } from '../../../core/kafka/share-groups.js';
import type { Topic } from '../../../core/kafka/topic.js';
import {
  type BrokerTopicDefaults,
  ConfigType,
  configDef,
  effectiveValue,
  TOPIC_CONFIG_DEFS,
  type TopicConfigDef,
} from '../../../core/kafka/topic-config.js';
import { TopicError } from '../../../core/kafka/topic-error.js';
import { isValidTopicName, type TopicRegistry } from '../../../core/kafka/topic-registry.js';
import type { KafkaCluster } from '../cluster.js';
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeConfigsResponseDescribeConfigsResourceResult,
  DescribeConfigsResponseDescribeConfigsResult,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsRequestAlterableConfig,
  IncrementalAlterConfigsResponse,
} from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { fromTopicError, type KafkaErrorAnswer, kafkaError, NO_ERROR } from './topic-errors.js';

export const DESCRIBE_CONFIGS_KEY = 32;
export const ALTER_CONFIGS_KEY = 33;
export const INCREMENTAL_ALTER_CONFIGS_KEY = 44;

/** ConfigResource.Type */
export const ResourceType = { TOPIC: 2, BROKER: 4, GROUP: 32 } as const;

/** DescribeConfigsResponse ConfigSource */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_GROUP_CONFIG: 8,
} as const;

/** IncrementalAlterConfigs operations. */
const OpType = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export type ConfigTopics = Pick<
  TopicRegistry,
  | 'get'
  | 'alterConfigs'
  | 'autoCreateTopics'
  | 'defaultPartitions'
  | 'retentionCheckIntervalMs'
  | 'brokerDefaults'
>;

export interface ConfigServices {
  readonly topics: ConfigTopics;
  readonly cluster: KafkaCluster;
  /** Share groups' configs (resource type GROUP, IncrementalAlterConfigs and DescribeConfigs). */
  readonly shares?: Pick<
    ShareGroupCoordinator,
    'groupConfigs' | 'validateGroupConfigs' | 'setGroupConfigs' | 'defaults'
  >;
}

export interface DescribeOptions {
  /** null or empty: every config. */
  readonly keys: readonly string[] | null;
  readonly includeSynonyms: boolean;
  readonly includeDocumentation: boolean;
}

type ConfigEntry = DescribeConfigsResponseDescribeConfigsResourceResult;

/**
 * A topic's configs as DescribeConfigs (and CreateTopics v5+) show them. As Kafka's ConfigHelper: the
 * source is the first synonym's — the topic's override, else the broker's configured default
 * (STATIC_BROKER_CONFIG, e.g. `--kafka-compression-type`), else Kafka's (DEFAULT_CONFIG) — and the
 * synonyms list them in that order.
 */
export function describeTopicConfigs(
  overrides: ReadonlyMap<string, string>,
  options: DescribeOptions,
  brokerDefaults: BrokerTopicDefaults = new Map(),
): ConfigEntry[] {
  const wanted = options.keys && options.keys.length > 0 ? new Set(options.keys) : undefined;
  const out: ConfigEntry[] = [];
  for (const d of TOPIC_CONFIG_DEFS) {
    if (wanted && !wanted.has(d.name)) continue;
    const override = overrides.get(d.name);
    const brokerValue = d.brokerSynonym === undefined ? undefined : brokerDefaults.get(d.name);
    const source =
      override !== undefined
        ? ConfigSource.DYNAMIC_TOPIC_CONFIG
        : brokerValue !== undefined
          ? ConfigSource.STATIC_BROKER_CONFIG
          : ConfigSource.DEFAULT_CONFIG;
    const synonyms: ConfigEntry['synonyms'] = [];
    if (options.includeSynonyms) {
      if (override !== undefined)
        synonyms.push({ name: d.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
      if (d.brokerSynonym && brokerValue !== undefined)
        synonyms.push({
          name: d.brokerSynonym,
          value: brokerValue,
          source: ConfigSource.STATIC_BROKER_CONFIG,
        });
      if (d.brokerSynonym)
        synonyms.push({ name: d.brokerSynonym, value: d.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
    }
    out.push({
      name: d.name,
      value: effectiveValue(overrides, d.name, brokerDefaults),
      readOnly: d.kind === 'fixed',
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: false,
      synonyms,
      configType: ConfigType[d.type],
      documentation: options.includeDocumentation ? d.documentation : null,
    });
  }
  return out;
}

interface BrokerConfig {
  readonly name: string;
  readonly value: string;
  readonly type: TopicConfigDef['type'];
  readonly source: number;
}

/** Read-only broker configs: Pier's settings under Kafka's names, and the topic defaults' sources. */
function brokerConfigs({ topics, cluster }: ConfigServices): BrokerConfig[] {
  const configured = ConfigSource.STATIC_BROKER_CONFIG;
  const configs: BrokerConfig[] = [
    { name: 'broker.id', value: String(cluster.nodeId), type: 'INT', source: configured },
    { name: 'node.id', value: String(cluster.nodeId), type: 'INT', source: configured },
    {
      name: 'advertised.listeners',
      value: `${cluster.securityProtocol ?? 'PLAINTEXT'}://${cluster.advertisedHost}:${cluster.advertisedPort}`,
      type: 'STRING',
      source: configured,
    },
    {
      name: 'auto.create.topics.enable',
      value: String(topics.autoCreateTopics),
      type: 'BOOLEAN',
      source: configured,
    },
    { name: 'num.partitions', value: String(topics.defaultPartitions), type: 'INT', source: configured },
    { name: 'default.replication.factor', value: '1', type: 'INT', source: ConfigSource.DEFAULT_CONFIG },
    {
      name: 'offsets.topic.replication.factor',
      value: '1',
      type: 'SHORT',
      source: ConfigSource.DEFAULT_CONFIG,
    },
    {
      name: 'log.retention.check.interval.ms',
      value: String(topics.retentionCheckIntervalMs),
      type: 'LONG',
      source: configured,
    },
  ];
  for (const d of TOPIC_CONFIG_DEFS) {
    if (!d.brokerSynonym || configs.some((c) => c.name === d.brokerSynonym)) continue;
    const configuredValue = topics.brokerDefaults.get(d.name);
    configs.push({
      name: d.brokerSynonym,
      value: configuredValue ?? d.defaultValue,
      type: d.type,
      source: configuredValue === undefined ? ConfigSource.DEFAULT_CONFIG : configured,
    });
  }
  return configs.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function describeBrokerConfigs(services: ConfigServices, options: DescribeOptions): ConfigEntry[] {
  const wanted = options.keys && options.keys.length > 0 ? new Set(options.keys) : undefined;
  return brokerConfigs(services)
    .filter((c) => !wanted || wanted.has(c.name))
    .map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: true,
      isDefault: c.source === ConfigSource.DEFAULT_CONFIG,
      configSource: c.source,
      isSensitive: false,
      synonyms: options.includeSynonyms ? [{ name: c.name, value: c.value, source: c.source }] : [],
      configType: ConfigType[c.type],
      documentation: null,
    }));
}

/** The broker resource names this broker answers for: its id, or '' for cluster-wide defaults. */
function checkBrokerName(name: string, nodeId: number): KafkaErrorAnswer {
  if (name === '' || name === String(nodeId)) return NO_ERROR;
  if (!/^-?\d+$/.test(name))
    return kafkaError(KafkaError.INVALID_REQUEST, `Broker id must be an integer, but it is: ${name}`);
  return kafkaError(
    KafkaError.INVALID_REQUEST,
    `Unexpected broker id, expected ${nodeId}, but received ${name}`,
  );
}

function unsupportedType(resourceType: number): KafkaErrorAnswer {
  return kafkaError(
    KafkaError.INVALID_REQUEST,
    `Pier supports config resources of type TOPIC (2), BROKER (4) and, for share groups, GROUP (32), not ${resourceType}`,
  );
}

/** The topic a config request names, or why not. */
function findTopic(topics: ConfigTopics, name: string): Topic | KafkaErrorAnswer {
  if (!isValidTopicName(name))
    return kafkaError(KafkaError.INVALID_TOPIC_EXCEPTION, `Topic name '${name}' is illegal`);
  return (
    topics.get(name) ??
    kafkaError(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`)
  );
}

const isError = (value: Topic | KafkaErrorAnswer): value is KafkaErrorAnswer => 'errorCode' in value;

/** Broker configs are start-up settings in Pier; naming one in an alter is refused. */
function alterBroker(name: string, nodeId: number, configNames: readonly string[]): KafkaErrorAnswer {
  const nameError = checkBrokerName(name, nodeId);
  if (nameError !== NO_ERROR) return nameError;
  if (configNames.length === 0) return NO_ERROR;
  return kafkaError(
    KafkaError.INVALID_REQUEST,
    `Cannot update these configs dynamically: ${configNames.join(', ')} (Pier's broker settings are fixed at start-up)`,
  );
}

/** The overrides an IncrementalAlterConfigs leaves on a topic. */
function applyIncremental(
  current: ReadonlyMap<string, string>,
  ops: readonly IncrementalAlterConfigsRequestAlterableConfig[],
): Array<{ name: string; value: string | null }> {
  const next = new Map<string, string | null>(current);
  const seen = new Set<string>();
  for (const { name, configOperation, value } of ops) {
    if (seen.has(name))
      throw new TopicError('INVALID_REQUEST', `Error due to duplicate config keys: ${name}`);
    seen.add(name);
    const d = configDef(name);
    switch (configOperation) {
      case OpType.SET:
        next.set(name, value);
        break;
      case OpType.DELETE:
        next.delete(name);
        break;
      case OpType.APPEND:
      case OpType.SUBTRACT: {
        const verb = configOperation === OpType.APPEND ? 'append' : 'subtract';
        if (d.type !== 'LIST')
          throw new TopicError(
            'INVALID_CONFIG',
            `Config value ${verb} is not allowed for config key: ${name}`,
          );
        const items = listItems(next.get(name) ?? d.defaultValue);
        const given = listItems(value ?? '');
        const result =
          verb === 'append'
            ? [...items, ...given.filter((v) => !items.includes(v))]
            : items.filter((v) => !given.includes(v));
        next.set(name, result.join(','));
        break;
      }
      default:
        throw new TopicError(
          'INVALID_REQUEST',
          `Unknown config operation ${configOperation} for config key: ${name}`,
        );
    }
  }
  return [...next].map(([name, value]) => ({ name, value }));
}

function listItems(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function configApis(services: ConfigServices): KafkaApi[] {
  const { topics, cluster } = services;

  const describe: KafkaApi = {
    apiKey: DESCRIBE_CONFIGS_KEY,
    minVersion: 0,
    maxVersion: 4,
    handle({ body }: KafkaCall<DescribeConfigsRequest>): DescribeConfigsResponse {
      const results = body.resources.map((resource): DescribeConfigsResponseDescribeConfigsResult => {
        const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
        const options: DescribeOptions = {
          keys: resource.configurationKeys,
          includeSynonyms: body.includeSynonyms,
          includeDocumentation: body.includeDocumentation,
        };
        let answer: KafkaErrorAnswer;
        let configs: ConfigEntry[] = [];
        if (resource.resourceType === ResourceType.TOPIC) {
          const topic = findTopic(topics, resource.resourceName);
          answer = isError(topic) ? topic : NO_ERROR;
          if (!isError(topic))
            configs = describeTopicConfigs(topic.overrides, options, topics.brokerDefaults);
        } else if (resource.resourceType === ResourceType.GROUP && services.shares) {
          answer = NO_ERROR;
          configs = describeGroupConfigs(services.shares, resource.resourceName, options);
        } else if (resource.resourceType === ResourceType.BROKER) {
          answer = checkBrokerName(resource.resourceName, cluster.nodeId);
          // '' is the cluster-wide dynamic defaults: Pier has none.
          if (answer === NO_ERROR && resource.resourceName !== '')
            configs = describeBrokerConfigs(services, options);
        } else {
          answer = unsupportedType(resource.resourceType);
        }
        return { ...answer, ...base, configs };
      });
      return { throttleTimeMs: 0, results };
    },
  };

  /**
   * Answers each resource of an AlterConfigs or IncrementalAlterConfigs request: broker configs are
   * read-only, other resource types unsupported; a topic's change is made by `applyToTopic`.
   */
  function alterResources<
    R extends { resourceType: number; resourceName: string; configs: { name: string }[] },
  >(resources: readonly R[], applyToTopic: (topic: Topic, resource: R) => void) {
    return resources.map((resource) => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      if (resource.resourceType === ResourceType.BROKER)
        return {
          ...alterBroker(
            resource.resourceName,
            cluster.nodeId,
            resource.configs.map((c) => c.name),
          ),
          ...base,
        };
      if (resource.resourceType !== ResourceType.TOPIC)
        return { ...unsupportedType(resource.resourceType), ...base };
      const topic = findTopic(topics, resource.resourceName);
      if (isError(topic)) return { ...topic, ...base };
      try {
        applyToTopic(topic, resource);
        return { ...NO_ERROR, ...base };
      } catch (error) {
        return { ...fromTopicError(error), ...base };
      }
    });
  }

  const alter: KafkaApi = {
    apiKey: ALTER_CONFIGS_KEY,
    minVersion: 0,
    maxVersion: 2,
    handle({ body }: KafkaCall<AlterConfigsRequest>): AlterConfigsResponse {
      // AlterConfigs replaces the whole set of overrides.
      const responses = alterResources(body.resources, (topic, resource) =>
        topics.alterConfigs(topic.name, resource.configs, { validateOnly: body.validateOnly }),
      );
      return { throttleTimeMs: 0, responses };
    },
  };

  const incremental: KafkaApi = {
    apiKey: INCREMENTAL_ALTER_CONFIGS_KEY,
    minVersion: 0,
    maxVersion: 1,
    async handle({
      body,
    }: KafkaCall<IncrementalAlterConfigsRequest>): Promise<IncrementalAlterConfigsResponse> {
      const shares = services.shares;
      const groupResources = shares
        ? body.resources.filter((r) => r.resourceType === ResourceType.GROUP)
        : [];
      const others = alterResources(
        body.resources.filter((r) => !groupResources.includes(r)),
        (topic, resource) =>
          topics.alterConfigs(topic.name, applyIncremental(topic.overrides, resource.configs), {
            validateOnly: body.validateOnly,
          }),
      );
      const groupAnswers = new Map<(typeof body.resources)[number], KafkaErrorAnswer>();
      for (const resource of groupResources)
        groupAnswers.set(resource, await alterGroup(shares!, resource, body.validateOnly));
      let next = 0;
      const responses = body.resources.map((resource) => {
        const answer = groupAnswers.get(resource);
        if (!answer) return others[next++]!;
        return { ...answer, resourceType: resource.resourceType, resourceName: resource.resourceName };
      });
      return { throttleTimeMs: 0, responses };
    },
  };

  return [describe, alter, incremental];
}

type ShareConfigs = NonNullable<ConfigServices['shares']>;

/** A share group's configs: its overrides, else the broker defaults (group.share.*). */
function describeGroupConfigs(
  shares: ShareConfigs,
  groupId: string,
  options: DescribeOptions,
): ConfigEntry[] {
  const overrides = shares.groupConfigs(groupId);
  const d = shares.defaults;
  const defaults: Record<string, string> = {
    'share.record.lock.duration.ms': String(d.recordLockDurationMs),
    'share.delivery.count.limit': String(d.deliveryCountLimit),
    'share.auto.offset.reset': 'latest',
    'share.session.timeout.ms': String(d.sessionTimeoutMs),
    'share.heartbeat.interval.ms': String(d.heartbeatIntervalMs),
  };
  const wanted = options.keys && options.keys.length > 0 ? new Set(options.keys) : undefined;
  return SHARE_GROUP_CONFIGS.filter((name) => !wanted || wanted.has(name)).map((name) => {
    const override = overrides[name];
    return {
      name,
      value: override ?? defaults[name]!,
      readOnly: false,
      isDefault: override === undefined,
      configSource: override === undefined ? ConfigSource.DEFAULT_CONFIG : ConfigSource.DYNAMIC_GROUP_CONFIG,
      isSensitive: false,
      synonyms: [],
      configType: name === 'share.auto.offset.reset' ? ConfigType.STRING : ConfigType.INT,
      documentation: null,
    };
  });
}

/** IncrementalAlterConfigs on a share group: SET and DELETE, checked, stored before the answer. */
async function alterGroup(
  shares: ShareConfigs,
  resource: { resourceName: string; configs: IncrementalAlterConfigsRequestAlterableConfig[] },
  validateOnly: boolean,
): Promise<KafkaErrorAnswer> {
  if (resource.resourceName === '')
    return kafkaError(KafkaError.INVALID_REQUEST, 'Group name must not be empty');
  const next: Record<string, string> = { ...shares.groupConfigs(resource.resourceName) };
  for (const { name, configOperation, value } of resource.configs) {
    if (configOperation === OpType.SET) {
      if (value === null)
        return kafkaError(KafkaError.INVALID_CONFIG, `Null value not supported for ${name}`);
      next[name] = value;
    } else if (configOperation === OpType.DELETE) {
      delete next[name];
    } else {
      return kafkaError(
        KafkaError.INVALID_CONFIG,
        `Config value append/subtract is not allowed for config key: ${name}`,
      );
    }
  }
  const problem = shares.validateGroupConfigs(next);
  if (problem) return kafkaError(KafkaError.INVALID_CONFIG, problem);
  if (!validateOnly) await shares.setGroupConfigs(resource.resourceName, next);
  return NO_ERROR;
}
