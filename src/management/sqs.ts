/**
 * /api/sqs: queues with their attributes and depth (visible, in flight, delayed, age of the oldest
 * message, dead-letter target and sources); a peek that changes nothing (in-flight and delayed
 * messages included and marked, no receive counted, nothing hidden, as LocalStack's
 * /_aws/sqs/messages); purge; and re-drive of a dead-letter queue to its sources through the
 * registry's message move tasks (StartMessageMoveTask). Reads need the monitoring tag; writes
 * need administrator, or configure permission on the queue's name in vhost '/'.
 */

import { SqsCoreError } from '../core/sqs/errors.js';
import { sqsQueueDepth } from '../core/sqs/monitoring.js';
import type { SqsQueue } from '../core/sqs/queue.js';
import { requireLevel } from './auth.js';
import type { ManagementContext, SqsContext } from './context.js';
import { badRequest, HttpError, objectNotFound } from './errors.js';
import { requireConfigure } from './kafka.js';
import { listReply, objectReply } from './query.js';
import { type ApiRequest, bodyObject, NO_CONTENT, optionalInteger } from './request.js';
import { type Route, route } from './router.js';

/** Most messages one peek returns. */
const MAX_PEEK = 1000;

function sqsOf(req: ApiRequest, ctx: ManagementContext): SqsContext {
  requireLevel(req.user, 'monitoring');
  if (!ctx.sqs) throw objectNotFound();
  return ctx.sqs;
}

function queueParam(sqs: SqsContext, req: ApiRequest): SqsQueue {
  const queue = sqs.registry.get(req.params[0]!);
  if (!queue) throw objectNotFound();
  return queue;
}

/** A write: the caller may configure the queue. */
function writableQueue(req: ApiRequest, ctx: ManagementContext): { sqs: SqsContext; queue: SqsQueue } {
  if (!ctx.sqs) throw objectNotFound();
  const queue = queueParam(ctx.sqs, req);
  requireConfigure(req, ctx, queue.name);
  return { sqs: ctx.sqs, queue };
}

function queueView(sqs: SqsContext, queue: SqsQueue) {
  const nowMs = sqs.now();
  const depth = sqsQueueDepth(sqs.registry, queue, nowMs);
  const info = sqs.registry.info(queue);
  const s = queue.settings;
  return {
    name: queue.name,
    arn: queue.arn,
    fifo: queue.isFifo,
    messages_visible: depth.visible,
    messages_in_flight: depth.inFlight,
    messages_delayed: depth.delayed,
    messages: depth.visible + depth.inFlight + depth.delayed,
    oldest_message_age_seconds: depth.oldestAgeSeconds,
    dead_letter_queue: depth.deadLetterQueue ?? null,
    max_receive_count: s.redrivePolicy?.maxReceiveCount ?? null,
    dead_letter_sources: sqs.registry.deadLetterSourcesOf(queue).map((q) => q.name),
    waiting_receives: queue.waitingReceives,
    created_timestamp: info.createdAtMs,
    last_modified_timestamp: info.lastModifiedAtMs,
    tags: info.tags,
    attributes: {
      DelaySeconds: s.delaySeconds,
      MaximumMessageSize: s.maximumMessageSizeBytes,
      MessageRetentionPeriod: s.messageRetentionPeriodSeconds,
      ReceiveMessageWaitTimeSeconds: s.receiveMessageWaitTimeSeconds,
      VisibilityTimeout: s.visibilityTimeoutSeconds,
      FifoQueue: s.fifoQueue,
      ContentBasedDeduplication: s.contentBasedDeduplication,
      ...(s.redrivePolicyText === undefined ? {} : { RedrivePolicy: s.redrivePolicyText }),
      ...(s.redriveAllowPolicyText === undefined ? {} : { RedriveAllowPolicy: s.redriveAllowPolicyText }),
    },
    message_stats: {
      sent: queue.stats.messagesSent,
      received: queue.stats.messagesReceived,
      deleted: queue.stats.messagesDeleted,
      empty_receives: queue.stats.emptyReceives,
    },
  };
}

function list(req: ApiRequest, ctx: ManagementContext) {
  const sqs = sqsOf(req, ctx);
  return listReply(
    sqs.registry.list().map((q) => queueView(sqs, q)),
    req.query,
  );
}

function show(req: ApiRequest, ctx: ManagementContext) {
  const sqs = sqsOf(req, ctx);
  return objectReply(queueView(sqs, queueParam(sqs, req)), req.query);
}

