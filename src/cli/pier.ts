#!/usr/bin/env node
/** The `pier` command line. */
import { parseArgs } from 'node:util';
import {
  BrokerConfigError,
  type BrokerOptions,
  type FsyncPolicy,
  type KafkaOptions,
  ListenerError,
  type SqsOptions,
  startBroker,
} from '../broker.js';
import { DEFAULT_SERVER_IDENTITY, PIER_VERSION } from '../protocol/amqp/server-properties.js';
import { parseInformationUnit, parseMemoryWatermark } from '../resources/information-units.js';
import { parseSqsAccessKey } from '../sqs-composition.js';
import { StorageLockedError } from '../storage/storage.js';
import { type AdminGroup, adminHelpLines, runAdminCommand } from './admin-cli.js';

const MAIN_HELP = `pier ${PIER_VERSION} — a durable message broker speaking AMQP 0-9-1, Kafka and SQS

Usage: pier <command> [flags]

Commands:
  serve        run the broker (pier serve --help for its flags)
${adminHelpLines()}
  help         show this text

Flags:
  --version    print the version
`;

/** Every serve flag: name, environment variable, default, and its help line. */
const SERVE_FLAGS = [
  ['data-dir', 'PIER_DATA_DIR', './data', 'directory for durable state (definitions and queue segments)'],
  [
    'host',
    'PIER_HOST',
    '127.0.0.1',
    'address every listener binds; anything beyond loopback needs real users',
  ],
  ['amqp-port', 'PIER_AMQP_PORT', '5672', "AMQP 0-9-1 port; 0 picks a free port, 'off' disables"],
  ['kafka-port', 'PIER_KAFKA_PORT', '9092', "Kafka port; 0 picks a free port, 'off' disables"],
  [
    'kafka-advertised-host',
    'PIER_KAFKA_ADVERTISED_HOST',
    'the --host value',
    'host Kafka clients are told to connect to (Metadata, FindCoordinator); the machine name when --host is 0.0.0.0',
  ],
  [
    'kafka-advertised-port',
    'PIER_KAFKA_ADVERTISED_PORT',
    'the bound Kafka port',
    'port Kafka clients are told to connect to (e.g. behind a port forward)',
  ],
  [
    'kafka-sasl',
    'PIER_KAFKA_SASL',
    'auto',
    'on: Kafka clients must log in with SASL PLAIN or SCRAM-SHA-256/512 as a Pier user; off: no login (loopback only); auto: on unless --host is loopback',
  ],
  [
    'kafka-auto-create-topics',
    'PIER_KAFKA_AUTO_CREATE_TOPICS',
    'true',
    "create a topic when Metadata or Produce first names it, as Kafka's auto.create.topics.enable (true/false)",
  ],
  [
    'kafka-default-partitions',
    'PIER_KAFKA_DEFAULT_PARTITIONS',
    '1',
    "partitions of an auto-created topic (Kafka's num.partitions)",
  ],
  [
    'kafka-max-request-bytes',
    'PIER_KAFKA_MAX_REQUEST_BYTES',
    '104857600',
    "largest Kafka request; a bigger one closes the connection (Kafka's socket.request.max.bytes)",
  ],
  [
    'kafka-group-initial-rebalance-delay-ms',
    'PIER_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS',
    '3000',
    "how long a new consumer group waits for more members before its first rebalance (Kafka's group.initial.rebalance.delay.ms; 0 for tests)",
  ],
  [
    'kafka-group-min-session-timeout-ms',
    'PIER_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS',
    '6000',
    'smallest consumer session timeout accepted (shorter: INVALID_SESSION_TIMEOUT)',
  ],
  [
    'kafka-group-max-session-timeout-ms',
    'PIER_KAFKA_GROUP_MAX_SESSION_TIMEOUT_MS',
    '1800000',
    'largest consumer session timeout accepted',
  ],
  [
    'kafka-idle-timeout-ms',
    'PIER_KAFKA_IDLE_TIMEOUT_MS',
    '600000',
    "a Kafka connection without traffic for this long is closed (Kafka's connections.max.idle.ms; 0 = never)",
  ],
  [
    'kafka-max-connections',
    'PIER_KAFKA_MAX_CONNECTIONS',
    'unlimited',
    "Kafka connections the broker accepts; more are closed at once ('unlimited' or a number)",
  ],
  [
    'sqs-port',
    'PIER_SQS_PORT',
    '9324',
    "SQS port (AWS JSON and query protocols); 0 picks a free port, 'off' disables",
  ],
  [
    'sqs-access-key',
    'PIER_SQS_ACCESS_KEY',
    'none',
    'an access key SQS clients sign with, <id>:<secret>; repeat the flag (or comma-separate in the env) for more. None: any well-formed signature is accepted, allowed on loopback only',
  ],
  [
    'sqs-account-id',
    'PIER_SQS_ACCOUNT_ID',
    '000000000000',
    'the 12-digit account id in SQS queue URLs and ARNs',
  ],
  ['sqs-region', 'PIER_SQS_REGION', 'us-east-1', 'the region in SQS queue ARNs'],
  [
    'sqs-max-request-bytes',
    'PIER_SQS_MAX_REQUEST_BYTES',
    '4194304',
    'largest SQS HTTP request body; a bigger one is refused with 413, as AWS does',
  ],
  [
    'sqs-max-connections',
    'PIER_SQS_MAX_CONNECTIONS',
    'unlimited',
    "SQS HTTP connections the broker accepts; more are closed at once ('unlimited' or a number)",
  ],
  ['http-port', 'PIER_HTTP_PORT', '15672', 'management HTTP port (reserved: not implemented yet)'],
  [
    'fsync',
    'PIER_FSYNC',
    'always',
    'always: fdatasync before confirming a persistent message; interval: every --fsync-interval-ms; never: leave it to the OS',
  ],
  ['fsync-interval-ms', 'PIER_FSYNC_INTERVAL_MS', '200', 'fdatasync period for --fsync interval'],
  [
    'queue-segment-bytes',
    'PIER_QUEUE_SEGMENT_BYTES',
    '8388608',
    'size of the segment files of queue logs (AMQP classic queues, the SQS message log); a file is deleted once its messages are settled (at least 4096)',
  ],
  ['frame-max', 'PIER_FRAME_MAX', '131072', 'largest AMQP frame in bytes, proposed in connection.tune'],
  ['channel-max', 'PIER_CHANNEL_MAX', '2047', 'most channels per AMQP connection'],
  ['heartbeat', 'PIER_HEARTBEAT', '60', 'AMQP heartbeat interval proposed to clients, seconds (0 = off)'],
  ['max-message-size', 'PIER_MAX_MESSAGE_SIZE', '16777216', 'largest message body accepted, bytes'],
  [
    'max-connections',
    'PIER_MAX_CONNECTIONS',
    'unlimited',
    "AMQP connections the broker accepts; more are refused with 530 NOT_ALLOWED ('unlimited' or a number)",
  ],
  [
    'max-consumers-per-channel',
    'PIER_MAX_CONSUMERS_PER_CHANNEL',
    'unlimited',
    "consumers one AMQP channel may have; one more is a 530 NOT_ALLOWED ('unlimited' or a number)",
  ],
  [
    'consumer-timeout-ms',
    'PIER_CONSUMER_TIMEOUT_MS',
    '1800000',
    "a delivery unacked for this long closes its channel with 406 and requeues it (0 or 'off' disables)",
  ],
  [
    'amqp-server-product',
    'PIER_AMQP_SERVER_PRODUCT',
    DEFAULT_SERVER_IDENTITY.product,
    "product in AMQP server-properties; clients switch semantics on it (kombu/Celery apply basic.qos per channel only for 'RabbitMQ')",
  ],
  [
    'amqp-server-version',
    'PIER_AMQP_SERVER_VERSION',
    DEFAULT_SERVER_IDENTITY.version,
    "version in AMQP server-properties: the RabbitMQ version whose semantics Pier implements (Pier's own is in pier_version)",
  ],
  [
    'memory-high-watermark',
    'PIER_MEMORY_HIGH_WATERMARK',
    '0.4',
    'memory alarm above this: a fraction of total RAM (0.4) or a size (512MiB, 2GB); publishers are blocked',
  ],
  [
    'disk-free-limit',
    'PIER_DISK_FREE_LIMIT',
    '50MB',
    "disk alarm when the data directory's filesystem has less free space (50MB, 1GiB, bytes); publishers are blocked",
  ],
  [
    'resource-check-interval-ms',
    'PIER_RESOURCE_CHECK_INTERVAL_MS',
    '1000',
    'how often memory and free disk space are measured',
  ],
] as const;

