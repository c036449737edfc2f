/**
 * Administration of a BrokerCore: users, vhosts, permissions and policies, with RabbitMQ's rules
 * (rabbitmqctl add_user, delete_vhost, set_permissions, set_policy ...). Every change is durable
 * through the core's DefinitionWriter and takes effect at once: deleting a vhost or a user closes
 * its connections, a permission change applies to the next operation, a policy change is pushed
 * to the matching queues and exchanges. The same functions serve the control socket of a running
 * broker and offline edits of a data directory.
 */
import { type AccessKey, newAccessKeyId, newSecretAccessKey } from '../access-keys.js';
import type { BrokerCore } from '../broker-core.js';
import type { DefinitionEntry } from '../definitions.js';
import { passwordCredentials } from '../users.js';
import { notFound, preconditionFailed } from './errors.js';
import type { PermissionEntry } from './permissions.js';
import { type Policy, type PolicyInput, reapplyPolicies, validatePolicy } from './policies.js';
import { forgetVhostParameters, USER_LIMIT_NAMES, validateLimits } from './runtime-parameters.js';
import type { TopicPermissionEntry } from './topic-permissions.js';
import type { VirtualHost } from './vhost.js';

/** Connections of a deleted user or vhost must go; protocols subscribe via core.revocations. */
export interface Revocation {
  readonly user?: string;
  readonly vhost?: string;
  /** Reply text after `CONNECTION_FORCED - `, as RabbitMQ words it. */
  readonly reason: string;
}

/** Marks a data directory whose permissions are stored (older ones had none and allowed all). */
const PERMISSIONS_MARKER = 'permissions';

const permissionKey = (user: string, vhost: string) => `${user}\0${vhost}`;
const policyKey = (vhost: string, name: string) => `${vhost}\0${name}`;
const topicPermissionKey = (user: string, vhost: string, exchange: string) =>
  `${user}\0${vhost}\0${exchange}`;

// ---- users -------------------------------------------------------------------------------

export interface UserInfo {
  readonly name: string;
  readonly tags: readonly string[];
}

export function addUser(
  core: BrokerCore,
  name: string,
  password: string,
  tags: readonly string[] = [],
): void {
  if (name === '') throw preconditionFailed('a user name must not be empty');
  if (core.users.has(name)) {
    throw preconditionFailed(`user '${name}' already exists; change its password with 'pier user passwd'`);
  }
  core.putUser({ name, ...passwordCredentials(password), tags: cleanTags(tags) });
}

export function changePassword(core: BrokerCore, name: string, password: string): void {
  const user = requireUser(core, name);
  core.putUser({ ...user, ...passwordCredentials(password) });
}

/** Replaces a user's tags (management access levels: administrator, monitoring, policymaker, management). */
export function setUserTags(core: BrokerCore, name: string, tags: readonly string[]): void {
  const user = requireUser(core, name);
  core.putUser({ ...user, tags: cleanTags(tags) });
}

/** Deletes a user with its permissions and closes its connections (RabbitMQ: "user 'x' is deleted"). */
export function deleteUser(core: BrokerCore, name: string): void {
  requireUser(core, name);
  core.users.delete(name);
  core.definitions.delete('user', name);
  for (const key of core.accessKeys.list(name)) deleteAccessKey(core, key.accessKeyId);
  for (const entry of core.permissions.list({ user: name })) removePermission(core, entry.user, entry.vhost);
  for (const entry of core.topicPermissions.list({ user: name }))
    removeTopicPermissions(core, entry.user, entry.vhost);
  revoke(core, { user: name, reason: `user '${name}' is deleted` });
}

export function listUsers(core: BrokerCore): UserInfo[] {
  return [...core.users.values()]
    .map((u) => ({ name: u.name, tags: [...u.tags] }))
    .sort((a, b) => compare(a.name, b.name));
}

// ---- SQS access keys of users ------------------------------------------------------------

/** Makes a new access key for a user (its secret is shown once, by the caller). */
export function addAccessKey(core: BrokerCore, user: string, accountId?: string): AccessKey {
  requireUser(core, user);
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    throw preconditionFailed(`account id '${accountId}' must be 12 digits`);
  }
  const key: AccessKey = {
    accessKeyId: newAccessKeyId(),
    secretAccessKey: newSecretAccessKey(),
    user,
    ...(accountId !== undefined ? { accountId } : {}),
    createdMs: core.clock.now(),
  };
  core.accessKeys.set(key);
  core.definitions.put('access-key', key.accessKeyId, key);
  return key;
}

