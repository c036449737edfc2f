/**
 * DeleteMessage and ChangeMessageVisibility (and their batches): operations on a receive's lease,
 * named by its receipt handle. The core says how it went; this maps that to AWS's errors.
 */
import type { SqsLeaseResult, SqsQueue } from '../../../core/sqs/queue.js';
import type { SqsActionHandler } from '../action-context.js';
import { invalidParameterValue, isSqsError, missingParameter, type SqsError, sqsError } from '../errors.js';
import { checkBatchEntries, core, failedEntry, intParam } from './params.js';

const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** The SqsError for a lease operation that did not go through, undefined for 'ok'. */
export function leaseError(
  result: SqsLeaseResult,
  receiptHandle: string,
  visibilityTimeoutSeconds?: number,
): SqsError | undefined {
  switch (result) {
    case 'ok':
      return undefined;
    case 'invalid':
      return sqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`,
      );
    case 'expired':
      return invalidParameterValue('ReceiptHandle', receiptHandle, 'The receipt handle has expired.');
    case 'not-inflight':
      return sqsError(
        'MessageNotInflight',
        'Message does not exist or is not available for visibility timeout change.',
      );
    case 'too-long':
      return invalidParameterValue(
        'VisibilityTimeout',
        String(visibilityTimeoutSeconds),
        'Total VisibilityTimeout for the message is beyond the limit [43200 seconds]',
      );
  }
}

function receiptHandleOf(entry: Record<string, unknown>): string {
  const handle = entry.ReceiptHandle;
  if (typeof handle !== 'string') throw missingParameter('ReceiptHandle');
  // An empty handle names no lease: AWS answers as for any handle it did not issue.
  return handle;
}

function visibilityTimeoutOf(entry: Record<string, unknown>): number {
  const seconds = intParam(
    entry,
    'VisibilityTimeout',
    0,
    MAX_VISIBILITY_TIMEOUT_SECONDS,
    `VisibilityTimeout must be an integer between 0 and ${MAX_VISIBILITY_TIMEOUT_SECONDS}.`,
  );
  if (seconds === undefined) throw missingParameter('VisibilityTimeout');
  return seconds;
}

function deleteOne(queue: SqsQueue, entry: Record<string, unknown>): void {
  const handle = receiptHandleOf(entry);
  const error = leaseError(
    core(() => queue.deleteMessage(handle)),
    handle,
  );
  if (error) throw error;
}

function changeOne(queue: SqsQueue, entry: Record<string, unknown>): void {
  const handle = receiptHandleOf(entry);
  const seconds = visibilityTimeoutOf(entry);
  const error = leaseError(
    core(() => queue.changeVisibility(handle, seconds)),
    handle,
    seconds,
  );
  if (error) throw error;
}

/** Runs `one` per entry; failures become Failed entries, the rest Successful. */
function batch(
  queue: SqsQueue,
  params: Record<string, unknown>,
  entryName: string,
  one: (queue: SqsQueue, entry: Record<string, unknown>) => void,
): Record<string, unknown> {
  const entries = checkBatchEntries(params, entryName);
  const successful: Record<string, unknown>[] = [];
  const failed: Record<string, unknown>[] = [];
  for (const entry of entries) {
    const id = entry.Id as string;
    try {
      one(queue, entry);
      successful.push({ Id: id });
    } catch (err) {
      if (!isSqsError(err)) throw err;
      failed.push(failedEntry(id, err));
    }
  }
  return { Successful: successful, Failed: failed };
}

export const deleteMessage: SqsActionHandler = (context, params) => {
  deleteOne(context.queueOf(params.QueueUrl), params);
  return undefined;
};

export const deleteMessageBatch: SqsActionHandler = (context, params) =>
  batch(context.queueOf(params.QueueUrl), params, 'DeleteMessageBatchRequestEntry', deleteOne);

export const changeMessageVisibility: SqsActionHandler = (context, params) => {
  changeOne(context.queueOf(params.QueueUrl), params);
  return undefined;
};

export const changeMessageVisibilityBatch: SqsActionHandler = (context, params) =>
  batch(context.queueOf(params.QueueUrl), params, 'ChangeMessageVisibilityBatchRequestEntry', changeOne);
