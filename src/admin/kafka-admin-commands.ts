/**
 * Kafka monitoring requests of the control socket: `pier topics list|describe` (queue depth) and
 * `pier groups list|describe` (consumer lag). They read live state, so only a running broker
 * answers them; the numbers come from core/kafka/monitoring.ts.
 */
import { notFound } from '../core/amqp/errors.js';
import type { GroupCoordinator } from '../core/kafka/group-coordinator.js';
import { groupLag, groupLags, topicDepth, topicDepths } from '../core/kafka/monitoring.js';
import type { TopicRegistry } from '../core/kafka/topic-registry.js';

/** What the Kafka commands read: the running broker's topics and consumer groups. */
export interface KafkaAdminContext {
  readonly topics: TopicRegistry;
  readonly groups: GroupCoordinator;
}

/** The part of admin-commands.ts's argument reader these commands use. */
interface RequestArgs {
  string(name: string): string;
}

type KafkaHandler = (kafka: KafkaAdminContext, args: RequestArgs) => unknown;

export const KAFKA_ADMIN_COMMANDS: Readonly<Record<string, KafkaHandler>> = {
  'topics.list': ({ topics }) => topicDepths(topics),
  'topics.describe': ({ topics }, a) => {
    const name = a.string('name');
    const topic = topics.get(name);
    if (!topic) throw notFound(`no topic '${name}'; 'pier topics list' shows the topics`);
    return topicDepth(topic);
  },
  'groups.list': ({ topics, groups }) => groupLags(groups, topics),
  'groups.describe': ({ topics, groups }, a) => {
    const groupId = a.string('group');
    const lag = groupLag(groups, topics, groupId);
    if (!lag) throw notFound(`no consumer group '${groupId}'; 'pier groups list' shows the groups`);
    return lag;
  },
};
