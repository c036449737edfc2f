/**
 * Per-(user, vhost) permissions: configure / write / read regular expressions, as RabbitMQ's
 * internal authorisation backend keeps them. A user may open a connection to a vhost only if it
 * has an entry there (even one of three empty patterns); each operation then needs its pattern to
 * match the resource name.
 */
import { accessRefused, preconditionFailed } from './errors.js';

export type Permission = 'configure' | 'write' | 'read';
export type ResourceKind = 'queue' | 'exchange';

/** The stored form: the patterns as the administrator wrote them. */
export interface PermissionEntry {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

interface CompiledEntry extends PermissionEntry {
  readonly patterns: Readonly<Record<Permission, RegExp>>;
}

/**
 * Compiles a permission pattern with RabbitMQ's semantics: unanchored search (`re:run`), so 'fg'
 * matches 'xcfgq'; the empty pattern means "nothing" and becomes '^$'.
 */
export function compilePermissionPattern(source: string): RegExp {
  try {
    return new RegExp(source === '' ? '^$' : source);
  } catch (error) {
    throw preconditionFailed(`regular expression '${source}' is invalid: ${(error as Error).message}`);
  }
}

/** RabbitMQ checks the default exchange (named '') under the name 'amq.default'. */
export function permissionResourceName(kind: ResourceKind, name: string): string {
  return kind === 'exchange' && name === '' ? 'amq.default' : name;
}

export class PermissionTable {
  private readonly entries = new Map<string, CompiledEntry>();
  /** Bumped on every change, so callers may cache decisions until it moves. */
  version = 0;

  /** Sets (replacing) a user's permissions in a vhost; throws on an invalid pattern. */
  set(entry: PermissionEntry): PermissionEntry {
    const compiled: CompiledEntry = {
      user: entry.user,
      vhost: entry.vhost,
      configure: entry.configure,
      write: entry.write,
      read: entry.read,
      patterns: {
        configure: compilePermissionPattern(entry.configure),
        write: compilePermissionPattern(entry.write),
        read: compilePermissionPattern(entry.read),
      },
    };
    this.entries.set(key(entry.user, entry.vhost), compiled);
    this.version++;
    return compiled;
  }

  delete(user: string, vhost: string): boolean {
    const removed = this.entries.delete(key(user, vhost));
    if (removed) this.version++;
    return removed;
  }

  get(user: string, vhost: string): PermissionEntry | undefined {
    return this.entries.get(key(user, vhost));
  }

  /** Every entry, ordered by vhost then user. */
  list(filter: { user?: string; vhost?: string } = {}): PermissionEntry[] {
    return [...this.entries.values()]
      .filter(
        (e) =>
          (filter.user === undefined || e.user === filter.user) &&
          (filter.vhost === undefined || e.vhost === filter.vhost),
      )
      .sort((a, b) => compare(a.vhost, b.vhost) || compare(a.user, b.user))
      .map(({ user, vhost, configure, write, read }) => ({ user, vhost, configure, write, read }));
  }

  /** Whether `user` may do `permission` on the named resource in `vhost`. */
  allows(user: string, vhost: string, permission: Permission, resourceName: string): boolean {
    const entry = this.entries.get(key(user, vhost));
    return entry?.patterns[permission].test(resourceName) ?? false;
  }

  /** Throws 403 ACCESS_REFUSED with RabbitMQ's text unless the access is allowed. */
  check(user: string, vhost: string, permission: Permission, kind: ResourceKind, name: string): void {
    const resource = permissionResourceName(kind, name);
    if (!this.allows(user, vhost, permission, resource)) {
      throw accessRefused(`access to ${kind} '${resource}' in vhost '${vhost}' refused for user '${user}'`);
    }
  }
}

function key(user: string, vhost: string): string {
  return `${user}\0${vhost}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
