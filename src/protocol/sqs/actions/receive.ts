/**
 * ReceiveMessage: range checks, long polling (cancelled when the client goes away), and each
 * message answered with only the system and message attributes the caller asked for.
 */
import type { SqsAttributeMap, SqsMessage, SqsReceivedMessage } from '../../../core/sqs/message.js';
import type { SqsPendingReceive, SqsReceiveRequest } from '../../../core/sqs/queue.js';
import type { SqsHandler } from '../action-context.js';
import { md5OfMessageAttributes } from '../md5.js';
import type { Message, MessageSystemAttributeName, ReceiveMessageResult } from '../model-types.js';
import { checkFifoId, core, intParam } from './params.js';

const MAX_MESSAGES = 10;
const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;
const MAX_WAIT_TIME_SECONDS = 20;

/** A message system attribute ReceiveMessage can return (the model's names but All). */
type SystemAttributeName = Exclude<MessageSystemAttributeName, 'All'>;

/** The message system attributes ReceiveMessage can return, and how to read each from a message. */
const SYSTEM_ATTRIBUTES: Readonly<Record<SystemAttributeName, (message: SqsMessage) => string | undefined>> =
  {
    SenderId: (m) => m.senderId,
    SentTimestamp: (m) => String(m.sentAtMs),
    ApproximateReceiveCount: (m) => String(m.receiveCount),
    ApproximateFirstReceiveTimestamp: (m) => String(m.firstReceivedAtMs),
    SequenceNumber: (m) => m.sequenceNumber,
    MessageDeduplicationId: (m) => m.deduplicationId,
    MessageGroupId: (m) => m.messageGroupId,
    AWSTraceHeader: (m) => m.systemAttributes?.AWSTraceHeader?.StringValue,
    DeadLetterQueueSourceArn: (m) => m.deadLetterSourceArn,
  };
const ALL_SYSTEM_ATTRIBUTES = Object.keys(SYSTEM_ATTRIBUTES) as SystemAttributeName[];

/** Requested system attribute names (legacy AttributeNames and MessageSystemAttributeNames); unknown ones are ignored. */
export function selectSystemAttributes(names: readonly string[]): SystemAttributeName[] {
  if (names.includes('All') || names.includes('.*')) return ALL_SYSTEM_ATTRIBUTES;
  const prefixes = names.filter((name) => name.endsWith('.*')).map((name) => name.slice(0, -2));
  return ALL_SYSTEM_ATTRIBUTES.filter(
    (name) => names.includes(name) || prefixes.some((prefix) => name.startsWith(prefix)),
  );
}

/**
 * MessageAttributeNames: All or '.*' for every attribute, exact names, and prefixes written 'name.*'.
 * The '.*' is a wildcard after the prefix, so 'Hel.*' returns 'Hello' and 'bar.*' returns 'bar.baz'
 * and 'barn' (AWS docs, ReceiveMessage MessageAttributeNames: "return all of the message attributes
 * starting with a prefix, for example bar.*"; ElasticMQ matches the name as a regular expression).
 */
export interface MessageAttributeFilter {
  readonly all: boolean;
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

export function messageAttributeFilter(names: readonly string[]): MessageAttributeFilter | undefined {
  if (names.length === 0) return undefined;
  if (names.includes('All') || names.includes('.*')) return { all: true, exact: new Set(), prefixes: [] };
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const name of names) {
    if (name.endsWith('.*')) prefixes.push(name.slice(0, -2));
    else exact.add(name);
  }
  return { all: false, exact, prefixes };
}

function filterAttributes(
  attributes: SqsAttributeMap | undefined,
  filter: MessageAttributeFilter | undefined,
): SqsAttributeMap | undefined {
  if (attributes === undefined || filter === undefined) return undefined;
  if (filter.all) return attributes;
  let out: Record<string, SqsAttributeMap[string]> | undefined;
  for (const name of Object.keys(attributes)) {
    if (filter.exact.has(name) || filter.prefixes.some((prefix) => name.startsWith(prefix))) {
      out ??= {};
      out[name] = attributes[name]!;
    }
  }
  return out;
}

