/** The single-broker cluster Pier presents to Kafka clients, and the listener's settings. */

export interface KafkaCluster {
  /** This broker's node id (0), the leader of every partition and the coordinator of every group. */
  readonly nodeId: number;
  /** Stable across restarts: kept in the data directory. */
  readonly clusterId: string;
  /** Host and port clients are told to connect to (Metadata, FindCoordinator). */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  /** The listener's security protocol, as advertised.listeners names it. */
  readonly securityProtocol?: 'PLAINTEXT' | 'SASL_PLAINTEXT' | 'SSL' | 'SASL_SSL';
}

export interface KafkaSettings {
  /** Create a topic the first time Metadata or Produce names it (Kafka's auto.create.topics.enable). */
  readonly autoCreateTopics: boolean;
  /** Partitions of an auto-created topic, and of CreateTopics with -1 (num.partitions). */
  readonly defaultPartitions: number;
  /** Largest request accepted (socket.request.max.bytes); a bigger one closes the connection. */
  readonly maxRequestBytes: number;
  /** Open connections beyond this are refused (closed at once). */
  readonly maxConnections: number;
  /** A connection with no traffic for this long is closed (Kafka's connections.max.idle.ms); 0: never. */
  readonly idleTimeoutMs: number;
}

export const DEFAULT_KAFKA_SETTINGS: KafkaSettings = {
  autoCreateTopics: true,
  defaultPartitions: 1,
  maxRequestBytes: 100 * 1024 * 1024,
  maxConnections: Number.POSITIVE_INFINITY,
  idleTimeoutMs: 600_000,
};
