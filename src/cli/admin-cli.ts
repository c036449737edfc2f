/**
 * `pier user|vhost|permissions|policy ...`: the administration commands. Each builds one request
 * (admin/admin-commands.ts), sends it to the broker running on --data-dir through its control
 * socket or, when none runs there, applies it to the data directory itself, and prints the outcome.
 * `pier topics|groups ...` (Kafka queue depth and consumer lag) and `pier sqs ...` (SQS queue depth)
 * read live state: running broker only.
 * Exit codes: 0 done, 1 refused or failed, 2 usage error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { AdminRequest } from '../admin/admin-commands.js';
import type { AclView, TransactionView } from '../admin/kafka-admin-commands.js';
import { declaredSetting, describeDefault } from '../config/settings.js';
import type { PermissionEntry } from '../core/amqp/permissions.js';
import type { Policy } from '../core/amqp/policies.js';
import type { GroupLag, TopicDepth } from '../core/kafka/monitoring.js';
import type { SqsQueueDepth } from '../core/sqs/monitoring.js';
import { AclFlagError, type AclFlags, aclsToAdd, aclsToList, aclsToRemove } from './acl-flags.js';
import { AdminUnavailableError, sendAdminRequest } from './admin-client.js';
import { formatTable } from './table.js';

export const ADMIN_GROUPS = [
  'user',
  'vhost',
  'permissions',
  'policy',
  'definitions',
  'topics',
  'groups',
  'transactions',
  'acls',
  'sqs',
  'tls',
  'shovel',
] as const;
/** Groups that read a running broker's live state (nothing to edit offline). */
const LIVE_GROUPS: ReadonlySet<AdminGroup> = new Set([
  'topics',
  'groups',
  'transactions',
  'sqs',
  'tls',
  'shovel',
]);
export type AdminGroup = (typeof ADMIN_GROUPS)[number];

class UsageError extends Error {}

interface Flag {
  readonly name: string;
  readonly help: string;
  readonly env?: string;
  readonly default?: string;
  /** A switch without a value (its value is 'true' when given). */
  readonly boolean?: true;
  /** May be given more than once; the values reach `request` joined by newlines. */
  readonly multiple?: true;
}

type Values = Record<string, string | undefined>;

interface Command {
  readonly args: readonly string[];
  readonly summary: string;
  readonly flags: readonly Flag[];
  /** Builds the request from positionals and flag values (after env/defaults). */
  readonly request: (positionals: string[], values: Values) => AdminRequest;
  /** Prints a successful result; `where` says whether a running broker applied it. */
  readonly print: (result: unknown, positionals: string[], values: Values, where: string) => string;
}

const serveDataDir = declaredSetting('data-dir');
const DATA_DIR: Flag = {
  name: serveDataDir.flag,
  env: serveDataDir.env,
  default: describeDefault(serveDataDir),
  help: 'data directory of the broker to administer (running or stopped)',
};
const JSON_OUTPUT: Flag = { name: 'json', boolean: true, help: 'print JSON instead of a table' };
const VHOST: Flag = { name: 'vhost', env: 'PIER_VHOST', default: '/', help: 'virtual host' };
const VHOST_FILTER: Flag = {
  name: 'vhost',
  env: 'PIER_VHOST',
  help: 'list only this virtual host (default: all)',
};

/** kafka-acls.sh's resource, principal and operation flags. */
const ACL_FLAGS: readonly Flag[] = [
  {
    name: 'topic',
    multiple: true,
    help: 'a topic (repeatable); with --resource-pattern-type prefixed, a prefix; * for all',
  },
  { name: 'group', multiple: true, help: 'a consumer group (repeatable)' },
  { name: 'transactional-id', multiple: true, help: 'a transactional id (repeatable)' },
  { name: 'cluster', boolean: true, help: 'the cluster resource (kafka-cluster)' },
  {
    name: 'resource-pattern-type',
    help: 'literal (default for add/remove) or prefixed; list and remove also take any and match',
  },
  {
    name: 'allow-principal',
    multiple: true,
    help: 'principal to allow, e.g. User:alice or User:* (repeatable)',
  },
  { name: 'deny-principal', multiple: true, help: 'principal to deny (repeatable)' },
  { name: 'allow-host', multiple: true, help: 'IP address the allow applies from (default *)' },
  { name: 'deny-host', multiple: true, help: 'IP address the deny applies from (default *)' },
  {
    name: 'operation',
    multiple: true,
    help: 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable)',
  },
  {
    name: 'producer',
    boolean: true,
    help: 'WRITE, DESCRIBE and CREATE on the topics (WRITE, DESCRIBE on a --transactional-id)',
  },
  { name: 'consumer', boolean: true, help: 'READ and DESCRIBE on the topics, READ on the --group' },
  { name: 'idempotent', boolean: true, help: 'with --producer: IDEMPOTENT_WRITE on the cluster' },
];

