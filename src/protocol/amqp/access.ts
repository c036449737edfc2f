/**
 * Access control for one AMQP connection: which vhost it may open and which permission each
 * method needs, as RabbitMQ's rabbit_channel checks them (see the "access-control" guide):
 *
 *   exchange.declare            configure on the exchange (+ read on it and write on its
 *                               alternate-exchange when that argument creates one)
 *   exchange.delete             configure on the exchange
 *   queue.declare               configure on the queue (+ read on it and write on its
 *                               x-dead-letter-exchange when that argument creates one)
 *   queue.delete                configure on the queue
 *   queue.bind / unbind         write on the queue, read on the exchange
 *   exchange.bind / unbind      write on the destination, read on the source
 *   basic.publish               write on the exchange (the default exchange is 'amq.default')
 *   basic.get / consume, queue.purge   read on the queue
 *
 * Topic permissions (core/amqp/topic-permissions.ts) come on top for topic exchanges: write on
 * the routing key to publish, read on the binding key to bind or unbind from one.
 *
 * Passive declares need no permission. Checks come before existence checks, so a refused user
 * learns nothing about which names exist; RabbitMQ's own name checks (the default exchange, the
 * reserved 'amq.' prefix) come first, as there.
 */
import { randomBytes } from 'node:crypto';
import { accessRefused } from '../../core/amqp/errors.js';
import type { Revocation } from '../../core/amqp/management.js';
import type { Permission, ResourceKind } from '../../core/amqp/permissions.js';
import {
  type StreamViewClient,
  type StreamViewOperation,
  StreamViewQueue,
} from '../../core/amqp/stream-view-queue.js';
import type { TopicPermission } from '../../core/amqp/topic-permissions.js';
import type { VirtualHost } from '../../core/amqp/vhost.js';
import type { BrokerCore } from '../../core/broker-core.js';
import { normalizeArguments } from '../../core/definitions.js';
import { type AmqpMethod, ReplyCode } from './codec/index.js';
import type { AmqpConnection } from './connection.js';
import { connectionError } from './errors.js';

export class AmqpAccess {
  /** basic.publish memo: the last exchange found writable, valid while permissions are unchanged. */
  private writableExchange: string | undefined;
  private writableVersion = -1;

  private constructor(
    private readonly core: BrokerCore,
    readonly user: string,
    readonly vhost: VirtualHost,
    /** The client's IP address (Kafka ACLs of a stream view match it). */
    private readonly clientHost: string,
  ) {}

  /**
   * connection.open: 530 NOT_ALLOWED unless the vhost exists, the user has permissions there and
   * neither the vhost's nor the user's max-connections limit is reached (`open` counts the open
   * connections into the vhost and of the user, this one not included).
   */
  static open(
    core: BrokerCore,
    user: string,
    vhostName: string,
    open: { inVhost: () => number; ofUser: () => number },
    clientHost = '',
  ): AmqpAccess {
    const vhost = core.vhosts.get(vhostName);
    if (!vhost) throw connectionError(ReplyCode.NOT_ALLOWED, `vhost ${vhostName} not found`);
    if (!core.permissions.get(user, vhostName)) {
      throw connectionError(
        ReplyCode.NOT_ALLOWED,
        `access to vhost '${vhostName}' refused for user '${user}'`,
      );
    }
    const maxConnections = vhost.limits.maxConnections;
    if (maxConnections !== undefined && maxConnections >= 0 && open.inVhost() >= maxConnections) {
      throw connectionError(
        ReplyCode.NOT_ALLOWED,
        `access to vhost '${vhostName}' refused for user '${user}': connection limit (${maxConnections}) is reached`,
      );
    }
    const maxUserConnections = core.users.get(user)?.limits?.['max-connections'];
    if (maxUserConnections !== undefined && maxUserConnections >= 0 && open.ofUser() >= maxUserConnections) {
      throw connectionError(
        ReplyCode.NOT_ALLOWED,
        `connection refused for user '${user}': user connection limit (${maxUserConnections}) is reached`,
      );
    }
    return new AmqpAccess(core, user, vhost, clientHost);
  }