function serveHelp(): string {
  const width = Math.max(...SERVE_FLAGS.map(([name]) => name.length));
  const lines = SERVE_FLAGS.map(
    ([name, env, def, help]) =>
      `  --${name.padEnd(width)} ${help}\n  ${''.padEnd(width + 2)} (env ${env}, default ${def})`,
  );
  return `Usage: pier serve [flags]

Runs the broker in the foreground. It prints one line per listener with the address it bound.
SIGINT or SIGTERM shut it down gracefully: stop accepting, close AMQP connections with
320 CONNECTION_FORCED, finish writes and fsync.

Flags (each may also be set by the environment variable shown):
${lines.join('\n')}
  ${'--help'.padEnd(width + 2)} show this text
`;
}

class UsageError extends Error {}

function parsePort(flag: string, value: string): number | false {
  if (value === 'off' || value === 'false') return false;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${flag}: '${value}' is not a port number (0-65535) or 'off'`);
  }
  return port;
}

function parsePositive(flag: string, value: string, allowZero = false): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new UsageError(
      `--${flag}: '${value}' must be a ${allowZero ? 'non-negative' : 'positive'} integer`,
    );
  }
  return n;
}

/** Segment files smaller than a few records would roll at every append. */
const MIN_QUEUE_SEGMENT_BYTES = 4096;
const MAX_QUEUE_SEGMENT_BYTES = 0xffff_ffff;

function parseQueueSegmentBytes(value: string): number {
  const n = parsePositive('queue-segment-bytes', value);
  if (n < MIN_QUEUE_SEGMENT_BYTES || n > MAX_QUEUE_SEGMENT_BYTES) {
    throw new UsageError(
      `--queue-segment-bytes: '${value}' must be between ${MIN_QUEUE_SEGMENT_BYTES} and ${MAX_QUEUE_SEGMENT_BYTES}`,
    );
  }
  return n;
}

/** A positive integer, or 'unlimited' (Infinity). */
function parseLimit(flag: string, value: string): number {
  if (value === 'unlimited' || value === 'infinity') return Number.POSITIVE_INFINITY;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${flag}: '${value}' must be a positive integer or 'unlimited'`);
  }
  return n;
}

