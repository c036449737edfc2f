import type { SqsQueue } from '../../core/sqs/queue.js';
import type { SqsQueueRegistry } from '../../core/sqs/registry.js';

/**
 * What an action handler gets besides its params: the queues, who is calling, where queue URLs
 * point, and the life of the HTTP request (a long poll stops when its client goes away).
 */
export interface SqsActionContext {
  readonly registry: SqsQueueRegistry;
  /** The caller's access key id (SenderId); the account id when signatures are not checked. */
  readonly callerId: string;
  /** `http://<host>:<port>/<account-id>/<name>`: reachable, on the host the client used. */
  queueUrl(queueName: string): string;
  /**
   * The queue a QueueUrl names (a full URL, a path `/<account>/<name>`, or, as AWS allows, the
   * request's own path when QueueUrl is absent). Throws SqsError QueueDoesNotExist.
   */
  queueOf(queueUrl: unknown): SqsQueue;
  /** Registers a callback for when the client disconnects before the answer is sent. */
  onAbort(callback: () => void): void;
}

/**
 * One SQS action: params as the protocol parsers produce them (model member names, blobs as
 * Buffers); returns the output shape's members (or nothing), or throws an SqsError. Handlers are
 * protocol-neutral: the JSON and the query front end format the same result.
 */
export type SqsActionHandler = (
  context: SqsActionContext,
  params: Record<string, unknown>,
) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;
