/**
 * Queue names and the attribute maps of CreateQueue / SetQueueAttributes: AWS's names, ranges,
 * defaults, error codes and messages. Pure: the broker keeps the QueueSettings these return.
 * Error codes are the Smithy shape names (InvalidAttributeName, InvalidAttributeValue,
 * QueueNameExists) or AWS's common InvalidParameterValue; the protocol layer maps them to
 * each wire protocol's codes and HTTP statuses.
 */

export interface SqsValidationError {
  code: 'InvalidAttributeName' | 'InvalidAttributeValue' | 'InvalidParameterValue' | 'QueueNameExists';
  message: string;
}

export type {
  RedriveAllowPolicy,
  RedrivePermission,
  RedrivePolicy,
  SqsQueueSettings as QueueSettings,
} from '../../core/sqs/settings.js';

import { PolicyParseError, parseQueuePolicy } from '../../core/sqs/policy.js';
import { defaultQueueSettings, type SqsQueueSettings as QueueSettings } from '../../core/sqs/settings.js';

export type AttributeResult = { ok: true; settings: QueueSettings } | ({ ok: false } & SqsValidationError);

/** Attributes SQS computes; naming them in CreateQueue or SetQueueAttributes is refused. */
export const READ_ONLY_QUEUE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'All',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
]);

const FIFO_ONLY = new Set(['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']);

interface IntegerRule {
  min: number;
  max: number;
  set: (s: QueueSettings, value: number) => void;
}

const INTEGER_ATTRIBUTES: Record<string, IntegerRule> = {
  DelaySeconds: { min: 0, max: 900, set: (s, v) => (s.delaySeconds = v) },
  MaximumMessageSize: { min: 1024, max: 1_048_576, set: (s, v) => (s.maximumMessageSizeBytes = v) },
  MessageRetentionPeriod: { min: 60, max: 1_209_600, set: (s, v) => (s.messageRetentionPeriodSeconds = v) },
  ReceiveMessageWaitTimeSeconds: { min: 0, max: 20, set: (s, v) => (s.receiveMessageWaitTimeSeconds = v) },
  VisibilityTimeout: { min: 0, max: 43_200, set: (s, v) => (s.visibilityTimeoutSeconds = v) },
  KmsDataKeyReusePeriodSeconds: { min: 60, max: 86_400, set: (s, v) => (s.kmsDataKeyReusePeriodSeconds = v) },
};

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const FIFO_QUEUE_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;

function invalid(code: SqsValidationError['code'], message: string): { ok: false } & SqsValidationError {
  return { ok: false, code, message };
}