function parseNonEmpty(flag: string, value: string): string {
  if (value.trim() === '') throw new UsageError(`--${flag}: must not be empty`);
  return value;
}

function serveOptions(argv: string[]): BrokerOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(SERVE_FLAGS.map(([name]) => [name, { type: 'string' as const }])),
      'sqs-access-key': { type: 'string', multiple: true },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(serveHelp());
    return undefined;
  }
  const get = (name: string): string => {
    const flag = SERVE_FLAGS.find(([n]) => n === name)!;
    return (
      ((values as Record<string, unknown>)[name] as string | undefined) ?? process.env[flag[1]] ?? flag[2]
    );
  };
  const fsync = get('fsync');
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'never') {
    throw new UsageError(`--fsync: '${fsync}' must be always, interval or never`);
  }
  const memoryHighWatermark = parseMemoryWatermark(get('memory-high-watermark'));
  if (!memoryHighWatermark) {
    throw new UsageError(
      `--memory-high-watermark: '${get('memory-high-watermark')}' must be a fraction of total memory (0 to 1, e.g. 0.4) or a size (e.g. 512MiB, 2GB)`,
    );
  }
  const diskFreeLimitBytes = parseInformationUnit(get('disk-free-limit'));
  if (diskFreeLimitBytes === undefined) {
    throw new UsageError(
      `--disk-free-limit: '${get('disk-free-limit')}' must be a size in bytes or with a unit (e.g. 50MB, 1GiB)`,
    );
  }
  const consumerTimeout = get('consumer-timeout-ms');
  return {
    dataDir: get('data-dir'),
    host: get('host'),
    amqpPort: parsePort('amqp-port', get('amqp-port')),
    kafkaPort: parsePort('kafka-port', get('kafka-port')),
    sqsPort: parsePort('sqs-port', get('sqs-port')),
    httpPort: parsePort('http-port', get('http-port')),
    kafka: kafkaOptions(get),
    sqs: sqsOptions(get, values['sqs-access-key'] as string[] | undefined),
    fsync: fsync as FsyncPolicy,
    fsyncIntervalMs: parsePositive('fsync-interval-ms', get('fsync-interval-ms')),
    queueSegmentBytes: parseQueueSegmentBytes(get('queue-segment-bytes')),
    amqp: {
      frameMaxBytes: parsePositive('frame-max', get('frame-max')),
      channelMax: parsePositive('channel-max', get('channel-max')),
      heartbeatSeconds: parsePositive('heartbeat', get('heartbeat'), true),
      maxMessageSizeBytes: parsePositive('max-message-size', get('max-message-size')),
      maxConnections: parseLimit('max-connections', get('max-connections')),
      maxConsumersPerChannel: parseLimit('max-consumers-per-channel', get('max-consumers-per-channel')),
      consumerTimeoutMs:
        consumerTimeout === 'off' ? 0 : parsePositive('consumer-timeout-ms', consumerTimeout, true),
      serverProduct: parseNonEmpty('amqp-server-product', get('amqp-server-product')),
      serverVersion: parseNonEmpty('amqp-server-version', get('amqp-server-version')),
    },
    resources: {
      memoryHighWatermark,
      diskFreeLimitBytes,
      checkIntervalMs: parsePositive('resource-check-interval-ms', get('resource-check-interval-ms')),
    },
  };
}

