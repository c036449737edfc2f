/**
 * Composes Pier's Kafka side: the topic registry and group coordinator over storage, and the API
 * table the Kafka listener dispatches on. Topics and committed offsets are restored even when the
 * listener is off, so their data is kept.
 */
import { randomBytes } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { ResolvedBrokerOptions } from '../config/settings.js';
import type { BrokerCore } from '../core/broker-core.js';
import type { Clock } from '../core/clock.js';
import { AclAuthorizer } from '../core/kafka/acls.js';
import { GroupCoordinator } from '../core/kafka/group-coordinator.js';
import { ShareGroupCoordinator } from '../core/kafka/share-groups.js';
import type { TopicCompression } from '../core/kafka/topic.js';
import { TopicRegistry } from '../core/kafka/topic-registry.js';
import { TransactionCoordinator } from '../core/kafka/transaction-coordinator.js';
import { buildApiTable } from '../protocol/kafka/api-table.js';
import { aclApis } from '../protocol/kafka/apis/acls.js';
import { clusterAdminApis, type LogDirectory } from '../protocol/kafka/apis/cluster-admin.js';
import { configApis } from '../protocol/kafka/apis/configs.js';
import { deleteRecordsApis } from '../protocol/kafka/apis/delete-records.js';
import { fetchApis } from '../protocol/kafka/apis/fetch.js';
import { findCoordinatorApis } from '../protocol/kafka/apis/find-coordinator.js';
import { groupAdminApis } from '../protocol/kafka/apis/group-admin.js';
import { groupApis } from '../protocol/kafka/apis/groups.js';
import { initProducerIdApis } from '../protocol/kafka/apis/init-producer-id.js';
import { listOffsetsApis } from '../protocol/kafka/apis/list-offsets.js';
import { metadataApis } from '../protocol/kafka/apis/metadata.js';
import { offsetDeleteApis } from '../protocol/kafka/apis/offset-delete.js';
import { offsetApis } from '../protocol/kafka/apis/offsets.js';
import { produceApis } from '../protocol/kafka/apis/produce.js';
import { saslApis } from '../protocol/kafka/apis/sasl.js';
import { shareApis, shareSessionCache } from '../protocol/kafka/apis/share.js';
import { shareOffsetsApis } from '../protocol/kafka/apis/share-offsets.js';
import { topicAdminApis } from '../protocol/kafka/apis/topics-admin.js';
import { transactionAdminApis } from '../protocol/kafka/apis/transaction-admin.js';
import { transactionApis } from '../protocol/kafka/apis/transactions.js';
import { authorizeApis, KafkaAccess } from '../protocol/kafka/authorization.js';
import type { KafkaCluster, KafkaSettings } from '../protocol/kafka/cluster.js';
import { FetchSessionCache } from '../protocol/kafka/fetch-sessions.js';
import type { KafkaApi } from '../protocol/kafka/kafka-api.js';
import { LogCleaner, type LogCleanerStats } from '../protocol/kafka/log-cleaner.js';
import { KafkaProducers, producerIdBlockStoreIn } from '../protocol/kafka/producers.js';
import { KafkaServer } from '../protocol/kafka/server.js';
import { writeMarker } from '../protocol/kafka/transaction-markers.js';
import type { WriteAvailability } from '../resources/resource-monitor.js';
import { CleanerOffsetCheckpoint } from '../storage/kafka/cleaner-offset-checkpoint.js';
import { DiskGroupOffsetStore } from '../storage/kafka/disk-group-offset-store.js';
import { DiskShareStateStore } from '../storage/kafka/disk-share-state-store.js';
import { DiskTransactionLog } from '../storage/kafka/disk-transaction-log.js';
import type { Storage } from '../storage/storage.js';
import {
  type BoundAddress,
  BrokerConfigError,
  bindListener,
  formatHost,
  isLoopbackHost,
  type ProtocolParts,
} from './listener.js';
import type { BoundTlsListener, TlsParts } from './tls.js';

