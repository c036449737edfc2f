// The queue-management actions: CreateQueue, DeleteQueue, GetQueueUrl, GetQueueAttributes,
// SetQueueAttributes, ListQueues, PurgeQueue, ListDeadLetterSourceQueues. Validation lives in
// queue-attributes.ts; the queues themselves in the core registry.
import type { SqsQueue } from '../../../core/sqs/queue.js';
import { type SqsActionContext, typedHandlers } from '../action-context.js';
import { sqsError } from '../errors.js';
import { SHAPES } from '../model.js';
import type {
  ListDeadLetterSourceQueuesResult,
  ListQueuesResult,
  QueueAttributeName,
} from '../model-types.js';
import {
  applySetQueueAttributes,
  checkCreateQueueAgainstExisting,
  parseCreateQueueAttributes,
  queueSettingsToAttributes,
} from '../queue-attributes.js';
import { queueDoesNotExist } from '../queue-urls.js';
import { pageOf } from './pagination.js';
import { validateTags } from './tags.js';
import { validationError } from './validation.js';

const ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(
  (SHAPES.QueueAttributeName as { values: readonly string[] }).values,
);
const isAttributeName = (name: string): name is QueueAttributeName => ATTRIBUTE_NAMES.has(name);

export const queueActions = typedHandlers({
  CreateQueue(context, params) {
    const name = params.QueueName;
    const attributes = params.Attributes ?? {};
    const { registry, region } = context;
    const existing = registry.get(name, region);
    if (existing) {
      // Same name and every named attribute equal: the existing queue's URL (tags are not compared).
      const conflict = checkCreateQueueAgainstExisting(existing.settings, name, attributes);
      if (conflict) throw validationError(conflict);
      return { QueueUrl: context.queueUrl(name) };
    }
    const parsed = parseCreateQueueAttributes(name, attributes);
    if (!parsed.ok) throw validationError(parsed);
    const tags = params.tags ?? {};
    validateTags(tags);
    // The registry checks that a RedrivePolicy names an existing dead-letter queue that admits this one.
    registry.create(name, parsed.settings, tags, region);
    return { QueueUrl: context.queueUrl(name) };
  },

  DeleteQueue(context, params) {
    context.registry.delete(context.queueOf(params.QueueUrl));
    return undefined;
  },

  GetQueueUrl(context, params) {
    // Without QueueOwnerAWSAccountId the queue is looked for in the caller's own account.
    const owner = params.QueueOwnerAWSAccountId ?? context.callerAccountId;
    if (owner !== context.registry.accountId) throw queueDoesNotExist();
    const name = params.QueueName;
    const queue = context.registry.get(name, context.region);
    if (!queue) throw queueDoesNotExist();
    context.authorize(queue);
    return { QueueUrl: context.queueUrl(name) };
  },

  GetQueueAttributes(context, params) {
    const queue = context.queueOf(params.QueueUrl);
    const names: QueueAttributeName[] = [];
    for (const name of params.AttributeNames ?? []) {
      if (!isAttributeName(name)) throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      names.push(name);
    }
    if (names.length === 0) return {};
    const all = queueAttributes(context, queue);
    if (names.includes('All')) return { Attributes: all };
    const picked: Partial<Record<QueueAttributeName, string>> = {};
    for (const name of names) if (all[name] !== undefined) picked[name] = all[name];
    return Object.keys(picked).length > 0 ? { Attributes: picked } : {};
  },

  SetQueueAttributes(context, params) {
    const queue = context.queueOf(params.QueueUrl);
    const result = applySetQueueAttributes(queue.settings, params.Attributes);
    if (!result.ok) throw validationError(result);
    context.registry.updateSettings(queue, result.settings);
    return undefined;
  },

  ListQueues(context, params) {
    const prefix = params.QueueNamePrefix ?? '';
    const names = context.registry.list(prefix, context.region).map((queue) => queue.name);
    const page = pageOf(names, params, `ListQueues:${context.region}:${prefix}`);
    const result: ListQueuesResult = {};
    if (page.items.length > 0) result.QueueUrls = page.items.map((name) => context.queueUrl(name));
    if (page.nextToken) result.NextToken = page.nextToken;
    return result;
  },

  PurgeQueue(context, params) {
    context.queueOf(params.QueueUrl).purge();
    return undefined;
  },

  ListDeadLetterSourceQueues(context, params) {
    const queue = context.queueOf(params.QueueUrl);
    const names = context.registry.deadLetterSourcesOf(queue).map((source) => source.name);
    const page = pageOf(names, params, `ListDeadLetterSourceQueues:${queue.arn}`);
    const result: ListDeadLetterSourceQueuesResult = {
      queueUrls: page.items.map((name) => context.queueUrl(name)),
    };
    if (page.nextToken) result.NextToken = page.nextToken;
    return result;
  },
});

/** Every attribute GetQueueAttributes can report for a queue, computed ones included. */
function queueAttributes(
  context: SqsActionContext,
  queue: SqsQueue,
): Partial<Record<QueueAttributeName, string>> {
  const counts = queue.counts();
  const info = context.registry.info(queue);
  return {
    ...queueSettingsToAttributes(queue.settings),
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    // Epoch seconds, as AWS reports them.
    CreatedTimestamp: String(Math.floor(info.createdAtMs / 1000)),
    LastModifiedTimestamp: String(Math.floor(info.lastModifiedAtMs / 1000)),
  };
}
