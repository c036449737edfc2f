/**
 * Every setting of the broker, declared once: its `pier serve` flag, its PIER_* environment
 * variable, the kind of value it takes (and so its parser and unit), its default, its help text, and
 * the `startBroker()` option it sets. `pier serve --help`, the CLI's parser, `startBroker()`'s
 * defaults (resolveBrokerOptions) and the README's flag table (scripts/gen-readme-flags.mjs) are
 * all made from this table; adding a flag is adding an entry.
 *
 * Defaults that a lower layer needs on its own (the group coordinator's, the AMQP and Kafka
 * listeners', the queue log's, the resource monitor's) are owned there and referenced here; the
 * rest (ports, host, data directory, fsync policy, SQS identity) are written here. The core,
 * protocols and storage never import this module.
 */

import type { BrokerOptions } from '../broker.js';
import { parseSqsAccessKey, type SqsAccessKey } from '../composition/sqs.js';
import { DEFAULT_GROUP_COORDINATOR_CONFIG } from '../core/kafka/group-coordinator.js';
import { DEFAULT_SHARE_GROUP_SETTINGS } from '../core/kafka/share-groups.js';
import { DEFAULT_TRANSACTION_MAX_TIMEOUT_MS } from '../core/kafka/transaction-coordinator.js';
import { DEFAULT_LOGIN_THROTTLE } from '../core/login-throttle.js';
import { DEFAULT_SQS_MEMORY_WINDOW_BYTES } from '../core/sqs/memory-window.js';
import { DEFAULT_AMQP_LIMITS } from '../protocol/amqp/server.js';
import { DEFAULT_KAFKA_SETTINGS } from '../protocol/kafka/cluster.js';
import { DEFAULT_FETCH_SESSION_SLOTS } from '../protocol/kafka/fetch-sessions.js';
import { DEFAULT_LOG_CLEANER_INTERVAL_MS } from '../protocol/kafka/log-cleaner.js';
import {
  DEFAULT_DISK_FREE_LIMIT_BYTES,
  DEFAULT_MEMORY_HIGH_WATERMARK,
  DEFAULT_RESOURCE_CHECK_INTERVAL_MS,
  MEMORY_PAGING_RATIO,
} from '../resources/resource-monitor.js';
import { DEFAULT_WINDOW_MESSAGES } from '../storage/amqp/disk-queue-store.js';
import { DEFAULT_FSYNC_INTERVAL_MS } from '../storage/group-commit.js';
import { DEFAULT_SEGMENT_SIZE_BYTES, MAX_SEGMENT_SIZE_BYTES } from '../storage/queue-log.js';
import {
  DEFAULT_TLS_CIPHERS,
  DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
  TLS_LISTENERS,
  type TlsListenerName,
  type TlsListenerOverride,
  type TlsSniCertificate,
} from '../tls/options.js';
import {
  boolean,
  choice,
  fraction,
  InvalidValue,
  integer,
  limit,
  list,
  memoryWatermark,
  portOrOff,
  size,
  text,
  type ValueType,
} from './value-types.js';

/** The option groups of BrokerOptions a setting may sit in, as `section.key`. */
const SECTIONS = ['amqp', 'kafka', 'sqs', 'resources', 'tls', 'login'] as const;
type SectionName = (typeof SECTIONS)[number];
type Section<S extends SectionName> = NonNullable<BrokerOptions[S]>;
type TopLevelOption = Exclude<keyof BrokerOptions, SectionName | 'clock' | 'log'>;

/** Where a setting goes in BrokerOptions: `amqpPort`, `kafka.groupInitialRebalanceDelayMs`. */
export type OptionPath =
  | TopLevelOption
  | { [S in SectionName]: `${S}.${keyof Section<S> & string}` }[SectionName];

/** The type of the option at `P`. */
export type OptionValue<P extends OptionPath> = P extends `${infer S extends SectionName}.${infer K}`
  ? K extends keyof Section<S>
    ? Section<S>[K]
    : never
  : P extends TopLevelOption
    ? BrokerOptions[P]
    : never;

export interface Setting<P extends OptionPath = OptionPath, V = unknown> {
  /** The `pier serve` flag, without the dashes. */
  readonly flag: string;
  /** The environment variable read when the flag is not given. */
  readonly env: `PIER_${string}`;
  /** The startBroker() option it sets. */
  readonly option: P;
  readonly type: ValueType<OptionValue<P>>;
  /** What startBroker() uses when the option is not given; undefined: decided at start (see defaultText). */
  readonly default: V;
  /** The default in words, when it is not a value (e.g. 'the bound Kafka port'). */
  readonly defaultText?: string;
  /** One line of help (--help wraps it; the README shows it in full). */
  readonly help: string;
}

function setting<P extends OptionPath, const V extends OptionValue<P>>(
  declaration: Setting<P, V>,
): Setting<P, V> {
  return declaration;
}

