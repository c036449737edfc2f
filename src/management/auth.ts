/**
 * HTTP Basic authentication against Pier's users, and RabbitMQ's tag-based access levels
 * (rabbit_web_dispatch_access_control, rabbit_mgmt_util): a user without a management-family tag
 * gets 401, as in RabbitMQ; an action the user's tags do not permit gets 403.
 */
import type { BrokerCore } from '../core/broker-core.js';
import { lockedOutReason } from '../core/login-throttle.js';
import { checkPassword, GUEST_USER, isLoopbackAddress, type User } from '../core/users.js';
import { forbidden, notAuthorized } from './errors.js';

/** What a route needs, from the least to the most privileged. */
export type AccessLevel = 'management' | 'policymaker' | 'monitoring' | 'administrator';

const GRANTS: Record<string, readonly AccessLevel[]> = {
  management: ['management'],
  policymaker: ['management', 'policymaker'],
  monitoring: ['management', 'monitoring'],
  administrator: ['management', 'policymaker', 'monitoring', 'administrator'],
};

export function levelsOf(user: User): Set<AccessLevel> {
  return new Set(user.tags.flatMap((tag) => GRANTS[tag] ?? []));
}

/** Whether the user sees every vhost (monitoring, administrator) or only those it has permissions in. */
export function seesAllVhosts(user: User): boolean {
  return levelsOf(user).has('monitoring');
}

export function authenticate(
  core: BrokerCore,
  authorization: string | undefined,
  remoteAddress: string | undefined,
): User {
  const match = authorization ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization) : null;
  if (!match) throw notAuthorized('Login failed');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw notAuthorized('Login failed');
  const name = decoded.slice(0, colon);
  const retryAfterMs = core.loginThrottle.retryAfterMs(remoteAddress);
  if (retryAfterMs > 0) throw notAuthorized(lockedOutReason(remoteAddress ?? 'this address', retryAfterMs));
  const user = core.users.get(name);
  if (!user || !checkPassword(user, decoded.slice(colon + 1))) {
    core.loginThrottle.failed(remoteAddress);
    throw notAuthorized('Login failed');
  }
  core.loginThrottle.succeeded(remoteAddress);
  if (name === GUEST_USER && !isLoopbackAddress(remoteAddress)) {
    throw notAuthorized('User can only log in via localhost');
  }
  if (levelsOf(user).size === 0) throw notAuthorized('Not management user');
  return user;
}

export function requireLevel(user: User, level: AccessLevel): void {
  if (!levelsOf(user).has(level)) throw forbidden(`Not ${level} user`);
}

/** A non-monitoring user may act only in vhosts it has permissions in (as RabbitMQ). */
export function requireVhostAccess(core: BrokerCore, user: User, vhost: string): void {
  if (seesAllVhosts(user)) return;
  if (!core.permissions.get(user.name, vhost)) throw forbidden(`Access refused to vhost '${vhost}'`);
}

export function visibleVhosts(core: BrokerCore, user: User): string[] {
  const names = [...core.vhosts.keys()].sort();
  return seesAllVhosts(user) ? names : names.filter((v) => core.permissions.get(user.name, v));
}
