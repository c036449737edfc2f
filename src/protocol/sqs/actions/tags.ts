// TagQueue, UntagQueue, ListQueueTags, and the tag limits CreateQueue's tags share: at most 50 tags
// a queue, keys 1-128 characters, values up to 256, the aws: prefix reserved for AWS.
import { typedHandlers } from '../action-context.js';
import { invalidParameterValue, sqsError } from '../errors.js';

export const MAX_TAGS_PER_QUEUE = 50;
const MAX_TAG_KEY_CHARS = 128;
const MAX_TAG_VALUE_CHARS = 256;

/** Checks tags to add on top of `existing`; throws InvalidParameterValue in AWS's manner. */
export function validateTags(
  tags: Readonly<Record<string, string>>,
  existing: Readonly<Record<string, string>> = {},
): void {
  const keys = Object.keys(tags);
  for (const key of keys) {
    if (key.length < 1 || key.length > MAX_TAG_KEY_CHARS) {
      throw invalidParameterValue(
        'TagKey',
        key,
        `Tag keys must be between 1 and ${MAX_TAG_KEY_CHARS} characters.`,
      );
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw invalidParameterValue('TagKey', key, 'Tag keys must not begin with the reserved prefix aws:.');
    }
    const value = tags[key]!;
    if (value.length > MAX_TAG_VALUE_CHARS) {
      throw invalidParameterValue(
        'TagValue',
        value,
        `Tag values must be at most ${MAX_TAG_VALUE_CHARS} characters.`,
      );
    }
  }
  const total = new Set([...Object.keys(existing), ...keys]).size;
  if (total > MAX_TAGS_PER_QUEUE) {
    throw sqsError(
      'InvalidParameterValue',
      `Too many tags: a queue may have at most ${MAX_TAGS_PER_QUEUE} tags (this request would leave ${total}).`,
    );
  }
}

export const tagActions = typedHandlers({
  TagQueue(context, params) {
    const queue = context.queueOf(params.QueueUrl);
    const tags = params.Tags;
    validateTags(tags, context.registry.info(queue).tags);
    context.registry.tag(queue, tags);
    return undefined;
  },
  UntagQueue(context, params) {
    const queue = context.queueOf(params.QueueUrl);
    context.registry.untag(queue, params.TagKeys);
    return undefined;
  },
  ListQueueTags(context, params) {
    const queue = context.queueOf(params.QueueUrl);
    const tags = context.registry.info(queue).tags;
    return Object.keys(tags).length > 0 ? { Tags: { ...tags } } : {};
  },
});