function kafkaOptions(get: (name: string) => string): KafkaOptions {
  const advertisedHost = get('kafka-advertised-host');
  const advertisedPort = get('kafka-advertised-port');
  const sasl = get('kafka-sasl');
  if (sasl !== 'on' && sasl !== 'off' && sasl !== 'auto') {
    throw new UsageError(`--kafka-sasl: '${sasl}' must be on, off or auto`);
  }
  const autoCreate = get('kafka-auto-create-topics');
  if (autoCreate !== 'true' && autoCreate !== 'false') {
    throw new UsageError(`--kafka-auto-create-topics: '${autoCreate}' must be true or false`);
  }
  return {
    advertisedHost: advertisedHost === 'the --host value' ? undefined : advertisedHost,
    advertisedPort:
      advertisedPort === 'the bound Kafka port'
        ? undefined
        : parsePositive('kafka-advertised-port', advertisedPort),
    sasl: sasl === 'auto' ? undefined : sasl === 'on',
    autoCreateTopics: autoCreate === 'true',
    defaultPartitions: parsePositive('kafka-default-partitions', get('kafka-default-partitions')),
    maxRequestBytes: parsePositive('kafka-max-request-bytes', get('kafka-max-request-bytes')),
    maxConnections: parseLimit('kafka-max-connections', get('kafka-max-connections')),
    idleTimeoutMs: parsePositive('kafka-idle-timeout-ms', get('kafka-idle-timeout-ms'), true),
    groupInitialRebalanceDelayMs: parsePositive(
      'kafka-group-initial-rebalance-delay-ms',
      get('kafka-group-initial-rebalance-delay-ms'),
      true,
    ),
    groupMinSessionTimeoutMs: parsePositive(
      'kafka-group-min-session-timeout-ms',
      get('kafka-group-min-session-timeout-ms'),
    ),
    groupMaxSessionTimeoutMs: parsePositive(
      'kafka-group-max-session-timeout-ms',
      get('kafka-group-max-session-timeout-ms'),
    ),
  };
}

