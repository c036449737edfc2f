/**
 * Topic permissions (RabbitMQ's rabbit_auth_backend_internal topic authorisation): per (user,
 * vhost, exchange) write and read regular expressions over routing keys, checked only for topic
 * exchanges. A publish needs its routing key to match `write`; a binding (queue.bind/unbind,
 * exchange.bind/unbind) with a topic exchange as source needs its key to match `read`. Without an
 * entry for the exchange everything is allowed. `{username}` and `{vhost}` in a pattern are
 * replaced by the connection's values before matching; the empty pattern matches only ''.
 */
import { accessRefused } from './errors.js';
import { compilePermissionPattern } from './permissions.js';

export interface TopicPermissionEntry {
  readonly user: string;
  readonly vhost: string;
  readonly exchange: string;
  readonly write: string;
  readonly read: string;
}

export type TopicPermission = 'write' | 'read';

const key = (user: string, vhost: string) => `${user}\0${vhost}`;

/** `{username}` and `{vhost}` replaced, as RabbitMQ expands topic permission variables. */
export function expandTopicPattern(pattern: string, user: string, vhost: string): string {
  return pattern.replaceAll('{username}', user).replaceAll('{vhost}', vhost);
}

export class TopicPermissionTable {
  /** (user, vhost) -> exchange -> entry. */
  private readonly entries = new Map<string, Map<string, TopicPermissionEntry>>();
  /** Compiled, expanded patterns, cached per (user, vhost, exchange, permission). */
  private readonly compiled = new Map<string, RegExp>();

  /** Sets (replacing) one exchange's entry; throws on an invalid pattern before storing. */
  set(entry: TopicPermissionEntry): TopicPermissionEntry {
    compilePermissionPattern(expandTopicPattern(entry.write, entry.user, entry.vhost));
    compilePermissionPattern(expandTopicPattern(entry.read, entry.user, entry.vhost));
    const stored = {
      user: entry.user,
      vhost: entry.vhost,
      exchange: entry.exchange,
      write: entry.write,
      read: entry.read,
    };
    let byExchange = this.entries.get(key(entry.user, entry.vhost));
    if (!byExchange) {
      byExchange = new Map();
      this.entries.set(key(entry.user, entry.vhost), byExchange);
    }
    byExchange.set(entry.exchange, stored);
    this.compiled.clear();
    return stored;
  }

  /** Deletes one exchange's entry, or every entry of (user, vhost) when `exchange` is undefined. */
  delete(user: string, vhost: string, exchange?: string): TopicPermissionEntry[] {
    const byExchange = this.entries.get(key(user, vhost));
    if (!byExchange) return [];
    const removed = [...byExchange.values()].filter((e) => exchange === undefined || e.exchange === exchange);
    for (const e of removed) byExchange.delete(e.exchange);
    if (byExchange.size === 0) this.entries.delete(key(user, vhost));
    this.compiled.clear();
    return removed;
  }

  /** Every entry, ordered by vhost, user, exchange. */
  list(filter: { user?: string; vhost?: string } = {}): TopicPermissionEntry[] {
    return [...this.entries.values()]
      .flatMap((m) => [...m.values()])
      .filter(
        (e) =>
          (filter.user === undefined || e.user === filter.user) &&
          (filter.vhost === undefined || e.vhost === filter.vhost),
      )
      .sort(
        (a, b) => compare(a.vhost, b.vhost) || compare(a.user, b.user) || compare(a.exchange, b.exchange),
      );
  }

  /** Whether (user, vhost) has any topic permission: the hot publish path checks nothing otherwise. */
  has(user: string, vhost: string): boolean {
    return this.entries.size > 0 && this.entries.has(key(user, vhost));
  }

  /**
   * Throws 403 ACCESS_REFUSED with RabbitMQ's text unless the routing key matches the user's
   * pattern for this topic exchange.
   */
  check(
    user: string,
    vhost: string,
    exchange: string,
    permission: TopicPermission,
    routingKey: string,
  ): void {
    const entry = this.entries.get(key(user, vhost))?.get(exchange);
    if (!entry) return;
    const cacheKey = `${user}\0${vhost}\0${exchange}\0${permission}`;
    let regex = this.compiled.get(cacheKey);
    if (!regex) {
      regex = compilePermissionPattern(expandTopicPattern(entry[permission], user, vhost));
      this.compiled.set(cacheKey, regex);
    }
    if (!regex.test(routingKey)) {
      throw accessRefused(
        `access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${user}'`,
      );
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
