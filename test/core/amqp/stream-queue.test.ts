// A stream queue in a vhost: declared from x-queue-type, routed to like any queue (also as a
// dead-letter target), confirms wait for the disk even for transient messages, and the
// destructive-queue operations it lacks raise RabbitMQ's errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerError } from '../../../src/core/amqp/errors.js';
import { MemoryQueueStore } from '../../../src/core/amqp/memory-queue-store.js';
import { NO_PROPERTIES } from '../../../src/core/amqp/message-properties.js';
import { StreamQueue } from '../../../src/core/amqp/stream-queue.js';
import { VirtualHost } from '../../../src/core/amqp/vhost.js';
import { discardDefinitions } from '../../../src/core/definitions.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import type { Message, QueuedMessage } from '../../../src/core/message.js';

function message(body: string, persistent: boolean, routingKey = 'events'): Message {
  const b = Buffer.from(body);
  return {
    exchange: '',
    routingKey,
    properties: Buffer.from([0, 0]),
    body: b,
    bodySizeBytes: b.length,
    persistent,
    publishedAtMs: 0,
    priority: 0,
  };
}

function vhost(): VirtualHost {
  return new VirtualHost('/', {
    clock: new ManualClock(),
    createStore: () => new MemoryQueueStore(),
    definitions: discardDefinitions,
    codec: NO_PROPERTIES,
  });
}

const declare = (v: VirtualHost, name: string, args: Record<string, unknown> = {}) =>
  v.declareQueue({
    name,
    passive: false,
    durable: true,
    exclusive: false,
    autoDelete: false,
    arguments: args,
    owner: undefined,
  });

test('a stream queue takes published and dead-lettered messages; confirms of transient ones wait for disk', () => {
  const v = vhost();
  const stream = declare(v, 'events', { 'x-queue-type': 'stream' });
  assert.ok(stream instanceof StreamQueue);
  const classic = declare(v, 'work', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'events' });
  const exchange = v.getExchange('');
  assert.deepEqual(v.publish(exchange, message('t', false)), {
    routed: true,
    rejected: false,
    needsDisk: true,
  });
  assert.equal(v.publish(exchange, message('w', false, 'work')).needsDisk, false, 'a classic queue: no');
  const taken = classic.take()!;
  classic.reject(taken); // dead-lettered into the stream
  assert.equal(stream.messageCount, 2);
  const entries = stream.stream.readFrom(0, 10);
  assert.deepEqual(
    entries.map((e) => [e.offset, e.payload.toString()]),
    [
      [0, 't'],
      [1, 'w'],
    ],
  );
});

test('basic.get, purge and reject on a stream queue raise not-implemented with RabbitMQ texts', () => {
  const v = vhost();
  const stream = declare(v, 's', { 'x-queue-type': 'stream' });
  const where = "queue 's' in vhost '/'";
  const notImplemented = (text: string) => (error: unknown) =>
    error instanceof BrokerError && error.kind === 'not-implemented' && error.detail === text;
  assert.throws(() => stream.get(), notImplemented(`basic.get not supported by stream queues ${where}`));
  assert.throws(() => stream.purge(), notImplemented(`queue.purge not supported by stream queues ${where}`));
  assert.throws(
    () => stream.reject({} as QueuedMessage),
    notImplemented(`basic.nack and basic.reject not supported by stream queues ${where}`),
  );
  assert.equal(v.deleteQueue('s', undefined, false, false), 0);
  assert.equal(stream.deleted, true);
});

test('a durable stream shows consumers only what the group commit made durable', async () => {
  // The commit round is held until the test lets it go: a crash before it would take the entry
  // back and a later publish would reuse its offset, so no consumer may see it yet.
  const rounds: Array<() => void> = [];
  const v = new VirtualHost('/', {
    clock: new ManualClock(),
    createStore: () => new MemoryQueueStore(),
    definitions: discardDefinitions,
    codec: NO_PROPERTIES,
    durability: { afterDurable: (callback) => rounds.push(callback) },
  });
  const stream = declare(v, 'events', { 'x-queue-type': 'stream' }) as StreamQueue;
  const delivered: number[] = [];
  stream.addStreamConsumer(
    {
      tag: 'c',
      exclusive: false,
      priority: 0,
      canAccept: () => true,
      deliver: (queued) => delivered.push(queued.sequence),
      queueDeleted: () => {},
    },
    { kind: 'first' },
  );
  const exchange = v.getExchange('');
  v.publish(exchange, message('a', true));
  v.publish(exchange, message('b', true));
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  assert.deepEqual(delivered, [], 'nothing durable yet');
  rounds.shift()!();
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  assert.deepEqual(delivered, [0], 'the first entry is durable');
  rounds.shift()!();
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  assert.deepEqual(delivered, [0, 1]);
  assert.equal(stream.messageCount, 2, 'the count still says what is stored');
});
