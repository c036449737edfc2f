/**
 * basic.consume on a stream queue, as RabbitMQ 3.10 does it: the `x-stream-offset` argument picks
 * where to start, a per-consumer prefetch is required (it bounds the deliveries in flight, since
 * acks remove nothing), no-ack consumers and consumer priorities are refused, and every delivery
 * carries its offset in the `x-stream-offset` header (a long).
 */

import type { Arguments } from '../../core/amqp/exchange.js';
import type { Queue } from '../../core/amqp/queue.js';
import { parseMaxAge } from '../../core/amqp/queue-arguments.js';
import type { StreamQueue } from '../../core/amqp/stream-queue.js';
import type { Clock } from '../../core/clock.js';
import type { QueuedMessage } from '../../core/message.js';
import type { StreamStart } from '../../core/stream/stream.js';
import { decodeProperties, encodeProperties, ReplyCode, TypedValue } from './codec/index.js';
import { AmqpConsumer } from './consumer.js';
import { channelError, connectionError } from './errors.js';

function describe(queue: Queue): string {
  return `queue '${queue.name}' in vhost '${queue.vhost}'`;
}

/**
 * Checks a stream consume in RabbitMQ's order (consumer arguments, then prefetch, then no-ack)
 * and returns where the consumer starts.
 */
export function streamConsumeStart(
  queue: StreamQueue,
  args: Arguments | undefined,
  noAck: boolean,
  consumerPrefetch: number,
  clock: Clock,
): StreamStart {
  if (args?.['x-priority'] !== undefined) {
    throw channelError(
      ReplyCode.PRECONDITION_FAILED,
      `invalid arg 'x-priority' for ${describe(queue)} of queue type rabbit_stream_queue`,
    );
  }
  const start = parseStreamOffset(args?.['x-stream-offset'], queue, clock);
  if (consumerPrefetch === 0) {
    throw channelError(
      ReplyCode.PRECONDITION_FAILED,
      `consumer prefetch count is not set for '${describe(queue)}'`,
    );
  }
  if (noAck) {
    throw connectionError(
      ReplyCode.NOT_IMPLEMENTED,
      `automatic acknowledgement not supported by stream queues ${describe(queue)}`,
    );
  }
  return start;
}

/**
 * The `x-stream-offset` consumer argument: 'first', 'last', 'next' (the default), an offset (a
 * negative one means the first), a timestamp (seconds), or an interval such as '1h' (that long
 * ago). RabbitMQ 3.10 answers other values with 406 when they look like an interval, else by
 * closing the connection with 541 INTERNAL_ERROR; Pier does the same, naming the problem.
 */
export function parseStreamOffset(value: unknown, queue: Queue, clock: Clock): StreamStart {
  if (value === undefined || value === 'next') return { kind: 'next' };
  if (value === 'first') return { kind: 'first' };
  if (value === 'last') return { kind: 'last' };
  if (typeof value === 'number' && Number.isInteger(value)) return { kind: 'offset', offset: value };
  if (typeof value === 'bigint') return { kind: 'offset', offset: Number(value) };
  if (value instanceof Date) return { kind: 'timestamp', timestampMs: value.getTime() };
  if (value instanceof TypedValue && value.type === 'T')
    return { kind: 'timestamp', timestampMs: Number(value.value) * 1000 };
  if (typeof value === 'string' && /^\d/.test(value)) {
    const ageMs = parseMaxAge(value);
    if (ageMs !== undefined) return { kind: 'timestamp', timestampMs: clock.now() - ageMs };
    throw channelError(
      ReplyCode.PRECONDITION_FAILED,
      `invalid arg 'x-stream-offset' for ${describe(queue)}: {invalid_stream_offset_arg,{longstr,<<"${value}">>}}`,
    );
  }
  throw connectionError(
    ReplyCode.INTERNAL_ERROR,
    `invalid x-stream-offset ${JSON.stringify(String(value))} for ${describe(queue)}: use first, last, next, an offset, a timestamp or an interval such as 1h`,
  );
}

/** A consumer of a stream queue: deliveries carry their offset in the `x-stream-offset` header. */
export class AmqpStreamConsumer extends AmqpConsumer {
  override deliver(queued: QueuedMessage, queue: Queue): void {
    const message = queued.message;
    const properties = withStreamOffset(message.properties, queued.sequence);
    super.deliver({ ...queued, message: { ...message, properties } }, queue);
  }
}

/** The message's properties with the `x-stream-offset` header (a long) added. */
export function withStreamOffset(raw: Buffer, offset: number): Buffer {
  const props = decodeProperties(raw);
  return encodeProperties({
    ...props,
    headers: { ...(props.headers ?? {}), 'x-stream-offset': new TypedValue('l', offset) },
  });
}