/** A queue log segment smaller than a few records would roll at every append. */
const MIN_QUEUE_SEGMENT_BYTES = 4096;

const sqsAccessKey = {
  placeholder: '<id:secret[:account]>',
  parse(value: string): SqsAccessKey {
    const key = parseSqsAccessKey(value);
    if (!key) throw new InvalidValue(value, 'must be <access-key-id>:<secret-access-key>[:<account-id>]');
    return key;
  },
  format: (key: SqsAccessKey) =>
    `${key.accessKeyId}:${key.secretAccessKey}${key.accountId ? `:${key.accountId}` : ''}`,
};

const tlsListenerOverride = {
  placeholder: '<listener:cert.pem:key.pem[:ca.pem]>',
  parse(value: string): TlsListenerOverride {
    const [listener, certFile, keyFile, caFile, ...rest] = value.split(':');
    if (
      !(TLS_LISTENERS as readonly string[]).includes(listener ?? '') ||
      !certFile ||
      !keyFile ||
      rest.length > 0
    ) {
      throw new InvalidValue(value, `must be <${TLS_LISTENERS.join('|')}>:<cert.pem>:<key.pem>[:<ca.pem>]`);
    }
    return { listener: listener as TlsListenerName, certFile, keyFile, ...(caFile ? { caFile } : {}) };
  },
  format: (o: TlsListenerOverride) =>
    [o.listener, o.certFile, o.keyFile, ...(o.caFile ? [o.caFile] : [])].join(':'),
};

const tlsSniCertificate = {
  placeholder: '<name:cert.pem:key.pem>',
  parse(value: string): TlsSniCertificate {
    const [serverName, certFile, keyFile, ...rest] = value.split(':');
    if (!serverName || !certFile || !keyFile || rest.length > 0) {
      throw new InvalidValue(value, 'must be <server-name>:<cert.pem>:<key.pem>');
    }
    return { serverName, certFile, keyFile };
  },
  format: (o: TlsSniCertificate) => `${o.serverName}:${o.certFile}:${o.keyFile}`,
};

const kafkaPrincipal = {
  placeholder: 'User:NAME',
  parse(value: string): string {
    if (!/^[^:]+:.+$/.test(value))
      throw new InvalidValue(value, 'must be a Kafka principal, e.g. User:admin');
    return value;
  },
  format: (principal: string) => principal,
};