/** Kafka settings; the defaults are those of the `--kafka-*` settings (config/settings.ts). */
export interface KafkaOptions extends Partial<KafkaSettings> {
  /** Host clients are told to connect to (Metadata, FindCoordinator). Default: the bound host. */
  advertisedHost?: string;
  /** Port clients are told to connect to. Default: the bound port. */
  advertisedPort?: number;
  /**
   * Require SASL (PLAIN, SCRAM-SHA-256/512) with the broker's users. Default: off on a loopback
   * host, on otherwise; switching it off beyond loopback is refused.
   */
  sasl?: boolean;
  /** group.initial.rebalance.delay.ms: how long a new group waits for more members (tests: 0). */
  groupInitialRebalanceDelayMs?: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms. */
  groupMinSessionTimeoutMs?: number;
  groupMaxSessionTimeoutMs?: number;
  /** transaction.max.timeout.ms: the longest transaction timeout a producer may ask for. */
  transactionMaxTimeoutMs?: number;
  /** Kafka ACLs decide what each principal may do (`--kafka-acls`). Default: off. */
  acls?: boolean;
  /** Principals ACLs do not restrict, e.g. `User:admin` (super.users). */
  superUsers?: readonly string[];
  /** allow.everyone.if.no.acl.found. Default: false. */
  allowEveryoneIfNoAclFound?: boolean;
  /** Broker compression.type: the codec of topics without their own (default 'producer': as produced). */
  compressionType?: TopicCompression;
  /** How often the log cleaner looks at compacted topics (log.cleaner.backoff.ms). */
  logCleanerIntervalMs?: number;
  /** max.incremental.fetch.session.cache.slots: fetch sessions kept (0: none, every fetch is full). */
  fetchSessionCacheSlots?: number;
  /** group.share.min.record.lock.duration.ms: the shortest share.record.lock.duration.ms a group may set. */
  shareMinLockDurationMs?: number;
}

export interface KafkaListenerAddress extends BoundAddress {
  /** For a client's bootstrap servers, e.g. `127.0.0.1:9092`. */
  readonly bootstrap: string;
}

export interface KafkaParts extends ProtocolParts<KafkaListenerAddress> {
  /**
   * Binds the TLS listener (call once): security.protocol SSL, or SASL_SSL with SASL on. Clients that
   * bootstrap on it are told its port in Metadata and FindCoordinator.
   */
  listenTls(host: string, port: number, tls: TlsParts): Promise<KafkaListenerAddress>;
  readonly settings: KafkaSettings;
  readonly topics: TopicRegistry;
  readonly groups: GroupCoordinator;
  readonly transactions: TransactionCoordinator;
  /** The ACLs, when `--kafka-acls on`. */
  readonly acls: AclAuthorizer | undefined;
  /** The log cleaner's figures (Kafka's LogCleanerManager metrics). */
  readonly logCleaner: { readonly stats: LogCleanerStats };
}

export interface KafkaCompositionInput {
  readonly storage: Storage;
  /** Kafka's SASL logs in Pier's users. */
  readonly core: BrokerCore;
  readonly clock: Clock;
  /** With the defaults filled in (resolveBrokerOptions). */
  readonly options: ResolvedBrokerOptions['kafka'];
  readonly log: (line: string) => void;
  /** The disk alarm: produce is refused with KAFKA_STORAGE_ERROR while it is raised. */
  readonly writes?: WriteAvailability;
  /** Told after a topic is deleted (its AMQP stream views go with it). */
  readonly onTopicDeleted?: (name: string) => void;
}

