/**
 * SendMessage and SendMessageBatch: AWS's checks on each message (body, attributes, size against the
 * queue's MaximumMessageSize, delay, FIFO group and deduplication ids), the MD5 digests, and an
 * answer only once the messages are durable.
 */
import { createHash } from 'node:crypto';
import type { SqsMessage, SqsSendInput } from '../../../core/sqs/message.js';
import type { SqsQueue } from '../../../core/sqs/queue.js';
import type { SqsHandler } from '../action-context.js';
import { invalidParameterValue, isSqsError, missingParameter, sqsError } from '../errors.js';
import { md5OfMessageAttributes, md5OfMessageBody, md5OfMessageSystemAttributes } from '../md5.js';
import { validateMessageSize, validateMessageSystemAttributes } from '../message-attributes.js';
import type {
  BatchResultErrorEntry,
  SendMessageBatchRequestEntry,
  SendMessageBatchResultEntry,
  SendMessageRequest,
} from '../model-types.js';
import {
  checkBatchEntries,
  checkFifoId,
  core,
  durableSend,
  failedEntry,
  intParam,
  refuseWhileDiskFull,
} from './params.js';

const MAX_DELAY_SECONDS = 900;
const NOT_FOR_THIS_QUEUE_TYPE = 'The request include parameter that is not valid for this queue type.';

const noDeduplicationId = () =>
  sqsError(
    'InvalidParameterValue',
    'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
  );

/**
 * AWS's limit on a batch's total payload, whatever the queue's MaximumMessageSize (which each entry
 * meets on its own, failing alone): 1 MiB since AWS raised the message size limit in August 2025
 * (AWS docs, SendMessageBatch: "The maximum allowed individual message size and the maximum total
 * payload size (the sum of the individual lengths of all of the batched messages) are both 1 MiB").
 */
const MAX_BATCH_PAYLOAD_BYTES = 1_048_576;

/** One message to send: SendMessage's params or a SendMessageBatch entry. */
type SendEntry = Omit<SendMessageRequest, 'QueueUrl'>;

/** Checks one message (SendMessage's params or a batch entry) and builds what the core stores. */
export function prepareSend(
  queue: SqsQueue,
  entry: SendEntry,
  senderId: string,
  traceHeader?: string,
): SqsSendInput {
  const body = entry.MessageBody;
  const attributes = entry.MessageAttributes;
  const sentSystemAttributes = entry.MessageSystemAttributes;
  const size = validateMessageSize(body, attributes, queue.settings.maximumMessageSizeBytes);
  if (!size.ok) throw sqsError(size.code, size.message);
  const system = validateMessageSystemAttributes(sentSystemAttributes);
  if (!system.ok) throw sqsError(system.code, system.message);
  // The request's X-Amzn-Trace-Id becomes AWSTraceHeader unless the message sets its own. The answer's
  // MD5OfMessageSystemAttributes stays that of what the client sent (the SDKs check it against that).
  const systemAttributes =
    traceHeader !== undefined && sentSystemAttributes?.AWSTraceHeader === undefined
      ? { ...sentSystemAttributes, AWSTraceHeader: { DataType: 'String', StringValue: traceHeader } }
      : sentSystemAttributes;
  const sentSystem = sentSystemAttributes !== undefined && Object.keys(sentSystemAttributes).length > 0;

  const delaySeconds = intParam(
    'DelaySeconds',
    entry.DelaySeconds,
    0,
    MAX_DELAY_SECONDS,
    `DelaySeconds must be >= 0 and <= ${MAX_DELAY_SECONDS}.`,
  );
  const groupId = entry.MessageGroupId;
  let deduplicationId = entry.MessageDeduplicationId;
  if (queue.isFifo) {
    // FIFO queues delay only by the queue's DelaySeconds; AWS refuses a per-message one (0 is no delay).
    if (delaySeconds !== undefined && delaySeconds > 0) {
      throw invalidParameterValue('DelaySeconds', String(delaySeconds), NOT_FOR_THIS_QUEUE_TYPE);
    }
    if (groupId === undefined) throw missingParameter('MessageGroupId');
    checkFifoId('MessageGroupId', groupId);
    if (deduplicationId !== undefined) checkFifoId('MessageDeduplicationId', deduplicationId);
    else if (queue.settings.contentBasedDeduplication) {
      // Content-based deduplication: the id is the SHA-256 of the body (the core dedups by id only).
      deduplicationId = createHash('sha256').update(body, 'utf8').digest('hex');
    } else {
      throw noDeduplicationId();
    }
  } else {
    if (deduplicationId !== undefined) {
      throw invalidParameterValue('MessageDeduplicationId', deduplicationId, NOT_FOR_THIS_QUEUE_TYPE);
    }
    // Standard queues take a MessageGroupId too (fair queues): checked, kept, no ordering.
    if (groupId !== undefined) checkFifoId('MessageGroupId', groupId);
  }

  const hasAttributes = attributes !== undefined && Object.keys(attributes).length > 0;
  const hasSystemAttributes = systemAttributes !== undefined && Object.keys(systemAttributes).length > 0;
  return {
    body,
    bodyMd5: md5OfMessageBody(body),
    messageAttributes: hasAttributes ? attributes : undefined,
    messageAttributesMd5: hasAttributes ? md5OfMessageAttributes(attributes) : undefined,
    systemAttributes: hasSystemAttributes ? systemAttributes : undefined,
    systemAttributesMd5:
      sentSystem && sentSystemAttributes ? md5OfMessageSystemAttributes(sentSystemAttributes) : undefined,
    sizeBytes: size.sizeBytes,
    delaySeconds: queue.isFifo ? undefined : delaySeconds,
    messageGroupId: groupId,
    deduplicationId,
    senderId,
  };
}

