/**
 * What the message actions share: range-checked integer params, mapping core refusals to SQS errors,
 * the batch envelope rules (entry count, ids) and BatchResultErrorEntry for per-entry failures.
 */
import { SqsCoreError } from '../../../core/sqs/errors.js';
import type { SqsActionContext } from '../action-context.js';
import { invalidParameterValue, type SqsError, sqsError } from '../errors.js';
import type { BatchResultErrorEntry } from '../model-types.js';

/**
 * An integer param within [min, max], or undefined when absent; `reason` is AWS's text for out of
 * range. (The parsers have checked that it is a number; the range and integrality are checked here.)
 */
export function intParam(
  name: string,
  value: number | undefined,
  min: number,
  max: number,
  reason: string,
): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidParameterValue(name, String(value), reason);
  }
  return value;
}

// FIFO ids and ReceiveRequestAttemptId: 1-128 of alphanumerics and ASCII punctuation.
const FIFO_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

export function checkFifoId(name: string, value: string): void {
  if (!FIFO_ID.test(value)) {
    throw invalidParameterValue(
      name,
      value,
      `${name} can only include alphanumeric and punctuation characters. 1 to 128 in length.`,
    );
  }
}

/** Runs a core call, turning its refusals (SqsCoreError) into the SQS errors they name. */
export function core<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof SqsCoreError) throw sqsError(err.code, err.message);
    throw err;
  }
}

export const MAX_BATCH_ENTRIES = 10;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * The whole-call checks of every *Batch action, in AWS's order: at least one entry, at most ten,
 * well-formed ids, no id twice. `entryName` is the query protocol's entry element, as AWS names it.
 */
export function checkBatchEntries<Entry extends { readonly Id: string }>(
  entries: readonly Entry[],
  entryName: string,
): readonly Entry[] {
  if (entries.length === 0) {
    throw sqsError('EmptyBatchRequest', `There should be at least one ${entryName} in the request.`);
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw sqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const { Id: id } of entries) {
    if (!BATCH_ENTRY_ID.test(id)) {
      throw sqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. ' +
          'It can be at most 80 letters long.',
      );
    }
    if (seen.has(id)) throw sqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    seen.add(id);
  }
  return entries;
}

/** A BatchResultErrorEntry: the error's wire code, as the single-message action would answer. */
export function failedEntry(id: string, error: SqsError): BatchResultErrorEntry {
  return { Id: id, SenderFault: error.fault === 'Sender', Code: error.queryCode, Message: error.message };
}

/**
 * Throws ServiceUnavailable (HTTP 503, which the SDKs retry with backoff) while the disk alarm is
 * raised: a send is refused rather than accepted into memory with nowhere to write it.
 */
export function refuseWhileDiskFull(context: SqsActionContext): void {
  const refusal = context.writes?.refusal();
  if (refusal !== undefined) throw serviceUnavailable(refusal);
}

function serviceUnavailable(refusal: string): SqsError {
  return sqsError(
    'ServiceUnavailable',
    `The request has failed due to a temporary failure of the server (${refusal}). Retry later.`,
  );
}

/**
 * Resolves once the sends made so far are durable; rejects with ServiceUnavailable if the disk alarm
 * is raised first (a write failed with ENOSPC): the message stays queued and is written once space
 * returns, so a retry may duplicate it, as a 5xx from SQS allows (at-least-once; FIFO queues
 * deduplicate the retry by its deduplication id).
 */
export function durableSend(context: SqsActionContext): Promise<void> {
  const writes = context.writes;
  if (!writes) return durable(context.registry.durability);
  return new Promise((resolve, reject) => {
    let done = false;
    const stop = writes.onChange(() => {
      const refusal = writes.refusal();
      if (refusal === undefined || done) return;
      done = true;
      stop();
      reject(serviceUnavailable(refusal));
    });
    context.registry.durability.afterDurable(() => {
      if (done) return;
      done = true;
      stop();
      resolve();
    });
  });
}

/** Resolves once every write made so far is durable (group commit), so an answer never outruns its data. */
export function durable(barrier: { afterDurable(callback: () => void): void }): Promise<void> {
  return new Promise((resolve) => barrier.afterDurable(resolve));
}