export function deleteAccessKey(core: BrokerCore, accessKeyId: string): void {
  if (!core.accessKeys.delete(accessKeyId)) {
    throw notFound(`no access key '${accessKeyId}'; 'pier user access-key list' shows them`);
  }
  core.definitions.delete('access-key', accessKeyId);
}

/** The keys (without their secrets) of one user or of all. */
export function listAccessKeys(
  core: BrokerCore,
  user?: string,
): Array<{ accessKeyId: string; user: string; accountId: string | null; createdMs: number }> {
  if (user !== undefined) requireUser(core, user);
  return core.accessKeys.list(user).map((k) => ({
    accessKeyId: k.accessKeyId,
    user: k.user,
    accountId: k.accountId ?? null,
    createdMs: k.createdMs,
  }));
}

// ---- vhosts ------------------------------------------------------------------------------

/** Adds a vhost; adding an existing one does nothing, as in RabbitMQ. Nobody has access until granted. */
export function addVhost(core: BrokerCore, name: string): void {
  if (name === '') throw preconditionFailed('a vhost name must not be empty');
  core.addVhost(name);
}

/**
 * Deletes a vhost: closes its connections with 320 CONNECTION_FORCED, then removes its queues
 * (and their stored messages), exchanges, bindings, permissions and policies.
 */
export function deleteVhost(core: BrokerCore, name: string): void {
  const vhost = requireVhost(core, name);
  revoke(core, { vhost: name, reason: `vhost '${name}' is deleted` });
  for (const queue of [...vhost.queues.values()]) vhost.removeQueue(queue);
  for (const exchange of [...vhost.exchanges.values()]) {
    if (exchange.name !== '' && !exchange.name.startsWith('amq.')) vhost.deleteExchange(exchange.name, false);
  }
  for (const policy of vhost.policies.list()) core.definitions.delete('policy', policyKey(name, policy.name));
  for (const entry of core.permissions.list({ vhost: name })) removePermission(core, entry.user, entry.vhost);
  for (const entry of core.topicPermissions.list({ vhost: name }))
    removeTopicPermissions(core, entry.user, entry.vhost);
  forgetVhostParameters(core, name);
  core.vhosts.delete(name);
  core.definitions.delete('vhost', name);
}

export function listVhosts(core: BrokerCore): Array<{ name: string }> {
  return [...core.vhosts.keys()].sort(compare).map((name) => ({ name }));
}

// ---- permissions -------------------------------------------------------------------------

export function setPermissions(core: BrokerCore, entry: PermissionEntry): void {
  requireUser(core, entry.user);
  requireVhost(core, entry.vhost);
  const stored = {
    user: entry.user,
    vhost: entry.vhost,
    configure: entry.configure,
    write: entry.write,
    read: entry.read,
  };
  core.permissions.set(stored); // compiles first: an invalid pattern throws before anything is written
  core.definitions.put('permission', permissionKey(entry.user, entry.vhost), stored);
}

/** Clears a user's permissions in a vhost; its open connections are refused from the next operation on. */
export function clearPermissions(core: BrokerCore, user: string, vhost: string): void {
  requireUser(core, user);
  requireVhost(core, vhost);
  removePermission(core, user, vhost);
}

export function listPermissions(core: BrokerCore, vhost?: string): PermissionEntry[] {
  if (vhost !== undefined) requireVhost(core, vhost);
  return core.permissions.list(vhost === undefined ? {} : { vhost });
}

function removePermission(core: BrokerCore, user: string, vhost: string): void {
  core.permissions.delete(user, vhost);
  core.definitions.delete('permission', permissionKey(user, vhost));
}

// ---- topic permissions -------------------------------------------------------------------

/** Sets (replacing) a user's topic permission for one exchange of a vhost. */
export function setTopicPermission(core: BrokerCore, entry: TopicPermissionEntry): void {
  requireUser(core, entry.user);
  requireVhost(core, entry.vhost);
  const stored = core.topicPermissions.set(entry); // compiles first: an invalid pattern throws
  core.definitions.put(
    'topic-permission',
    topicPermissionKey(entry.user, entry.vhost, entry.exchange),
    stored,
  );
}

/** Clears a user's topic permissions in a vhost: one exchange's, or all when `exchange` is undefined. */
export function clearTopicPermissions(
  core: BrokerCore,
  user: string,
  vhost: string,
  exchange?: string,
): number {
  requireUser(core, user);
  requireVhost(core, vhost);
  return removeTopicPermissions(core, user, vhost, exchange);
}

function removeTopicPermissions(core: BrokerCore, user: string, vhost: string, exchange?: string): number {
  const removed = core.topicPermissions.delete(user, vhost, exchange);
  for (const e of removed)
    core.definitions.delete('topic-permission', topicPermissionKey(e.user, e.vhost, e.exchange));
  return removed.length;
}

