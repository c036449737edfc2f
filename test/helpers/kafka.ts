/**
 * Kafka test brokers: in-process on a free port (fast, for kafkajs and kcat), or a `pier serve`
 * child process (for restarts and kill -9). Both answer with the bootstrap address 'host:port'
 * that every Kafka client takes. The consumer-group initial rebalance delay is 0 (Kafka's default
 * is 3,000 ms) so group tests do not wait for it.
 */
import { rmSync } from 'node:fs';
import type { Broker, BrokerOptions, KafkaOptions } from '../../src/index.js';
import { type ChildBroker, spawnBroker, startTestBroker, tempDir } from './broker.js';

export interface KafkaAddress {
  readonly host: string;
  readonly port: number;
  /** 'host:port', what Kafka clients call the bootstrap server list. */
  readonly bootstrap: string;
}

export interface KafkaTestBroker extends KafkaAddress {
  readonly broker: Broker;
  readonly dataDir: string;
  /** Closes the broker and deletes its data directory (unless the caller gave one). */
  stop(): Promise<void>;
}

export const TEST_KAFKA_SETTINGS: KafkaOptions = { groupInitialRebalanceDelayMs: 0 };

function kafkaAddressOf(broker: Broker): KafkaAddress {
  if (!broker.kafka) throw new Error('startBroker({ kafkaPort: 0 }) returned no `kafka` address');
  return broker.kafka;
}

/** Starts an in-process broker with only the Kafka listener, on a free port and a fresh data directory. */
export async function startKafkaTestBroker(options: BrokerOptions = {}): Promise<KafkaTestBroker> {
  const dataDir = options.dataDir ?? tempDir('pier-kafka-test-');
  const broker = await startTestBroker({
    ...options,
    amqpPort: options.amqpPort ?? false,
    kafkaPort: options.kafkaPort ?? 0,
    kafka: { ...TEST_KAFKA_SETTINGS, ...options.kafka },
    dataDir,
  });
  const stop = async () => {
    await broker.stop();
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  let address: KafkaAddress;
  try {
    address = kafkaAddressOf(broker);
  } catch (error) {
    await stop();
    throw error;
  }
  return { ...address, broker, dataDir, stop };
}

export interface ChildKafkaBroker extends ChildBroker, KafkaAddress {
  /** SIGTERM (a clean shutdown: writes finished and synced), then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

/** `pier serve` flags for tests with consumer groups: no initial rebalance delay (Kafka's is 3 s). */
export const GROUP_TEST_ARGS: readonly string[] = ['--kafka-group-initial-rebalance-delay-ms', '0'];

/** Runs `pier serve --kafka-port 0` on dataDir and waits for its `kafka listening on HOST:PORT` line. */
export async function spawnKafkaBroker(
  dataDir: string,
  extraArgs: readonly string[] = [],
): Promise<ChildKafkaBroker> {
  const child = await spawnBroker(dataDir, ['--kafka-port', '0', ...extraArgs], ['amqp', 'kafka']);
  const { host, port } = child.listeners.get('kafka')!;
  const connectHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return Object.assign(child, {
    host: connectHost,
    port,
    bootstrap: `${connectHost}:${port}`,
    async stop() {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGTERM');
      await child.exited;
    },
    async kill() {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    },
  });
}

/** A topic or group name unique to this test run. */
export function uniqueKafkaName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}
