/**
 * The administration commands `pier user|vhost|permissions|policy` send, as plain JSON requests,
 * and their execution against a BrokerCore. The same code runs inside a broker (behind the
 * control socket) and in the CLI editing a stopped broker's data directory.
 */

import { BrokerError } from '../core/amqp/errors.js';
import * as management from '../core/amqp/management.js';
import { exportDefinitions, importDefinitions } from '../core/amqp/rabbit-definitions.js';
import { clearParameter, SHOVEL_COMPONENT, setParameter } from '../core/amqp/runtime-parameters.js';
import type { BrokerCore } from '../core/broker-core.js';
import {
  AclDefinitionError,
  exportAcls,
  KAFKA_ACLS_KEY,
  parseAclDefinitions,
} from '../core/kafka/acl-definitions.js';
import type { AclAuthorizer } from '../core/kafka/acls.js';
import { ACL_ADMIN_COMMANDS, KAFKA_ADMIN_COMMANDS, type KafkaAdminContext } from './kafka-admin-commands.js';
import { SQS_ADMIN_COMMANDS, type SqsAdminContext } from './sqs-admin-commands.js';

/** A shovel's status as `pier shovel status` prints it (composition passes src/bridge's). */
export interface ShovelStatusView {
  readonly vhost: string;
  readonly name: string;
  readonly state: string;
  readonly messagesMoved: number;
  readonly lastError: string | undefined;
  readonly source: string;
  readonly destination: string;
  readonly failuresInRow?: number;
  readonly nextRetryAtMs?: number | undefined;
  readonly messagesRefused?: number;
  readonly messagesDeadLettered?: number;
  readonly deadLetter?: string | undefined;
  readonly lastDeadLetterReason?: string | undefined;
}

/** What only a running broker has: live Kafka, SQS and shovel state, its TLS listeners. */
export type LiveAdminContext = KafkaAdminContext &
  Partial<SqsAdminContext> & {
    readonly shovels?: () => ShovelStatusView[];
    /** Reads the TLS files again (`pier tls reload`); throws, changing nothing, when one is bad. */
    readonly reloadTls?: () => unknown;
  };

export interface AdminRequest {
  readonly command: string;
  readonly args?: Record<string, unknown>;
}

export type AdminResponse = { ok: true; result: unknown } | { ok: false; error: string; kind?: string };

type Handler = (core: BrokerCore, args: Args) => unknown;

const COMMANDS: Readonly<Record<string, Handler>> = {
  'user.add': (core, a) =>
    management.addUser(core, a.string('name'), a.string('password'), a.strings('tags')),
  'user.delete': (core, a) => management.deleteUser(core, a.string('name')),
  'user.passwd': (core, a) => management.changePassword(core, a.string('name'), a.string('password')),
  'user.tags': (core, a) => management.setUserTags(core, a.string('name'), a.strings('tags')),
  'user.list': (core) => management.listUsers(core),
  'user.access-key.add': (core, a) => {
    const account = a.optionalString('account');
    return management.addAccessKey(core, a.string('user'), account);
  },
  'user.access-key.delete': (core, a) => management.deleteAccessKey(core, a.string('id')),
  'user.access-key.list': (core, a) => management.listAccessKeys(core, a.optionalString('user')),
  'vhost.add': (core, a) => management.addVhost(core, a.string('name')),
  'vhost.delete': (core, a) => management.deleteVhost(core, a.string('name')),
  'vhost.list': (core) => management.listVhosts(core),
  'permissions.set': (core, a) =>
    management.setPermissions(core, {
      user: a.string('user'),
      vhost: a.string('vhost'),
      configure: a.string('configure'),
      write: a.string('write'),
      read: a.string('read'),
    }),
  'permissions.clear': (core, a) => management.clearPermissions(core, a.string('user'), a.string('vhost')),
  'permissions.list': (core, a) => management.listPermissions(core, a.optionalString('vhost')),
  'permissions.topic.set': (core, a) =>
    management.setTopicPermission(core, {
      user: a.string('user'),
      vhost: a.string('vhost'),
      exchange: a.string('exchange'),
      write: a.string('write'),
      read: a.string('read'),
    }),
  'permissions.topic.clear': (core, a) =>
    management.clearTopicPermissions(core, a.string('user'), a.string('vhost'), a.optionalString('exchange')),
  'permissions.topic.list': (core, a) => {
    const vhost = a.optionalString('vhost');
    return core.topicPermissions.list(vhost === undefined ? {} : { vhost }).map((p) => ({ ...p }));
  },
  'policy.set': (core, a) =>
    management.setPolicy(core, {
      vhost: a.string('vhost'),
      name: a.string('name'),
      pattern: a.string('pattern'),
      applyTo: a.optionalString('applyTo'),
      priority: a.optionalNumber('priority'),
      definition: a.raw('definition'),
    }),
  'policy.clear': (core, a) => management.clearPolicy(core, a.string('vhost'), a.string('name')),
  'policy.list': (core, a) => management.listPolicies(core, a.optionalString('vhost')),
};

