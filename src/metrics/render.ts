/**
 * Renders a scrape: what `/metrics` (aggregated: queue gauges summed), `/metrics/per-object`
 * (queue gauges by {vhost,queue}) and `/metrics/detailed` (the groups asked for with `family=`,
 * detailed.ts) answer, as text exposition format 0.0.4. A plain function of the broker's state
 * passed in as interfaces, so any HTTP server can serve it (the Prometheus listener,
 * src/composition/metrics.ts; the management API). renderMetricsChunked lets the event loop run
 * between slices of queues, so a scrape of 10,000 queues never holds the broker for long.
 */
import { type AmqpMetricsSource, writeAmqpMetrics } from './amqp.js';
import { detailedSelection, writeDetailedMetrics } from './detailed.js';
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
export const METRICS_ENDPOINTS = ['/metrics', '/metrics/per-object', '/metrics/detailed'] as const;
export type MetricsEndpoint = (typeof METRICS_ENDPOINTS)[number];

/** Work done between two turns of the event loop, at most (about: a slice of rows is the unit). */
const SLICE_BUDGET_MS = 4;

const NO_QUERY = new URLSearchParams();

export function renderMetrics(
  sources: MetricsSources,
  endpoint: MetricsEndpoint = '/metrics',
  query: URLSearchParams = NO_QUERY,
): string {
  const out = new ExpositionWriter();
  for (const _ of render(out, sources, endpoint, query));
  return out.text();
}

/** The same as UTF-8 bytes, for an HTTP answer. */
export function renderMetricsBytes(
  sources: MetricsSources,
  endpoint: MetricsEndpoint = '/metrics',
  query: URLSearchParams = NO_QUERY,
): Buffer {
  const out = new ExpositionWriter();
  for (const _ of render(out, sources, endpoint, query));
  return out.bytes();
}

/**
 * The same as pieces of UTF-8 to write one after another (no megabyte copy: per-queue slices are
 * shared with the previous scrape where unchanged), rendered in slices, yielding to the event
 * loop (setImmediate) whenever a slice ran past the budget: AMQP traffic keeps flowing while
 * 10,000 queues are written. Series written after a yield may be a few milliseconds newer than
 * those before it.
 */
export async function renderMetricsChunked(
  sources: MetricsSources,
  endpoint: MetricsEndpoint = '/metrics',
  query: URLSearchParams = NO_QUERY,
): Promise<Buffer[]> {
  const out = new ExpositionWriter();
  let sliceStart = performance.now();
  for (const _ of render(out, sources, endpoint, query)) {
    if (performance.now() - sliceStart < SLICE_BUDGET_MS) continue;
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  }
  return out.chunks();
}

/**
 * How long a reading of the process (open fds: a readdir of /proc/self/fd, 1,000+ entries with
 * 1,000 connections; resident memory) serves scrapes: a quarter of a scrape's CPU with 10,000
 * queues went to reading it (a CPU profile of `npm run bench -- management`), and a scraper
 * reading /metrics and /metrics/per-object one after the other read it twice. RabbitMQ's own
 * figures are collected every few seconds, not per scrape.
 */
const PROCESS_READING_MS = 1000;

const cachedNodes = new WeakMap<NodeMetricsSource, NodeMetricsSource>();

/** The source with process() read at most once per PROCESS_READING_MS. */
function withCachedProcess(node: NodeMetricsSource): NodeMetricsSource {
  let cached = cachedNodes.get(node);
  if (cached === undefined) {
    let reading: ReturnType<NodeMetricsSource['process']> | undefined;
    let readAtMs = Number.NEGATIVE_INFINITY;
    cached = Object.create(node, {
      process: {
        value: () => {
          const nowMs = performance.now();
          if (reading === undefined || nowMs - readAtMs >= PROCESS_READING_MS) {
            reading = node.process();
            readAtMs = nowMs;
          }
          return reading;
        },
      },
    }) as NodeMetricsSource;
    cachedNodes.set(node, cached);
  }
  return cached;
}

function* render(
  out: ExpositionWriter,
  allSources: MetricsSources,
  endpoint: MetricsEndpoint,
  query: URLSearchParams,
): Generator<void, void, void> {
  const sources = { ...allSources, node: withCachedProcess(allSources.node) };
  if (endpoint === '/metrics/detailed') {
    yield* writeDetailedMetrics(out, sources.node, sources.amqp, detailedSelection(query));
    return;
  }
  writeNodeMetrics(out, sources.node, endpoint);
  yield* writeAmqpMetrics(out, sources.amqp, endpoint === '/metrics/per-object');
  writeKafkaMetrics(out, sources.kafka);
  writeSqsMetrics(out, sources.sqs);
}