/**
 * The answer's ids and digests. The digests are this request's (the SDKs check them against what
 * they sent); MessageId and SequenceNumber are the stored message's, the original for a FIFO duplicate.
 */
function sendResult(input: SqsSendInput, message: SqsMessage): Omit<SendMessageBatchResultEntry, 'Id'> {
  return {
    MessageId: message.messageId,
    MD5OfMessageBody: input.bodyMd5,
    MD5OfMessageAttributes: input.messageAttributesMd5,
    MD5OfMessageSystemAttributes: input.systemAttributesMd5,
    SequenceNumber: message.sequenceNumber,
  };
}

export const sendMessage: SqsHandler<'SendMessage'> = async (context, params) => {
  const queue = context.queueOf(params.QueueUrl);
  const input = prepareSend(queue, params, context.callerId, context.traceHeader);
  refuseWhileDiskFull(context);
  const { message } = core(() => queue.send(input));
  await durableSend(context);
  return sendResult(input, message);
};

/** Sum of bodies and attribute names, types and values, as AWS counts a batch's payload. */
function payloadBytes(entries: readonly SendMessageBatchRequestEntry[]): number {
  let total = 0;
  for (const entry of entries) {
    total += Buffer.byteLength(entry.MessageBody, 'utf8');
    const attributes = entry.MessageAttributes;
    if (!attributes) continue;
    for (const [name, value] of Object.entries(attributes)) {
      total += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType ?? '', 'utf8');
      if (value.StringValue !== undefined) total += Buffer.byteLength(value.StringValue, 'utf8');
      if (value.BinaryValue !== undefined) total += value.BinaryValue.length;
    }
  }
  return total;
}

export const sendMessageBatch: SqsHandler<'SendMessageBatch'> = async (context, params) => {
  const queue = context.queueOf(params.QueueUrl);
  const entries = checkBatchEntries(params.Entries, 'SendMessageBatchRequestEntry');
  const maxBytes = MAX_BATCH_PAYLOAD_BYTES;
  const totalBytes = payloadBytes(entries);
  if (totalBytes > maxBytes) {
    throw sqsError(
      'BatchRequestTooLong',
      `Batch requests cannot be longer than ${maxBytes} bytes. You have sent ${totalBytes} bytes.`,
    );
  }
  if (queue.isFifo) {
    // On a FIFO queue an entry without MessageGroupId (or without MessageDeduplicationId where the
    // queue does not derive it) fails the whole request, not the entry: AWS answers MissingParameter
    // / InvalidParameterValue for the request (issue 14's recorded AWS runs; LocalStack's SQS
    // provider checks these before the entries too).
    for (const entry of entries) {
      if (entry.MessageGroupId === undefined) throw missingParameter('MessageGroupId');
    }
    if (!queue.settings.contentBasedDeduplication) {
      for (const entry of entries) {
        if (entry.MessageDeduplicationId === undefined) throw noDeduplicationId();
      }
    }
  }
  refuseWhileDiskFull(context);
  const successful: SendMessageBatchResultEntry[] = [];
  const failed: BatchResultErrorEntry[] = [];
  for (const entry of entries) {
    const id = entry.Id;
    try {
      const input = prepareSend(queue, entry, context.callerId, context.traceHeader);
      const { message } = core(() => queue.send(input));
      successful.push({ Id: id, ...sendResult(input, message) });
    } catch (err) {
      if (!isSqsError(err)) throw err;
      failed.push(failedEntry(id, err));
    }
  }
  if (successful.length > 0) await durableSend(context);
  return { Successful: successful, Failed: failed };
};
