/**
 * Definitions in RabbitMQ's export format (rabbit_definitions): users (with
 * rabbit_password_hashing_sha256 hashes and limits, which is how Pier stores passwords), vhosts,
 * permissions, topic permissions, runtime parameters (vhost limits, operator policies, shovels),
 * global parameters, policies, queues, exchanges and bindings, for the whole broker or one vhost. An import is all or
 * nothing: every object is checked (shapes, references, patterns, policies, queue arguments,
 * equivalence with what exists) before the first one is applied.
 */
import type { BrokerCore } from '../broker-core.js';
import { normalizeArguments } from '../definitions.js';
import { preconditionFailed } from './errors.js';
import { type BindingTarget, EXCHANGE_TYPES, type ExchangeType } from './exchange.js';
import { addVhost, setPermissions, setPolicy, setTopicPermission } from './management.js';
import { compilePermissionPattern } from './permissions.js';
import { validatePolicy } from './policies.js';
import { validateQueueArguments } from './queue-arguments.js';
import {
  setGlobalParameter,
  setParameter,
  USER_LIMIT_NAMES,
  VHOST_LIMITS_COMPONENT,
  validateLimits,
  validateParameter,
} from './runtime-parameters.js';
import { expandTopicPattern } from './topic-permissions.js';

export const RABBIT_HASHING_ALGORITHM = 'rabbit_password_hashing_sha256';
/** The RabbitMQ version written in exports (as the management API reports). */
export const EXPORTED_RABBITMQ_VERSION = '3.10.8';

/** Declares with this owner are not a connection's: exclusive queues refuse it. */
const DEFINITIONS_OWNER: unknown = Object.freeze({ importer: 'definitions' });

type Json = Record<string, unknown>;

const isPredeclared = (name: string) => name === '' || name.startsWith('amq.');

