import type { DelayStoreFactory } from './amqp/delay-store.js';
import type { ExchangeType } from './amqp/exchange.js';
import { type Revocation, restoreAccessControl } from './amqp/management.js';
import type { MessagePropertiesCodec } from './amqp/message-properties.js';
import { PermissionTable } from './amqp/permissions.js';
import { type QueueStoreFactory, VirtualHost } from './amqp/vhost.js';
import type { Clock } from './clock.js';
import type { DedupStoreFactory } from './dedup-store.js';
import type { DefinitionWriter } from './definitions.js';
import type { StreamStoreFactory } from './stream/stream-store.js';
import { checkPassword, GUEST_USER, isLoopbackAddress, passwordCredentials, type User } from './users.js';

export interface StoredDefinition {
  kind: string;
  key: string;
  value: unknown;
}

export type AuthResult = { ok: true; user: User } | { ok: false; reason: string };

/**
 * The protocol-independent broker: vhosts with their exchanges, queues and bindings, and users.
 * No sockets, no files: storage comes in through the store factory and the definition writer.
 */
export class BrokerCore {
  readonly vhosts = new Map<string, VirtualHost>();
  readonly users = new Map<string, User>();
  /** Configure/write/read patterns per (user, vhost); managed through core/management.ts. */
  readonly permissions = new PermissionTable();
  /** Told when a user or vhost is deleted, so each protocol closes the affected connections. */
  readonly revocations = new Set<(revocation: Revocation) => void>();

  constructor(
    readonly clock: Clock,
    private readonly createStore: QueueStoreFactory,
    readonly definitions: DefinitionWriter,
    private readonly codec: MessagePropertiesCodec,
    /** Where delayed exchanges keep their messages (default: in memory). */
    private readonly createDelayStore?: DelayStoreFactory,
    /** Stores for stream queues; in memory when absent. */
    private readonly createStreamStore?: StreamStoreFactory,
    /** Where durable deduplicating exchanges keep their ids; in memory only when absent. */
    private readonly createDedupStore?: DedupStoreFactory,
  ) {}

  /** Rebuilds state from stored definitions; creates the default vhost and guest user on first start. */
  restore(entries: readonly StoredDefinition[]): void {
    const byKind = (kind: string) =>
      entries.filter((e) => e.kind === kind).map((e) => e.value as Record<string, never>);
    for (const v of byKind('vhost')) this.addVhost(v.name, false);
    for (const u of byKind('user'))
      this.users.set(u.name, {
        name: u.name,
        passwordHash: u.passwordHash,
        tags: u.tags ?? [],
        scram: u.scram,
      });
    if (!entries.some((e) => e.kind === 'meta' && e.key === 'initialized')) {
      this.addVhost('/', true);
      this.putUser({ name: GUEST_USER, ...passwordCredentials('guest'), tags: ['administrator'] });
      this.definitions.put('meta', 'initialized', true);
    }
    restoreAccessControl(this, entries);
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
      vhost = new VirtualHost(name, {
        clock: this.clock,
        createStore: this.createStore,
        definitions: this.definitions,
        codec: this.codec,
        createDelayStore: this.createDelayStore,
        createStreamStore: this.createStreamStore,
        createDedupStore: this.createDedupStore,
      });
      this.vhosts.set(name, vhost);
      if (persist) this.definitions.put('vhost', name, { name });
    }
    return vhost;
  }

  putUser(user: User): void {
    this.users.set(user.name, user);
    this.definitions.put('user', user.name, user);
  }

  /** Checks a login; guest is refused from non-loopback addresses, as RabbitMQ does. */
  authenticate(username: string, password: string, remoteAddress: string | undefined): AuthResult {
    const user = this.users.get(username);
    if (!user || !checkPassword(user, password)) {
      return {
        ok: false,
        reason: `Login was refused using authentication mechanism PLAIN. For details see the broker logfile.`,
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
