/**
 * Composes Pier's AMQP side: the core (vhosts, exchanges, queues, users) over storage — durable
 * queues in segment logs, delayed and deduplicating exchanges in their own logs, stream queues in
 * stream logs — and the AMQP 0-9-1 listener. The core is restored even when the listener is off:
 * Kafka's SASL and the admin commands use its users.
 */

import type { StreamViewFactory } from '../core/amqp/stream-view-queue.js';
import { BrokerCore } from '../core/broker-core.js';
import type { Clock } from '../core/clock.js';
import type { LoginThrottleOptions } from '../core/login-throttle.js';
import { closeRevokedConnections } from '../protocol/amqp/access.js';
import type { AmqpConnection, AmqpLimits } from '../protocol/amqp/connection.js';
import { amqpPropertiesCodec } from '../protocol/amqp/message-properties-codec.js';
import { AmqpServer, DEFAULT_AMQP_LIMITS } from '../protocol/amqp/server.js';
import type { ResourceMonitor } from '../resources/resource-monitor.js';
import { DelayStorage } from '../storage/amqp/disk-delay-store.js';
import type { TransientPagingStats } from '../storage/amqp/transient-queue-store.js';
import { DedupStorage } from '../storage/disk-dedup-store.js';
import type { Storage } from '../storage/storage.js';
import { type BoundAddress, bindListener, formatHost, type ProtocolParts } from './listener.js';
import type { BoundTlsListener, TlsParts } from './tls.js';

export interface ListenerAddress extends BoundAddress {
  /** A client URL, e.g. `amqp://guest:guest@127.0.0.1:5672`. */
  readonly url: string;
}

export interface AmqpParts extends ProtocolParts<ListenerAddress> {
  readonly core: BrokerCore;
  /** Open connections and channels of the listener (0 while it is off), for the metrics. */
  connectionCount(): number;
  channelCount(): number;
  /** The listener's open connections (none while it is off): for the management API. */
  connections(): Iterable<AmqpConnection>;
  /** Non-durable queues' ready messages in memory and paged to disk (the metrics). */
  transientPaging(): TransientPagingStats;
  /** Binds the amqps listener (call once): the same connections, over TLS. */
  listenTls(host: string, port: number, tls: TlsParts): Promise<ListenerAddress>;
}

export interface AmqpCompositionInput {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly limits: Partial<AmqpLimits>;
  /** Memory and disk alarms: publishers are blocked while one is raised. */
  readonly alarms: ResourceMonitor;
  readonly log: (line: string) => void;
  /** Brute-force protection for logins (core/login-throttle.ts); defaults where absent. */
  readonly loginThrottle?: Partial<LoginThrottleOptions>;
  /** Kafka partitions seen as stream queues (`x-kafka-topic`): composition/stream-view.ts. */
  readonly streamViews?: StreamViewFactory;
}

export function composeAmqp({
  storage,
  clock,
  limits,
  alarms,
  log,
  loginThrottle,
  streamViews,
}: AmqpCompositionInput): AmqpParts {
  const delayStorage = new DelayStorage(storage.dataDir, storage.committer, { logger: log });
  const dedupStorage = new DedupStorage(storage.dataDir, storage.committer, { logger: log });
  // RabbitMQ's vm_memory_high_watermark_paging_ratio: past it, non-durable queues page what they can.
  alarms.onPagingChange((paging) => storage.transient.setMemoryPressure(paging));
  const core = new BrokerCore({
    clock,
    ...(loginThrottle ? { loginThrottle } : {}),
    definitions: storage.definitions,
    codec: amqpPropertiesCodec,
    createStore: (vhost, queueName, durable, level) => {
      // Non-durable queues keep a window in memory and page the rest to a scratch log.
      if (!durable) return storage.transient.openStore();
      // Each level of a priority queue has its own log.
      return storage.openQueueStore(vhost, level === 0 ? queueName : `${queueName}\0priority ${level}`);
    },
    createDelayStore: (vhost, exchange, durable) => delayStorage.openStore(vhost, exchange, durable),
    createStreamStore: (vhost, streamName, streamOptions) =>
      storage.openStreamStore(vhost, streamName, streamOptions),
    createDedupStore: (vhost, exchange) => dedupStorage.openStore(vhost, exchange),
    durability: storage.committer,
    ...(streamViews ? { streamViews } : {}),
  });
  let server: AmqpServer | undefined;
  let tlsListener: BoundTlsListener | undefined;
  let externalUser: ((socket: unknown) => string | undefined) | undefined;
  // One server holds the connections of both listeners (plain and TLS), made by whichever binds first.
  const ensureServer = (): AmqpServer => {
    if (server) return server;
    const created = new AmqpServer({
      core,
      durability: storage.committer,
      clock,
      limits: { ...DEFAULT_AMQP_LIMITS, ...limits },
      log,
      alarms,
      externalUser: (socket) => externalUser?.(socket),
    });
    server = created;
    core.revocations.add((revoked) => closeRevokedConnections(created.connections, revoked));
    return created;
  };
  return {
    core,
    connectionCount: () => server?.connections.size ?? 0,
    channelCount: () => server?.channelCount() ?? 0,
    connections: () => server?.connections ?? [],
    transientPaging: () => storage.transient.stats(),
    restore(storedDefinitions) {
      const startedAtMs = Date.now();
      core.restore(storedDefinitions);
      const durableQueues = [...core.allQueues()]
        .filter((q) => q.isDurable)
        .map((q) => ({ queue: q, ref: { vhost: q.vhost, queueName: q.name } }));
      if (durableQueues.length > 0) {
        const messages = durableQueues.reduce((sum, { queue }) => sum + queue.messageCount, 0);
        log(
          `recovered ${durableQueues.length} durable queue(s) holding ${messages} message(s) in ${Date.now() - startedAtMs} ms`,
        );
      }
      const refs = durableQueues.map(({ ref }) => ref);
      storage.removeOrphanQueueData(refs);
      delayStorage.removeOrphans();
      dedupStorage.removeOrphans();
      // Stream queues are durable queues too: their directories are kept.
      return refs;
    },
    async listen(host, port) {
      const listening = ensureServer();
      const bound = await bindListener('amqp', '--amqp-port', host, port, (h, p) => listening.listen(h, p));
      return { ...bound, url: `amqp://guest:guest@${formatHost(bound.host)}:${bound.port}` };
    },
    async listenTls(host, port, tls) {
      const listening = ensureServer();
      externalUser = (socket) => tls.externalUser(socket);
      tlsListener = await tls.listen('amqps', '--amqps-port', host, port, (socket) =>
        listening.accept(socket),
      );
      return {
        host: tlsListener.host,
        port: tlsListener.port,
        url: `amqps://guest:guest@${formatHost(tlsListener.host)}:${tlsListener.port}`,
      };
    },
    async stopListening() {
      const tlsClosed = tlsListener?.close();
      await server?.close();
      await tlsClosed;
    },
    close() {
      for (const vhost of core.vhosts.values()) vhost.extensions.close();
      delayStorage.close();
      dedupStorage.close();
    },
  };
}
