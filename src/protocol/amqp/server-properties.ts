import type { FieldTable } from './codec/index.js';

export const PIER_VERSION = '0.1.0';

/**
 * connection.start server-properties. The capabilities are those RabbitMQ announces that Pier
 * implements; clients switch features on by them (pika checks several).
 */
export function serverProperties(): FieldTable {
  return {
    product: 'Pier',
    version: PIER_VERSION,
    platform: `Node.js ${process.version}`,
    copyright: 'Pier contributors',
    information: 'Licensed under the MIT license',
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