/** The broker's (or one vhost's) definitions in RabbitMQ's format. */
export function exportDefinitions(core: BrokerCore, onlyVhost?: string): Json {
  const vhostNames = onlyVhost === undefined ? [...core.vhosts.keys()].sort() : [onlyVhost];
  if (onlyVhost !== undefined && !core.vhosts.has(onlyVhost)) {
    throw preconditionFailed(`vhost '${onlyVhost}' does not exist`);
  }
  const withVhost = (vhost: string, object: Json): Json =>
    onlyVhost === undefined ? { ...object, vhost } : object;
  const queues: Json[] = [];
  const exchanges: Json[] = [];
  const bindings: Json[] = [];
  const policies: Json[] = [];
  // As RabbitMQ 3.10: parameters carry their vhost even in a per-vhost export.
  const parameters: Json[] = vhostNames.flatMap((name) =>
    core.parameters.list({ vhost: name }).map((p) => ({
      value: p.value,
      vhost: p.vhost,
      component: p.component,
      name: p.name,
    })),
  );
  for (const name of vhostNames) {
    const vhost = core.vhosts.get(name)!;
    for (const q of vhost.queues.values()) {
      if (!q.options.durable || q.options.exclusiveOwner !== undefined) continue;
      queues.push(
        withVhost(name, {
          name: q.name,
          durable: true,
          auto_delete: q.options.autoDelete,
          arguments: q.options.arguments,
        }),
      );
    }
    for (const x of vhost.exchanges.values()) {
      if (isPredeclared(x.name) || !x.options.durable) continue;
      exchanges.push(
        withVhost(name, {
          name: x.name,
          type: x.type,
          durable: true,
          auto_delete: x.options.autoDelete,
          internal: x.options.internal,
          arguments: x.options.arguments,
        }),
      );
    }
    for (const x of vhost.exchanges.values()) {
      if (x.name === '' || !x.options.durable) continue;
      for (const b of x.allBindings()) {
        const target =
          b.destination.kind === 'queue'
            ? vhost.queues.get(b.destination.name)?.options.durable
            : vhost.exchanges.get(b.destination.name)?.options.durable;
        if (!target) continue;
        bindings.push(
          withVhost(name, {
            source: b.source,
            destination: b.destination.name,
            destination_type: b.destination.kind,
            routing_key: b.routingKey,
            arguments: b.arguments,
          }),
        );
      }
    }
    for (const p of vhost.policies.list()) {
      policies.push(
        withVhost(name, {
          name: p.name,
          pattern: p.pattern,
          'apply-to': p.applyTo,
          definition: p.definition,
          priority: p.priority,
        }),
      );
    }
  }
  const common = {
    rabbit_version: EXPORTED_RABBITMQ_VERSION,
    rabbitmq_version: EXPORTED_RABBITMQ_VERSION,
    product_name: 'RabbitMQ',
    product_version: EXPORTED_RABBITMQ_VERSION,
  };
  if (onlyVhost !== undefined) {
    return { ...common, parameters, policies, queues, exchanges, bindings };
  }
  return {
    ...common,
    users: [...core.users.values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((u) => ({
        name: u.name,
        password_hash: u.passwordHash,
        hashing_algorithm: RABBIT_HASHING_ALGORITHM,
        tags: [...u.tags],
        limits: { ...(u.limits ?? {}) },
      })),
    vhosts: vhostNames.map((name) => ({ name, limits: [], metadata: { description: '', tags: [] } })),
    permissions: core.permissions.list().map((p) => ({
      user: p.user,
      vhost: p.vhost,
      configure: p.configure,
      write: p.write,
      read: p.read,
    })),
    topic_permissions: core.topicPermissions.list().map((p) => ({
      user: p.user,
      vhost: p.vhost,
      exchange: p.exchange,
      write: p.write,
      read: p.read,
    })),
    parameters,
    global_parameters: [...core.parameters.globals.values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((p) => ({ name: p.name, value: p.value })),
    policies,
    queues,
    exchanges,
    bindings,
  };
}

// ---- import ------------------------------------------------------------------------------

function list(defs: Json, key: string): Json[] {
  const value = defs[key];
  if (value === undefined || value === null) return [];
  if (
    !Array.isArray(value) ||
    !value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))
  ) {
    throw preconditionFailed(`'${key}' must be a list of objects`);
  }
  return value as Json[];
}

function str(object: Json, key: string, what: string, fallback?: string): string {
  const value = object[key] ?? fallback;
  if (typeof value !== 'string') throw preconditionFailed(`${what}: '${key}' must be a string`);
  return value;
}

function bool(object: Json, key: string, what: string, fallback: boolean): boolean {
  const value = object[key] ?? fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  if (typeof value !== 'boolean') throw preconditionFailed(`${what}: '${key}' must be a boolean`);
  return value;
}

function args(object: Json, what: string): Json {
  const value = object.arguments ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw preconditionFailed(`${what}: 'arguments' must be an object`);
  }
  return normalizeArguments(value as Json);
}

/**
 * User tags as RabbitMQ's definitions and API give them: a list, or the older comma-separated
 * string; undefined when the value is neither.
 */
export function parseUserTags(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) return undefined;
  return list.map((t) => t.trim()).filter((t) => t !== '');
}

function tagsOf(value: unknown, what: string): string[] {
  const tags = parseUserTags(value);
  if (tags === undefined)
    throw preconditionFailed(`${what}: 'tags' must be a list or a comma-separated string`);
  return tags;
}

/** A rabbit_password_hashing_sha256 hash: base64 of a 4-byte salt and a SHA-256 digest. */
export function isRabbitPasswordHash(hash: string): boolean {
  const bytes = Buffer.from(hash, 'base64');
  return hash === '' || (bytes.length === 36 && bytes.toString('base64') === hash);
}

/**
 * Imports definitions (RabbitMQ's format). With `intoVhost`, objects carry no vhost and go there
 * (a per-vhost import). Throws a precondition-failed BrokerError naming the first bad object,
 * before anything is changed.
 */