// ---- user limits -------------------------------------------------------------------------

/** Sets one user limit (max-connections, max-channels), as `rabbitmqctl set_user_limits`. */
export function setUserLimit(core: BrokerCore, name: string, limit: string, value: unknown): void {
  const user = requireUser(core, name);
  const limits = validateLimits({ ...(user.limits ?? {}), [limit]: value }, USER_LIMIT_NAMES, 'user-limits');
  core.putUser({ ...user, limits });
}

export function clearUserLimit(core: BrokerCore, name: string, limit: string): void {
  const user = requireUser(core, name);
  const { [limit]: _removed, ...rest } = user.limits ?? {};
  const { limits: _old, ...base } = user;
  core.putUser(Object.keys(rest).length > 0 ? { ...base, limits: rest } : base);
}

// ---- policies ----------------------------------------------------------------------------

export type { PolicyInput };

/** Sets (or replaces) a policy after validating it, and applies it to matching queues and exchanges. */
export function setPolicy(core: BrokerCore, input: PolicyInput): Policy {
  const vhost = requireVhost(core, input.vhost);
  const policy = validatePolicy(input);
  vhost.policies.set(policy);
  core.definitions.put('policy', policyKey(policy.vhost, policy.name), policy);
  reapplyPolicies(vhost);
  return policy;
}

export function clearPolicy(core: BrokerCore, vhostName: string, name: string): void {
  const vhost = requireVhost(core, vhostName);
  if (!vhost.policies.delete(name)) {
    throw notFound(`no policy '${name}' in vhost '${vhostName}'; 'pier policy list' shows the policies`);
  }
  core.definitions.delete('policy', policyKey(vhostName, name));
  reapplyPolicies(vhost);
}

export function listPolicies(core: BrokerCore, vhostName?: string): Policy[] {
  const vhosts = vhostName === undefined ? [...core.vhosts.values()] : [requireVhost(core, vhostName)];
  return vhosts.sort((a, b) => compare(a.name, b.name)).flatMap((v) => v.policies.list());
}

// ---- restore -----------------------------------------------------------------------------

/**
 * Restores permissions and policies at start-up (after vhosts and users, before queues and
 * exchanges, so those are created with their policy). A data directory without stored
 * permissions (first start, or written before permissions existed) gives every existing user
 * full access to every existing vhost: on first start that is guest on '/', as RabbitMQ does.
 */
export function restoreAccessControl(core: BrokerCore, entries: readonly DefinitionEntry[]): void {
  for (const e of entries) {
    if (e.kind === 'permission') {
      const p = e.value as PermissionEntry;
      if (core.users.has(p.user) && core.vhosts.has(p.vhost)) core.permissions.set(p);
    } else if (e.kind === 'topic-permission') {
      const p = e.value as TopicPermissionEntry;
      if (core.users.has(p.user) && core.vhosts.has(p.vhost)) core.topicPermissions.set(p);
    } else if (e.kind === 'policy') {
      const p = e.value as Policy;
      core.vhosts.get(p.vhost)?.policies.set(p);
    }
  }
  // The standard exchanges exist before the policies are restored; queues and other exchanges
  // are restored later and pick their policy up when created.
  for (const vhost of core.vhosts.values()) if (vhost.policies.size > 0) reapplyPolicies(vhost);
  if (!entries.some((e) => e.kind === 'meta' && e.key === PERMISSIONS_MARKER)) {
    for (const user of core.users.keys()) {
      for (const vhost of core.vhosts.keys()) {
        if (!core.permissions.get(user, vhost))
          setPermissions(core, { user, vhost, configure: '.*', write: '.*', read: '.*' });
      }
    }
    core.definitions.put('meta', PERMISSIONS_MARKER, true);
  }
}

// ---- helpers -----------------------------------------------------------------------------

function revoke(core: BrokerCore, revocation: Revocation): void {
  for (const listener of core.revocations) listener(revocation);
}

function requireUser(core: BrokerCore, name: string) {
  const user = core.users.get(name);
  if (!user) throw notFound(`user '${name}' does not exist; 'pier user list' shows the users`);
  return user;
}

function requireVhost(core: BrokerCore, name: string): VirtualHost {
  const vhost = core.vhosts.get(name);
  if (!vhost) throw notFound(`vhost '${name}' does not exist; 'pier vhost list' shows the vhosts`);
  return vhost;
}

function cleanTags(tags: readonly string[]): string[] {
  return tags.map((t) => t.trim()).filter((t) => t !== '');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