/**
 * `pier definitions export|import`: RabbitMQ's format, plus the Kafka ACLs under their own key
 * (whole-broker files only: ACLs belong to no vhost). Import checks the ACLs before anything else,
 * so a bad ACL changes nothing.
 */
function definitionsCommand(core: BrokerCore, command: string, a: Args, acls: AclAuthorizer | undefined) {
  const vhost = a.optionalString('vhost');
  if (command === 'definitions.export') {
    const exported = exportDefinitions(core, vhost);
    return acls && vhost === undefined ? { ...exported, [KAFKA_ACLS_KEY]: exportAcls(acls) } : exported;
  }
  const definitions = a.raw('definitions');
  let bindings: ReturnType<typeof parseAclDefinitions> = [];
  if (vhost === undefined && definitions !== null && typeof definitions === 'object') {
    try {
      bindings = parseAclDefinitions((definitions as Record<string, unknown>)[KAFKA_ACLS_KEY]);
    } catch (error) {
      if (error instanceof AclDefinitionError) throw new BadRequest(error.message);
      throw error;
    }
  }
  if (bindings.length > 0 && !acls)
    throw new BadRequest(
      `the file has ${KAFKA_ACLS_KEY} but Kafka ACLs are off on this broker: start it with --kafka-acls on, or import into its data directory while it is stopped`,
    );
  importDefinitions(core, definitions, vhost);
  for (const binding of bindings) acls!.add(binding);
  return null;
}

const SHOVEL_COMMANDS = ['shovel.add', 'shovel.delete', 'shovel.list', 'shovel.status'];

const DEFINITIONS_COMMANDS = ['definitions.export', 'definitions.import'];

export const ADMIN_COMMANDS: readonly string[] = [
  ...Object.keys(COMMANDS),
  ...DEFINITIONS_COMMANDS,
  ...Object.keys(ACL_ADMIN_COMMANDS),
  ...Object.keys(KAFKA_ADMIN_COMMANDS),
  ...Object.keys(SQS_ADMIN_COMMANDS),
  'tls.reload',
  ...SHOVEL_COMMANDS,
];

/**
 * Runs one request; failures become `{ ok: false, error }` with a text meant for the operator.
 * Kafka and SQS commands (topics.*, groups.*, sqs.*) need `live`: only a running broker has it.
 * ACL commands and definitions use the running broker's ACLs, or offline `storedAcls` (an
 * authorizer over the stopped broker's stored definitions).
 */
