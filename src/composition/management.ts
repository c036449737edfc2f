/**
 * Composes the management HTTP API (src/management): hands it the core, the AMQP listener's
 * connections as plain views, AMQP property encoding, the durability barrier, the resource alarms
 * and the bound listeners, and binds its listener on --http-port.
 */

import type { BrokerCore } from '../core/broker-core.js';
import type { DurabilityBarrier } from '../core/durability.js';
import { groupLags } from '../core/kafka/monitoring.js';
import type {
  ChannelView,
  ConnectionView,
  KafkaContext,
  ListenerView,
  PropertiesCodec,
  ShovelView,
  SqsContext,
} from '../management/context.js';
import { ManagementServer } from '../management/http-server.js';
import { lagSum } from '../management/kafka.js';
import { RateSampler } from '../management/rates.js';
import { managementRouter } from '../management/routes.js';
import type { MetricsEndpoint } from '../metrics/render.js';
import {
  type BasicProperties,
  decodeProperties,
  encodeProperties,
  type FieldTable,
  type FieldValue,
  TypedValue,
} from '../protocol/amqp/codec/index.js';
import type { AmqpConnection } from '../protocol/amqp/connection.js';
import { PIER_VERSION } from '../protocol/amqp/server-properties.js';
import { findOffsetForTimestamp } from '../protocol/kafka/offset-search.js';
import type { ResourceAlarms } from '../resources/resource-monitor.js';
import { peekRecords } from './kafka-records.js';
import { type BoundAddress, bindListener, formatHost } from './listener.js';
import type { BoundTlsListener, TlsParts } from './tls.js';

export interface HttpListenerAddress extends BoundAddress {
  /** The API's base URL, e.g. `http://127.0.0.1:15672`. */
  readonly url: string;
}

/** Request bodies beyond this are refused with 413 (a definitions file of many thousand objects fits). */
export const MANAGEMENT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ManagementCompositionInput {
  readonly core: BrokerCore;
  readonly connections: () => Iterable<AmqpConnection>;
  readonly durability: DurabilityBarrier;
  readonly alarms: ResourceAlarms;
  readonly listeners: () => ListenerView[];
  /** The Prometheus exposition, served again on the API port with authentication. */
  readonly metrics: (endpoint: MetricsEndpoint, query: URLSearchParams) => Promise<Buffer[]>;
  readonly log: (line: string) => void;
  /** Kafka's topics and groups, for /api/kafka. */
  readonly kafka?: Pick<KafkaContext, 'topics' | 'groups'>;
  /** SQS's queues, for /api/sqs. */
  readonly sqs?: SqsContext;
  /** The shovels' status, for /api/shovels. */
  readonly shovels?: () => ShovelView[];
}

export interface ManagementParts {
  listen(host: string, port: number): Promise<HttpListenerAddress>;
  /** Binds the HTTPS listener (call once): the same API, over TLS. */
  listenTls(host: string, port: number, tls: TlsParts): Promise<HttpListenerAddress>;
  stopListening(): Promise<void>;
}

export function composeManagement(input: ManagementCompositionInput): ManagementParts {
  const viewed = new WeakMap<AmqpConnection, ConnectionFacts>();
  const view = (connection: AmqpConnection): ConnectionView => {
    let facts = viewed.get(connection);
    if (facts === undefined) {
      facts = { connectedAtMs: Date.now() };
      viewed.set(connection, facts);
    }
    return new AmqpConnectionView(connection, facts);
  };
  let server: ManagementServer | undefined;
  let tlsListener: BoundTlsListener | undefined;
  const rates = new RateSampler(input.core);
  const kafka = input.kafka;
  if (kafka) {
    rates.sampleGroupLag(() => {
      const lags = new Map<string, number>();
      for (const group of groupLags(kafka.groups, kafka.topics))
        if (group) lags.set(group.groupId, lagSum(group));
      return lags;
    });
  }
  // One server answers both listeners (plain and HTTPS), made by whichever binds first.
  const ensureServer = (): ManagementServer => {
    if (server) return server;
    rates.start();
    server = new ManagementServer(managementRouter(), {
      core: input.core,
      connections: function* () {
        for (const connection of input.connections()) {
          if (!connection.isClosing && connection.user !== '') yield view(connection);
        }
      },
      properties: amqpPropertiesJson,
      durability: input.durability,
      alarms: () => input.alarms.active,
      listeners: input.listeners,
      startedAtMs: Date.now(),
      pierVersion: PIER_VERSION,
      maxBodyBytes: MANAGEMENT_MAX_BODY_BYTES,
      metrics: input.metrics,
      log: input.log,
      ...(input.kafka
        ? {
            kafka: {
              ...input.kafka,
              offsetForTimestamp: (partition, timestampMs) =>
                findOffsetForTimestamp(partition, timestampMs)?.offset,
              peekRecords,
            },
          }
        : {}),
      ...(input.sqs ? { sqs: input.sqs } : {}),
      ...(input.shovels ? { shovels: input.shovels } : {}),
      rates,
    });
    return server;
  };
  return {
    async listen(host, port) {
      const listening = ensureServer();
      const bound = await bindListener('http', '--http-port', host, port, (h, p) => listening.listen(h, p));
      return { ...bound, url: `http://${formatHost(bound.host)}:${bound.port}` };
    },
    async listenTls(host, port, tls) {
      const listening = ensureServer();
      tlsListener = await tls.listen('https', '--https-port', host, port, (socket) =>
        listening.accept(socket),
      );
      return {
        host: tlsListener.host,
        port: tlsListener.port,
        url: `https://${formatHost(tlsListener.host)}:${tlsListener.port}`,
      };
    },
    async stopListening() {
      rates.stop();
      const tlsClosed = tlsListener?.close();
      await server?.close();
      await tlsClosed;
    },
  };
}

