/**
 * Composes the broker: storage, then each protocol's model and listener (src/composition), the
 * resource alarms and the control socket. This is also the embedded API: `startBroker()` runs a
 * real broker inside a Node process (a test suite, a dev server).
 */

import { chmodSync, existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { executeAdminRequest } from './admin/admin-commands.js';
import { ControlSocket } from './admin/control-socket.js';
import { composeAmqp, type ListenerAddress } from './composition/amqp.js';
import { composeBridges } from './composition/bridge.js';
import { composeKafka, type KafkaListenerAddress, type KafkaOptions } from './composition/kafka.js';
import {
  BrokerConfigError,
  isLoopbackHost,
  ListenerError,
  type ProtocolParts,
} from './composition/listener.js';
import { composeManagement, type HttpListenerAddress } from './composition/management.js';
import { composeMetrics, type PrometheusListenerAddress } from './composition/metrics.js';
import {
  composeSqs,
  type SqsAccessKey,
  type SqsListenerAddress,
  type SqsOptions,
} from './composition/sqs.js';
import { composeStreamViews } from './composition/stream-view.js';
import { composeTls, type TlsReloadReport } from './composition/tls.js';
import { type ResolvedBrokerOptions, resolveBrokerOptions } from './config/settings.js';
import type { BrokerCore } from './core/broker-core.js';
import { type Clock, systemClock } from './core/clock.js';
import type { FsyncPolicy } from './core/durability.js';
import type { AclAuthorizer } from './core/kafka/acls.js';
import type { GroupCoordinator } from './core/kafka/group-coordinator.js';
import type { TopicRegistry } from './core/kafka/topic-registry.js';
import type { LoginThrottleOptions } from './core/login-throttle.js';
import type { SqsQueueRegistry } from './core/sqs/registry.js';
import type { MetricsEndpoint } from './metrics/render.js';
import type { AmqpLimits } from './protocol/amqp/connection.js';
import { ResourceMonitor, type ResourceOptions } from './resources/resource-monitor.js';
import { Storage } from './storage/storage.js';
import type { TlsOptions } from './tls/options.js';

export type {
  FsyncPolicy,
  HttpListenerAddress,
  KafkaListenerAddress,
  KafkaOptions,
  ListenerAddress,
  MetricsEndpoint,
  PrometheusListenerAddress,
  ResolvedBrokerOptions,
  SqsAccessKey,
  SqsListenerAddress,
  SqsOptions,
  TlsOptions,
  TlsReloadReport,
};
export { BrokerConfigError, ListenerError };

/**
 * What `startBroker()` runs with. An option left out takes the default of its `pier serve` setting
 * (config/settings.ts, listed in `pier serve --help` and the README). The listeners default to
 * their protocols' standard ports, for embedded use as a development server; a test suite passes 0
 * (a free port) or false (off) for each.
 */
export interface BrokerOptions {
  /** Where durable state lives (`--data-dir`). */
  dataDir?: string;
  /** Address every listener binds (`--host`); loopback only by default. */
  host?: string;
  /** AMQP 0-9-1 port; 0 picks a free port; false switches the listener off (`--amqp-port`). */
  amqpPort?: number | false;
  /** Kafka port; 0 picks a free port; false switches the listener off (`--kafka-port`). */
  kafkaPort?: number | false;
  /** Kafka listener settings: advertised address, SASL, topic auto-creation, limits, groups. */
  kafka?: KafkaOptions;
  /** SQS port; 0 picks a free port; false switches the listener off (`--sqs-port`). */
  sqsPort?: number | false;
  /** SQS settings: account id, region, access keys for SigV4, request size limit. */
  sqs?: SqsOptions;
  /**
   * Management HTTP API port (RabbitMQ's /api on 15672); 0 picks a free port; false switches the
   * listener off (`--http-port`).
   */
  httpPort?: number | false;
  /**
   * Prometheus port: `/metrics` and `/metrics/per-object`, no authentication, as RabbitMQ's
   * rabbitmq_prometheus; 0 picks a free port; false switches the listener off (`--prometheus-port`).
   */
  prometheusPort?: number | false;
  /**
   * When acknowledged writes reach the disk (`--fsync`). `always`: fdatasync before a publisher
   * confirm; `interval`: fdatasync every `fsyncIntervalMs`, confirm after the write; `never`: leave
   * it to the OS.
   */
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  /** Segment file size of queue logs (AMQP classic queues, the SQS message log; `--queue-segment-bytes`). */
  queueSegmentBytes?: number;
  /**
   * Ready messages a classic queue keeps in memory with their bodies (`--queue-window-messages`);
   * a durable queue reads the rest from its log, a non-durable one pages it to a scratch log.
   */
  queueWindowMessages?: number;
  /**
   * AMQP limits: frame size, channels, heartbeat, max message size, handshake timeout, connections,
   * consumers per channel, consumer acknowledgement timeout; and the server identity clients see
   * (`serverProduct`, `serverVersion`: default `RabbitMQ` 3.10.8, the semantics Pier implements).
   */
  amqp?: Partial<AmqpLimits>;
  /**
   * Resource alarms (memory high watermark, free disk limit, check period). Tests inject
   * `memoryUsedBytes`/`diskFreeBytes` and call `broker.resources.check()` instead of waiting.
   */
  resources?: ResourceOptions;
  /**
   * The plain listeners (`--plaintext`): `on`, bound on `host`; `loopback-only`, bound on 127.0.0.1
   * (beyond loopback only TLS is spoken); `off`, none.
   */
  plaintext?: 'on' | 'loopback-only' | 'off';
  /** AMQP over TLS; default 5671 once `tls.certFile` is given, else off (`--amqps-port`). */
  amqpsPort?: number | false;
  /** Kafka over TLS (SSL, or SASL_SSL with SASL on); default 9093 with a certificate (`--kafka-tls-port`). */
  kafkaTlsPort?: number | false;
  /** SQS over HTTPS; default 9325 with a certificate (`--sqs-tls-port`). */
  sqsTlsPort?: number | false;
  /** The management API over HTTPS; default 15671 with a certificate (`--https-port`). */
  httpsPort?: number | false;
  /** Certificates, client-certificate policy, protocol floor, ciphers, identities from certificates. */
  tls?: TlsOptions;
  /**
   * Brute-force protection for every protocol's login (`--login-max-failures`, `--login-lockout-ms`,
   * `--login-throttle-loopback`): an address with too many failed logins is locked out for a while.
   */
  login?: Partial<Pick<LoginThrottleOptions, 'maxFailures' | 'lockoutMs' | 'includeLoopback'>>;
  /** Time source for the core; tests inject a fake clock. */
  clock?: Clock;
  /** Receives the broker's log lines. Default: stderr. */
  log?: (line: string) => void;
}

export interface Broker {
  /** The bound AMQP listener, or undefined when switched off. */
  readonly amqp: ListenerAddress | undefined;
  /** The bound Kafka listener, or undefined when switched off. */
  readonly kafka: KafkaListenerAddress | undefined;
  /** The bound SQS listener, or undefined when switched off. */
  readonly sqs: SqsListenerAddress | undefined;
  /** The bound Prometheus listener, or undefined when switched off. */
  readonly prometheus: PrometheusListenerAddress | undefined;
  /** What `/metrics` (or `/metrics/per-object`) answers now, for any HTTP server to serve. */
  renderMetrics(endpoint?: MetricsEndpoint): string;
  /** The bound management HTTP API listener, or undefined when switched off. */
  readonly http: HttpListenerAddress | undefined;
  /** The TLS listeners (amqps, Kafka SSL/SASL_SSL, SQS HTTPS, management HTTPS), undefined when off. */
  readonly amqps: ListenerAddress | undefined;
  readonly kafkaTls: KafkaListenerAddress | undefined;
  readonly sqsTls: SqsListenerAddress | undefined;
  readonly https: HttpListenerAddress | undefined;
  /**
   * Reads the TLS certificates, keys and CAs again; new handshakes use them, open connections keep
   * theirs. A file that does not load throws (TlsMaterialError) and nothing changes.
   */
  reloadTls(): TlsReloadReport;
  /** SQS queues (kept even when the SQS listener is off): for inspection in tests. */
  readonly sqsQueues: SqsQueueRegistry;
  readonly dataDir: string;
  /** The protocol-independent core (vhosts, exchanges, queues): for inspection in tests. */
  readonly core: BrokerCore;
  /** Kafka topics and their partitions: for inspection in tests. */
  readonly topics: TopicRegistry;
  /** Kafka consumer groups and committed offsets: for inspection (consumer lag) in tests. */
  readonly groups: GroupCoordinator;
  /** The Kafka ACLs when `kafka.acls` is on (`--kafka-acls on`), else undefined. */
  readonly kafkaAcls: AclAuthorizer | undefined;
  /** Memory and disk alarms; `check()` measures now. */
  readonly resources: ResourceMonitor;
  /** The options it runs with: those given, and every setting's default for the rest. */
  readonly options: ResolvedBrokerOptions;
  /** Stops accepting, closes connections with 320 CONNECTION_FORCED, flushes and syncs storage. */
  close(): Promise<void>;
}

export async function startBroker(given: BrokerOptions = {}): Promise<Broker> {
  const options = resolveBrokerOptions(given);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clock = options.clock ?? systemClock;
  const { host } = options;
  const dataDirIsNew = !existsSync(resolvePath(options.dataDir));
  const storage = Storage.open({
    dataDir: options.dataDir,
    fsync: options.fsync,
    fsyncIntervalMs: options.fsyncIntervalMs,
    segmentSizeBytes: options.queueSegmentBytes,
    queueWindowMessages: options.queueWindowMessages,
    logger: log,
  });
  // A data directory Pier creates is its owner's only (0700): it holds messages and password hashes.
  if (dataDirIsNew) chmodSync(storage.dataDir, 0o700);
  let tls: ReturnType<typeof composeTls>;
  try {
    tls = composeTls(options.tls, log);
  } catch (error) {
    await storage.close();
    throw error;
  }
  const resources = new ResourceMonitor(storage.dataDir, options.resources, log);
  // A write refused for lack of space, or a failed fdatasync, raises the disk alarm: publishers are
  // blocked or refused (never acknowledged) and the health check and metrics say so.
  // Pages of non-durable queues go through a committer of their own: either one failing holds the alarm.
  let storeWriteError: Error | undefined;
  let pageWriteError: Error | undefined;
  storage.committer.onWriteState((err) => {
    storeWriteError = err;
    resources.diskWriteFailing(storeWriteError ?? pageWriteError);
  });
  storage.transient.committer.onWriteState((err) => {
    pageWriteError = err;
    resources.diskWriteFailing(storeWriteError ?? pageWriteError);
  });
  storage.onFailure((err) => resources.storageFailed(err));
  // Kafka topics seen as AMQP stream queues (x-kafka-topic): the AMQP core opens them through this.
  const streamViews = composeStreamViews();
  const amqp = composeAmqp({
    streamViews,
    storage,
    clock,
    limits: options.amqp,
    alarms: resources,
    log,
    loginThrottle: options.login,
  });
  const kafka = composeKafka({
    storage,
    core: amqp.core,
    clock,
    options: options.kafka,
    log,
    writes: resources,
    onTopicDeleted: (name) => streamViews.topicDeleted(name),
  });
  streamViews.attach({
    topics: kafka.topics,
    transactions: kafka.transactions,
    core: amqp.core,
    log,
    ...(kafka.acls ? { acls: kafka.acls } : {}),
  });
  const sqs = composeSqs({
    storage,
    clock,
    options: options.sqs,
    log,
    loginThrottle: amqp.core.loginThrottle,
    userAccessKeys: amqp.core.accessKeys,
    writes: resources,
  });
  const protocols: ProtocolParts<unknown>[] = [amqp, kafka, sqs];
  const metrics = composeMetrics({ amqp, kafka, sqs, resources, clock, dataDir: storage.dataDir });
  const listeners: Array<{ protocol: string; host: string; port: number }> = [];
  const bridges = composeBridges({ core: amqp.core, log });
  const management = composeManagement({
    core: amqp.core,
    connections: () => amqp.connections(),
    durability: storage.committer,
    alarms: resources,
    listeners: () => listeners,
    metrics: (endpoint, query) => metrics.renderChunked(endpoint, query),
    log,
    kafka: { topics: kafka.topics, groups: kafka.groups },
    sqs: { registry: sqs.registry, now: () => clock.now() },
    shovels: () => bridges.manager()?.status() ?? [],
  });
  let control: ControlSocket | undefined;
  const shutDown = async () => {
    await control?.close();
    await bridges.close();
    await metrics.stopListening();
    await management.stopListening();
    resources.stop();
    for (const protocol of protocols) await protocol.stopListening();
    // Let deliveries and confirms already queued this turn settle, and what waits on the disk run
    // (a delayed exchange records what it fired only once the routed copies are durable), before
    // the stores close: a record staged after its store closed would be lost.
    await new Promise((resolve) => setImmediate(resolve));
    await storage.committer.flush();
    for (const protocol of protocols) protocol.close();
    await storage.close();
  };
  try {
    // Read once: entries() clones every definition.
    const storedDefinitions = storage.definitions.entries();
    // Kafka's topics first: AMQP stream views (x-kafka-topic) recover onto their partitions.
    const streams = [kafka, amqp, sqs].flatMap((protocol) => protocol.restore(storedDefinitions));
    storage.removeOrphanStreamData(streams);
    resources.start();
    // --plaintext: the plain listeners on --host, on loopback only, or not at all.
    const plainHost = options.plaintext === 'loopback-only' && !isLoopbackHost(host) ? '127.0.0.1' : host;
    const plain = (port: number | false) => (options.plaintext === 'off' ? false : port);
    // A TLS port left out is its standard one once there is a certificate, else off.
    const tlsPort = (port: number | false | undefined, standard: number) =>
      port ?? (tls.enabled ? standard : false);
    const listen = <A>(parts: ProtocolParts<A>, port: number | false) =>
      plain(port) === false ? undefined : parts.listen(plainHost, port as number);
    const listenTls = <A>(
      parts: { listenTls(host: string, port: number, t: typeof tls): Promise<A> },
      port: number | false,
    ) => (port === false ? undefined : parts.listenTls(host, port, tls));
    const amqpAddress = await listen(amqp, options.amqpPort);
    const amqpsAddress = await listenTls(amqp, tlsPort(options.amqpsPort, 5671));
    const kafkaAddress = await listen(kafka, options.kafkaPort);
    const kafkaTlsAddress = await listenTls(kafka, tlsPort(options.kafkaTlsPort, 9093));
    const sqsAddress = await listen(sqs, options.sqsPort);
    const sqsTlsAddress = await listenTls(sqs, tlsPort(options.sqsTlsPort, 9325));
    const prometheusPort = plain(options.prometheusPort);
    const prometheusAddress =
      prometheusPort === false ? undefined : await metrics.listen(plainHost, prometheusPort);
    const httpPort = plain(options.httpPort);
    const httpAddress = httpPort === false ? undefined : await management.listen(plainHost, httpPort);
    const httpsAddress = await listenTls(management, tlsPort(options.httpsPort, 15671));
    for (const [protocol, address] of [
      ['amqp', amqpAddress],
      ['amqp/ssl', amqpsAddress],
      ['kafka', kafkaAddress],
      ['kafka/ssl', kafkaTlsAddress],
      ['sqs', sqsAddress],
      ['sqs/https', sqsTlsAddress],
      ['http', httpAddress],
      ['https', httpsAddress],
      ['http/prometheus', prometheusAddress],
    ] as const) {
      if (address) listeners.push({ protocol, host: address.host, port: address.port });
    }
    log(resources.describeLimits());
    bridges.start({
      amqp: amqpAddress,
      kafka: kafkaAddress,
      sqs: sqsAddress,
      sqsRegion: options.sqs.region ?? 'us-east-1',
      sqsAccessKeys: options.sqs.accessKeys ?? [],
    });
    control = await ControlSocket.start(
      storage.dataDir,
      (request) =>
        executeAdminRequest(amqp.core, request, {
          topics: kafka.topics,
          groups: kafka.groups,
          transactions: kafka.transactions,
          acls: kafka.acls,
          sqsQueues: sqs.registry,
          clock,
          reloadTls: () => tls.reload(),
          shovels: () => bridges.manager()?.status() ?? [],
        }),
      log,
    );
    let closing: Promise<void> | undefined;
    return {
      amqp: amqpAddress,
      kafka: kafkaAddress,
      sqs: sqsAddress,
      prometheus: prometheusAddress,
      renderMetrics: (endpoint) => metrics.render(endpoint),
      http: httpAddress,
      amqps: amqpsAddress,
      kafkaTls: kafkaTlsAddress,
      sqsTls: sqsTlsAddress,
      https: httpsAddress,
      reloadTls: () => tls.reload(),
      sqsQueues: sqs.registry,
      dataDir: storage.dataDir,
      core: amqp.core,
      topics: kafka.topics,
      groups: kafka.groups,
      kafkaAcls: kafka.acls,
      resources,
      options,
      close() {
        closing ??= shutDown();
        return closing;
      },
    };
  } catch (error) {
    // Best effort: release what was opened, then report the first failure.
    await control?.close().catch(() => {});
    await bridges.close().catch(() => {});
    await metrics.stopListening().catch(() => {});
    await management.stopListening().catch(() => {});
    resources.stop();
    for (const protocol of protocols) await protocol.stopListening().catch(() => {});
    for (const protocol of protocols) protocol.close();
    await storage.close().catch(() => {});
    throw error;
  }
}