export function importDefinitions(core: BrokerCore, defs: unknown, intoVhost?: string): void {
  if (defs === null || typeof defs !== 'object' || Array.isArray(defs)) {
    throw preconditionFailed('definitions must be a JSON object');
  }
  const d = defs as Json;
  if (intoVhost !== undefined && !core.vhosts.has(intoVhost)) {
    throw preconditionFailed(`vhost '${intoVhost}' does not exist`);
  }
  const vhostOf = (o: Json, what: string) => intoVhost ?? str(o, 'vhost', what);

  // Validate: build the plan without touching the broker.
  const users = (intoVhost === undefined ? list(d, 'users') : []).map((u) => {
    const what = `user ${JSON.stringify(u.name)}`;
    const name = str(u, 'name', what);
    if (name === '') throw preconditionFailed('a user name must not be empty');
    const algorithm = u.hashing_algorithm ?? RABBIT_HASHING_ALGORITHM;
    if (algorithm !== RABBIT_HASHING_ALGORITHM) {
      throw preconditionFailed(
        `${what}: hashing_algorithm '${String(algorithm)}' is not supported (only ${RABBIT_HASHING_ALGORITHM})`,
      );
    }
    const hash = str(u, 'password_hash', what, '');
    if (!isRabbitPasswordHash(hash))
      throw preconditionFailed(`${what}: password_hash is not a ${RABBIT_HASHING_ALGORITHM} hash`);
    const limits =
      u.limits === undefined || u.limits === null
        ? {}
        : validateLimits(
            Array.isArray(u.limits) && u.limits.length === 0 ? {} : u.limits,
            USER_LIMIT_NAMES,
            `${what}: limits`,
          );
    return { name, hash, tags: tagsOf(u.tags, what), limits };
  });
  const vhosts = (intoVhost === undefined ? list(d, 'vhosts') : []).map((v) => {
    const name = str(v, 'name', 'vhost');
    if (name === '') throw preconditionFailed('a vhost name must not be empty');
    return name;
  });
  const knownVhosts = new Set([...core.vhosts.keys(), ...vhosts]);
  const knownUsers = new Set([...core.users.keys(), ...users.map((u) => u.name)]);
  const requireVhost = (name: string, what: string) => {
    if (!knownVhosts.has(name)) throw preconditionFailed(`${what}: vhost '${name}' does not exist`);
  };
  const permissions = (intoVhost === undefined ? list(d, 'permissions') : []).map((p) => {
    const what = `permissions of ${JSON.stringify(p.user)} in ${JSON.stringify(p.vhost)}`;
    const entry = {
      user: str(p, 'user', what),
      vhost: str(p, 'vhost', what),
      configure: str(p, 'configure', what),
      write: str(p, 'write', what),
      read: str(p, 'read', what),
    };
    if (!knownUsers.has(entry.user)) throw preconditionFailed(`${what}: user '${entry.user}' does not exist`);
    requireVhost(entry.vhost, what);
    for (const pattern of [entry.configure, entry.write, entry.read]) compilePermissionPattern(pattern);
    return entry;
  });
  const topicPermissions = (intoVhost === undefined ? list(d, 'topic_permissions') : []).map((p) => {
    const what = `topic permissions of ${JSON.stringify(p.user)} in ${JSON.stringify(p.vhost)}`;
    const entry = {
      user: str(p, 'user', what),
      vhost: str(p, 'vhost', what),
      exchange: str(p, 'exchange', what),
      write: str(p, 'write', what, ''),
      read: str(p, 'read', what, ''),
    };
    if (!knownUsers.has(entry.user)) throw preconditionFailed(`${what}: user '${entry.user}' does not exist`);
    requireVhost(entry.vhost, what);
    for (const pattern of [entry.write, entry.read]) {
      compilePermissionPattern(expandTopicPattern(pattern, entry.user, entry.vhost));
    }
    return entry;
  });
  const parameters = list(d, 'parameters').map((p) => {
    const what = `parameter ${JSON.stringify(p.name)} of component ${JSON.stringify(p.component)}`;
    const vhost = vhostOf(p, what);
    requireVhost(vhost, what);
    const entry = { component: str(p, 'component', what), vhost, name: str(p, 'name', what), value: p.value };
    try {
      const generic = validateParameter(entry.component, entry.vhost, entry.name, entry.value);
      core.parameters.validators.get(entry.component)?.(entry.vhost, entry.name, generic);
    } catch (error) {
      throw preconditionFailed(
        `${what} in vhost '${vhost}': ${(error as Error).message.replace(/^[A-Z_]+ - /, '')}`,
      );
    }
    return entry;
  });
  const globalParameters = (intoVhost === undefined ? list(d, 'global_parameters') : []).map((p) => {
    const what = `global parameter ${JSON.stringify(p.name)}`;
    const name = str(p, 'name', what);
    if (name === '' || p.value === undefined) throw preconditionFailed(`${what}: needs a name and a value`);
    return { name, value: p.value };
  });
  const policies = list(d, 'policies').map((p) => {
    const what = `policy ${JSON.stringify(p.name)}`;
    const vhost = vhostOf(p, what);
    requireVhost(vhost, what);
    const priority = p.priority ?? 0;
    const input = {
      vhost,
      name: str(p, 'name', what),
      pattern: str(p, 'pattern', what),
      applyTo: str(p, 'apply-to', what, 'all'),
      priority: typeof priority === 'string' ? Number(priority) : (priority as number),
      definition: p.definition,
    };
    validatePolicy(input);
    return input;
  });
  const queues = list(d, 'queues').map((q) => {
    const what = `queue ${JSON.stringify(q.name)}`;
    const vhost = vhostOf(q, what);
    requireVhost(vhost, what);
    const decl = {
      vhost,
      name: str(q, 'name', what),
      durable: bool(q, 'durable', what, true),
      autoDelete: bool(q, 'auto_delete', what, false),
      arguments: args(q, what),
    };
    if (decl.name === '' || decl.name.startsWith('amq.'))
      throw preconditionFailed(`${what}: reserved or empty name`);
    validateQueueArguments(decl.name, vhost, decl.arguments, { ...decl, exclusive: false });
    const existing = core.vhosts.get(vhost)?.queues.get(decl.name);
    if (
      existing &&
      (existing.options.durable !== decl.durable || existing.options.autoDelete !== decl.autoDelete)
    ) {
      throw preconditionFailed(`${what} in vhost '${vhost}' exists with other properties`);
    }
    return decl;
  });
  const exchanges = list(d, 'exchanges').map((x) => {
    const what = `exchange ${JSON.stringify(x.name)}`;
    const vhost = vhostOf(x, what);
    requireVhost(vhost, what);
    const decl = {
      vhost,
      name: str(x, 'name', what),
      type: str(x, 'type', what),
      durable: bool(x, 'durable', what, true),
      autoDelete: bool(x, 'auto_delete', what, false),
      internal: bool(x, 'internal', what, false),
      arguments: args(x, what),
    };
    if (!EXCHANGE_TYPES.includes(decl.type as ExchangeType)) {
      throw preconditionFailed(`${what}: unknown exchange type '${decl.type}'`);
    }
    if (decl.name === '') throw preconditionFailed(`${what}: the default exchange cannot be declared`);
    const existing = core.vhosts.get(vhost)?.exchanges.get(decl.name);
    if (existing && existing.type !== decl.type) {
      throw preconditionFailed(`${what} in vhost '${vhost}' exists with type '${existing.type}'`);
    }
    return decl;
  });
  const declared = (vhost: string, kind: BindingTarget['kind'], name: string) =>
    kind === 'queue'
      ? core.vhosts.get(vhost)?.queues.has(name) || queues.some((q) => q.vhost === vhost && q.name === name)
      : isPredeclared(name) ||
        core.vhosts.get(vhost)?.exchanges.has(name) ||
        exchanges.some((x) => x.vhost === vhost && x.name === name);
  const bindings = list(d, 'bindings').map((b) => {
    const what = `binding from ${JSON.stringify(b.source)} to ${JSON.stringify(b.destination)}`;
    const vhost = vhostOf(b, what);
    requireVhost(vhost, what);
    const kind = str(b, 'destination_type', what);
    if (kind !== 'queue' && kind !== 'exchange') {
      throw preconditionFailed(`${what}: destination_type must be 'queue' or 'exchange'`);
    }
    const binding = {
      vhost,
      source: str(b, 'source', what),
      destination: { kind, name: str(b, 'destination', what) } as BindingTarget,
      routingKey: str(b, 'routing_key', what, ''),
      arguments: args(b, what),
    };
    if (binding.source === '') throw preconditionFailed(`${what}: the default exchange cannot be bound`);
    if (!declared(vhost, 'exchange', binding.source))
      throw preconditionFailed(`${what}: no exchange '${binding.source}'`);
    if (!declared(vhost, kind, binding.destination.name)) {
      throw preconditionFailed(`${what}: no ${kind} '${binding.destination.name}'`);
    }
    return binding;
  });

  // The vhost's current queue limit holds for the imported queues (new limits apply after them).
  const newQueues = new Map<string, Set<string>>();
  for (const q of queues) {
    if (core.vhosts.get(q.vhost)?.queues.has(q.name)) continue;
    newQueues.set(q.vhost, (newQueues.get(q.vhost) ?? new Set()).add(q.name));
  }
  for (const [vhost, names] of newQueues) {
    const existing = core.vhosts.get(vhost);
    const maxQueues = existing?.limits.maxQueues;
    if (
      existing &&
      maxQueues !== undefined &&
      maxQueues >= 0 &&
      existing.queues.size + names.size > maxQueues
    ) {
      throw preconditionFailed(
        `${names.size} new queues in vhost '${vhost}' would pass its queue limit (${maxQueues}); ${existing.queues.size} exist`,
      );
    }
  }

  // Apply, in dependency order.
  for (const name of vhosts) addVhost(core, name);
  for (const u of users) {
    const existing = core.users.get(u.name);
    core.putUser({
      name: u.name,
      passwordHash: u.hash,
      tags: u.tags,
      ...(existing && existing.passwordHash === u.hash && existing.scram ? { scram: existing.scram } : {}),
      ...(Object.keys(u.limits).length > 0 ? { limits: u.limits } : {}),
    });
  }
  for (const p of permissions) setPermissions(core, p);
  for (const p of topicPermissions) setTopicPermission(core, p);
  for (const p of globalParameters) setGlobalParameter(core, p.name, p.value);
  for (const p of parameters) {
    if (p.component !== VHOST_LIMITS_COMPONENT) setParameter(core, p.component, p.vhost, p.name, p.value);
  }
  for (const p of policies) setPolicy(core, p);
  for (const x of exchanges) {
    core.vhosts.get(x.vhost)!.declareExchange({ ...x, passive: false });
  }
  for (const q of queues) {
    core.vhosts
      .get(q.vhost)!
      .declareQueue({ ...q, passive: false, exclusive: false, owner: DEFINITIONS_OWNER });
  }
  for (const b of bindings) {
    core.vhosts.get(b.vhost)!.bind(b.source, b.destination, b.routingKey, b.arguments, DEFINITIONS_OWNER);
  }
  // Limits last, so a lower max-queues does not refuse the queues this same file declares.
  for (const p of parameters) {
    if (p.component === VHOST_LIMITS_COMPONENT) setParameter(core, p.component, p.vhost, p.name, p.value);
  }
}