const COMMANDS: Readonly<Record<AdminGroup, Readonly<Record<string, Command>>>> = {
  user: {
    add: {
      args: ['NAME', 'PASSWORD'],
      summary: "add a user (PASSWORD '-' reads it from stdin); it has no permissions until granted",
      flags: [{ name: 'tags', help: 'comma-separated tags, e.g. administrator,monitoring' }, DATA_DIR],
      request: ([name, password], v) => ({
        command: 'user.add',
        args: { name, password: readPassword(password!), tags: (v.tags ?? '').split(',').filter(Boolean) },
      }),
      print: (_r, [name], _v, where) => `user '${name}' added${where}\n`,
    },
    delete: {
      args: ['NAME'],
      summary: 'delete a user and its permissions; closes its connections',
      flags: [DATA_DIR],
      request: ([name]) => ({ command: 'user.delete', args: { name } }),
      print: (_r, [name], _v, where) => `user '${name}' deleted${where}\n`,
    },
    passwd: {
      args: ['NAME', 'PASSWORD'],
      summary: "change a user's password (PASSWORD '-' reads it from stdin)",
      flags: [DATA_DIR],
      request: ([name, password]) => ({
        command: 'user.passwd',
        args: { name, password: readPassword(password!) },
      }),
      print: (_r, [name], _v, where) => `password of user '${name}' changed${where}\n`,
    },
    tags: {
      args: ['NAME', 'TAGS'],
      summary:
        "set a user's tags (comma-separated; '' for none), e.g. administrator or monitoring,management",
      flags: [DATA_DIR],
      request: ([name, tags]) => ({
        command: 'user.tags',
        args: { name, tags: tags!.split(',').filter((t) => t.trim() !== '') },
      }),
      print: (_r, [name, tags], _v, where) => `tags of user '${name}' set to '${tags}'${where}\n`,
    },
    list: {
      args: [],
      summary: 'list users and their tags',
      flags: [DATA_DIR],
      request: () => ({ command: 'user.list' }),
      print: (r) =>
        formatTable(
          ['user', 'tags'],
          (r as Array<{ name: string; tags: string[] }>).map((u) => [u.name, u.tags.join(',')]),
        ),
    },
    'access-key add': {
      args: ['USER'],
      summary:
        'make an SQS access key (id and secret for SigV4) for a user; the secret is printed once. With keys, SQS checks signatures',
      flags: [
        {
          name: 'account',
          help: "the 12-digit account the key's caller acts as for queue policies (default: the queues' own account)",
        },
        DATA_DIR,
      ],
      request: ([user], v) => ({
        command: 'user.access-key.add',
        args: { user, ...(v.account !== undefined ? { account: v.account } : {}) },
      }),
      print: (r, [user], _v, where) => {
        const key = r as { accessKeyId: string; secretAccessKey: string; accountId?: string };
        return (
          `access key for user '${user}'${key.accountId ? ` (account ${key.accountId})` : ''} made${where}\n` +
          `AccessKeyId:     ${key.accessKeyId}\nSecretAccessKey: ${key.secretAccessKey}\n` +
          'The secret is not shown again; store it now (e.g. aws configure).\n'
        );
      },
    },
    'access-key list': {
      args: [],
      summary: "list SQS access keys (not their secrets), all or one user's",
      flags: [{ name: 'user', help: "only this user's keys" }, DATA_DIR],
      request: (_p, v) => ({
        command: 'user.access-key.list',
        args: v.user !== undefined ? { user: v.user } : {},
      }),
      print: (r) =>
        formatTable(
          ['access key id', 'user', 'account', 'created'],
          (
            r as Array<{ accessKeyId: string; user: string; accountId: string | null; createdMs: number }>
          ).map((k) => [k.accessKeyId, k.user, k.accountId ?? '', new Date(k.createdMs).toISOString()]),
        ),
    },
    'access-key delete': {
      args: ['ACCESS_KEY_ID'],
      summary: 'delete an SQS access key; requests signed with it are refused from now on',
      flags: [DATA_DIR],
      request: ([id]) => ({ command: 'user.access-key.delete', args: { id } }),
      print: (_r, [id], _v, where) => `access key '${id}' deleted${where}\n`,
    },
  },
  vhost: {
    add: {
      args: ['NAME'],
      summary: 'add a virtual host (nobody may use it until granted permissions)',
      flags: [DATA_DIR],
      request: ([name]) => ({ command: 'vhost.add', args: { name } }),
      print: (_r, [name], _v, where) => `vhost '${name}' added${where}\n`,
    },
    delete: {
      args: ['NAME'],
      summary:
        'delete a virtual host with its queues (and their messages), exchanges, permissions and policies',
      flags: [DATA_DIR],
      request: ([name]) => ({ command: 'vhost.delete', args: { name } }),
      print: (_r, [name], _v, where) => `vhost '${name}' deleted${where}\n`,
    },
    list: {
      args: [],
      summary: 'list virtual hosts',
      flags: [DATA_DIR],
      request: () => ({ command: 'vhost.list' }),
      print: (r) =>
        formatTable(
          ['name'],
          (r as Array<{ name: string }>).map((v) => [v.name]),
        ),
    },
  },
  permissions: {
    set: {
      args: ['USER', 'CONFIGURE', 'WRITE', 'READ'],
      summary: "set a user's configure/write/read regular expressions in a vhost ('.*' all, '' nothing)",
      flags: [VHOST, DATA_DIR],
      request: ([user, configure, write, read], v) => ({
        command: 'permissions.set',
        args: { user, vhost: v.vhost, configure, write, read },
      }),
      print: (_r, [user], v, where) => `permissions of user '${user}' in vhost '${v.vhost}' set${where}\n`,
    },
    clear: {
      args: ['USER'],
      summary: "clear a user's permissions in a vhost",
      flags: [VHOST, DATA_DIR],
      request: ([user], v) => ({ command: 'permissions.clear', args: { user, vhost: v.vhost } }),
      print: (_r, [user], v, where) =>
        `permissions of user '${user}' in vhost '${v.vhost}' cleared${where}\n`,
    },
    list: {
      args: [],
      summary: 'list permissions',
      flags: [VHOST_FILTER, DATA_DIR],
      request: (_p, v) => ({ command: 'permissions.list', args: { vhost: v.vhost } }),
      print: (r) =>
        formatTable(
          ['vhost', 'user', 'configure', 'write', 'read'],
          (r as PermissionEntry[]).map((p) => [p.vhost, p.user, p.configure, p.write, p.read]),
        ),
    },
    // RabbitMQ's topic permissions (rabbitmqctl set_topic_permissions): on topic exchanges, the
    // routing key of a publish must match WRITE and the binding key of a queue.bind READ;
    // {username} and {vhost} are expanded.
    'topic set': {
      args: ['USER', 'VHOST', 'EXCHANGE', 'WRITE', 'READ'],
      summary:
        "set a user's topic permission on a topic exchange: routing keys it may publish with (WRITE) and bind with (READ), regular expressions with {username} and {vhost}",
      flags: [DATA_DIR],
      request: ([user, vhost, exchange, write, read]) => ({
        command: 'permissions.topic.set',
        args: { user, vhost, exchange, write, read },
      }),
      print: (_r, [user, vhost, exchange], _v, where) =>
        `topic permission of user '${user}' on exchange '${exchange}' in vhost '${vhost}' set${where}\n`,
    },
    'topic clear': {
      args: ['USER', 'VHOST'],
      summary: "clear a user's topic permissions in a vhost (all exchanges, or --exchange)",
      flags: [{ name: 'exchange', help: 'only the topic permission on this exchange' }, DATA_DIR],
      request: ([user, vhost], v) => ({
        command: 'permissions.topic.clear',
        args: { user, vhost, ...(v.exchange !== undefined ? { exchange: v.exchange } : {}) },
      }),
      print: (r, [user, vhost], _v, where) =>
        `${r as number} topic permission(s) of user '${user}' in vhost '${vhost}' cleared${where}\n`,
    },
    'topic list': {
      args: [],
      summary: 'list topic permissions',
      flags: [VHOST_FILTER, DATA_DIR],
      request: (_p, v) => ({ command: 'permissions.topic.list', args: { vhost: v.vhost } }),
      print: (r) =>
        formatTable(
          ['vhost', 'user', 'exchange', 'write', 'read'],
          (r as Array<{ vhost: string; user: string; exchange: string; write: string; read: string }>).map(
            (p) => [p.vhost, p.user, p.exchange, p.write, p.read],
          ),
        ),
    },
  },
  policy: {
    set: {
      args: ['NAME', 'PATTERN', 'JSON'],
      summary: 'set a policy: queues/exchanges whose name matches PATTERN get the JSON definition',
      flags: [
        VHOST,
        { name: 'priority', default: '0', help: 'the highest-priority matching policy applies' },
        { name: 'apply-to', default: 'all', help: 'queues, exchanges or all' },
        DATA_DIR,
      ],
      request: ([name, pattern, json], v) => ({
        command: 'policy.set',
        args: {
          vhost: v.vhost,
          name,
          pattern,
          definition: parseDefinition(json!),
          priority: parsePriority(v.priority!),
          applyTo: parseApplyTo(v['apply-to']!),
        },
      }),
      print: (_r, [name], v, where) => `policy '${name}' set in vhost '${v.vhost}'${where}\n`,
    },
    clear: {
      args: ['NAME'],
      summary: 'clear a policy',
      flags: [VHOST, DATA_DIR],
      request: ([name], v) => ({ command: 'policy.clear', args: { vhost: v.vhost, name } }),
      print: (_r, [name], v, where) => `policy '${name}' cleared in vhost '${v.vhost}'${where}\n`,
    },
    list: {
      args: [],
      summary: 'list policies, highest priority first',
      flags: [VHOST_FILTER, DATA_DIR],
      request: (_p, v) => ({ command: 'policy.list', args: { vhost: v.vhost } }),
      print: (r) =>
        formatTable(
          ['vhost', 'name', 'pattern', 'apply-to', 'priority', 'definition'],
          (r as Policy[]).map((p) => [
            p.vhost,
            p.name,
            p.pattern,
            p.applyTo,
            String(p.priority),
            JSON.stringify(p.definition),
          ]),
        ),
    },
  },
  definitions: {
    export: {
      args: ['FILE'],
      summary:
        "write users, vhosts, permissions, policies, queues, exchanges and bindings in RabbitMQ's definitions format ('-' for stdout), and the Kafka ACLs under pier_kafka_acls (which RabbitMQ ignores)",
      flags: [VHOST_FILTER, DATA_DIR],
      request: (_p, v) => ({ command: 'definitions.export', args: { vhost: v.vhost } }),
      print: (r, [file]) => {
        const text = `${JSON.stringify(r, null, 2)}\n`;
        if (file === '-') return text;
        writeFileSync(file!, text);
        return `definitions written to ${file}\n`;
      },
    },
    import: {
      args: ['FILE'],
      summary:
        'import a RabbitMQ definitions file (e.g. from rabbitmqadmin export): all of it, or nothing when any object is invalid',
      flags: [VHOST_FILTER, DATA_DIR],
      request: ([file], v) => {
        let definitions: unknown;
        try {
          definitions = JSON.parse(readFileSync(file!, 'utf8'));
        } catch (error) {
          throw new UsageError(`cannot read definitions from ${file}: ${(error as Error).message}`);
        }
        return { command: 'definitions.import', args: { definitions, vhost: v.vhost } };
      },
      print: (_r, [file], _v, where) => `definitions imported from ${file}${where}\n`,
    },
  },
  topics: {
    list: {
      args: [],
      summary:
        'list Kafka topics: partitions, readable records (high watermark − log start) and bytes on disk',
      flags: [JSON_OUTPUT, DATA_DIR],
      request: () => ({ command: 'topics.list' }),
      print: (r, _p, v) =>
        v.json
          ? toJson(r)
          : formatTable(
              ['topic', 'partitions', 'records', 'bytes'],
              (r as TopicDepth[]).map((t) => [
                t.name,
                String(t.partitions.length),
                String(t.records),
                String(t.sizeBytes),
              ]),
            ),
    },
    describe: {
      args: ['TOPIC'],
      summary: "a Kafka topic's partitions: log start offset, high watermark, records and bytes",
      flags: [JSON_OUTPUT, DATA_DIR],
      request: ([name]) => ({ command: 'topics.describe', args: { name } }),
      print: (r, _p, v) =>
        v.json
          ? toJson(r)
          : formatTable(
              ['partition', 'log-start', 'high-watermark', 'records', 'bytes'],
              (r as TopicDepth).partitions.map((p) =>
                [p.partition, p.logStartOffset, p.highWatermark, p.records, p.sizeBytes].map(String),
              ),
            ),
    },
  },
  groups: {
    list: {
      args: [],
      summary: 'list Kafka consumer groups: state, members and total lag',
      flags: [JSON_OUTPUT, DATA_DIR],
      request: () => ({ command: 'groups.list' }),
      print: (r, _p, v) =>
        v.json
          ? toJson(r)
          : formatTable(
              ['group', 'state', 'members', 'protocol', 'lag'],
              (r as GroupLag[]).map((g) => [
                g.groupId,
                g.state,
                String(g.memberCount),
                g.protocol || '-',
                String(g.lag),
              ]),
            ),
    },
    describe: {
      args: ['GROUP'],
      summary: "a consumer group's lag per partition: committed offset, high watermark, lag and member",
      flags: [JSON_OUTPUT, DATA_DIR],
      request: ([group]) => ({ command: 'groups.describe', args: { group } }),
      print: (r, _p, v) => (v.json ? toJson(r) : formatGroupLag(r as GroupLag)),
    },
  },
  acls: {
    add: {
      args: [],
      summary:
        "add Kafka ACLs, with kafka-acls.sh's flags, e.g. --allow-principal User:alice --operation Read --topic orders",
      flags: [...ACL_FLAGS, DATA_DIR],
      request: (_p, v) => ({ command: 'acls.add', args: { bindings: aclFlagsOr(aclsToAdd, v) } }),
      print: (r, _p, _v, where) =>
        `${formatAcls(r as AclView[])}${(r as AclView[]).length} ACL(s) added${where}\n`,
    },
    list: {
      args: [],
      summary: 'list Kafka ACLs: all, or those of the named resources (--topic, --group, ...) or --principal',
      flags: [
        ...ACL_FLAGS,
        { name: 'principal', help: 'only the ACLs of this principal, e.g. User:alice' },
        JSON_OUTPUT,
        DATA_DIR,
      ],
      request: (_p, v) => ({ command: 'acls.list', args: { filters: aclFlagsOr(aclsToList, v) } }),
      print: (r, _p, v) => (v.json ? toJson(r) : formatAcls(r as AclView[])),
    },
    remove: {
      args: [],
      summary:
        'remove Kafka ACLs: those the flags describe, or with no principal/operation every ACL of the named resources',
      flags: [...ACL_FLAGS, DATA_DIR],
      request: (_p, v) => ({ command: 'acls.remove', args: { filters: aclFlagsOr(aclsToRemove, v) } }),
      print: (r, _p, _v, where) =>
        `${formatAcls(r as AclView[])}${(r as AclView[]).length} ACL(s) removed${where}\n`,
    },
  },
  transactions: {
    list: {
      args: [],
      summary: 'list Kafka transactional ids: producer id and epoch, state, open partitions',
      flags: [JSON_OUTPUT, DATA_DIR],
      request: () => ({ command: 'transactions.list' }),
      print: (r, _p, v) =>
        v.json
          ? toJson(r)
          : formatTable(
              ['transactional-id', 'producer-id', 'epoch', 'state', 'partitions'],
              (r as TransactionView[]).map((t) => [
                t.transactionalId,
                String(t.producerId),
                String(t.producerEpoch),
                t.state,
                String(t.partitions.length),
              ]),
            ),
    },
    describe: {
      args: ['TRANSACTIONAL_ID'],
      summary:
        "a transactional id's producer, state, timeout, start and the partitions and groups of its open transaction",
      flags: [JSON_OUTPUT, DATA_DIR],
      request: ([id]) => ({ command: 'transactions.describe', args: { id } }),
      print: (r, _p, v) => {
        if (v.json) return toJson(r);
        const t = r as TransactionView;
        return [
          `transactional-id ${t.transactionalId}`,
          `producer-id ${t.producerId} epoch ${t.producerEpoch}`,
          `state ${t.state}`,
          `timeout-ms ${t.timeoutMs}`,
          `started ${t.startTimeMs >= 0 ? new Date(t.startTimeMs).toISOString() : '-'}`,
          `partitions ${t.partitions.join(' ') || '-'}`,
          `groups ${t.groups.join(' ') || '-'}`,
          '',
        ].join('\n');
      },
    },
  },
  sqs: {
    list: {
      args: [],
      summary:
        'list SQS queues: visible, in-flight and delayed messages, age of the oldest one, dead-letter queue',
      flags: [JSON_OUTPUT, DATA_DIR],
      request: () => ({ command: 'sqs.list' }),
      print: (r, _p, v) => (v.json ? toJson(r) : formatSqsDepths(r as SqsQueueDepth[])),
    },
    describe: {
      args: ['QUEUE'],
      summary:
        "an SQS queue's depth, ARN, tags, dead-letter queue and the queues that dead-letter into it (REGION/QUEUE for a queue not of --sqs-region)",
      flags: [JSON_OUTPUT, DATA_DIR],
      request: ([name]) => ({ command: 'sqs.describe', args: { name } }),
      print: (r, _p, v) => {
        if (v.json) return toJson(r);
        const queue = r as SqsQueueDepth & { arn: string; deadLetterSources: string[] };
        return `${formatSqsDepths([queue])}arn ${queue.arn}\ndead-letter sources: ${
          queue.deadLetterSources.join(', ') || '-'
        }\n`;
      },
    },
  },
  tls: {
    reload: {
      args: [],
      summary:
        'read the TLS certificates, keys and CAs again (as SIGHUP does): new connections get them, open ones keep theirs; a bad file is refused and the old ones kept',
      flags: [JSON_OUTPUT, DATA_DIR],
      request: () => ({ command: 'tls.reload' }),
      print: (r, _p, v) => {
        if (v.json) return toJson(r);
        const { listeners } = r as {
          listeners: Array<{ listener: string; subject: string; fingerprint256: string; validTo: string }>;
        };
        if (listeners.length === 0) return 'no TLS listener is running\n';
        return listeners
          .map((l) => `${l.listener}: ${l.subject}, sha256 ${l.fingerprint256}, valid to ${l.validTo}\n`)
          .join('');
      },
    },
  },
  shovel: {
    add: {
      args: ['NAME', 'JSON'],
      summary:
        'define (or replace) a shovel: JSON is the shovel parameter\'s value, e.g. \'{"src-queue":"orders","dest-topic":"orders"}\' (docs/bridges.md)',
      flags: [VHOST, DATA_DIR],
      request: ([name, json], v) => ({
        command: 'shovel.add',
        args: { vhost: v.vhost, name, definition: parseShovelJson(json!) },
      }),
      print: (_r, [name], v, where) => `shovel '${name}' set in vhost '${v.vhost}'${where}\n`,
    },
    delete: {
      args: ['NAME'],
      summary: 'stop a shovel and delete its definition',
      flags: [VHOST, DATA_DIR],
      request: ([name], v) => ({ command: 'shovel.delete', args: { vhost: v.vhost, name } }),
      print: (_r, [name], v, where) => `shovel '${name}' deleted in vhost '${v.vhost}'${where}\n`,
    },
    list: {
      args: [],
      summary: 'list shovel definitions',
      flags: [VHOST_FILTER, JSON_OUTPUT, DATA_DIR],
      request: (_p, v) => ({ command: 'shovel.list', args: { vhost: v.vhost } }),
      print: (r, _p, v) =>
        v.json
          ? toJson(r)
          : formatTable(
              ['vhost', 'name', 'definition'],
              (r as Array<{ vhost: string; name: string; value: unknown }>).map((p) => [
                p.vhost,
                p.name,
                JSON.stringify(p.value),
              ]),
            ),
    },
    status: {
      args: [],
      summary: 'each shovel: state, messages moved and dead-lettered, last error',
      flags: [VHOST_FILTER, JSON_OUTPUT, DATA_DIR],
      request: (_p, v) => ({ command: 'shovel.status', args: { vhost: v.vhost } }),
      print: (r, _p, v) =>
        v.json
          ? toJson(r)
          : formatTable(
              ['vhost', 'name', 'state', 'moved', 'dead-lettered', 'source', 'destination', 'last-error'],
              (
                r as Array<{
                  vhost: string;
                  name: string;
                  state: string;
                  messagesMoved: number;
                  messagesDeadLettered?: number;
                  source: string;
                  destination: string;
                  lastError?: string;
                }>
              ).map((s) => [
                s.vhost,
                s.name,
                s.state,
                String(s.messagesMoved),
                String(s.messagesDeadLettered ?? 0),
                s.source,
                s.destination,
                s.lastError ?? '-',
              ]),
            ),
    },
  },
};

