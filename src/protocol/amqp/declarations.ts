/**
 * The exchange.* and queue.* methods: declarations, bindings, purges and deletes applied to the
 * vhost. Each returns the answer to send, or undefined when the client asked for none (nowait).
 */
import type { Arguments } from '../../core/amqp/exchange.js';
import type { VirtualHost } from '../../core/amqp/vhost.js';
import type { AmqpMethod } from './codec/index.js';
import { REPLY_TO_QUEUE } from './direct-reply-to.js';

/** The decoded method named `name`. */
export type MethodNamed<Name extends AmqpMethod['method']> = Extract<AmqpMethod, { method: Name }>;

type Answer = AmqpMethod | undefined;

const unlessNowait = (m: { nowait: boolean }, answer: AmqpMethod): Answer => (m.nowait ? undefined : answer);

export function exchangeDeclare(vhost: VirtualHost, m: MethodNamed<'exchange.declare'>): Answer {
  vhost.declareExchange({
    name: m.exchange,
    type: m.type,
    passive: m.passive,
    durable: m.durable,
    autoDelete: m.autoDelete,
    internal: m.internal,
    arguments: m.arguments as Arguments,
  });
  return unlessNowait(m, { method: 'exchange.declare-ok' });
}

export function exchangeDelete(vhost: VirtualHost, m: MethodNamed<'exchange.delete'>): Answer {
  vhost.deleteExchange(m.exchange, m.ifUnused);
  return unlessNowait(m, { method: 'exchange.delete-ok' });
}

export function exchangeBind(vhost: VirtualHost, owner: unknown, m: MethodNamed<'exchange.bind'>): Answer {
  const destination = { kind: 'exchange', name: m.destination } as const;
  vhost.bind(m.source, destination, m.routingKey, m.arguments as Arguments, owner);
  return unlessNowait(m, { method: 'exchange.bind-ok' });
}

export function exchangeUnbind(
  vhost: VirtualHost,
  owner: unknown,
  m: MethodNamed<'exchange.unbind'>,
): Answer {
  const destination = { kind: 'exchange', name: m.destination } as const;
  vhost.unbind(m.source, destination, m.routingKey, m.arguments as Arguments, owner);
  return unlessNowait(m, { method: 'exchange.unbind-ok' });
}

export function queueDeclare(vhost: VirtualHost, owner: unknown, m: MethodNamed<'queue.declare'>): Answer {
  if (m.queue === REPLY_TO_QUEUE) {
    // The direct reply-to pseudo-queue always exists, as in RabbitMQ.
    return unlessNowait(m, { method: 'queue.declare-ok', queue: m.queue, messageCount: 0, consumerCount: 1 });
  }
  const queue = vhost.declareQueue({
    name: m.queue,
    passive: m.passive,
    durable: m.durable,
    exclusive: m.exclusive,
    autoDelete: m.autoDelete,
    arguments: m.arguments as Arguments,
    owner,
  });
  return unlessNowait(m, {
    method: 'queue.declare-ok',
    queue: queue.name,
    messageCount: queue.messageCount,
    consumerCount: queue.consumerCount,
  });
}

export function queueBind(vhost: VirtualHost, owner: unknown, m: MethodNamed<'queue.bind'>): Answer {
  const destination = { kind: 'queue', name: m.queue } as const;
  vhost.bind(m.exchange, destination, m.routingKey, m.arguments as Arguments, owner);
  return unlessNowait(m, { method: 'queue.bind-ok' });
}

/** queue.unbind has no nowait flag: it is always answered. */
export function queueUnbind(vhost: VirtualHost, owner: unknown, m: MethodNamed<'queue.unbind'>): Answer {
  const destination = { kind: 'queue', name: m.queue } as const;
  vhost.unbind(m.exchange, destination, m.routingKey, m.arguments as Arguments, owner);
  return { method: 'queue.unbind-ok' };
}

export function queuePurge(vhost: VirtualHost, owner: unknown, m: MethodNamed<'queue.purge'>): Answer {
  const messageCount = vhost.getQueue(m.queue, owner).purge();
  return unlessNowait(m, { method: 'queue.purge-ok', messageCount });
}

export function queueDelete(vhost: VirtualHost, owner: unknown, m: MethodNamed<'queue.delete'>): Answer {
  const messageCount = vhost.deleteQueue(m.queue, owner, m.ifUnused, m.ifEmpty);
  return unlessNowait(m, { method: 'queue.delete-ok', messageCount });
}