/** In `pier serve --help` and README order. */
export const SETTINGS = [
  setting({
    flag: 'data-dir',
    env: 'PIER_DATA_DIR',
    option: 'dataDir',
    type: text({ placeholder: 'path' }),
    default: './data',
    help: 'directory for durable state (definitions, queue segments, streams, Kafka and SQS data); a lock file keeps two brokers out of one directory',
  }),
  setting({
    flag: 'host',
    env: 'PIER_HOST',
    option: 'host',
    type: text({ placeholder: 'address' }),
    default: '127.0.0.1',
    help: 'address every listener binds; anything beyond loopback needs real users',
  }),
  setting({
    flag: 'amqp-port',
    env: 'PIER_AMQP_PORT',
    option: 'amqpPort',
    type: portOrOff(),
    default: 5672,
    help: "AMQP 0-9-1 port; 0 picks a free port, 'off' disables",
  }),
  setting({
    flag: 'kafka-port',
    env: 'PIER_KAFKA_PORT',
    option: 'kafkaPort',
    type: portOrOff(),
    default: 9092,
    help: "Kafka port; 0 picks a free port, 'off' disables",
  }),
  setting({
    flag: 'kafka-advertised-host',
    env: 'PIER_KAFKA_ADVERTISED_HOST',
    option: 'kafka.advertisedHost',
    type: text({ placeholder: 'host' }),
    default: undefined,
    defaultText: 'the --host value',
    help: 'host Kafka clients are told to connect to (Metadata, FindCoordinator), e.g. behind NAT; the machine name when --host is 0.0.0.0',
  }),
  setting({
    flag: 'kafka-advertised-port',
    env: 'PIER_KAFKA_ADVERTISED_PORT',
    option: 'kafka.advertisedPort',
    type: integer({ min: 1, max: 65535, unit: 'port' }),
    default: undefined,
    defaultText: 'the bound Kafka port',
    help: 'port Kafka clients are told to connect to (e.g. behind a port forward)',
  }),
  setting({
    flag: 'kafka-sasl',
    env: 'PIER_KAFKA_SASL',
    option: 'kafka.sasl',
    type: choice({ on: true, off: false, auto: undefined }),
    default: undefined,
    help: 'on: Kafka clients must log in with SASL PLAIN or SCRAM-SHA-256/512 as a Pier user; off: no login (loopback only); auto: on unless --host is loopback',
  }),
  setting({
    flag: 'kafka-auto-create-topics',
    env: 'PIER_KAFKA_AUTO_CREATE_TOPICS',
    option: 'kafka.autoCreateTopics',
    type: boolean(),
    default: DEFAULT_KAFKA_SETTINGS.autoCreateTopics,
    help: "create a topic when Metadata or Produce first names it, as Kafka's auto.create.topics.enable",
  }),
  setting({
    flag: 'kafka-default-partitions',
    env: 'PIER_KAFKA_DEFAULT_PARTITIONS',
    option: 'kafka.defaultPartitions',
    type: integer({ min: 1 }),
    default: DEFAULT_KAFKA_SETTINGS.defaultPartitions,
    help: "partitions of an auto-created topic (Kafka's num.partitions)",
  }),
  setting({
    flag: 'kafka-max-request-bytes',
    env: 'PIER_KAFKA_MAX_REQUEST_BYTES',
    option: 'kafka.maxRequestBytes',
    type: integer({ min: 1, unit: 'bytes' }),
    default: DEFAULT_KAFKA_SETTINGS.maxRequestBytes,
    help: "largest Kafka request; a bigger one closes the connection (Kafka's socket.request.max.bytes)",
  }),
  setting({
    flag: 'kafka-group-initial-rebalance-delay-ms',
    env: 'PIER_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS',
    option: 'kafka.groupInitialRebalanceDelayMs',
    type: integer({ min: 0, unit: 'ms' }),
    default: DEFAULT_GROUP_COORDINATOR_CONFIG.initialRebalanceDelayMs,
    help: "how long a new consumer group waits for more members before its first rebalance (Kafka's group.initial.rebalance.delay.ms; 0 for tests)",
  }),
  setting({
    flag: 'kafka-group-min-session-timeout-ms',
    env: 'PIER_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS',
    option: 'kafka.groupMinSessionTimeoutMs',
    type: integer({ min: 1, unit: 'ms' }),
    default: DEFAULT_GROUP_COORDINATOR_CONFIG.minSessionTimeoutMs,
    help: "smallest consumer session timeout accepted; a shorter one is refused with INVALID_SESSION_TIMEOUT (Kafka's group.min.session.timeout.ms)",
  }),
  setting({
    flag: 'kafka-group-max-session-timeout-ms',
    env: 'PIER_KAFKA_GROUP_MAX_SESSION_TIMEOUT_MS',
    option: 'kafka.groupMaxSessionTimeoutMs',
    type: integer({ min: 1, unit: 'ms' }),
    default: DEFAULT_GROUP_COORDINATOR_CONFIG.maxSessionTimeoutMs,
    help: "largest consumer session timeout accepted (Kafka's group.max.session.timeout.ms)",
  }),
  setting({
    flag: 'kafka-transaction-max-timeout-ms',
    env: 'PIER_KAFKA_TRANSACTION_MAX_TIMEOUT_MS',
    option: 'kafka.transactionMaxTimeoutMs',
    type: integer({ min: 1, unit: 'ms' }),
    default: DEFAULT_TRANSACTION_MAX_TIMEOUT_MS,
    help: "longest transaction timeout a transactional producer may ask for; a longer one is refused with INVALID_TRANSACTION_TIMEOUT (Kafka's transaction.max.timeout.ms)",
  }),
  setting({
    flag: 'kafka-log-cleaner-interval-ms',
    env: 'PIER_KAFKA_LOG_CLEANER_INTERVAL_MS',
    option: 'kafka.logCleanerIntervalMs',
    type: integer({ min: 1, unit: 'ms' }),
    default: DEFAULT_LOG_CLEANER_INTERVAL_MS,
    help: "how often the log cleaner looks at topics with cleanup.policy=compact and compacts the partitions that are due (Kafka's log.cleaner.backoff.ms)",
  }),
  setting({
    flag: 'kafka-compression-type',
    env: 'PIER_KAFKA_COMPRESSION_TYPE',
    option: 'kafka.compressionType',
    type: choice({
      producer: 'producer',
      uncompressed: 'uncompressed',
      gzip: 'gzip',
      snappy: 'snappy',
      lz4: 'lz4',
      zstd: 'zstd',
    } as const),
    default: 'producer',
    help: "codec produced batches are stored in for topics that do not set compression.type: producer keeps the producer's, any other recompresses to it (Kafka's broker compression.type)",
  }),
  setting({
    flag: 'kafka-share-min-lock-duration-ms',
    env: 'PIER_KAFKA_SHARE_MIN_LOCK_DURATION_MS',
    option: 'kafka.shareMinLockDurationMs',
    type: integer({ min: 1000, unit: 'ms' }),
    default: DEFAULT_SHARE_GROUP_SETTINGS.minRecordLockDurationMs,
    help: "shortest acquisition lock a share group may set with share.record.lock.duration.ms (Kafka's group.share.min.record.lock.duration.ms)",
  }),
  setting({
    flag: 'kafka-fetch-session-cache-slots',
    env: 'PIER_KAFKA_FETCH_SESSION_CACHE_SLOTS',
    option: 'kafka.fetchSessionCacheSlots',
    type: integer({ min: 0 }),
    default: DEFAULT_FETCH_SESSION_SLOTS,
    help: "incremental fetch sessions (KIP-227) kept for consumers; when full, new sessions replace idle or smaller old ones, else clients send full fetches; 0: no sessions (Kafka's max.incremental.fetch.session.cache.slots)",
  }),
  setting({
    flag: 'kafka-idle-timeout-ms',
    env: 'PIER_KAFKA_IDLE_TIMEOUT_MS',
    option: 'kafka.idleTimeoutMs',
    type: integer({ min: 0, unit: 'ms', off: 0 }),
    default: DEFAULT_KAFKA_SETTINGS.idleTimeoutMs,
    help: "a Kafka connection without traffic for this long is closed (Kafka's connections.max.idle.ms); 0 or 'off': never",
  }),
  setting({
    flag: 'kafka-max-connections',
    env: 'PIER_KAFKA_MAX_CONNECTIONS',
    option: 'kafka.maxConnections',
    type: limit(),
    default: DEFAULT_KAFKA_SETTINGS.maxConnections,
    help: 'Kafka connections the broker accepts; more are closed at once',
  }),
  setting({
    flag: 'kafka-acls',
    env: 'PIER_KAFKA_ACLS',
    option: 'kafka.acls',
    type: choice({ on: true, off: false }),
    default: false,
    help: "on: Kafka ACLs decide what each principal may do (Kafka's authorizer; manage them with 'pier acls' or the ACL APIs); off: any client that logged in may do anything",
  }),
  setting({
    flag: 'kafka-super-users',
    env: 'PIER_KAFKA_SUPER_USERS',
    option: 'kafka.superUsers',
    type: list(kafkaPrincipal),
    default: [],
    help: "principals ACLs do not restrict (Kafka's super.users), e.g. User:admin,User:ops",
  }),
  setting({
    flag: 'kafka-allow-everyone-if-no-acl-found',
    env: 'PIER_KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND',
    option: 'kafka.allowEveryoneIfNoAclFound',
    type: boolean(),
    default: false,
    help: "with ACLs on, a resource no ACL names is open to everyone (Kafka's allow.everyone.if.no.acl.found); false: refused",
  }),
  setting({
    flag: 'sqs-port',
    env: 'PIER_SQS_PORT',
    option: 'sqsPort',
    type: portOrOff(),
    default: 9324,
    help: "SQS port (AWS JSON and query protocols); 0 picks a free port, 'off' disables",
  }),
  setting({
    flag: 'sqs-access-key',
    env: 'PIER_SQS_ACCESS_KEY',
    option: 'sqs.accessKeys',
    type: list(sqsAccessKey),
    default: [],
    help: 'an SQS access key, <id>:<secret>[:<account-id>] (another account than --sqs-account-id: only where a queue Policy allows); repeat (or comma-separate in the variable) for more. None: any well-formed signature, on loopback only',
  }),
  setting({
    flag: 'sqs-account-id',
    env: 'PIER_SQS_ACCOUNT_ID',
    option: 'sqs.accountId',
    type: text({ placeholder: '12 digits', pattern: /^\d{12}$/, expected: 'must be 12 digits' }),
    default: '000000000000',
    help: 'the 12-digit account id in SQS queue URLs and ARNs',
  }),
  setting({
    flag: 'sqs-region',
    env: 'PIER_SQS_REGION',
    option: 'sqs.region',
    type: text({ placeholder: 'region' }),
    default: 'us-east-1',
    help: 'the default SQS region: its queue URLs name no region; queues stored before regions are in it',
  }),
  setting({
    flag: 'sqs-max-request-bytes',
    env: 'PIER_SQS_MAX_REQUEST_BYTES',
    option: 'sqs.maxRequestBytes',
    type: integer({ min: 1, unit: 'bytes' }),
    // A 1 MiB message URL-encoded in a query form, or JSON-escaped, with batch and attribute overhead.
    default: 4 * 1024 * 1024,
    help: 'largest SQS HTTP request body; a bigger one is refused with 413, as AWS does',
  }),
  setting({
    flag: 'sqs-memory-window-bytes',
    env: 'PIER_SQS_MEMORY_WINDOW_BYTES',
    option: 'sqs.memoryWindowBytes',
    type: size(),
    default: DEFAULT_SQS_MEMORY_WINDOW_BYTES,
    help: 'SQS message content (bodies, attributes) held in memory across all durable queues; the rest is read back from the data directory on receive (memory-only brokers keep every message in memory)',
  }),
  setting({
    flag: 'sqs-max-connections',
    env: 'PIER_SQS_MAX_CONNECTIONS',
    option: 'sqs.maxConnections',
    type: limit(),
    default: Number.POSITIVE_INFINITY,
    help: 'SQS HTTP connections the broker accepts; more are closed at once',
  }),
  setting({
    flag: 'sqs-http-thread',
    env: 'PIER_SQS_HTTP_THREAD',
    option: 'sqs.httpThread',
    type: boolean(),
    default: true,
    help: "serve the SQS port's HTTP (parsing, SigV4 hashing, JSON and XML) on a worker thread, the second core; the queues stay on the main thread. The TLS port is served on the main thread",
  }),
  setting({
    flag: 'http-port',
    env: 'PIER_HTTP_PORT',
    option: 'httpPort',
    type: portOrOff(),
    default: 15672,
    help: "management HTTP API port (RabbitMQ's /api: rabbitmqadmin, scripts)",
  }),
  setting({
    flag: 'prometheus-port',
    env: 'PIER_PROMETHEUS_PORT',
    option: 'prometheusPort',
    type: portOrOff(),
    default: 15692,
    help: "Prometheus metrics port (/metrics, /metrics/per-object; no authentication, as RabbitMQ's); 0 picks a free port, 'off' disables",
  }),
  setting({
    flag: 'plaintext',
    env: 'PIER_PLAINTEXT',
    option: 'plaintext',
    type: choice({ on: 'on', 'loopback-only': 'loopback-only', off: 'off' } as const),
    default: 'on',
    help: 'the plain (unencrypted) listeners: on: bound on --host; loopback-only: bound on 127.0.0.1 whatever --host is, so beyond loopback only TLS is spoken; off: none at all',
  }),
  setting({
    flag: 'amqps-port',
    env: 'PIER_AMQPS_PORT',
    option: 'amqpsPort',
    type: portOrOff(),
    default: undefined,
    defaultText: '5671 once --tls-cert is given, else off',
    help: "AMQP 0-9-1 over TLS (amqps); 0 picks a free port, 'off' disables",
  }),
  setting({
    flag: 'kafka-tls-port',
    env: 'PIER_KAFKA_TLS_PORT',
    option: 'kafkaTlsPort',
    type: portOrOff(),
    default: undefined,
    defaultText: '9093 once --tls-cert is given, else off',
    help: "Kafka over TLS: security.protocol SSL, or SASL_SSL when --kafka-sasl is on; clients that bootstrap here are told this port in Metadata; 0 picks a free port, 'off' disables",
  }),
  setting({
    flag: 'sqs-tls-port',
    env: 'PIER_SQS_TLS_PORT',
    option: 'sqsTlsPort',
    type: portOrOff(),
    default: undefined,
    defaultText: '9325 once --tls-cert is given, else off',
    help: "SQS over HTTPS; queue URLs given over it are https URLs; 0 picks a free port, 'off' disables",
  }),
  setting({
    flag: 'https-port',
    env: 'PIER_HTTPS_PORT',
    option: 'httpsPort',
    type: portOrOff(),
    default: undefined,
    defaultText: '15671 once --tls-cert is given, else off',
    help: "the management HTTP API (and its /metrics) over HTTPS; 0 picks a free port, 'off' disables",
  }),
  setting({
    flag: 'tls-cert',
    env: 'PIER_TLS_CERT',
    option: 'tls.certFile',
    type: text({ placeholder: 'cert.pem' }),
    default: undefined,
    defaultText: 'none: TLS listeners off',
    help: "PEM certificate (leaf first, then intermediates) of every TLS listener; reloaded on SIGHUP and 'pier tls reload'",
  }),
  setting({
    flag: 'tls-key',
    env: 'PIER_TLS_KEY',
    option: 'tls.keyFile',
    type: text({ placeholder: 'key.pem' }),
    default: undefined,
    defaultText: 'none',
    help: 'PEM private key (unencrypted) of --tls-cert',
  }),
  setting({
    flag: 'tls-ca',
    env: 'PIER_TLS_CA',
    option: 'tls.caFile',
    type: text({ placeholder: 'ca.pem' }),
    default: undefined,
    defaultText: 'none',
    help: 'PEM CA bundle client certificates must chain to (needed by --tls-client-cert optional|required)',
  }),
  setting({
    flag: 'tls-client-cert',
    env: 'PIER_TLS_CLIENT_CERT',
    option: 'tls.clientCert',
    type: choice({ none: 'none', optional: 'optional', required: 'required' } as const),
    default: 'none',
    help: "client certificates: none: not asked for; optional: asked for, and one that is sent must verify against --tls-ca; required: a client without a valid one is refused (RabbitMQ's fail_if_no_peer_cert, Kafka's ssl.client.auth)",
  }),
  setting({
    flag: 'tls-min-version',
    env: 'PIER_TLS_MIN_VERSION',
    option: 'tls.minVersion',
    type: choice({ '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' } as const),
    default: 'TLSv1.2',
    help: 'oldest TLS version accepted (SSLv3, TLS 1.0 and 1.1 never are)',
  }),
  setting({
    flag: 'tls-ciphers',
    env: 'PIER_TLS_CIPHERS',
    option: 'tls.ciphers',
    type: text({ placeholder: 'openssl cipher list' }),
    default: DEFAULT_TLS_CIPHERS,
    defaultText: 'ECDHE with AES-GCM or ChaCha20-Poly1305',
    help: `TLS 1.2 cipher suites, in OpenSSL syntax (TLS 1.3 suites are all AEAD and always on); the default is ${DEFAULT_TLS_CIPHERS}`,
  }),
  setting({
    flag: 'tls-listener-cert',
    env: 'PIER_TLS_LISTENER_CERT',
    option: 'tls.listenerCerts',
    type: list(tlsListenerOverride),
    default: [],
    help: `another certificate for one TLS listener (${TLS_LISTENERS.join(', ')}): <listener>:<cert.pem>:<key.pem>[:<ca.pem>]; repeat the flag for more`,
  }),
  setting({
    flag: 'tls-sni-cert',
    env: 'PIER_TLS_SNI_CERT',
    option: 'tls.sniCerts',
    type: list(tlsSniCertificate),
    default: [],
    help: 'the certificate for clients that ask for a server name (SNI): <name>:<cert.pem>:<key.pem>; repeat the flag for more; other names get --tls-cert',
  }),
  setting({
    flag: 'tls-handshake-timeout-ms',
    env: 'PIER_TLS_HANDSHAKE_TIMEOUT_MS',
    option: 'tls.handshakeTimeoutMs',
    type: integer({ min: 1, unit: 'ms' }),
    default: DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
    help: 'a TLS handshake not finished in this time is dropped',
  }),
  setting({
    flag: 'tls-cert-login-from',
    env: 'PIER_TLS_CERT_LOGIN_FROM',
    option: 'tls.certLoginFrom',
    type: choice({ distinguished_name: 'distinguished_name', common_name: 'common_name' } as const),
    default: 'distinguished_name',
    help: "AMQP EXTERNAL login: the user is the client certificate's subject DN (CN=alice,O=example) or its CN (RabbitMQ's ssl_cert_login_from)",
  }),
  setting({
    flag: 'kafka-ssl-principal-mapping-rules',
    env: 'PIER_KAFKA_SSL_PRINCIPAL_MAPPING_RULES',
    option: 'tls.kafkaPrincipalMappingRules',
    type: text({ placeholder: 'rules' }),
    default: 'DEFAULT',
    help: "Kafka principal of a client certificate on the TLS listener without SASL: Kafka's ssl.principal.mapping.rules, e.g. RULE:^CN=(.*?),O=.*$/$1/L,DEFAULT",
  }),
  setting({
    flag: 'fsync',
    env: 'PIER_FSYNC',
    option: 'fsync',
    type: choice({ always: 'always', interval: 'interval', never: 'never' } as const),
    default: 'always',
    help: 'always: fdatasync before confirming a persistent message; interval: every --fsync-interval-ms, confirm after the write; never: leave it to the OS',
  }),
  setting({
    flag: 'login-max-failures',
    env: 'PIER_LOGIN_MAX_FAILURES',
    option: 'login.maxFailures',
    type: integer({ min: 0 }),
    default: DEFAULT_LOGIN_THROTTLE.maxFailures,
    help: 'failed logins from one address within a minute (AMQP, Kafka SASL, SQS signatures, HTTP API) before that address is locked out; 0: no throttle',
  }),
  setting({
    flag: 'login-lockout-ms',
    env: 'PIER_LOGIN_LOCKOUT_MS',
    option: 'login.lockoutMs',
    type: integer({ min: 1, unit: 'ms' }),
    default: DEFAULT_LOGIN_THROTTLE.lockoutMs,
    help: 'how long a locked-out address is refused without its credentials being checked; doubled for each further lockout, up to 5 minutes',
  }),
  setting({
    flag: 'login-throttle-loopback',
    env: 'PIER_LOGIN_THROTTLE_LOOPBACK',
    option: 'login.includeLoopback',
    type: boolean(),
    default: DEFAULT_LOGIN_THROTTLE.includeLoopback,
    help: 'throttle failed logins from loopback addresses too (off: local tools and test suites are never locked out)',
  }),
  setting({
    flag: 'fsync-interval-ms',
    env: 'PIER_FSYNC_INTERVAL_MS',
    option: 'fsyncIntervalMs',
    type: integer({ min: 1, unit: 'ms' }),
    default: DEFAULT_FSYNC_INTERVAL_MS,
    help: 'fdatasync period for --fsync interval',
  }),
  setting({
    flag: 'queue-segment-bytes',
    env: 'PIER_QUEUE_SEGMENT_BYTES',
    option: 'queueSegmentBytes',
    type: integer({ min: MIN_QUEUE_SEGMENT_BYTES, max: MAX_SEGMENT_SIZE_BYTES, unit: 'bytes' }),
    default: DEFAULT_SEGMENT_SIZE_BYTES,
    help: 'size of the segment files of queue logs (AMQP classic queues, the SQS message log); a file is deleted once its messages are settled',
  }),
  setting({
    flag: 'queue-window-messages',
    env: 'PIER_QUEUE_WINDOW_MESSAGES',
    option: 'queueWindowMessages',
    type: integer({ min: 1, unit: 'messages' }),
    default: DEFAULT_WINDOW_MESSAGES,
    help: 'ready messages an AMQP classic queue keeps in memory (also at most 16 MiB of bodies); beyond it a durable queue reads from its log and a non-durable one pages to <data-dir>/transient (emptied at start); at half the memory watermark non-durable queues shrink to 256',
  }),
  setting({
    flag: 'amqp-server-product',
    env: 'PIER_AMQP_SERVER_PRODUCT',
    option: 'amqp.serverProduct',
    type: text({ placeholder: 'name', pattern: /\S/, expected: 'must not be empty' }),
    default: DEFAULT_AMQP_LIMITS.serverProduct,
    help: "product in AMQP server-properties; clients switch semantics on it (kombu/Celery apply basic.qos per channel only for 'RabbitMQ')",
  }),
  setting({
    flag: 'amqp-server-version',
    env: 'PIER_AMQP_SERVER_VERSION',
    option: 'amqp.serverVersion',
    type: text({ placeholder: 'version', pattern: /\S/, expected: 'must not be empty' }),
    default: DEFAULT_AMQP_LIMITS.serverVersion,
    help: "version in AMQP server-properties: the RabbitMQ version whose semantics Pier implements (Pier's own is in pier_version)",
  }),
  setting({
    flag: 'frame-max',
    env: 'PIER_FRAME_MAX',
    option: 'amqp.frameMaxBytes',
    type: integer({ min: 1, unit: 'bytes' }),
    default: DEFAULT_AMQP_LIMITS.frameMaxBytes,
    help: 'largest AMQP frame, proposed in connection.tune',
  }),
  setting({
    flag: 'channel-max',
    env: 'PIER_CHANNEL_MAX',
    option: 'amqp.channelMax',
    type: integer({ min: 1 }),
    default: DEFAULT_AMQP_LIMITS.channelMax,
    help: 'most channels per AMQP connection',
  }),
  setting({
    flag: 'heartbeat',
    env: 'PIER_HEARTBEAT',
    option: 'amqp.heartbeatSeconds',
    type: integer({ min: 0, unit: 'seconds', off: 0 }),
    default: DEFAULT_AMQP_LIMITS.heartbeatSeconds,
    help: "AMQP heartbeat interval proposed to clients; a peer silent for two intervals is dropped (0 or 'off': no heartbeats)",
  }),
  setting({
    flag: 'max-message-size',
    env: 'PIER_MAX_MESSAGE_SIZE',
    option: 'amqp.maxMessageSizeBytes',
    type: integer({ min: 1, unit: 'bytes' }),
    default: DEFAULT_AMQP_LIMITS.maxMessageSizeBytes,
    help: 'largest AMQP message body accepted; a bigger one is refused with 406 PRECONDITION_FAILED',
  }),
  setting({
    flag: 'max-connections',
    env: 'PIER_MAX_CONNECTIONS',
    option: 'amqp.maxConnections',
    type: limit(),
    default: DEFAULT_AMQP_LIMITS.maxConnections,
    help: 'AMQP connections the broker accepts; one more is refused with 530 NOT_ALLOWED at connection.open',
  }),
  setting({
    flag: 'max-consumers-per-channel',
    env: 'PIER_MAX_CONSUMERS_PER_CHANNEL',
    option: 'amqp.maxConsumersPerChannel',
    type: limit(),
    default: DEFAULT_AMQP_LIMITS.maxConsumersPerChannel,
    help: 'consumers one AMQP channel may have; one more is a 530 NOT_ALLOWED connection error',
  }),
  setting({
    flag: 'consumer-timeout-ms',
    env: 'PIER_CONSUMER_TIMEOUT_MS',
    option: 'amqp.consumerTimeoutMs',
    type: integer({ min: 0, unit: 'ms', off: 0 }),
    default: DEFAULT_AMQP_LIMITS.consumerTimeoutMs,
    help: "an AMQP delivery unacked for this long closes its channel with 406 and is requeued (0 or 'off' disables)",
  }),
  setting({
    flag: 'memory-high-watermark',
    env: 'PIER_MEMORY_HIGH_WATERMARK',
    option: 'resources.memoryHighWatermark',
    type: memoryWatermark(),
    default: DEFAULT_MEMORY_HIGH_WATERMARK,
    help: 'memory alarm above this: a fraction of total RAM (or of the cgroup limit) or a size (512MiB, 2GB); publishers are blocked',
  }),
  setting({
    flag: 'memory-paging-ratio',
    env: 'PIER_MEMORY_PAGING_RATIO',
    option: 'resources.memoryPagingRatio',
    type: fraction({ min: 0, max: 10 }),
    default: MEMORY_PAGING_RATIO,
    help: "RabbitMQ's vm_memory_high_watermark_paging_ratio: above this fraction of the memory high watermark, non-durable AMQP queues page their messages to disk (above 1: never, the alarm comes first)",
  }),
  setting({
    flag: 'disk-free-limit',
    env: 'PIER_DISK_FREE_LIMIT',
    option: 'resources.diskFreeLimitBytes',
    type: size(),
    default: DEFAULT_DISK_FREE_LIMIT_BYTES,
    help: "disk alarm when the data directory's filesystem has less free space (50MB, 1GiB, bytes); publishers are blocked",
  }),
  setting({
    flag: 'resource-check-interval-ms',
    env: 'PIER_RESOURCE_CHECK_INTERVAL_MS',
    option: 'resources.checkIntervalMs',
    type: integer({ min: 1, unit: 'ms' }),
    default: DEFAULT_RESOURCE_CHECK_INTERVAL_MS,
    help: 'how often memory (process RSS) and free disk space are measured',
  }),
] as const;