export function executeAdminRequest(
  core: BrokerCore,
  request: unknown,
  live?: LiveAdminContext,
  storedAcls?: AclAuthorizer,
): AdminResponse {
  try {
    if (request === null || typeof request !== 'object')
      throw new BadRequest('a request must be a JSON object');
    const { command, args } = request as AdminRequest;
    const handler = typeof command === 'string' ? COMMANDS[command] : undefined;
    const acls = live ? live.acls : storedAcls;
    const aclHandler = typeof command === 'string' ? ACL_ADMIN_COMMANDS[command] : undefined;
    if (aclHandler) return { ok: true, result: aclHandler(acls, new Args(args ?? {})) ?? null };
    if (typeof command === 'string' && DEFINITIONS_COMMANDS.includes(command))
      return { ok: true, result: definitionsCommand(core, command, new Args(args ?? {}), acls) ?? null };
    const kafkaHandler = typeof command === 'string' ? KAFKA_ADMIN_COMMANDS[command] : undefined;
    if (kafkaHandler) {
      if (!live) throw new BadRequest(`'${command}' reads live Kafka state: it needs a running broker`);
      return { ok: true, result: kafkaHandler(live, new Args(args ?? {})) ?? null };
    }
    if (command === 'tls.reload') {
      if (!live?.reloadTls) throw new BadRequest(`'tls.reload' reloads a running broker's certificates`);
      try {
        return { ok: true, result: live.reloadTls() };
      } catch (error) {
        return {
          ok: false,
          error: `TLS reload refused, the certificates in use are kept: ${(error as Error).message}`,
          kind: 'tls',
        };
      }
    }
    const sqsHandler = typeof command === 'string' ? SQS_ADMIN_COMMANDS[command] : undefined;
    if (sqsHandler) {
      if (!live?.sqsQueues || !live.clock)
        throw new BadRequest(`'${command}' reads live SQS state: it needs a running broker`);
      const sqs = { sqsQueues: live.sqsQueues, clock: live.clock };
      return { ok: true, result: sqsHandler(sqs, new Args(args ?? {})) ?? null };
    }
    if (typeof command === 'string' && command.startsWith('shovel.')) {
      // Shovels are checked (src/bridge) and run only by a running broker: no offline edits.
      if (!live?.shovels) throw new BadRequest(`'${command}' needs a running broker (shovels run there)`);
      return { ok: true, result: shovelCommand(core, command, new Args(args ?? {}), live.shovels) ?? null };
    }
    if (!handler)
      throw new BadRequest(`unknown command '${String(command)}'; known: ${ADMIN_COMMANDS.join(', ')}`);
    const result = handler(core, new Args(args ?? {}));
    return { ok: true, result: result ?? null };
  } catch (error) {
    if (error instanceof BrokerError) return { ok: false, error: error.detail, kind: error.kind };
    if (error instanceof BadRequest) return { ok: false, error: error.message, kind: 'bad-request' };
    return { ok: false, error: `internal error: ${(error as Error)?.message ?? error}`, kind: 'internal' };
  }
}

function shovelCommand(
  core: BrokerCore,
  command: string,
  a: Args,
  shovels: () => ShovelStatusView[],
): unknown {
  const vhost = a.optionalString('vhost');
  switch (command) {
    case 'shovel.add':
      return setParameter(core, SHOVEL_COMPONENT, vhost ?? '/', a.string('name'), a.raw('definition'));
    case 'shovel.delete':
      return clearParameter(core, SHOVEL_COMPONENT, vhost ?? '/', a.string('name'));
    case 'shovel.list':
      return core.parameters.list({ component: SHOVEL_COMPONENT, ...(vhost === undefined ? {} : { vhost }) });
    case 'shovel.status':
      return shovels().filter((s) => vhost === undefined || s.vhost === vhost);
    default:
      throw new BadRequest(`unknown command '${command}'; known: ${SHOVEL_COMMANDS.join(', ')}`);
  }
}

class BadRequest extends Error {}

/** Typed access to request arguments. */
class Args {
  constructor(private readonly values: Record<string, unknown>) {}

  raw(name: string): unknown {
    return this.values[name];
  }

  string(name: string): string {
    const value = this.values[name];
    if (typeof value !== 'string') throw new BadRequest(`argument '${name}' must be a string`);
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.values[name] === undefined ? undefined : this.string(name);
  }

  optionalNumber(name: string): number | undefined {
    const value = this.values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number') throw new BadRequest(`argument '${name}' must be a number`);
    return value;
  }

  strings(name: string): string[] {
    const value = this.values[name] ?? [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      throw new BadRequest(`argument '${name}' must be a list of strings`);
    return value;
  }
}