function parseShovelJson(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    throw new UsageError(
      `the shovel definition is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. '{"src-queue":"orders","dest-topic":"orders"}'`,
    );
  }
}

function formatAcls(acls: AclView[]): string {
  return formatTable(
    ['resource-type', 'name', 'pattern', 'principal', 'host', 'operation', 'permission'],
    acls.map((a) => [
      a.resourceType,
      a.resourceName,
      a.patternType,
      a.principal,
      a.host,
      a.operation,
      a.permission,
    ]),
  );
}

/** The kafka-acls.sh flags as lists, turned into bindings or filters; a bad flag is a usage error. */
function aclFlagsOr<T>(build: (flags: AclFlags) => T, v: Values): T {
  const many = (name: string) => (v[name] === undefined ? [] : v[name]!.split('\n'));
  try {
    return build({
      topic: many('topic'),
      group: many('group'),
      transactionalId: many('transactional-id'),
      cluster: v.cluster === 'true',
      resourcePatternType: v['resource-pattern-type'],
      allowPrincipal: many('allow-principal'),
      denyPrincipal: many('deny-principal'),
      allowHost: many('allow-host'),
      denyHost: many('deny-host'),
      operation: many('operation'),
      producer: v.producer === 'true',
      consumer: v.consumer === 'true',
      idempotent: v.idempotent === 'true',
      principal: v.principal,
    });
  } catch (error) {
    if (error instanceof AclFlagError) throw new UsageError(error.message);
    throw error;
  }
}