  /** Throws 403 ACCESS_REFUSED (a BrokerError the channel maps) when the method is not permitted. */
  check(m: AmqpMethod): void {
    switch (m.method) {
      case 'basic.publish':
        this.checkPublish(m.exchange);
        this.checkTopic(m.exchange, 'write', m.routingKey);
        if (m.exchange === '') this.checkView(m.routingKey, 'write');
        return;
      case 'exchange.declare':
        if (m.passive || m.exchange === '') return;
        this.require('configure', 'exchange', m.exchange);
        if (!this.vhost.exchanges.has(m.exchange)) {
          const alternate = stringArgument(m.arguments, 'alternate-exchange');
          if (alternate !== undefined) {
            this.require('read', 'exchange', m.exchange);
            this.require('write', 'exchange', alternate);
          }
        }
        return;
      case 'exchange.delete':
        if (m.exchange === '' || m.exchange.startsWith('amq.')) return; // refused by name first
        this.require('configure', 'exchange', m.exchange);
        return;
      case 'queue.declare': {
        if (m.passive) return;
        if (m.queue.startsWith('amq.')) return; // RabbitMQ refuses the reserved prefix before permissions
        // A server-named queue is checked under a name of the form the server will give it.
        const name =
          m.queue === '' ? `amq.gen-${randomBytes(16).toString('base64url').slice(0, 22)}` : m.queue;
        this.require('configure', 'queue', name);
        this.refuseView(this.vhost.streamViewRefusal(this.client(), m.arguments, 'declare'));
        if (!this.vhost.queues.has(name)) {
          const deadLetterExchange = stringArgument(m.arguments, 'x-dead-letter-exchange');
          if (deadLetterExchange !== undefined) {
            this.require('read', 'queue', name);
            this.require('write', 'exchange', deadLetterExchange);
          }
        }
        return;
      }
      case 'queue.delete':
        this.require('configure', 'queue', m.queue);
        return;
      case 'queue.bind':
      case 'queue.unbind':
        this.require('write', 'queue', m.queue);
        if (m.exchange !== '') this.require('read', 'exchange', m.exchange);
        this.checkTopic(m.exchange, 'read', m.routingKey);
        // Who binds a view lets the exchange's publishers write to the log (as RabbitMQ's write
        // permission on the queue at bind time does); unbinding takes nothing from the log.
        if (m.method === 'queue.bind') this.checkView(m.queue, 'write');
        return;
      case 'exchange.bind':
      case 'exchange.unbind':
        this.require('write', 'exchange', m.destination);
        if (m.destination !== '' && m.source !== '') this.require('read', 'exchange', m.source);
        this.checkTopic(m.source, 'read', m.routingKey);
        return;
      case 'queue.purge':
      case 'basic.get':
      case 'basic.consume':
        this.require('read', 'queue', m.queue);
        this.checkView(m.queue, 'read');
        return;
      default:
        return;
    }
  }

  private checkPublish(exchange: string): void {
    const permissions = this.core.permissions;
    if (exchange === this.writableExchange && permissions.version === this.writableVersion) return;
    this.require('write', 'exchange', exchange);
    this.writableExchange = exchange;
    this.writableVersion = permissions.version;
  }

  /** Topic permissions, for topic exchanges only; a missing exchange is left to the 404 that follows. */
  private checkTopic(exchange: string, permission: TopicPermission, routingKey: string): void {
    const topics = this.core.topicPermissions;
    if (!topics.has(this.user, this.vhost.name)) return;
    if (this.vhost.exchanges.get(exchange)?.type !== 'topic') return;
    topics.check(this.user, this.vhost.name, exchange, permission, routingKey);
  }

  /** A stream view of a Kafka partition: the Kafka ACLs of `User:<user>` apply too. */
  private checkView(queueName: string, operation: StreamViewOperation): void {
    const queue = this.vhost.queues.get(queueName);
    if (!(queue instanceof StreamViewQueue)) return;
    this.refuseView(this.vhost.streamViewRefusal(this.client(), queue.options.arguments, operation));
  }

  private refuseView(refusal: string | undefined): void {
    if (refusal !== undefined) throw accessRefused(refusal);
  }

  private client(): StreamViewClient {
    return { user: this.user, host: this.clientHost };
  }

  private require(permission: Permission, kind: ResourceKind, name: string): void {
    this.core.permissions.check(this.user, this.vhost.name, permission, kind, name);
  }
}

/** A string-valued declare argument (as sent: longstr, or bytes), else undefined. */
function stringArgument(args: Record<string, unknown>, key: string): string | undefined {
  if (!(key in args)) return undefined;
  const value = normalizeArguments({ [key]: args[key] })[key];
  return typeof value === 'string' ? value : undefined;
}

/** A user or vhost was deleted: close its connections with 320 CONNECTION_FORCED, as RabbitMQ. */
export function closeRevokedConnections(connections: Iterable<AmqpConnection>, revoked: Revocation): void {
  for (const connection of connections) {
    const { user, vhost } = connection.describe();
    if (
      (revoked.user === undefined || revoked.user === user) &&
      (revoked.vhost === undefined || revoked.vhost === vhost)
    ) {
      connection.forceClose(revoked.reason);
    }
  }
}
