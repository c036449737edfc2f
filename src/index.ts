/** Pier's public API: run a broker inside a Node process. */
export {
  type Broker,
  BrokerConfigError,
  type BrokerOptions,
  type FsyncPolicy,
  type HttpListenerAddress,
  type KafkaListenerAddress,
  type KafkaOptions,
  type ListenerAddress,
  ListenerError,
  type MetricsEndpoint,
  type PrometheusListenerAddress,
  type ResolvedBrokerOptions,
  type SqsAccessKey,
  type SqsListenerAddress,
  type SqsOptions,
  startBroker,
  type TlsOptions,
  type TlsReloadReport,
} from './broker.js';
export type { Clock, TimerHandle } from './core/clock.js';
export { ManualClock } from './core/manual-clock.js';
export type { AmqpLimits } from './protocol/amqp/connection.js';
export type { MemoryWatermark } from './resources/information-units.js';
export type { ResourceAlarm, ResourceMonitor, ResourceOptions } from './resources/resource-monitor.js';
export { TlsMaterialError } from './tls/certificates.js';