function formatSqsDepths(queues: SqsQueueDepth[]): string {
  return formatTable(
    ['queue', 'type', 'visible', 'in-flight', 'delayed', 'oldest-age-s', 'dead-letter-queue', 'region'],
    queues.map((q) => [
      q.name,
      q.fifo ? 'fifo' : 'standard',
      String(q.visible),
      String(q.inFlight),
      String(q.delayed),
      String(q.oldestAgeSeconds),
      q.deadLetterQueue ?? '-',
      q.region,
    ]),
  );
}

function toJson(result: unknown): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

function formatGroupLag(group: GroupLag): string {
  const summary = `group '${group.groupId}': ${group.state}, ${group.memberCount} member(s)${
    group.protocol ? `, assignor ${group.protocol}` : ''
  }, lag ${group.lag}\n`;
  const dash = (value: number | string | null) => (value === null ? '-' : String(value));
  const table = formatTable(
    ['topic', 'partition', 'committed', 'high-watermark', 'lag', 'member', 'client', 'host'],
    group.partitions.map((p) => [
      p.topic,
      String(p.partition),
      dash(p.committedOffset),
      dash(p.highWatermark),
      dash(p.lag),
      dash(p.memberId),
      dash(p.clientId),
      dash(p.clientHost),
    ]),
  );
  const uncommitted = group.partitions.some((p) => p.committedOffset === null)
    ? 'committed -: no offset committed; its lag counts every readable record (from the log start)\n'
    : '';
  return summary + table + uncommitted;
}

