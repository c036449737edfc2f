/**
 * Refusals from the SQS core, named by the SQS error they become (the protocol layer maps the
 * code to its wire code and HTTP status: src/protocol/sqs/errors.ts). Messages follow AWS's texts.
 */
export type SqsCoreErrorCode =
  | 'QueueDoesNotExist'
  | 'InvalidParameterValue'
  | 'ResourceNotFoundException'
  | 'UnsupportedOperation'
  | 'PurgeQueueInProgress'
  | 'QueueDeletedRecently'
  | 'OverLimit';

export class SqsCoreError extends Error {
  constructor(
    readonly code: SqsCoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SqsCoreError';
  }
}
