/**
 * Kafka monitoring requests of the control socket: `pier topics list|describe` (queue depth) and
 * `pier groups list|describe` (consumer lag) and `pier transactions list|describe` (the transaction
 * coordinator's state per transactional id). They read live state, so only a running broker
 * answers them; the numbers come from core/kafka/monitoring.ts.
 */
import { BrokerError, notFound } from '../core/amqp/errors.js';
import {
  type AclAuthorizer,
  type AclBinding,
  type AclBindingFilter,
  codeName,
  InvalidAclError,
  validateAclBinding as validateBinding,
} from '../core/kafka/acls.js';
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
  /** The Kafka ACLs; undefined when `--kafka-acls` is off. */
  readonly acls?: AclAuthorizer | undefined;
}

/** An ACL as `pier acls list` shows it: the names kafka-acls.sh prints. */
export interface AclView {
  readonly resourceType: string;
  readonly resourceName: string;
  readonly patternType: string;
  readonly principal: string;
  readonly host: string;
  readonly operation: string;
  readonly permission: string;
}

function aclView(b: AclBinding): AclView {
  return {
    resourceType: codeName('resourceType', b.resourceType),
    resourceName: b.resourceName,
    patternType: codeName('patternType', b.patternType),
    principal: b.principal,
    host: b.host,
    operation: codeName('operation', b.operation),
    permission: codeName('permission', b.permission),
  };
}

function aclsOf(acls: AclAuthorizer | undefined): AclAuthorizer {
  if (!acls)
    throw new BrokerError(
      'precondition-failed',
      'Kafka ACLs are off on this broker: start it with --kafka-acls on',
    );
  return acls;
}

/** Runs an ACL change; a binding Kafka would refuse is reported with its reason. */
function aclChange<T>(change: () => T): T {
  try {
    return change();
  } catch (error) {
    if (error instanceof InvalidAclError)
      throw new BrokerError('command-invalid', `invalid ACL: ${error.message}`);
    throw error;
  }
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
  raw(name: string): unknown;
}

type KafkaHandler = (kafka: KafkaAdminContext, args: RequestArgs) => unknown;

/**
 * `pier acls add|list|remove`: over a running broker's ACLs, or (offline) over an authorizer on
 * a stopped broker's stored definitions; undefined when the running broker has ACLs off.
 */
export const ACL_ADMIN_COMMANDS: Readonly<
  Record<string, (acls: AclAuthorizer | undefined, args: RequestArgs) => unknown>
> = {
  'acls.add': (acls, a) => {
    const stored = aclsOf(acls);
    const bindings = a.raw('bindings') as AclBinding[];
    // All or nothing: every binding is checked before any is stored.
    aclChange(() => {
      for (const binding of bindings) validateBinding(binding);
    });
    for (const binding of bindings) aclChange(() => stored.add(binding));
    return bindings.map(aclView);
  },
  'acls.list': (acls, a) =>
    (a.raw('filters') as AclBindingFilter[])
      .flatMap((filter) => aclChange(() => aclsOf(acls).describe(filter)))
      .map(aclView),
  'acls.remove': (acls, a) =>
    (a.raw('filters') as AclBindingFilter[])
      .flatMap((filter) => aclChange(() => aclsOf(acls).remove(filter)))
      .map(aclView),
};

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