/** The queue's messages in send order, whatever their state; nothing about them changes. */
function peek(req: ApiRequest, ctx: ManagementContext) {
  const sqs = sqsOf(req, ctx);
  const queue = queueParam(sqs, req);
  const count = optionalInteger(bodyObject(req), 'count') ?? 10;
  if (count < 1 || count > MAX_PEEK) throw badRequest(`count must be between 1 and ${MAX_PEEK}`);
  return queue.inspect(count).map(({ message, state, visibleAtMs }) => ({
    message_id: message.messageId,
    body: message.body,
    state,
    visible_at: state === 'visible' ? null : visibleAtMs,
    receive_count: message.receiveCount,
    sent_timestamp: message.sentAtMs,
    first_receive_timestamp: message.firstReceivedAtMs === 0 ? null : message.firstReceivedAtMs,
    message_group_id: message.messageGroupId ?? null,
    message_deduplication_id: message.deduplicationId ?? null,
    sequence_number: message.sequenceNumber ?? null,
    dead_letter_source_arn: message.deadLetterSourceArn ?? null,
    message_attributes: message.messageAttributes ?? {},
    size_bytes: message.sizeBytes,
  }));
}

function purge(req: ApiRequest, ctx: ManagementContext) {
  const { queue } = writableQueue(req, ctx);
  try {
    queue.purge();
  } catch (error) {
    throw sqsError(error);
  }
  return new Promise((resolve) => ctx.durability.afterDurable(() => resolve(NO_CONTENT)));
}

/** StartMessageMoveTask from the dead-letter queue back to each message's source queue. */
function redrive(req: ApiRequest, ctx: ManagementContext) {
  const { sqs, queue } = writableQueue(req, ctx);
  const body = bodyObject(req);
  const rate = optionalInteger(body, 'max_messages_per_second');
  if (rate !== undefined && (rate < 1 || rate > 500))
    throw badRequest('max_messages_per_second must be between 1 and 500');
  if (sqs.registry.deadLetterSourcesOf(queue).length === 0) {
    throw badRequest(`'${queue.name}' is not a dead-letter queue: no queue's RedrivePolicy names it`);
  }
  let taskHandle: string;
  try {
    taskHandle = sqs.registry.startMoveTask(queue.arn, undefined, rate);
  } catch (error) {
    throw sqsError(error);
  }
  const task = sqs.registry.listMoveTasks(queue.arn, 10).find((t) => t.taskHandle === taskHandle);
  return { status: 201, body: task ? taskView(task) : { task_handle: taskHandle } };
}

function redriveTasks(req: ApiRequest, ctx: ManagementContext) {
  const sqs = sqsOf(req, ctx);
  const queue = queueParam(sqs, req);
  return sqs.registry.listMoveTasks(queue.arn, 10).map(taskView);
}

function taskView(task: ReturnType<SqsContext['registry']['listMoveTasks']>[number]) {
  return {
    task_handle: task.taskHandle,
    status: task.status,
    source_arn: task.sourceArn,
    destination_arn: task.destinationArn ?? null,
    max_messages_per_second: task.maxNumberOfMessagesPerSecond ?? null,
    messages_moved: task.approximateNumberOfMessagesMoved,
    messages_to_move: task.approximateNumberOfMessagesToMove,
    failure_reason: task.failureReason ?? null,
    started_timestamp: task.startedAtMs,
  };
}

/** The core's SQS refusals as API errors: a running task or a recent purge is a conflict. */
function sqsError(error: unknown): unknown {
  if (!(error instanceof SqsCoreError)) return error;
  switch (error.code) {
    case 'QueueDoesNotExist':
    case 'ResourceNotFoundException':
      return objectNotFound();
    case 'PurgeQueueInProgress':
      return new HttpError(409, 'purge_in_progress', error.message);
    case 'InvalidParameterValue':
      return new HttpError(409, 'conflict', error.message);
    default:
      return badRequest(error.message);
  }
}

export const sqsRoutes: Route[] = [
  route('GET', '/api/sqs/queues', 'management', list),
  route('GET', '/api/sqs/queues/:name', 'management', show),
  route('POST', '/api/sqs/queues/:name/peek', 'management', peek),
  route('DELETE', '/api/sqs/queues/:name/contents', 'management', purge),
  route('POST', '/api/sqs/queues/:name/redrive', 'management', redrive),
  route('GET', '/api/sqs/queues/:name/redrive', 'management', redriveTasks),
];
