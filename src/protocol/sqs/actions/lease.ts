/**
 * DeleteMessage and ChangeMessageVisibility (and their batches): operations on a receive's lease,
 * named by its receipt handle. The core says how it went; this maps that to AWS's errors.
 */
import type { SqsLeaseResult, SqsQueue } from '../../../core/sqs/queue.js';
import type { SqsHandler } from '../action-context.js';
import { invalidParameterValue, isSqsError, missingParameter, type SqsError, sqsError } from '../errors.js';
import type { BatchResultErrorEntry } from '../model-types.js';
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
    case 'gone':
      return invalidParameterValue(
        'ReceiptHandle',
        receiptHandle,
        'Message does not exist or is not available for visibility timeout change.',
      );
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

/** A batch entry's VisibilityTimeout is optional in the model, but AWS requires it. */
function visibilityTimeoutOf(entry: { readonly VisibilityTimeout?: number }): number {
  const seconds = intParam(
    'VisibilityTimeout',
    entry.VisibilityTimeout,
    0,
    MAX_VISIBILITY_TIMEOUT_SECONDS,
    `VisibilityTimeout must be an integer between 0 and ${MAX_VISIBILITY_TIMEOUT_SECONDS}.`,
  );
  if (seconds === undefined) throw missingParameter('VisibilityTimeout');
  return seconds;
}

// An empty receipt handle names no lease: AWS answers as for any handle it did not issue.
function deleteOne(queue: SqsQueue, entry: { readonly ReceiptHandle: string }): void {
  const handle = entry.ReceiptHandle;
  const error = leaseError(
    core(() => queue.deleteMessage(handle)),
    handle,
  );
  if (error) throw error;
}

function changeOne(
  queue: SqsQueue,
  entry: { readonly ReceiptHandle: string; readonly VisibilityTimeout?: number },
): void {
  const handle = entry.ReceiptHandle;
  const seconds = visibilityTimeoutOf(entry);
  const error = leaseError(
    core(() => queue.changeVisibility(handle, seconds)),
    handle,
    seconds,
  );
  if (error) throw error;
}

/** Runs `one` per entry; failures become Failed entries, the rest Successful. */
function batch<Entry extends { readonly Id: string }>(
  queue: SqsQueue,
  entries: readonly Entry[],
  entryName: string,
  one: (queue: SqsQueue, entry: Entry) => void,
): { Successful: { Id: string }[]; Failed: BatchResultErrorEntry[] } {
  checkBatchEntries(entries, entryName);
  const successful: { Id: string }[] = [];
  const failed: BatchResultErrorEntry[] = [];
  for (const entry of entries) {
    const id = entry.Id;
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

export const deleteMessage: SqsHandler<'DeleteMessage'> = (context, params) => {
  deleteOne(context.queueOf(params.QueueUrl), params);
  return undefined;
};

export const deleteMessageBatch: SqsHandler<'DeleteMessageBatch'> = (context, params) =>
  batch(context.queueOf(params.QueueUrl), params.Entries, 'DeleteMessageBatchRequestEntry', deleteOne);

export const changeMessageVisibility: SqsHandler<'ChangeMessageVisibility'> = (context, params) => {
  changeOne(context.queueOf(params.QueueUrl), params);
  return undefined;
};

export const changeMessageVisibilityBatch: SqsHandler<'ChangeMessageVisibilityBatch'> = (context, params) =>
  batch(
    context.queueOf(params.QueueUrl),
    params.Entries,
    'ChangeMessageVisibilityBatchRequestEntry',
    changeOne,
  );
