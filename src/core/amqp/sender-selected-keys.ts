import { preconditionFailed } from './errors.js';
import type { Arguments } from './exchange.js';
import { amqpTypeName } from './queue-arguments.js';

/**
 * Sender-selected distribution (RabbitMQ's CC and BCC headers): arrays of extra routing keys a
 * message is routed with. Returns the keys, or undefined when there are none; a CC or BCC that is
 * not an array is refused as RabbitMQ refuses it.
 */
export function senderSelectedKeys(headers: Arguments | undefined): string[] | undefined {
  if (headers === undefined || (headers.CC === undefined && headers.BCC === undefined)) return undefined;
  const keys: string[] = [];
  for (const name of ['CC', 'BCC'] as const) {
    const value = headers[name];
    if (value === undefined) continue;
    if (!Array.isArray(value)) {
      throw preconditionFailed(
        `invalid message: {unacceptable_type_in_header,"${name}",${amqpTypeName(value)}}`,
      );
    }
    for (const key of value) if (typeof key === 'string') keys.push(key);
  }
  return keys;
}
