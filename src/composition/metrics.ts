/**
 * Composes the Prometheus listener (`--prometheus-port`, 15692 as RabbitMQ's rabbitmq_prometheus,
 * no authentication): `GET /metrics` and `GET /metrics/per-object`, rendered by src/metrics from
 * the state of every protocol's model, plus the process measurements read here (/proc). Bodies
 * are written with backpressure and gzip'd when asked for (util/http-body.ts).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import {
  EXPOSITION_CONTENT_TYPE,
  METRICS_ENDPOINTS,
  type MetricsEndpoint,
  type MetricsSources,
  renderMetrics,
  renderMetricsBytes,
  renderMetricsChunked,
} from '../metrics/render.js';
import { PIER_VERSION } from '../protocol/amqp/server-properties.js';
import type { ResourceMonitor } from '../resources/resource-monitor.js';
import { acceptsGzip, sendPieces } from '../util/http-body.js';
import { listen } from '../util/listen.js';
import { byteLength } from '../util/write-pieces.js';
import type { AmqpParts } from './amqp.js';
import type { KafkaParts } from './kafka.js';
import { type BoundAddress, bindListener, formatHost } from './listener.js';
import type { SqsParts } from './sqs.js';

export interface PrometheusListenerAddress extends BoundAddress {
  /** The aggregated endpoint, e.g. `http://127.0.0.1:15692/metrics`. */
  readonly url: string;
}

export interface MetricsCompositionInput {
  readonly amqp: AmqpParts;
  readonly kafka: KafkaParts;
  readonly sqs: SqsParts;
  readonly resources: ResourceMonitor;
  readonly clock: Clock;
  readonly dataDir: string;
}

export interface MetricsParts {
  readonly sources: MetricsSources;
  /** Renders an endpoint's answer (for any HTTP server, e.g. the management API). */
  render(endpoint?: MetricsEndpoint): string;
  /** The same as UTF-8 bytes, for an HTTP answer. */
  renderBytes(endpoint?: MetricsEndpoint): Buffer;
  /**
   * The bytes as pieces to write in order, rendered in slices that let the event loop run (10,000
   * queues never block it long).
   */
  renderChunked(endpoint: MetricsEndpoint, query: URLSearchParams): Promise<Buffer[]>;
  listen(host: string, port: number): Promise<PrometheusListenerAddress>;
  stopListening(): Promise<void>;
}

export function composeMetrics(input: MetricsCompositionInput): MetricsParts {
  const { amqp, kafka, sqs, resources, clock } = input;
  const startedAtMs = Date.now();
  const node = `pier@${hostname()}`;
  const sources: MetricsSources = {
    node: {
      nodeName: node,
      clusterName: node,
      clusterPermanentId: `pier-cluster-id-${createHash('sha256').update(input.dataDir).digest('base64url').slice(0, 22)}`,
      version: PIER_VERSION,
      runtimeVersion: `Node.js ${process.version}`,
      uptimeSeconds: () => Math.floor((Date.now() - startedAtMs) / 1000),
      process: () => ({
        openFds: openFds(),
        maxFds: maxFds(),
        residentMemoryBytes: process.memoryUsage.rss(),
      }),
      resources: () => ({
        memoryLimitBytes: resources.memoryLimitBytes,
        diskFreeBytes: resources.lastDiskFreeBytes,
        diskFreeLimitBytes: resources.diskFreeLimitBytes,
        memoryAlarm: resources.active.has('memory'),
        diskAlarm: resources.active.has('disk'),
        diskWriteFailing: resources.diskWriteError !== undefined,
        storageFailed: resources.storageFailure !== undefined,
      }),
    },
    amqp: {
      vhosts: amqp.core.vhosts,
      stats: amqp.core.stats,
      connectionCount: () => amqp.connectionCount(),
      channelCount: () => amqp.channelCount(),
      paging: () => ({ ...amqp.transientPaging(), underPressure: resources.memoryPaging }),
    },
    kafka: {
      topics: kafka.topics,
      groups: kafka.groups,
      logCleaner: kafka.logCleaner,
      nowMs: () => clock.now(),
    },
    sqs: { registry: sqs.registry, memory: sqs.registry.memory, nowMs: () => clock.now() },
  };
  const render = (endpoint: MetricsEndpoint = '/metrics') => renderMetrics(sources, endpoint);
  let server: Server | undefined;
  return {
    sources,
    render,
    renderBytes: (endpoint = '/metrics') => renderMetricsBytes(sources, endpoint),
    renderChunked: (endpoint, query) => renderMetricsChunked(sources, endpoint, query),
    async listen(host, port) {
      const listening = createServer((request, response) => {
        answer(request, response, (endpoint, query) => renderMetricsChunked(sources, endpoint, query)).catch(
          () => response.destroy(),
        );
      });
      server = listening;
      const bound = await bindListener('prometheus', '--prometheus-port', host, port, (h, p) =>
        listen(listening, h, p, 'Prometheus'),
      );
      return { ...bound, url: `http://${formatHost(bound.host)}:${bound.port}/metrics` };
    },
    async stopListening() {
      const listening = server;
      if (!listening) return;
      await new Promise<void>((resolve) => {
        listening.close(() => resolve());
        listening.closeAllConnections();
      });
    },
  };
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  render: (endpoint: MetricsEndpoint, query: URLSearchParams) => Promise<Buffer[]>,
): Promise<void> {
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const search = queryAt < 0 ? '' : url.slice(queryAt + 1);
  const endpoint = METRICS_ENDPOINTS.find((e) => e === path);
  if (!endpoint) {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(`not found; try ${METRICS_ENDPOINTS.join(' or ')}\n`);
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    response.end('method not allowed\n');
    return;
  }
  let body: Buffer[];
  try {
    body = await render(endpoint, new URLSearchParams(search));
  } catch (error) {
    response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(`cannot render metrics: ${(error as Error).message}\n`);
    return;
  }
  // As rabbitmq_prometheus (the Prometheus client library's negotiation): gzip whenever asked for,
  // whatever the size (Prometheus itself asks), and `content-encoding: identity` otherwise.
  const head = request.method === 'HEAD';
  const compress = !head && acceptsGzip(request.headers['accept-encoding']);
  response.writeHead(200, {
    'content-type': EXPOSITION_CONTENT_TYPE,
    ...(compress
      ? { 'content-encoding': 'gzip' }
      : { 'content-encoding': 'identity', 'content-length': byteLength(body) }),
  });
  await sendPieces(response, body, { compress, head });
}

/** Open file descriptors of this process; undefined where /proc is absent. */
function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

let maxFdsCache: number | undefined;

/** The soft limit on open files (/proc/self/limits); undefined where unknown or unlimited. */
function maxFds(): number | undefined {
  if (maxFdsCache !== undefined) return maxFdsCache;
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    maxFdsCache = match ? Number(match[1]) : undefined;
  } catch {
    maxFdsCache = undefined;
  }
  return maxFdsCache;
}