// ---- help --------------------------------------------------------------------------------

export function adminHelpLines(): string {
  return ADMIN_GROUPS.map(
    (g) => `  ${g.padEnd(12)} ${Object.keys(COMMANDS[g]).join('|')} (pier ${g} --help)`,
  ).join('\n');
}

function usageLine(group: AdminGroup, name: string, command: Command): string {
  const flags = command.flags
    .filter((f) => f !== DATA_DIR)
    .map((f) => (f.boolean ? `[--${f.name}]` : `[--${f.name} ${f.name.toUpperCase()}]`));
  return ['pier', group, name, ...flags, ...command.args].join(' ');
}

function groupHelp(group: AdminGroup): string {
  const lines = Object.entries(COMMANDS[group]).map(
    ([name, c]) => `  ${usageLine(group, name, c)}\n      ${c.summary}`,
  );
  const where = LIVE_GROUPS.has(group)
    ? `They read the live state of the broker running on that directory (through DIR/pier.sock).`
    : `A broker running on that directory applies the change at once (through DIR/pier.sock);
otherwise the stored definitions in DIR are edited and used when the broker starts.`;
  return `Usage:
${lines.join('\n')}

Every command also takes --data-dir DIR (env PIER_DATA_DIR, default ./data) and --help.
${where}
`;
}

