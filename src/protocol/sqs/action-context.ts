import type { SqsQueue } from '../../core/sqs/queue.js';
import type { SqsQueueRegistry } from '../../core/sqs/registry.js';
import type { WriteAvailability } from '../../resources/resource-monitor.js';
import type { SqsAction } from './model.js';
import type { SqsInputs, SqsOutputs } from './model-types.js';

/**
 * What an action handler gets besides its params: the queues, who is calling, where queue URLs
 * point, and the life of the HTTP request (a long poll stops when its client goes away).
 */
export interface SqsActionContext {
  readonly registry: SqsQueueRegistry;
  /** The disk alarm (absent: sends are always accepted): see durableSend in actions/params.ts. */
  readonly writes?: WriteAvailability | undefined;
  /** The caller's access key id (SenderId); the account id when signatures are not checked. */
  readonly callerId: string;
  /** The caller's account (its access key's); Pier's queues belong to registry.accountId. */
  readonly callerAccountId: string;
  /** The region the request is signed for: its queues are the ones it sees. */
  readonly region: string;
  /** The URL of the request region's queue: reachable, on the host the client used (queue-urls.ts). */
  queueUrl(queueName: string): string;
  /**
   * The queue a QueueUrl names (a full URL, a path `/<account>/<name>`, or, as AWS allows, the
   * request's own path when QueueUrl is absent). Throws SqsError QueueDoesNotExist.
   */
  queueOf(queueUrl: unknown): SqsQueue;
  /** Throws AccessDenied unless the caller may perform this request's action on the queue (access.ts). */
  authorize(queue: SqsQueue): void;
  /**
   * The request's X-Amzn-Trace-Id header: SendMessage(Batch) keeps it as the messages' AWSTraceHeader
   * when they carry none of their own (AWS docs, "Amazon SQS message system attributes" and X-Ray's
   * "Amazon SQS" integration: the trace header is taken from the HTTP header).
   */
  readonly traceHeader?: string | undefined;
  /** Registers a callback for when the client disconnects before the answer is sent. */
  onAbort(callback: () => void): void;
}

/**
 * One SQS action as the pipeline calls it: params as the protocol parsers produce them (model member
 * names, blobs as Buffers); returns the output shape's members (or nothing), or throws an SqsError.
 * Handlers are protocol-neutral: the JSON and the query front end format the same result.
 */
export type SqsActionHandler = (
  context: SqsActionContext,
  params: Record<string, unknown>,
) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;

/** The handler of one action, its params and result typed from the model (model-types.ts). */
export type SqsHandler<A extends SqsAction> = (
  context: SqsActionContext,
  params: SqsInputs[A],
) => SqsOutputs[A] | Promise<SqsOutputs[A]>;

/** Typed handlers by action. */
export type SqsHandlers = { readonly [A in SqsAction]?: SqsHandler<A> };

/**
 * Typed handlers as the pipeline's table: the untyped→typed boundary.
 *
 * Values arrive as untyped JSON or form fields. They reach a handler only through parseJsonRequest
 * (json-protocol.ts) or parseQueryRequest (query-protocol.ts), which decode every request against the
 * generated model (model.ts): a member of the wrong type is refused there (SerializationException,
 * InvalidParameterValue), a required member that is absent too (MissingParameter), and blobs become
 * Buffers. That decoding is the validation of types from the wire, and model-types.ts is generated
 * from the same model, so the params it lets through have the handler's input type; the cast below
 * only tells the compiler so. What the parsers do not check is left to the handlers, with AWS's
 * errors: values (ranges, formats, lengths) and names (enum-typed inputs are `string`).
 */
export function typedHandlers(handlers: SqsHandlers): Partial<Record<SqsAction, SqsActionHandler>> {
  const table: Partial<Record<SqsAction, SqsActionHandler>> = {};
  for (const action of Object.keys(handlers) as SqsAction[]) {
    const handler = untyped(handlers, action);
    if (handler) table[action] = handler;
  }
  return table;
}

function untyped<A extends SqsAction>(handlers: SqsHandlers, action: A): SqsActionHandler | undefined {
  const handler = handlers[action];
  return handler && ((context, params) => handler(context, params as SqsInputs[A]));
}
