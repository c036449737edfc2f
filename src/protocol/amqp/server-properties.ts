import type { FieldTable } from './codec/index.js';

export const PIER_VERSION = '0.1.0';

/** The `product` and `version` connection.start announces. */
export interface ServerIdentity {
  readonly product: string;
  readonly version: string;
}

/**
 * RabbitMQ-compatible clients act on `product` and `version`: kombu (Celery's AMQP layer) applies
 * basic.qos to the whole channel (global=true) only for product `RabbitMQ` from 3.3 on, and treats
 * anything else as following the AMQP spec (global=false), which RabbitMQ, and so Pier, read as a
 * limit for consumers created afterwards. Pier implements RabbitMQ 3.10's semantics (its
 * differential suite compares it with Debian's 3.10.8), so that is what it reports by default; its
 * own name and version are in `information` and `pier_version`.
 */
export const DEFAULT_SERVER_IDENTITY: ServerIdentity = { product: 'RabbitMQ', version: '3.10.8' };

/**
 * connection.start server-properties. The capabilities are those RabbitMQ announces that Pier
 * implements; clients switch features on by them (pika checks several).
 */
export function serverProperties(identity: ServerIdentity = DEFAULT_SERVER_IDENTITY): FieldTable {
  return {
    product: identity.product,
    version: identity.version,
    platform: `Node.js ${process.version}`,
    copyright: 'Pier contributors',
    information: `Pier ${PIER_VERSION} (RabbitMQ-compatible AMQP 0-9-1); licensed under the MIT license`,
    pier_version: PIER_VERSION,
    cluster_name: 'pier',
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      consumer_priorities: true,
      direct_reply_to: true,
    },
  };
}
