/**
 * Composes the broker: config → storage → core → protocol listeners. This is also the embedded
 * API: `startBroker()` runs a real broker inside a Node process (a test suite, a dev server).
 */
import { executeAdminRequest } from './admin/admin-commands.js';
import { ControlSocket } from './admin/control-socket.js';
import { BrokerCore } from './core/broker-core.js';
import { type Clock, systemClock } from './core/clock.js';
import type { DefinitionWriter } from './core/definitions.js';
import type { GroupCoordinator } from './core/group-coordinator.js';
import { MemoryQueueStore } from './core/memory-queue-store.js';
import type { SqsQueueRegistry } from './core/sqs-registry.js';
import type { TopicRegistry } from './core/topic-registry.js';
import { composeKafka, type KafkaOptions, kafkaCluster } from './kafka-composition.js';

export type { KafkaOptions, SqsAccessKey, SqsOptions };

import { closeRevokedConnections } from './protocol/amqp/access.js';
import type { AmqpLimits } from './protocol/amqp/connection.js';
import { amqpPropertiesCodec } from './protocol/amqp/message-properties-codec.js';
import { AmqpServer, DEFAULT_AMQP_LIMITS } from './protocol/amqp/server.js';
import { KafkaServer } from './protocol/kafka/server.js';
import type { SqsServer } from './protocol/sqs/server.js';
import { ResourceMonitor, type ResourceOptions } from './resources/resource-monitor.js';
import { composeSqs, type SqsAccessKey, type SqsOptions } from './sqs-composition.js';
import { DedupStorage } from './storage/dedup-store.js';
import type { DefinitionKind } from './storage/definitions.js';
import { DelayStorage } from './storage/delay-store.js';
import { Storage } from './storage/storage.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface BrokerOptions {
  /** Where durable state lives. Default `./data`. */
  dataDir?: string;
  /** Address every listener binds. Default `127.0.0.1` (loopback only). */
  host?: string;
  /** AMQP 0-9-1 port; 0 picks a free port; false switches the listener off. Default 5672. */
  amqpPort?: number | false;
  /** Kafka port; 0 picks a free port; false switches the listener off. Default 9092. */
  kafkaPort?: number | false;
  /** Kafka listener settings: advertised address, SASL, topic auto-creation, limits, groups. */
  kafka?: KafkaOptions;
  /** SQS port; 0 picks a free port; false switches the listener off. Default 9324. */
  sqsPort?: number | false;
  /** SQS settings: account id, region, access keys for SigV4, request size limit. */
  sqs?: SqsOptions;
  /** Management HTTP port (reserved: not implemented yet). Default 15672. */
  httpPort?: number | false;
  /**
   * When acknowledged writes reach the disk. `always` (default): fdatasync before a publisher
   * confirm; `interval`: fdatasync every `fsyncIntervalMs`, confirm after the write; `never`: leave
   * it to the OS.
   */
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  /** Segment file size of queue logs (AMQP classic queues, the SQS message log); default 8 MiB. */
  queueSegmentBytes?: number;
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
  /** Time source for the core; tests inject a fake clock. */
  clock?: Clock;
  /** Receives the broker's log lines. Default: stderr. */
  log?: (line: string) => void;
}

export interface KafkaListenerAddress {
  readonly host: string;
  readonly port: number;
  /** For a client's bootstrap servers, e.g. `127.0.0.1:9092`. */
  readonly bootstrap: string;
}

export interface SqsListenerAddress {
  readonly host: string;
  readonly port: number;
  /** For an SDK's `endpoint`, e.g. `http://127.0.0.1:9324`. */
  readonly endpoint: string;
}

export interface ListenerAddress {
  readonly host: string;
  readonly port: number;
  /** A client URL, e.g. `amqp://guest:guest@127.0.0.1:5672`. */
  readonly url: string;
}

export interface Broker {
  /** The bound AMQP listener, or undefined when switched off. */
  readonly amqp: ListenerAddress | undefined;
  /** The bound Kafka listener, or undefined when switched off. */
  readonly kafka: KafkaListenerAddress | undefined;
  /** The bound SQS listener, or undefined when switched off. */
  readonly sqs: SqsListenerAddress | undefined;
  /** SQS queues (kept even when the SQS listener is off): for inspection in tests. */
  readonly sqsQueues: SqsQueueRegistry;
  readonly dataDir: string;
  /** The protocol-independent core (vhosts, exchanges, queues): for inspection in tests. */
  readonly core: BrokerCore;
  /** Kafka topics and their partitions: for inspection in tests. */
  readonly topics: TopicRegistry;
  /** Kafka consumer groups and committed offsets: for inspection (consumer lag) in tests. */
  readonly groups: GroupCoordinator;
  /** Memory and disk alarms; `check()` measures now. */
  readonly resources: ResourceMonitor;
  /** Stops accepting, closes connections with 320 CONNECTION_FORCED, flushes and syncs storage. */
  close(): Promise<void>;
}

