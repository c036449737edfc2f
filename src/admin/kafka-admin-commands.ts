/**
 * Kafka monitoring requests of the control socket: `pier topics list|describe` (queue depth) and
 * `pier groups list|describe` (consumer lag) and `pier transactions list|describe` (the transaction
 * coordinator's state per transactional id). They read live state, so only a running broker
 * answers them; the numbers come from core/kafka/monitoring.ts.
 */
import { notFound } from '../core/amqp/errors.js';
import type { GroupCoordinator } from '../core/kafka/group-coordinator.js';
import { groupLag, groupLags, topicDepth, topicDepths } from '../core/kafka/monitoring.js';
import type { TopicRegistry } from '../core/kafka/topic-registry.js';
import type { TransactionCoordinator } from '../core/kafka/transaction-coordinator.js';
import type { StoredTransaction } from '../core/kafka/transaction-log.js';

/** What the Kafka commands read: the running broker's topics and consumer groups. */
export interface KafkaAdminContext {
  readonly topics: TopicRegistry;
  readonly groups: GroupCoordinator;
  readonly transactions?: TransactionCoordinator;
}

/** A transaction as `pier transactions` shows it. */
export interface TransactionView {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly state: string;
  readonly timeoutMs: number;
  readonly startTimeMs: number;
  readonly partitions: string[];
  readonly groups: string[];
}

function transactionView(t: StoredTransaction): TransactionView {
  const open = t.state === 'Ongoing' || t.state === 'PrepareCommit' || t.state === 'PrepareAbort';
  return {
    transactionalId: t.transactionalId,
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    state: t.state,
    timeoutMs: t.timeoutMs,
    startTimeMs: open ? t.startTimeMs : -1,
    partitions: open ? t.partitions.map((p) => `${p.topic}-${p.partition}`) : [],
    groups: open ? [...t.groups] : [],
  };
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
  'transactions.list': ({ transactions }) =>
    (transactions?.list() ?? [])
      .map(transactionView)
      .sort((a, b) => a.transactionalId.localeCompare(b.transactionalId)),
  'transactions.describe': ({ transactions }, a) => {
    const id = a.string('id');
    const txn = transactions?.describe(id);
    if (!txn) throw notFound(`no transactional id '${id}'; 'pier transactions list' shows them`);
    return transactionView(txn);
  },
  'groups.describe': ({ topics, groups }, a) => {
    const groupId = a.string('group');
    const lag = groupLag(groups, topics, groupId);
    if (!lag) throw notFound(`no consumer group '${groupId}'; 'pier groups list' shows the groups`);
    return lag;
  },
};
