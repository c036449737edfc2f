/**
 * POST /api/queues/{vhost}/{name}/move: moves a queue's ready messages to another queue, to an
 * exchange, or (`destination_type: "x-death"`) each back to the queue its newest `x-death` entry
 * names (re-driving dead-lettered messages). At-least-once: each message is copied first and
 * removed from the source only once the copy is as durable as its destination makes it, so a
 * crash leaves a message in the source, in the destination or in both, never in neither. A
 * destination that does not exist, a copy that would route nowhere or be refused, and a transient
 * destination queue for a durable source are refused (the message stays where it was).
 */
import type { Queue } from '../core/amqp/queue.js';
import { StreamQueue } from '../core/amqp/stream-queue.js';
import type { VirtualHost } from '../core/amqp/vhost.js';
import type { Message, QueuedMessage } from '../core/message.js';
import type { ManagementContext } from './context.js';
import { badRequest, HttpError } from './errors.js';
import { queueParam, requirePermission, vhostParam } from './lookup.js';
import { type ApiRequest, bodyObject, optionalInteger, optionalString, requiredString } from './request.js';
import { type Route, route } from './router.js';

/** Messages moved per event-loop turn, so a long move does not hold up the broker. */
const BATCH = 1000;

type Destination =
  | { kind: 'queue'; queue: Queue }
  | { kind: 'exchange'; name: string; routingKey: string | undefined }
  | { kind: 'x-death' };

function conflict(reason: string): HttpError {
  return new HttpError(409, 'move_stopped', reason);
}

function destinationQueue(vhost: VirtualHost, name: string, source: Queue): Queue {
  const queue = vhost.queues.get(name);
  if (!queue) throw badRequest(`destination queue '${name}' does not exist in vhost '${vhost.name}'`);
  if (queue === source) throw badRequest('the destination is the source queue');
  if (queue instanceof StreamQueue) throw badRequest(`'${name}' is a stream; move to a classic queue`);
  return queue;
}

/** The queue named by the newest x-death entry in a message's headers. */
function xDeathQueue(ctx: ManagementContext, message: Message): string | undefined {
  const headers = ctx.properties.decode(message.properties).headers as Record<string, unknown> | undefined;
  const deaths = headers?.['x-death'];
  if (!Array.isArray(deaths)) return undefined;
  const queue = (deaths[0] as Record<string, unknown> | undefined)?.queue;
  return typeof queue === 'string' ? queue : undefined;
}

/** Copies one message; true when the copy must reach the disk before the original is removed. */
function copy(
  ctx: ManagementContext,
  vhost: VirtualHost,
  source: Queue,
  destination: Destination,
  message: Message,
): boolean {
  let target: Queue;
  if (destination.kind === 'exchange') {
    const exchange = vhost.exchanges.get(destination.name);
    if (!exchange) throw conflict(`exchange '${destination.name}' no longer exists`);
    const routingKey = destination.routingKey ?? message.routingKey;
    const outcome = vhost.publish(exchange, { ...message, exchange: exchange.name, routingKey });
    if (!outcome.routed)
      throw conflict(`exchange '${exchange.name}' routed a message with key '${routingKey}' to no queue`);
    if (outcome.rejected) throw conflict(`a queue bound to '${exchange.name}' refused a message (overflow)`);
    return outcome.needsDisk;
  }
  if (destination.kind === 'x-death') {
    const name = xDeathQueue(ctx, message);
    if (name === undefined) throw conflict('a message has no x-death header naming the queue it came from');
    target = destinationQueue(vhost, name, source);
  } else {
    target = destination.queue;
  }
  if (source.confirmsAfterDisk(message) && !target.isDurable)
    throw conflict(
      `queue '${target.name}' is transient: a persistent message moved there would not survive a restart`,
    );
  const result = target.enqueue(message);
  if (result === 'rejected') throw conflict(`queue '${target.name}' refused a message (overflow)`);
  return target.confirmsAfterDisk(message);
}

async function move(req: ApiRequest, ctx: ManagementContext) {
  const source = queueParam(req, ctx);
  const vhost = vhostParam(req, ctx);
  if (source instanceof StreamQueue) throw badRequest('a stream keeps its messages; read it with an offset');
  requirePermission(req, ctx, vhost.name, 'read', 'queue', source.name);
  const body = bodyObject(req);
  const kind = optionalString(body, 'destination_type') ?? 'queue';
  let destination: Destination;
  if (kind === 'queue') {
    const name = requiredString(body, 'destination');
    requirePermission(req, ctx, vhost.name, 'write', 'queue', name);
    const queue = destinationQueue(vhost, name, source);
    if (source.isDurable && !queue.isDurable)
      throw badRequest(
        `queue '${name}' is transient and '${source.name}' is durable: persistent messages would be lost on a restart`,
      );
    destination = { kind, queue };
  } else if (kind === 'exchange') {
    const name = requiredString(body, 'destination');
    if (!vhost.exchanges.has(name))
      throw badRequest(`destination exchange '${name}' does not exist in vhost '${vhost.name}'`);
    requirePermission(req, ctx, vhost.name, 'write', 'exchange', name);
    destination = { kind, name, routingKey: optionalString(body, 'routing_key') };
  } else if (kind === 'x-death') {
    destination = { kind };
  } else {
    throw badRequest(`destination_type '${kind}' must be queue, exchange or x-death`);
  }
  const limit = optionalInteger(body, 'count');
  if (limit !== undefined && limit < 1) throw badRequest('count must be at least 1');
  // Only the messages ready now: a copy routed back into the source is not moved again.
  const total = Math.min(limit ?? source.messageCount, source.messageCount);

  let moved = 0;
  let stopped: HttpError | undefined;
  const waiting: Array<Promise<void>> = [];
  while (moved < total && stopped === undefined) {
    const batch: QueuedMessage[] = [];
    let needsDisk = false;
    while (batch.length < BATCH && moved + batch.length < total) {
      const queued = source.get();
      if (!queued) break;
      try {
        needsDisk = copy(ctx, vhost, source, destination, queued.message) || needsDisk;
      } catch (error) {
        source.release(queued);
        stopped = error instanceof HttpError ? error : conflict((error as Error).message);
        break;
      }
      batch.push(queued);
    }
    if (batch.length === 0) break;
    moved += batch.length;
    // The originals go once the copies are durable (or at once when nothing waits for the disk).
    const settle = () => {
      for (const queued of batch) source.settle(queued);
    };
    if (needsDisk)
      waiting.push(new Promise<void>((resolve) => ctx.durability.afterDurable(() => resolve(settle()))));
    else settle();
    if (moved < total && stopped === undefined) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(waiting);
  if (stopped) {
    throw new HttpError(stopped.status, stopped.error, `${stopped.reason}; moved ${moved} before stopping`);
  }
  return { moved };
}

export const moveRoutes: Route[] = [route('POST', '/api/queues/:vhost/:name/move', 'management', move)];