/** A listener's port is in use or otherwise cannot be bound: names the flag to change. */
export class ListenerError extends Error {
  constructor(
    readonly listener: string,
    readonly flag: string,
    readonly host: string,
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    const why =
      cause.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use`
        : cause.code === 'EACCES'
          ? `no permission to bind ${host}:${port}`
          : `cannot bind ${host}:${port} (${cause.message})`;
    super(`${listener}: ${why}; choose another with ${flag} (0 picks a free port)`);
    this.name = 'ListenerError';
  }
}

/** Options that cannot work together; the message says what to change. */
export class BrokerConfigError extends Error {
  override readonly name = 'BrokerConfigError';
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clock = options.clock ?? systemClock;
  const host = options.host ?? '127.0.0.1';
  const storage = Storage.open({
    dataDir: options.dataDir ?? './data',
    fsync: options.fsync ?? 'always',
    fsyncIntervalMs: options.fsyncIntervalMs,
    segmentSizeBytes: options.queueSegmentBytes,
    logger: log,
  });

  const delayStorage = new DelayStorage(storage.dataDir, storage.committer, { logger: log });
  const dedupStorage = new DedupStorage(storage.dataDir, storage.committer, { logger: log });
  const definitions: DefinitionWriter = {
    put: (kind, key, value) => storage.definitions.put(kind as DefinitionKind, key, value),
    delete: (kind, key) => storage.definitions.delete(kind as DefinitionKind, key),
  };
  const core = new BrokerCore(
    clock,
    (vhost, queueName, durable, level) => {
      if (!durable) return new MemoryQueueStore();
      // Each level of a priority queue has its own log.
      return storage.openQueueStore(vhost, level === 0 ? queueName : `${queueName}\0priority ${level}`);
    },
    definitions,
    amqpPropertiesCodec,
    (vhost, exchange, durable) => delayStorage.openStore(vhost, exchange, durable),
    (vhost, streamName, streamOptions) => storage.openStreamStore(vhost, streamName, streamOptions),
    (vhost, exchange) => dedupStorage.openStore(vhost, exchange),
  );
  const kafkaParts = composeKafka({
    storage,
    core,
    clock,
    definitions,
    options: options.kafka ?? {},
    log,
  });
  const sqsParts = composeSqs({ storage, clock, definitions, options: options.sqs ?? {} });
  const closeDelayed = () => {
    for (const vhost of core.vhosts.values()) vhost.extensions.close();
    delayStorage.close();
    dedupStorage.close();
  };
  let amqpServer: AmqpServer | undefined;
  let kafkaServer: KafkaServer | undefined;
  let sqsServer: SqsServer | undefined;
  const resources = new ResourceMonitor(storage.dataDir, options.resources ?? {}, log);
  let control: ControlSocket | undefined;
  try {
    const recoveryStartedAtMs = Date.now();
    // Read once: entries() clones every definition.
    const storedDefinitions = storage.definitions.entries();
    core.restore(storedDefinitions);
    const durableQueues = [...core.allQueues()].filter((q) => q.isDurable);
    if (durableQueues.length > 0) {
      const messages = durableQueues.reduce((sum, q) => sum + q.messageCount, 0);
      log(
        `recovered ${durableQueues.length} durable queue(s) holding ${messages} message(s) in ${Date.now() - recoveryStartedAtMs} ms`,
      );
    }
    storage.removeOrphanQueueData(durableQueues.map((q) => ({ vhost: q.vhost, queueName: q.name })));
    delayStorage.removeOrphans();
    dedupStorage.removeOrphans();
    const topicStreams = kafkaParts.restore(storedDefinitions);
    storage.removeOrphanStreamData([
      ...durableQueues.map((q) => ({ vhost: q.vhost, queueName: q.name })),
      ...topicStreams,
    ]);
    sqsParts.restore(storedDefinitions);

    resources.start();
    let amqp: ListenerAddress | undefined;
    const amqpPort = options.amqpPort ?? 5672;
    if (amqpPort !== false) {
      amqpServer = new AmqpServer({
        core,
        durability: storage.committer,
        clock,
        limits: { ...DEFAULT_AMQP_LIMITS, ...options.amqp },
        log,
        alarms: resources,
      });
      const listening = amqpServer;
      core.revocations.add((revoked) => closeRevokedConnections(listening.connections, revoked));
      try {
        const bound = await amqpServer.listen(host, amqpPort);
        amqp = { ...bound, url: `amqp://guest:guest@${formatHost(bound.host)}:${bound.port}` };
      } catch (error) {
        throw new ListenerError('amqp', '--amqp-port', host, amqpPort, error as NodeJS.ErrnoException);
      }
    }
    let kafka: KafkaListenerAddress | undefined;
    const kafkaPort = options.kafkaPort ?? 9092;
    if (kafkaPort !== false) {
      const kafkaOptions = options.kafka ?? {};
      const sasl = kafkaOptions.sasl ?? !isLoopbackHost(host);
      if (!sasl && !isLoopbackHost(host)) {
        throw new BrokerConfigError(
          `kafka: the listener on ${host} is beyond loopback and would accept anyone; keep SASL on (--kafka-sasl on) or bind 127.0.0.1`,
        );
      }
      const cluster = kafkaCluster(storage, host, kafkaOptions);
      const apis = kafkaParts.apis(cluster, sasl);
      kafkaServer = new KafkaServer({ apis, settings: kafkaParts.settings, saslRequired: sasl, log });
      try {
        const bound = await kafkaServer.listen(host, kafkaPort);
        if (kafkaOptions.advertisedPort === undefined) cluster.advertisedPort = bound.port;
        kafka = { ...bound, bootstrap: `${formatHost(bound.host)}:${bound.port}` };
      } catch (error) {
        throw new ListenerError('kafka', '--kafka-port', host, kafkaPort, error as NodeJS.ErrnoException);
      }
    }
    let sqs: SqsListenerAddress | undefined;
    const sqsPort = options.sqsPort ?? 9324;
    if (sqsPort !== false) {
      if (!options.sqs?.accessKeys?.length && !isLoopbackHost(host)) {
        throw new BrokerConfigError(
          `sqs: the listener on ${host} is beyond loopback and would accept any signature; configure keys (--sqs-access-key <id>:<secret>) or bind 127.0.0.1`,
        );
      }
      sqsServer = sqsParts.server(log);
      try {
        const bound = await sqsServer.listen(host, sqsPort);
        sqs = { ...bound, endpoint: `http://${formatHost(bound.host)}:${bound.port}` };
      } catch (error) {
        throw new ListenerError('sqs', '--sqs-port', host, sqsPort, error as NodeJS.ErrnoException);
      }
      log(`sqs: ${sqsParts.describeAuth()}`);
    }
    log(resources.describeLimits());

    control = await ControlSocket.start(
      storage.dataDir,
      (request) =>
        executeAdminRequest(core, request, {
          topics: kafkaParts.topics,
          groups: kafkaParts.groups,
          sqsQueues: sqsParts.registry,
          clock,
        }),
      log,
    );
    const controlSocket = control;

    let closing: Promise<void> | undefined;
    const server = amqpServer;
    const kafkaListener = kafkaServer;
    const sqsListener = sqsServer;
    return {
      amqp,
      kafka,
      sqs,
      sqsQueues: sqsParts.registry,
      dataDir: storage.dataDir,
      core,
      topics: kafkaParts.topics,
      groups: kafkaParts.groups,
      resources,
      close() {
        closing ??= (async () => {
          await controlSocket?.close();
          resources.stop();
          await server?.close();
          await kafkaListener?.close();
          // Long polls are answered (empty) before their connections close.
          sqsParts.close();
          await sqsListener?.close();
          // Let deliveries and confirms already queued this turn settle before the final sync.
          await new Promise((resolve) => setImmediate(resolve));
          closeDelayed();
          kafkaParts.close();
          await storage.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await control?.close().catch(() => {});
    resources.stop();
    await amqpServer?.close().catch(() => {});
    await kafkaServer?.close().catch(() => {});
    sqsParts.close();
    await sqsServer?.close().catch(() => {});
    closeDelayed();
    kafkaParts.close();
    await storage.close().catch(() => {});
    throw error;
  }
}