/**
 * What a connection's view shows that does not change once it is open, kept with the connection:
 * when the API first saw it, and — read the first time a request needs them — its addresses (each
 * read of a socket's address is a getpeername/getsockname call) and its client properties as JSON.
 */
interface ConnectionFacts {
  readonly connectedAtMs: number;
  addresses?: {
    readonly name: string;
    readonly peerHost: string;
    readonly peerPort: number;
    readonly host: string;
    readonly port: number;
  };
  clientProperties?: Record<string, unknown>;
}

/**
 * An open AMQP connection as the management API shows it, read as asked: the overview, which
 * walks every connection only for its vhost and channel count, builds no names and converts no
 * client properties (with 1,000 connections that was most of its ~8 ms).
 */
class AmqpConnectionView implements ConnectionView {
  constructor(
    private readonly connection: AmqpConnection,
    private readonly facts: ConnectionFacts,
  ) {}

  private get addresses(): NonNullable<ConnectionFacts['addresses']> {
    if (this.facts.addresses) return this.facts.addresses;
    const { socket } = this.connection;
    const peerHost = socket.remoteAddress ?? '';
    const host = socket.localAddress ?? '';
    this.facts.addresses = {
      name: `${peerHost}:${socket.remotePort} -> ${host}:${socket.localPort}`,
      peerHost,
      peerPort: socket.remotePort ?? 0,
      host,
      port: socket.localPort ?? 0,
    };
    return this.facts.addresses;
  }

  get name(): string {
    return this.addresses.name;
  }
  get peerHost(): string {
    return this.addresses.peerHost;
  }
  get peerPort(): number {
    return this.addresses.peerPort;
  }
  get host(): string {
    return this.addresses.host;
  }
  get port(): number {
    return this.addresses.port;
  }
  get user(): string {
    return this.connection.user;
  }
  get vhost(): string {
    return this.connection.openedVhost ?? '';
  }
  get channels(): number {
    return this.connection.channelCount;
  }
  get connectedAtMs(): number {
    return this.facts.connectedAtMs;
  }
  get clientProperties(): Record<string, unknown> {
    this.facts.clientProperties ??= toJson(this.connection.describe().clientProperties) as Record<
      string,
      unknown
    >;
    return this.facts.clientProperties;
  }
  channelDetails(): ChannelView[] {
    return this.connection.describeChannels();
  }
  close(reason: string): void {
    this.connection.forceClose(reason);
  }
}

/** JSON field names of the AMQP basic properties, as the management API writes them. */
const FIELDS: ReadonlyArray<[string, keyof BasicProperties]> = [
  ['content_type', 'contentType'],
  ['content_encoding', 'contentEncoding'],
  ['headers', 'headers'],
  ['delivery_mode', 'deliveryMode'],
  ['priority', 'priority'],
  ['correlation_id', 'correlationId'],
  ['reply_to', 'replyTo'],
  ['expiration', 'expiration'],
  ['message_id', 'messageId'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['user_id', 'userId'],
  ['app_id', 'appId'],
  ['cluster_id', 'clusterId'],
];

const NUMERIC = new Set<keyof BasicProperties>(['deliveryMode', 'priority', 'timestamp']);

export const amqpPropertiesJson: PropertiesCodec = {
  encode(json) {
    const props: Record<string, unknown> = {};
    for (const [field, key] of FIELDS) {
      const value = json[field];
      if (value === undefined || value === null) continue;
      if (key === 'headers') {
        if (typeof value !== 'object' || Array.isArray(value))
          throw new TypeError('properties.headers must be an object');
        props[key] = value as FieldTable;
      } else if (NUMERIC.has(key)) {
        const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
          throw new TypeError(`properties.${field} must be a non-negative integer`);
        }
        props[key] = n;
      } else {
        if (typeof value !== 'string') throw new TypeError(`properties.${field} must be a string`);
        props[key] = value;
      }
    }
    return encodeProperties(props as BasicProperties);
  },
  decode(encoded) {
    const props = decodeProperties(encoded);
    const json: Record<string, unknown> = {};
    for (const [field, key] of FIELDS) {
      const value = props[key];
      if (value !== undefined) json[field] = toJson(value as FieldValue);
    }
    return json;
  },
};

/** A field value as JSON: bigints as numbers, byte arrays as text, dates as seconds. */
function toJson(value: FieldValue): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (value instanceof TypedValue) return toJson(value.value as FieldValue);
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}