function commandHelp(group: AdminGroup, name: string, command: Command): string {
  const flags = command.flags.map((f) => {
    const extra = [f.env && `env ${f.env}`, f.default !== undefined && `default ${f.default}`].filter(
      Boolean,
    );
    return `  --${f.name.padEnd(12)} ${f.help}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
  });
  return `Usage: ${usageLine(group, name, command)}

${command.summary}

Flags:
${flags.join('\n')}
  --help         show this text
`;
}

// ---- argument parsing --------------------------------------------------------------------

function readPassword(value: string): string {
  if (value !== '-') return value;
  const text = readFileSync(0, 'utf8');
  return text.replace(/\r?\n$/, '');
}

function parseDefinition(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new UsageError(
      `the policy definition is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. '{"max-length":1000}'`,
    );
  }
}

function parsePriority(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n))
    throw new UsageError(`--priority: '${value}' must be an integer`);
  return n;
}

function parseApplyTo(value: string): string {
  if (!['queues', 'exchanges', 'all'].includes(value)) {
    throw new UsageError(`--apply-to: '${value}' must be queues, exchanges or all`);
  }
  return value;
}

// ---- entry point -------------------------------------------------------------------------

/** Runs `pier <group> ...`; prints to stdout/stderr and returns the exit code. */
export async function runAdminCommand(group: AdminGroup, argv: string[]): Promise<number> {
  let [name, ...rest] = argv;
  // Two-word commands (`pier user access-key add`).
  if (name !== undefined && rest[0] !== undefined && COMMANDS[group][`${name} ${rest[0]}`]) {
    name = `${name} ${rest[0]}`;
    rest = rest.slice(1);
  }
  const err = (text: string, code: number) => {
    process.stderr.write(`pier: ${text}\n`);
    return code;
  };
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    // Without a subcommand this is a usage error: the help goes to stderr.
    (name === undefined ? process.stderr : process.stdout).write(groupHelp(group));
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[group][name];
  if (!command) {
    return err(`unknown command 'pier ${group} ${name}'; run 'pier ${group} --help' for the list`, 2);
  }
  const usage = `run 'pier ${group} ${name} --help'`;
  let positionals: string[];
  let values: Values;
  try {
    const parsed = parseArgs({
      args: rest,
      options: {
        ...Object.fromEntries(
          command.flags.map((f) => [
            f.name,
            { type: f.boolean ? ('boolean' as const) : ('string' as const), multiple: f.multiple ?? false },
          ]),
        ),
        help: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      process.stdout.write(commandHelp(group, name, command));
      return 0;
    }
    positionals = parsed.positionals;
    values = {};
    for (const f of command.flags) {
      const given = (parsed.values as Record<string, string | boolean | undefined>)[f.name];
      values[f.name] =
        (given === undefined ? undefined : Array.isArray(given) ? given.join('\n') : String(given)) ??
        (f.env ? process.env[f.env] : undefined) ??
        f.default;
    }
  } catch (error) {
    return err(`${(error as Error).message}; ${usage}`, 2);
  }
  if (positionals.length !== command.args.length) {
    const expected = command.args.length === 0 ? 'no arguments' : command.args.join(' ');
    return err(
      `'pier ${group} ${name}' takes ${expected}, got ${positionals.length} argument(s); ${usage}`,
      2,
    );
  }
  let request: AdminRequest;
  try {
    request = command.request(positionals, values);
  } catch (error) {
    if (error instanceof UsageError) return err(`${error.message}; ${usage}`, 2);
    throw error;
  }
  const dataDir = values['data-dir']!;
  try {
    const { response, online } = await sendAdminRequest(dataDir, request, {
      runningBrokerOnly: LIVE_GROUPS.has(group),
    });
    if (!response.ok) return err(response.error, 1);
    const where = online ? '' : ` (no broker running on ${dataDir}: stored for its next start)`;
    process.stdout.write(command.print(response.result, positionals, values, where));
    return 0;
  } catch (error) {
    if (error instanceof AdminUnavailableError) return err(error.message, 1);
    return err(`${(error as Error).message}`, 1);
  }
}
