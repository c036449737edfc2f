import { type AccessKey, AccessKeyTable } from './access-keys.js';
import type { ExchangeType } from './amqp/exchange.js';
import { type Revocation, restoreAccessControl } from './amqp/management.js';
import { PermissionTable } from './amqp/permissions.js';
import { ParameterTable, restoreParameters } from './amqp/runtime-parameters.js';
import { TopicPermissionTable } from './amqp/topic-permissions.js';
import { VirtualHost, type VirtualHostContext } from './amqp/vhost.js';
import type { Clock } from './clock.js';
import type { DefinitionEntry, DefinitionWriter } from './definitions.js';
import { LoginThrottle, type LoginThrottleOptions, lockedOutReason } from './login-throttle.js';
import { AmqpStats } from './stats.js';
import { checkPassword, GUEST_USER, isLoopbackAddress, passwordCredentials, type User } from './users.js';

/**
 * What the core is built from: its clock, where definitions are recorded, the message-properties
 * codec and the store factories (in memory where a factory is absent). Every vhost shares it.
 */
export type BrokerCoreContext = VirtualHostContext & {
  /** Brute-force protection for every protocol's login; defaults in login-throttle.ts. */
  readonly loginThrottle?: Partial<LoginThrottleOptions>;
};

export type AuthResult = { ok: true; user: User } | { ok: false; reason: string };

/**
 * The protocol-independent broker: vhosts with their exchanges, queues and bindings, and users.
 * No sockets, no files: storage comes in through the store factory and the definition writer.
 */
export class BrokerCore {
  readonly vhosts = new Map<string, VirtualHost>();
  readonly users = new Map<string, User>();
  /** Configure/write/read patterns per (user, vhost); managed through core/amqp/management.ts. */
  readonly permissions = new PermissionTable();
  /** Write/read patterns over routing keys per (user, vhost, topic exchange): topic-permissions.ts. */
  readonly topicPermissions = new TopicPermissionTable();
  /** Runtime parameters (vhost limits, operator policies, shovels) and global parameters. */
  readonly parameters = new ParameterTable();
  /** SQS access keys of users (`pier user access-key`), checked by the SQS front's SigV4. */
  readonly accessKeys = new AccessKeyTable();
  /** Told when a user or vhost is deleted, so each protocol closes the affected connections. */
  readonly revocations = new Set<(revocation: Revocation) => void>();

  readonly clock: Clock;
  readonly definitions: DefinitionWriter;
  /** Failed logins per source address, shared by AMQP, Kafka SASL, SQS SigV4 and the HTTP API. */
  readonly loginThrottle: LoginThrottle;

  /** Message and churn counters of every vhost and of the AMQP listener (for the metrics). */
  readonly stats: AmqpStats;
  private readonly context: BrokerCoreContext;

  /** `context` is what every vhost is built with: the clock, the definition writer and the stores. */
  constructor(context: BrokerCoreContext) {
    this.stats = context.stats ?? new AmqpStats();
    this.context = { ...context, stats: this.stats };
    this.clock = context.clock;
    this.definitions = context.definitions;
    this.loginThrottle = new LoginThrottle(context.clock, context.loginThrottle);
  }

  /** Rebuilds state from stored definitions; creates the default vhost and guest user on first start. */
  restore(entries: readonly DefinitionEntry[]): void {
    const byKind = (kind: string) =>
      entries.filter((e) => e.kind === kind).map((e) => e.value as Record<string, never>);
    for (const v of byKind('vhost')) this.addVhost(v.name, false);
    for (const u of byKind('user'))
      this.users.set(u.name, {
        name: u.name,
        passwordHash: u.passwordHash,
        tags: u.tags ?? [],
        scram: u.scram,
        ...(u.limits ? { limits: u.limits } : {}),
      });
    if (!entries.some((e) => e.kind === 'meta' && e.key === 'initialized')) {
      this.addVhost('/', true);
      this.putUser({ name: GUEST_USER, ...passwordCredentials('guest'), tags: ['administrator'] });
      this.definitions.put('meta', 'initialized', true);
    }
    for (const k of byKind('access-key')) this.accessKeys.set(k as unknown as AccessKey);
    restoreAccessControl(this, entries);
    restoreParameters(this, entries);
    for (const e of byKind('exchange')) {
      this.vhosts.get(e.vhost)?.restoreExchange(e.name, e.type as ExchangeType, {
        durable: true,
        autoDelete: e.autoDelete,
        internal: e.internal,
        arguments: e.arguments ?? {},
      });
    }
    for (const q of byKind('queue')) {
      this.vhosts.get(q.vhost)?.addQueue(q.name, {
        durable: true,
        exclusiveOwner: undefined,
        autoDelete: q.autoDelete,
        arguments: q.arguments ?? {},
      });
    }
    for (const b of byKind('binding')) {
      this.vhosts.get(b.vhost)?.restoreBinding(b.source, b.destination, b.routingKey, b.arguments ?? {});
    }
  }

  addVhost(name: string, persist = true): VirtualHost {
    let vhost = this.vhosts.get(name);
    if (!vhost) {
      vhost = new VirtualHost(name, this.context);
      this.vhosts.set(name, vhost);
      if (persist) this.definitions.put('vhost', name, { name });
    }
    return vhost;
  }

  putUser(user: User): void {
    this.users.set(user.name, user);
    this.definitions.put('user', user.name, user);
  }

  /**
   * Checks a login; guest is refused from non-loopback addresses, as RabbitMQ does. An address
   * locked out by the login throttle is refused without the password being looked at.
   */
  authenticate(username: string, password: string, remoteAddress: string | undefined): AuthResult {
    const retryAfterMs = this.loginThrottle.retryAfterMs(remoteAddress);
    if (retryAfterMs > 0) {
      return { ok: false, reason: lockedOutReason(remoteAddress ?? 'this address', retryAfterMs) };
    }
    const user = this.users.get(username);
    if (!user || !checkPassword(user, password)) {
      this.loginThrottle.failed(remoteAddress);
      return {
        ok: false,
        reason: `Login was refused using authentication mechanism PLAIN. For details see the broker logfile.`,
      };
    }
    if (username === GUEST_USER && !isLoopbackAddress(remoteAddress)) {
      return { ok: false, reason: `user '${username}' can only connect via localhost` };
    }
    this.loginThrottle.succeeded(remoteAddress);
    return { ok: true, user };
  }

  /**
   * Checks an EXTERNAL login (the user named by a verified client certificate): the user must
   * exist, and guest stays loopback-only; no password is checked, as in RabbitMQ.
   */
  authenticateExternal(username: string, remoteAddress: string | undefined): AuthResult {
    const user = this.users.get(username);
    if (!user) {
      return {
        ok: false,
        reason: `Login was refused using authentication mechanism EXTERNAL: the client certificate names '${username}', which is no user; add it with 'pier user add'`,
      };
    }
    if (username === GUEST_USER && !isLoopbackAddress(remoteAddress)) {
      return { ok: false, reason: `user '${username}' can only connect via localhost` };
    }
    return { ok: true, user };
  }

  /** Every queue in every vhost (for shutdown and monitoring). */
  *allQueues() {
    for (const vhost of this.vhosts.values()) yield* vhost.queues.values();
  }
}
