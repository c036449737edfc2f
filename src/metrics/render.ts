/**
 * Renders a scrape: what `/metrics` (aggregated: queue gauges summed) and `/metrics/per-object`
 * (queue gauges by {vhost,queue}) answer, as text exposition format 0.0.4. A plain function of the
 * broker's state passed in as interfaces, so any HTTP server can serve it (the Prometheus
 * listener, src/composition/metrics.ts; the management API later).
 */
import { type AmqpMetricsSource, writeAmqpMetrics } from './amqp.js';
import { ExpositionWriter } from './exposition.js';
import { type KafkaMetricsSource, writeKafkaMetrics } from './kafka.js';
import { type NodeMetricsSource, writeNodeMetrics } from './node.js';
import { type SqsMetricsSource, writeSqsMetrics } from './sqs.js';

export { EXPOSITION_CONTENT_TYPE } from './exposition.js';

export interface MetricsSources {
  readonly node: NodeMetricsSource;
  readonly amqp: AmqpMetricsSource;
  readonly kafka: KafkaMetricsSource;
  readonly sqs: SqsMetricsSource;
}

/** The endpoints, as RabbitMQ's rabbitmq_prometheus names them. */
export const METRICS_ENDPOINTS = ['/metrics', '/metrics/per-object'] as const;
export type MetricsEndpoint = (typeof METRICS_ENDPOINTS)[number];

export function renderMetrics(sources: MetricsSources, endpoint: MetricsEndpoint = '/metrics'): string {
  return render(sources, endpoint).text();
}

/** The same as UTF-8 bytes, for an HTTP answer (no megabyte string for 10,000 queues). */
export function renderMetricsBytes(sources: MetricsSources, endpoint: MetricsEndpoint = '/metrics'): Buffer {
  return render(sources, endpoint).bytes();
}

function render(sources: MetricsSources, endpoint: MetricsEndpoint): ExpositionWriter {
  const out = new ExpositionWriter();
  writeNodeMetrics(out, sources.node, endpoint);
  writeAmqpMetrics(out, sources.amqp, endpoint === '/metrics/per-object');
  writeKafkaMetrics(out, sources.kafka);
  writeSqsMetrics(out, sources.sqs);
  return out;
}