export type DeclaredSetting = (typeof SETTINGS)[number];

/** The declaration of `flag` (for other commands that share a flag, as the admin commands' --data-dir). */
export function declaredSetting(flag: DeclaredSetting['flag']): Setting {
  return (SETTINGS as readonly Setting[]).find((s) => s.flag === flag)!;
}

/** The default as --help and the README show it. */
export function describeDefault(declaration: Setting): string {
  return declaration.defaultText ?? declaration.type.format(declaration.default as never);
}

// The options whose declarations have a value (not undefined) as default: always set once resolved.
type DefaultedPath<D = DeclaredSetting> = D extends { readonly option: infer P; readonly default: infer V }
  ? undefined extends V
    ? never
    : P
  : never;
type SectionKey<S extends SectionName, P = DefaultedPath> = P extends `${S}.${infer K}` ? K : never;
type Filled<T, K> = Omit<T, K & keyof T> & { readonly [Q in K & keyof T]-?: Exclude<T[Q], undefined> };

/** BrokerOptions with every declared default filled in: what the broker runs with. */
export type ResolvedBrokerOptions = Filled<Omit<BrokerOptions, SectionName>, DefaultedPath> & {
  readonly [S in SectionName]: Filled<Section<S>, SectionKey<S>>;
};

/** `options` with each setting the caller left undefined set to its declared default. */
export function resolveBrokerOptions(options: BrokerOptions = {}): ResolvedBrokerOptions {
  const resolved: Record<string, unknown> = { ...options };
  for (const section of SECTIONS) resolved[section] = { ...options[section] };
  for (const declaration of SETTINGS as readonly Setting[]) {
    if (declaration.default === undefined) continue;
    const [target, key] = optionSlot(resolved, declaration.option);
    if (target[key] === undefined) target[key] = declaration.default;
  }
  return resolved as ResolvedBrokerOptions;
}

/** The value at `path` in (resolved or given) options. */
export function optionAt(options: object, path: OptionPath): unknown {
  const [section, key] = splitPath(path);
  const target = (section === undefined ? options : (options as Record<string, unknown>)[section]) as
    | Record<string, unknown>
    | undefined;
  return target?.[key];
}

/** Sets `value` at `path` in options being built (the CLI's parser). */
export function setOption(options: BrokerOptions, path: OptionPath, value: unknown): void {
  const [target, key] = optionSlot(options as Record<string, unknown>, path);
  target[key] = value;
}

function splitPath(path: OptionPath): [section: string | undefined, key: string] {
  const dot = path.indexOf('.');
  return dot < 0 ? [undefined, path] : [path.slice(0, dot), path.slice(dot + 1)];
}

/** The object holding `path`'s key (its section created when missing), and the key. */
function optionSlot(options: Record<string, unknown>, path: OptionPath): [Record<string, unknown>, string] {
  const [section, key] = splitPath(path);
  if (section === undefined) return [options, key];
  options[section] ??= {};
  return [options[section] as Record<string, unknown>, key];
}