const invalidValue = (name: string) =>
  invalid('InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
const unknownAttribute = (name: string) => invalid('InvalidAttributeName', `Unknown Attribute ${name}.`);
/**
 * A FIFO-only attribute given to a standard queue, as AWS answers it (LocalStack's AWS-validated
 * test_create_standard_queue_with_fifo_attribute_raises_error): ContentBasedDeduplication is an
 * unknown attribute there, DeduplicationScope and FifoThroughputLimit are named as FIFO-only.
 */
const fifoOnlyAttribute = (name: string) =>
  name === 'ContentBasedDeduplication'
    ? unknownAttribute(name)
    : invalid('InvalidAttributeName', `You can specify the ${name} only when FifoQueue is set to true.`);

/**
 * A queue name is 1-80 characters of [A-Za-z0-9_-]; a FIFO queue's name ends in '.fifo' (counted in
 * the 80) and only a FIFO queue's name may.
 */
export function validateQueueName(name: string, fifoQueue: boolean): SqsValidationError | undefined {
  if (fifoQueue) {
    if (FIFO_QUEUE_NAME.test(name)) return undefined;
    return {
      code: 'InvalidParameterValue',
      message:
        'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, ' +
        'must end with .fifo suffix and be 1 to 80 in length.',
    };
  }
  if (QUEUE_NAME.test(name)) return undefined;
  return {
    code: 'InvalidParameterValue',
    message: 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
  };
}

/** CreateQueue: the name and attribute map → the new queue's settings with AWS's defaults filled in. */
export function parseCreateQueueAttributes(
  queueName: string,
  attributes: Readonly<Record<string, string>> = {},
): AttributeResult {
  const fifoText = attributes.FifoQueue;
  let fifoQueue = false;
  if (fifoText !== undefined) {
    const parsed = parseBoolean(fifoText);
    if (parsed === undefined) return invalidValue('FifoQueue');
    // AWS takes FifoQueue only to make a FIFO queue: FifoQueue=false is refused as an attribute a
    // standard queue does not have, like ContentBasedDeduplication (AWS docs, CreateQueue: "FifoQueue –
    // Designates a queue as FIFO"; issue 14's recorded AWS runs: CreateQueue with FifoQueue=false
    // answers InvalidAttributeName "Unknown Attribute FifoQueue.").
    fifoQueue = parsed;
  }
  const nameError = validateQueueName(queueName, fifoQueue);
  if (nameError) return { ok: false, ...nameError };
  if (fifoText !== undefined && !fifoQueue) return unknownAttribute('FifoQueue');
  const settings = defaultQueueSettings(fifoQueue);
  // SSE-KMS replaces the SQS-managed default.
  if (attributes.KmsMasterKeyId && attributes.SqsManagedSseEnabled === undefined)
    settings.sqsManagedSseEnabled = false;
  return applyAttributes(settings, attributes, 'create');
}

/** SetQueueAttributes: the queue's current settings and the attribute map → the new settings. */
export function applySetQueueAttributes(
  current: QueueSettings,
  attributes: Readonly<Record<string, string>>,
): AttributeResult {
  return applyAttributes({ ...current }, attributes, 'set');
}

function applyAttributes(
  settings: QueueSettings,
  attributes: Readonly<Record<string, string>>,
  mode: 'create' | 'set',
): AttributeResult {
  for (const [name, value] of Object.entries(attributes)) {
    if (READ_ONLY_QUEUE_ATTRIBUTES.has(name)) return unknownAttribute(name);
    if (FIFO_ONLY.has(name) && !settings.fifoQueue) return fifoOnlyAttribute(name);
    const integer = INTEGER_ATTRIBUTES[name];
    if (integer) {
      const parsed = parseInteger(value);
      if (parsed === undefined || parsed < integer.min || parsed > integer.max) return invalidValue(name);
      integer.set(settings, parsed);
      continue;
    }
    const error = applyOther(settings, name, value, mode);
    if (error) return error;
  }
  if (
    settings.fifoThroughputLimit === 'perMessageGroupId' &&
    settings.deduplicationScope !== 'messageGroup'
  ) {
    return invalid(
      'InvalidAttributeValue',
      'Invalid value for the parameter FifoThroughputLimit. Reason: FifoThroughputLimit perMessageGroupId ' +
        'requires DeduplicationScope messageGroup.',
    );
  }
  if (settings.kmsMasterKeyId && settings.sqsManagedSseEnabled) {
    return invalid(
      'InvalidAttributeName',
      'You can use one type of server-side encryption (SSE) at one time. ' +
        'You can either enable KMS SSE or SQS SSE.',
    );
  }
  return { ok: true, settings };
}

function applyOther(
  settings: QueueSettings,
  name: string,
  value: string,
  mode: 'create' | 'set',
): ({ ok: false } & SqsValidationError) | undefined {
  switch (name) {
    case 'FifoQueue':
      // Fixed at creation; parseCreateQueueAttributes already read it. Setting FifoQueue=true on a
      // FIFO queue changes nothing, and AWS answers it as a no-op.
      if (mode === 'create') return undefined;
      if (!settings.fifoQueue) return unknownAttribute(name);
      return parseBoolean(value) === true
        ? undefined
        : invalid(
            'InvalidAttributeValue',
            'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.',
          );
    case 'ContentBasedDeduplication':
    case 'SqsManagedSseEnabled': {
      const parsed = parseBoolean(value);
      if (parsed === undefined) return invalidValue(name);
      if (name === 'ContentBasedDeduplication') settings.contentBasedDeduplication = parsed;
      else settings.sqsManagedSseEnabled = parsed;
      return undefined;
    }
    case 'DeduplicationScope':
      if (value !== 'messageGroup' && value !== 'queue') return invalidValue(name);
      settings.deduplicationScope = value;
      return undefined;
    case 'FifoThroughputLimit':
      if (value !== 'perQueue' && value !== 'perMessageGroupId') return invalidValue(name);
      settings.fifoThroughputLimit = value;
      return undefined;
    case 'Policy':
      if (value === '') {
        settings.policy = undefined;
        return undefined;
      }
      try {
        parseQueuePolicy(value);
      } catch (error) {
        // The whole document is refused, naming what is wrong (core/sqs/policy.ts).
        if (!(error instanceof PolicyParseError)) throw error;
        return invalid(
          'InvalidAttributeValue',
          `Invalid value for the parameter Policy. Reason: ${error.message}`,
        );
      }
      settings.policy = value;
      return undefined;
    case 'KmsMasterKeyId':
      settings.kmsMasterKeyId = value === '' ? undefined : value;
      if (value !== '' && mode === 'set') settings.sqsManagedSseEnabled = false;
      return undefined;
    case 'RedrivePolicy':
      return applyRedrivePolicy(settings, value);
    case 'RedriveAllowPolicy':
      return applyRedriveAllowPolicy(settings, value);
    default:
      return unknownAttribute(name);
  }
}

function applyRedrivePolicy(
  settings: QueueSettings,
  text: string,
): ({ ok: false } & SqsValidationError) | undefined {
  // An empty value removes the policy.
  if (text === '') {
    settings.redrivePolicy = undefined;
    settings.redrivePolicyText = undefined;
    return undefined;
  }
  const reason = (why: string) =>
    invalid('InvalidAttributeValue', `Value ${text} for parameter RedrivePolicy is invalid. Reason: ${why}`);
  const parsed = parseJson(text);
  if (!isPlainObject(parsed)) {
    return invalid(
      'InvalidAttributeValue',
      'Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.',
    );
  }
  for (const key of Object.keys(parsed)) {
    if (key !== 'deadLetterTargetArn' && key !== 'maxReceiveCount') {
      return reason('Only following attributes are supported:[deadLetterTargetArn, maxReceiveCount].');
    }
  }
  if (!('deadLetterTargetArn' in parsed)) {
    return reason('Redrive policy does not contain mandatory attribute: deadLetterTargetArn.');
  }
  if (!('maxReceiveCount' in parsed)) {
    return reason('Redrive policy does not contain mandatory attribute: maxReceiveCount.');
  }
  // Terraform and the console send maxReceiveCount as a string, SDK users as a number: AWS takes both.
  const countValue = parsed.maxReceiveCount;
  const count = typeof countValue === 'number' ? countValue : parseInteger(String(countValue));
  if (count === undefined || !Number.isInteger(count) || count < 1 || count > 1000) {
    return reason(
      `Invalid value for maxReceiveCount: ${String(countValue)}, valid values are from 1 to 1000 both inclusive.`,
    );
  }
  const arn = parsed.deadLetterTargetArn;
  const queueName = typeof arn === 'string' ? sqsArnQueueName(arn) : undefined;
  if (queueName === undefined) return reason('Invalid value for deadLetterTargetArn.');
  if (queueName.endsWith('.fifo') !== settings.fifoQueue) {
    return reason('Dead-letter target must be of same type as the source.');
  }
  settings.redrivePolicy = { deadLetterTargetArn: arn as string, maxReceiveCount: count };
  settings.redrivePolicyText = text;
  return undefined;
}

function applyRedriveAllowPolicy(
  settings: QueueSettings,
  text: string,
): ({ ok: false } & SqsValidationError) | undefined {
  if (text === '') {
    settings.redriveAllowPolicy = undefined;
    settings.redriveAllowPolicyText = undefined;
    return undefined;
  }
  const reason = (why: string) =>
    invalid(
      'InvalidAttributeValue',
      `Value ${text} for parameter RedriveAllowPolicy is invalid. Reason: ${why}`,
    );
  const parsed = parseJson(text);
  if (!isPlainObject(parsed)) return reason('Redrive allow policy is not a valid JSON map.');
  for (const key of Object.keys(parsed)) {
    if (key !== 'redrivePermission' && key !== 'sourceQueueArns') {
      return reason('Only following attributes are supported:[redrivePermission, sourceQueueArns].');
    }
  }
  const permission = parsed.redrivePermission;
  if (permission !== 'allowAll' && permission !== 'denyAll' && permission !== 'byQueue') {
    return reason('Invalid value for redrivePermission. Valid values are allowAll, denyAll and byQueue.');
  }
  const arns = parsed.sourceQueueArns;
  if (permission !== 'byQueue') {
    if (arns !== undefined) return reason('Only byQueue redrivePermission accepts sourceQueueArns.');
    settings.redriveAllowPolicy = { redrivePermission: permission };
  } else {
    if (!Array.isArray(arns) || arns.length === 0 || arns.length > 10) {
      return reason('byQueue redrivePermission requires between 1 and 10 sourceQueueArns.');
    }
    if (!arns.every((a) => typeof a === 'string' && sqsArnQueueName(a) !== undefined)) {
      return reason('Invalid value for sourceQueueArns.');
    }
    settings.redriveAllowPolicy = { redrivePermission: permission, sourceQueueArns: [...(arns as string[])] };
  }
  settings.redriveAllowPolicyText = text;
  return undefined;
}

/** The settable attributes as GetQueueAttributes reports them (FIFO-only ones only for FIFO queues). */
export function queueSettingsToAttributes(settings: QueueSettings): Record<string, string> {
  const out: Record<string, string> = {
    DelaySeconds: String(settings.delaySeconds),
    MaximumMessageSize: String(settings.maximumMessageSizeBytes),
    MessageRetentionPeriod: String(settings.messageRetentionPeriodSeconds),
    ReceiveMessageWaitTimeSeconds: String(settings.receiveMessageWaitTimeSeconds),
    VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
    SqsManagedSseEnabled: String(settings.sqsManagedSseEnabled),
  };
  if (settings.redrivePolicy) out.RedrivePolicy = JSON.stringify(settings.redrivePolicy);
  if (settings.redriveAllowPolicy) out.RedriveAllowPolicy = JSON.stringify(settings.redriveAllowPolicy);
  if (settings.policy !== undefined) out.Policy = settings.policy;
  if (settings.kmsMasterKeyId !== undefined) {
    out.KmsMasterKeyId = settings.kmsMasterKeyId;
    out.KmsDataKeyReusePeriodSeconds = String(settings.kmsDataKeyReusePeriodSeconds);
  }
  if (settings.fifoQueue) {
    out.FifoQueue = 'true';
    out.ContentBasedDeduplication = String(settings.contentBasedDeduplication);
    out.DeduplicationScope = settings.deduplicationScope;
    out.FifoThroughputLimit = settings.fifoThroughputLimit;
  }
  return out;
}

/**
 * CreateQueue of a name that exists: AWS returns the existing queue's URL when every attribute the
 * request names has the queue's value, and QueueNameExists (query code QueueAlreadyExists)
 * otherwise. Values are compared after parsing, so "30" and "030" are the same VisibilityTimeout.
 */
export function checkCreateQueueAgainstExisting(
  existing: QueueSettings,
  queueName: string,
  attributes: Readonly<Record<string, string>> = {},
): SqsValidationError | undefined {
  const requested = parseCreateQueueAttributes(queueName, attributes);
  if (!requested.ok) return { code: requested.code, message: requested.message };
  const before = queueSettingsToAttributes(existing);
  const after = queueSettingsToAttributes(requested.settings);
  for (const name of Object.keys(attributes)) {
    const same =
      name === 'FifoQueue'
        ? existing.fifoQueue === requested.settings.fifoQueue
        : before[name] === after[name];
    if (!same) {
      return {
        code: 'QueueNameExists',
        message: `A queue already exists with the same name and a different value for attribute ${name}`,
      };
    }
  }
  return undefined;
}

/** The queue name of arn:aws:sqs:<region>:<account>:<name>, undefined when it is not one. */
export function sqsArnQueueName(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs' || !parts[1]) return undefined;
  const name = parts[5]!;
  return validateQueueName(name, name.endsWith('.fifo')) ? undefined : name;
}

function parseInteger(text: string): number | undefined {
  if (!/^[+-]?\d{1,10}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

function parseBoolean(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