export function composeKafka({
  storage,
  core,
  clock,
  options,
  log,
  writes,
  onTopicDeleted,
}: KafkaCompositionInput): KafkaParts {
  const settings: KafkaSettings = {
    autoCreateTopics: options.autoCreateTopics,
    defaultPartitions: options.defaultPartitions,
    maxRequestBytes: options.maxRequestBytes,
    maxConnections: options.maxConnections,
    idleTimeoutMs: options.idleTimeoutMs,
  };
  const groupOffsets = DiskGroupOffsetStore.open(join(storage.dataDir, 'kafka-groups'), storage.committer, {
    logger: log,
  });
  const groups = new GroupCoordinator({
    clock,
    offsets: groupOffsets,
    config: {
      initialRebalanceDelayMs: options.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: options.groupMinSessionTimeoutMs,
      maxSessionTimeoutMs: options.groupMaxSessionTimeoutMs,
    },
  });
  const topics = new TopicRegistry({
    clock,
    definitions: storage.definitions,
    createStreamStore: (vhost, streamName, streamOptions) =>
      storage.openStreamStore(vhost, streamName, streamOptions),
    durability: storage.committer,
    autoCreateTopics: settings.autoCreateTopics,
    defaultPartitions: settings.defaultPartitions,
    brokerDefaults:
      options.compressionType === undefined || options.compressionType === 'producer'
        ? undefined
        : new Map([['compression.type', options.compressionType]]),
    onTopicDeleted: (name) => {
      cleaner.forgetTopic(name);
      groups
        .deleteTopicOffsets(name)
        .catch((error: Error) => log(`kafka: dropping offsets of '${name}': ${error.message}`));
      onTopicDeleted?.(name);
    },
  });
  // Share groups (KIP-932): their share-partitions' state and configs in their own durable log.
  const shareState = DiskShareStateStore.open(
    join(storage.dataDir, 'kafka-share-groups'),
    storage.committer,
    {
      logger: log,
    },
  );
  const shares = new ShareGroupCoordinator({
    clock,
    store: shareState,
    topics: {
      get: (name) => topics.get(name),
      getById: (id) => topics.getById(id),
      classicGroupExists: (groupId) => groups.describe(groupId).state !== 'Dead',
    },
    defaults:
      options.shareMinLockDurationMs === undefined
        ? {}
        : { minRecordLockDurationMs: options.shareMinLockDurationMs },
  });
  const shareSessions = shareSessionCache(shares);
  const producers = new KafkaProducers({ clock, idStore: producerIdBlockStoreIn(storage.definitions) });
  const transactions = new TransactionCoordinator({
    clock,
    log: DiskTransactionLog.open(join(storage.dataDir, 'kafka-transactions'), storage.committer, {
      logger: log,
    }),
    topics,
    durability: storage.committer,
    nextProducerId: () => producers.nextProducerId(),
    writeMarker,
    commitOffsets: (groupId, entries) => groups.commitTransactionalOffsets(groupId, entries, () => {}),
    maxTimeoutMs: options.transactionMaxTimeoutMs,
    log_: log,
  });
  // Kafka ACLs, kept in the definitions; none when switched off (the ACL APIs say SECURITY_DISABLED).
  const acls = options.acls
    ? new AclAuthorizer({
        superUsers: options.superUsers,
        allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound,
        definitions: storage.definitions,
      })
    : undefined;
  const access = acls
    ? new KafkaAccess(
        acls,
        settings.autoCreateTopics,
        (name) => topics.get(name) !== undefined,
        (topicId) => topics.getById(topicId)?.name,
      )
    : undefined;
  // One cache for all listeners: a client may reconnect through another and keep its session.
  const fetchSessions = new FetchSessionCache({ clock, maxSlots: options.fetchSessionCacheSlots });
  const apis = (cluster: KafkaCluster, sasl: boolean): ReadonlyMap<number, KafkaApi> => {
    const partitionExists = (topic: string, partition: number) => {
      const found = topics.get(topic);
      return found !== undefined && partition >= 0 && partition < found.partitions.length;
    };
    const handlers: KafkaApi[] = [
      ...produceApis({ topics, producers, clock, transactions, writes }),
      ...fetchApis({ topics, clock, transactions, sessions: fetchSessions }),
      ...listOffsetsApis({ topics, transactions }),
      ...deleteRecordsApis({ topics, producers }),
      ...initProducerIdApis({ producers, transactions }),
      ...transactionApis({ transactions, groups, topics }),
      ...transactionAdminApis({ transactions, topics, producers, clock }),
      ...saslApis({
        enabled: sasl,
        users: {
          authenticate: (u, p, a) => core.authenticate(u, p, a),
          get: (u) => core.users.get(u),
          throttle: core.loginThrottle,
        },
      }),
      ...metadataApis({ topics, cluster }),
      ...topicAdminApis({ topics, nodeId: cluster.nodeId }),
      ...configApis({ topics, cluster, shares }),
      ...findCoordinatorApis({ cluster }),
      ...groupApis({ groups, isShareGroup: (groupId) => shares.isShareGroup(groupId) }),
      ...offsetApis({
        groups,
        partitionExists,
        pendingTransactionalOffset: (g, t, p) => transactions.hasPendingOffset(g, t, p),
      }),
      ...groupAdminApis({ groups, shares }),
      ...shareApis({ shares, topics, clock, nodeId: cluster.nodeId, sessions: shareSessions }),
      ...shareOffsetsApis({ shares, topics }),
      ...offsetDeleteApis({ groups, partitionExists }),
      ...clusterAdminApis({ cluster, topics, logDir: logDirectory(storage.dataDir) }),
      ...aclApis(acls),
    ];
    return buildApiTable(access ? authorizeApis(handlers, access) : handlers);
  };
  let server: KafkaServer | undefined;
  const cleaner = new LogCleaner({
    clock,
    topics: () => topics.list(),
    lastStableOffset: (partition) => transactions.lastStableOffset(partition),
    abortedBetween: (partition, from, to) => transactions.abortedBetween(partition, from, to),
    intervalMs: options.logCleanerIntervalMs,
    log,
    // At the data directory's root, where Kafka keeps it in each log dir (DescribeLogDirs names it).
    checkpoint: new CleanerOffsetCheckpoint(
      storage.dataDir,
      storage.committer.fs,
      storage.committer.policy,
      log,
    ),
  });
  let tlsServer: KafkaServer | undefined;
  let tlsListener: BoundTlsListener | undefined;
  return {
    settings,
    topics,
    groups,
    transactions,
    acls,
    logCleaner: cleaner,
    restore(storedDefinitions) {
      topics.restore(storedDefinitions);
      acls?.restore(storedDefinitions);
      // Completes or aborts what a crash left half done, before any client can read.
      transactions.recover();
      cleaner.start();
      return topics.streamKeepList();
    },
    async listen(host, port) {
      const sasl = options.sasl ?? !isLoopbackHost(host);
      if (!sasl && !isLoopbackHost(host)) {
        throw new BrokerConfigError(
          `kafka: the listener on ${host} is beyond loopback and would accept anyone; keep SASL on (--kafka-sasl on) or bind 127.0.0.1`,
        );
      }
      const cluster = kafkaCluster(storage, host, options, sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT');
      server = new KafkaServer({ apis: apis(cluster, sasl), settings, saslRequired: sasl, log });
      const listening = server;
      const bound = await bindListener('kafka', '--kafka-port', host, port, (h, p) => listening.listen(h, p));
      if (options.advertisedPort === undefined) cluster.advertisedPort = bound.port;
      return { ...bound, bootstrap: `${formatHost(bound.host)}:${bound.port}` };
    },
    async listenTls(host, port, tls) {
      const sasl = options.sasl ?? !isLoopbackHost(host);
      // Without SASL, a TLS listener beyond loopback is still authenticated when every client must
      // present a verified certificate (Kafka's SSL listener with ssl.client.auth=required).
      if (!sasl && !isLoopbackHost(host) && tls.clientCert !== 'required') {
        throw new BrokerConfigError(
          `kafka: the TLS listener on ${host} is beyond loopback and would accept anyone; keep SASL on (--kafka-sasl on), require client certificates (--tls-client-cert required) or bind 127.0.0.1`,
        );
      }
      // Its own cluster view: clients that came in over TLS must be sent back to the TLS port.
      const cluster = kafkaCluster(
        storage,
        host,
        { ...options, advertisedPort: undefined },
        sasl ? 'SASL_SSL' : 'SSL',
      );
      const listening = new KafkaServer({
        apis: apis(cluster, sasl),
        settings,
        saslRequired: sasl,
        certificatePrincipal: (socket) => tls.kafkaPrincipal(socket),
        log,
      });
      tlsServer = listening;
      tlsListener = await tls.listen('kafka', '--kafka-tls-port', host, port, (socket) =>
        listening.accept(socket),
      );
      cluster.advertisedPort = tlsListener.port;
      return {
        host: tlsListener.host,
        port: tlsListener.port,
        bootstrap: `${formatHost(tlsListener.host)}:${tlsListener.port}`,
      };
    },
    async stopListening() {
      const tlsClosed = tlsListener?.close();
      await server?.close();
      await tlsServer?.close();
      await tlsClosed;
    },
    close() {
      void cleaner.stop(); // a pass under way ends at its next yield, before it reads the closed log
      transactions.close();
      groups.close();
      groupOffsets.close();
      shares.close();
      shareState.close();
      topics.close();
    },
  };
}

/** The cluster identity: node 0, a cluster id kept in the definitions, the advertised address. */
function kafkaCluster(
  storage: Storage,
  host: string,
  options: KafkaOptions,
  securityProtocol: KafkaCluster['securityProtocol'],
): KafkaCluster & { advertisedPort: number } {
  return {
    securityProtocol,
    nodeId: 0,
    clusterId: kafkaClusterId(storage),
    advertisedHost: options.advertisedHost ?? (isWildcardHost(host) ? hostname() : host),
    advertisedPort: options.advertisedPort ?? 0,
  };
}

function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Kafka's cluster id (22 characters of base64url), made once and kept in the definitions. */
function kafkaClusterId(storage: Storage): string {
  const stored = storage.definitions.get('meta', 'kafka-cluster-id');
  if (typeof stored === 'string') return stored;
  const clusterId = randomBytes(16).toString('base64url');
  storage.definitions.put('meta', 'kafka-cluster-id', clusterId);
  return clusterId;
}

/** The data directory as DescribeLogDirs reports it: its path and its file system's space. */
function logDirectory(dataDir: string): LogDirectory {
  const path = resolve(dataDir);
  return {
    path,
    space() {
      try {
        const stats = statfsSync(path);
        return { totalBytes: stats.blocks * stats.bsize, usableBytes: stats.bavail * stats.bsize };
      } catch {
        return { totalBytes: -1, usableBytes: -1 };
      }
    },
  };
}
