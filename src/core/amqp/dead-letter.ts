/**
 * Dead-lettering as RabbitMQ does it: the message is republished to the queue's dead-letter
 * exchange with its routing key (or the dead-letter routing key), its `expiration` removed, and an
 * `x-death` header that counts, per (queue, reason), how often it died there, most recent first.
 */

import type { Message } from '../message.js';
import type { Arguments } from './exchange.js';
import type { MessagePropertiesCodec } from './message-properties.js';
import type { DeadLetterReason } from './queue.js';
import { senderSelectedKeys } from './sender-selected-keys.js';

type DeathEntry = Record<string, unknown>;

/** The message as it is republished to the dead-letter exchange. */
export function deadLetteredMessage(
  message: Message,
  queueName: string,
  reason: DeadLetterReason,
  deadLetterExchange: string,
  deadLetterRoutingKey: string | undefined,
  nowMs: number,
  codec: MessagePropertiesCodec,
): Message {
  const headers: Arguments = { ...(codec.headers(message.properties) ?? {}) };
  const previous = Array.isArray(headers['x-death']) ? (headers['x-death'] as DeathEntry[]) : [];
  const index = previous.findIndex((e) => e && e.queue === queueName && e.reason === reason);
  let deaths: DeathEntry[];
  if (index >= 0) {
    const entry = previous[index]!;
    const count = typeof entry.count === 'number' ? entry.count : Number(entry.count ?? 0);
    deaths = [{ ...entry, count: count + 1 }, ...previous.slice(0, index), ...previous.slice(index + 1)];
  } else {
    const entry: DeathEntry = {
      count: 1,
      reason,
      queue: queueName,
      time: new Date(Math.floor(nowMs / 1000) * 1000),
      exchange: message.exchange,
      // The routing key and the CC keys (BCC was removed at publish), as RabbitMQ records them.
      'routing-keys': [message.routingKey, ...(senderSelectedKeys(headers) ?? [])],
    };
    const expiration = codec.expiration(message.properties);
    if (expiration !== undefined) entry['original-expiration'] = expiration;
    deaths = [entry, ...previous];
  }
  headers['x-death'] = deaths;
  // A dead-letter routing key replaces all the routing keys, CC ones included.
  if (deadLetterRoutingKey !== undefined) delete headers.CC;
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-queue'] = queueName;
    headers['x-first-death-exchange'] = message.exchange;
  }
  return {
    exchange: deadLetterExchange,
    routingKey: deadLetterRoutingKey ?? message.routingKey,
    properties: codec.withHeadersWithoutExpiration(message.properties, headers),
    body: message.body,
    bodySizeBytes: message.bodySizeBytes,
    persistent: message.persistent,
    publishedAtMs: message.publishedAtMs,
    priority: message.priority,
  };
}

/**
 * RabbitMQ's cycle rule: a dead-lettered message that would return to a queue it already died in
 * is dropped there, unless one of the deaths since then was a rejection (a client's decision, so
 * not an endless automatic loop).
 */
export function isDeadLetterCycle(
  properties: Buffer,
  targetQueue: string,
  codec: MessagePropertiesCodec,
): boolean {
  const deaths = codec.headers(properties)?.['x-death'];
  if (!Array.isArray(deaths)) return false;
  for (const entry of deaths as DeathEntry[]) {
    if (entry?.reason === 'rejected') return false;
    if (entry?.queue === targetQueue) return true;
  }
  return false;
}