/**
 * One Message of the answer. MD5OfMessageAttributes covers the attributes returned (SDKs that check
 * it digest what they got), so a filtered subset gets its own digest and none is sent without any.
 */
export function formatReceived(
  received: SqsReceivedMessage,
  systemNames: readonly SystemAttributeName[],
  filter: MessageAttributeFilter | undefined,
): Message {
  const message = received.message;
  const out: Message = {
    MessageId: message.messageId,
    ReceiptHandle: received.receiptHandle,
    MD5OfBody: message.bodyMd5,
    Body: message.body,
  };
  if (systemNames.length > 0) {
    const attributes: Partial<Record<SystemAttributeName, string>> = {};
    for (const name of systemNames) {
      const value = SYSTEM_ATTRIBUTES[name](message);
      if (value !== undefined) attributes[name] = value;
    }
    out.Attributes = attributes;
  }
  const returned = filterAttributes(message.messageAttributes, filter);
  if (returned !== undefined) {
    out.MD5OfMessageAttributes =
      returned === message.messageAttributes
        ? message.messageAttributesMd5
        : md5OfMessageAttributes(returned);
    out.MessageAttributes = returned;
  }
  return out;
}

export const receiveMessage: SqsHandler<'ReceiveMessage'> = (context, params) => {
  const queue = context.queueOf(params.QueueUrl);
  const maxMessages =
    intParam(
      'MaxNumberOfMessages',
      params.MaxNumberOfMessages,
      1,
      MAX_MESSAGES,
      'Must be between 1 and 10, if provided.',
    ) ?? 1;
  const visibilityTimeoutSeconds = intParam(
    'VisibilityTimeout',
    params.VisibilityTimeout,
    0,
    MAX_VISIBILITY_TIMEOUT_SECONDS,
    `Must be >= 0 and <= ${MAX_VISIBILITY_TIMEOUT_SECONDS}, if provided.`,
  );
  const waitTimeSeconds =
    intParam(
      'WaitTimeSeconds',
      params.WaitTimeSeconds,
      0,
      MAX_WAIT_TIME_SECONDS,
      `Must be >= 0 and <= ${MAX_WAIT_TIME_SECONDS}, if provided.`,
    ) ?? queue.settings.receiveMessageWaitTimeSeconds;
  const attemptId = params.ReceiveRequestAttemptId;
  if (attemptId !== undefined) checkFifoId('ReceiveRequestAttemptId', attemptId);
  const systemNames = selectSystemAttributes([
    ...(params.AttributeNames ?? []),
    ...(params.MessageSystemAttributeNames ?? []),
  ]);
  const filter = messageAttributeFilter(params.MessageAttributeNames ?? []);
  const request: SqsReceiveRequest = {
    maxMessages,
    visibilityTimeoutSeconds,
    // Only FIFO queues deduplicate receives; standard queues ignore the id, as AWS does.
    receiveRequestAttemptId: queue.isFifo ? attemptId : undefined,
  };

  return new Promise<ReceiveMessageResult>((resolve, reject) => {
    let answered = false;
    const done = (received: SqsReceivedMessage[]) => {
      if (answered) return;
      answered = true;
      if (received.length === 0) {
        resolve({});
        return;
      }
      try {
        resolve({ Messages: received.map((r) => formatReceived(r, systemNames, filter)) });
      } catch (err) {
        reject(err);
      }
    };
    let pending: SqsPendingReceive;
    try {
      pending = core(() => queue.receive(request, waitTimeSeconds * 1000, done));
    } catch (err) {
      reject(err);
      return;
    }
    // A long poll whose client has gone stops waiting, so no message is leased for nobody.
    if (!answered) {
      context.onAbort(() => {
        if (answered) return;
        pending.cancel();
        done([]);
      });
    }
  });
};