function sqsOptions(get: (name: string) => string, accessKeyFlags: string[] | undefined): SqsOptions {
  const fromEnv = process.env.PIER_SQS_ACCESS_KEY?.split(',').filter((k) => k !== '') ?? [];
  const accessKeys = (accessKeyFlags ?? fromEnv).map((text) => {
    const key = parseSqsAccessKey(text);
    if (!key) throw new UsageError(`--sqs-access-key: '${text}' must be <access-key-id>:<secret-access-key>`);
    return key;
  });
  const accountId = get('sqs-account-id');
  if (!/^\d{12}$/.test(accountId)) {
    throw new UsageError(`--sqs-account-id: '${accountId}' must be 12 digits`);
  }
  return {
    accessKeys,
    accountId,
    region: get('sqs-region'),
    maxRequestBytes: parsePositive('sqs-max-request-bytes', get('sqs-max-request-bytes')),
    maxConnections: parseLimit('sqs-max-connections', get('sqs-max-connections')),
  };
}

async function serve(argv: string[]): Promise<void> {
  const options = serveOptions(argv);
  if (!options) return;
  const broker = await startBroker({ ...options, log: (line) => process.stderr.write(`pier: ${line}\n`) });
  process.stdout.write(`pier: data in ${broker.dataDir} (fsync ${options.fsync})\n`);
  if (broker.amqp) process.stdout.write(`pier: amqp listening on ${broker.amqp.host}:${broker.amqp.port}\n`);
  if (broker.kafka)
    process.stdout.write(`pier: kafka listening on ${broker.kafka.host}:${broker.kafka.port}\n`);
  if (broker.sqs) process.stdout.write(`pier: sqs listening on ${broker.sqs.host}:${broker.sqs.port}\n`);
  if (options.httpPort !== false) {
    process.stdout.write(
      `pier: note: the management HTTP listener is not implemented in this version; --http-port is ignored\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`pier: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`pier: ${signal} received, shutting down (finishing writes and fsync)\n`);
    broker.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`pier: error during shutdown: ${error.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'user':
    case 'vhost':
    case 'permissions':
    case 'policy':
    case 'topics':
    case 'groups':
    case 'sqs':
      process.exitCode = await runAdminCommand(command as AdminGroup, rest);
      return;
    case '--version':
      process.stdout.write(`${PIER_VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(MAIN_HELP);
      return;
    default:
      throw new UsageError(`unknown command '${command}'; run 'pier --help' for the list`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof ListenerError ||
    error instanceof BrokerConfigError ||
    error instanceof StorageLockedError ||
    error instanceof UsageError
  ) {
    process.stderr.write(`pier: ${error.message}\n`);
  } else if (String((error as NodeJS.ErrnoException)?.code).startsWith('ERR_PARSE_ARGS_')) {
    // Unknown flags, missing values, values that look like flags: one line, no stack.
    const message = (error as Error).message.replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`pier: ${message}; run 'pier serve --help' for the flags\n`);
  } else {
    process.stderr.write(`pier: ${(error as Error)?.stack ?? error}\n`);
  }
  process.exit(2);
});
