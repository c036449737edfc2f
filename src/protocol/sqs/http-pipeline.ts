// One SQS HTTP request, start to end: read the body (bounded), pick the wire protocol (X-Amz-Target →
// JSON 1.0, else query from the form body and the query string), check the SigV4 signature, decode,
// run the action's handler, and answer in the protocol the client spoke, with a request id always.
// The work on the request's bytes is request-front.ts, which may have run on the HTTP thread; the
// decisions here (who may do what, the throttle, the handlers) run on the main thread.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lockedOutReason } from '../../core/login-throttle.js';
import { SqsCoreError } from '../../core/sqs/errors.js';
import type { SqsQueueRegistry } from '../../core/sqs/registry.js';
import type { WriteAvailability } from '../../resources/resource-monitor.js';
import { accessDenied, authorize, type SqsCaller } from './access.js';
import type { SqsActionContext, SqsActionHandler } from './action-context.js';
import { INTERNAL_FAILURE_MESSAGE, SqsError, sqsError } from './errors.js';
import { onClientGone, readSqsBody, sendSqsResponse } from './http-exchange.js';
import { OPERATIONS, SHAPES, type SqsAction } from './model.js';
import {
  formatQueueUrl,
  isBareQueueName,
  isQueuePath,
  parseQueueUrl,
  queueDoesNotExist,
  regionOfHost,
  wrongRegion,
} from './queue-urls.js';
import {
  formatSqsAnswerOrFailure,
  internalFailure,
  type PreparedSqsRequest,
  prepareSqsRequest,
  type SqsAnswer,
  toWireError,
  unpreparedFormat,
} from './request-front.js';
import { checkSigV4 } from './sigv4.js';

export type SqsActionTable = Readonly<Partial<Record<SqsAction, SqsActionHandler>>>;

export interface SqsPipelineOptions {
  readonly registry: SqsQueueRegistry;
  readonly actions: SqsActionTable;
  /** Access key id → secret. Empty: any well-formed signature is accepted (loopback only). */
  readonly accessKeys: { get(accessKeyId: string): string | undefined; readonly size: number };
  /**
   * Access key id → the 12-digit account it belongs to. A key without one belongs to the queues'
   * account (registry.accountId), whose callers are allowed by identity; other accounts need the
   * queue's Policy (access.ts).
   */
  readonly keyAccounts?: { get(accessKeyId: string): string | undefined };
  /** Larger request bodies are refused with 413, as AWS does, without being read into memory. */
  readonly maxRequestBytes: number;
  /** host:port for queue URLs when a request carries no Host header (`secure`: it came over TLS). */
  readonly defaultAuthority: (secure: boolean) => string;
  readonly log: (line: string) => void;
  /** Wall-clock time for signature expiry (the SDKs sign with real time, not the core's clock). */
  readonly nowMs?: () => number;
  /**
   * Failed signatures per source address (core/login-throttle.ts): a locked-out address gets
   * ThrottlingException (which the SDKs retry with backoff) until its lockout ends.
   */
  readonly loginThrottle?: {
    retryAfterMs(address: string | undefined): number;
    failed(address: string | undefined): number;
    succeeded(address: string | undefined): void;
  };
  /** The disk alarm: SendMessage(Batch) is answered 503 ServiceUnavailable while it is raised. */
  readonly writes?: WriteAvailability;
}

/** Signature failures that count as failed logins (a wrong secret or an unknown key id). */
const LOGIN_FAILURES: ReadonlySet<string> = new Set(['SignatureDoesNotMatch', 'InvalidClientTokenId']);

/** The connection a request came on, as the decisions need it. */
export interface SqsConnectionFacts {
  /** The client's address (the login throttle's key, a Policy's aws:SourceIp). */
  readonly peer: string | undefined;
  /** It came over TLS: queue URLs are https, a Policy's aws:SecureTransport is true. */
  readonly secure: boolean;
  /** Registers a callback for when the client goes away before its answer is written. */
  onAbort(callback: () => void): void;
}

/** Decides a prepared request and answers it through `reply` (once). */
export type SqsDispatch = (
  request: PreparedSqsRequest,
  connection: SqsConnectionFacts,
  reply: (answer: SqsAnswer) => void,
) => void;

/** The node:http request listener of the SQS front when everything runs on this thread. */
export function sqsRequestHandler(
  options: SqsPipelineOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const dispatch = sqsDispatcher(options);
  const nowMs = options.nowMs ?? Date.now;
  return (req, res) => {
    const requestId = randomUUID();
    readSqsBody(req, res, options.maxRequestBytes, requestId, (body) => {
      let prepared: PreparedSqsRequest;
      try {
        prepared = prepareSqsRequest(req, body, requestId, nowMs(), options.accessKeys.size === 0);
      } catch (error) {
        sendSqsResponse(
          res,
          internalFailure('preparing a request', error, unpreparedFormat(req, requestId), options.log),
        );
        return;
      }
      const connection: SqsConnectionFacts = {
        peer: req.socket.remoteAddress,
        secure: (req.socket as { encrypted?: boolean }).encrypted === true,
        onAbort: (callback) => onClientGone(res, callback),
      };
      dispatch(prepared, connection, (answer) =>
        sendSqsResponse(res, formatSqsAnswerOrFailure(prepared, answer, options.log)),
      );
    });
  };
}

/** The main thread's half of the pipeline: signatures against the secrets, access, the action. */
export function sqsDispatcher(options: SqsPipelineOptions): SqsDispatch {
  const nowMs = options.nowMs ?? Date.now;
  const lookupSecret = (id: string) => options.accessKeys.get(id);
  // Keys can be added at runtime (`pier user access-key add`): loopback mode ends with the first.
  const acceptsAnySignature = () => options.accessKeys.size === 0;

  return (prepared, connection, reply) => {
    const fail = (error: SqsError) => reply({ kind: 'error', error: toWireError(error) });
    const { peer } = connection;
    const retryAfterMs = options.loginThrottle?.retryAfterMs(peer) ?? 0;
    if (retryAfterMs > 0) {
      fail(sqsError('ThrottlingException', lockedOutReason(peer ?? 'this address', retryAfterMs)));
      return;
    }
    const acceptAnySignature = acceptsAnySignature();
    const auth = prepared.auth.ok
      ? checkSigV4(prepared.auth, lookupSecret, { acceptAnySignature })
      : prepared.auth;
    if (!auth.ok) {
      if (LOGIN_FAILURES.has(auth.code)) options.loginThrottle?.failed(peer);
      fail(sqsError(auth.code, auth.message));
      return;
    }
    if (!acceptAnySignature) options.loginThrottle?.succeeded(peer);
    // The request's region is the one it is signed for (SigV4's credential scope). A client that
    // addressed a regional host (sqs.<region>.*) of another region gets AWS's answer to that.
    const region = auth.region;
    const hostRegion = regionOfHost(prepared.host ?? '');
    if (hostRegion !== undefined && hostRegion !== region) {
      fail(wrongRegion(region));
      return;
    }
    const { isJson, path } = prepared;
    const request = prepared.request;
    if ('error' in request) {
      // A query request to a queue's URL without an Action: AWS answers 404 with a bare
      // <UnknownOperationException/>, in XML even when JSON was asked for (LocalStack's AWS-validated
      // test_get_without_query_returns_unknown_operation and ..._json_format_returns_returns_xml).
      if (!isJson && request.error.shape === 'MissingAction' && isQueuePath(path)) {
        reply({
          kind: 'response',
          response: {
            status: 404,
            headers: { 'content-type': 'text/xml', 'x-amzn-requestid': prepared.requestId },
            body: '<UnknownOperationException/>',
          },
        });
        return;
      }
      reply({ kind: 'error', error: request.error });
      return;
    }
    // On the query endpoint, an action that names no queue sent to a queue's URL is refused as AWS
    // refuses it: "InvalidAction: The action CreateQueue is not valid for this endpoint."
    if (!isJson && isQueuePath(path) && !takesQueueUrl(request.action)) {
      fail(sqsError('InvalidAction', `The action ${request.action} is not valid for this endpoint.`));
      return;
    }
    const handler = options.actions[request.action];
    if (!handler) {
      fail(sqsError('UnsupportedOperation', `${request.action} is not supported by this server.`));
      return;
    }
    const caller = callerOf(connection, acceptAnySignature ? undefined : auth.accessKeyId);
    // Another account reaches Pier's queues only through actions on a queue, which its Policy
    // decides; actions on an account (CreateQueue, ListQueues, move tasks) act on the caller's own
    // account, which has no queues here.
    if (!caller.isOwner && !takesQueueUrl(request.action) && request.action !== 'GetQueueUrl') {
      fail(
        accessDenied(caller.account, request.action, `arn:aws:sqs:${region}:${caller.account}:*`, 'account'),
      );
      return;
    }
    const context = actionContext(
      prepared,
      connection,
      acceptAnySignature ? options.registry.accountId : auth.accessKeyId,
      region,
      caller,
      request.action,
    );
    const action = request.action;
    const succeed = (result: Record<string, unknown> | undefined) =>
      reply({ kind: 'result', action, result });
    const failWith = (error: unknown) => fail(toSqsError(error, action));
    try {
      const result = handler(context, request.params);
      if (result instanceof Promise) result.then(succeed, failWith);
      else succeed(result);
    } catch (error) {
      failWith(error);
    }
  };

  function actionContext(
    prepared: PreparedSqsRequest,
    connection: SqsConnectionFacts,
    callerId: string,
    region: string,
    caller: SqsCaller,
    action: SqsAction,
  ): SqsActionContext {
    const { registry } = options;
    const { path } = prepared;
    // A request that came over TLS is told https URLs (its Host names the TLS port).
    const secure = connection.secure;
    const authority = prepared.host || options.defaultAuthority(secure);
    return {
      registry,
      writes: options.writes,
      callerId,
      callerAccountId: caller.account,
      region,
      traceHeader: prepared.traceHeader,
      queueUrl: (queueName) =>
        formatQueueUrl(authority, registry.accountId, queueName, region, registry.region, secure),
      queueOf(queueUrl) {
        const text = typeof queueUrl === 'string' && queueUrl !== '' ? queueUrl : path;
        // A bare queue name stands for the caller's queue of that name, as AWS accepts it.
        const parts = isBareQueueName(text)
          ? { name: text, region: undefined }
          : parseQueueUrl(text, registry.accountId);
        if (!parts) throw queueDoesNotExist();
        // Another region's queue URL: on AWS the request goes to that region's endpoint (the SDKs send
        // it to the QueueUrl's host), signed for this one, and is refused.
        if (parts.region !== undefined && parts.region !== region) throw wrongRegion(region);
        const queue = registry.get(parts.name, region);
        if (!queue) throw queueDoesNotExist();
        authorize(queue, caller, action);
        return queue;
      },
      authorize: (queue) => authorize(queue, caller, action),
      onAbort: (callback) => connection.onAbort(callback),
    };
  }

  /**
   * The signed caller: its account, and the condition keys a queue Policy may test (built only when
   * a policy is evaluated: the owner of a queue without one never needs them).
   */
  function callerOf(connection: SqsConnectionFacts, accessKeyId: string | undefined): SqsCaller {
    const owner = options.registry.accountId;
    const account = (accessKeyId !== undefined && options.keyAccounts?.get(accessKeyId)) || owner;
    const requestMs = nowMs();
    let context: Map<string, string> | undefined;
    return {
      account,
      isOwner: account === owner,
      get context() {
        if (context) return context;
        context = new Map<string, string>([
          ['aws:securetransport', connection.secure ? 'true' : 'false'],
          ['aws:currenttime', new Date(requestMs).toISOString()],
          ['aws:epochtime', String(Math.floor(requestMs / 1000))],
          ['aws:principalaccount', account],
          ['aws:principalarn', `arn:aws:iam::${account}:root`],
          ['aws:principaltype', 'Account'],
        ]);
        const address = connection.peer;
        if (address) context.set('aws:sourceip', address.startsWith('::ffff:') ? address.slice(7) : address);
        if (accessKeyId !== undefined) context.set('aws:userid', accessKeyId);
        return context;
      },
    };
  }

  function toSqsError(error: unknown, action: SqsAction): SqsError {
    if (error instanceof SqsError) return error;
    if (error instanceof SqsCoreError) return new SqsError(error.code, error.message);
    options.log(`sqs: ${action} failed: ${(error as Error)?.stack ?? String(error)}`);
    return sqsError('InternalFailure', INTERNAL_FAILURE_MESSAGE);
  }
}

/** Whether an action's input has a QueueUrl (the actions that may be sent to a queue's URL). */
function takesQueueUrl(action: SqsAction): boolean {
  const input = (OPERATIONS[action] as { input?: string }).input;
  const shape = input === undefined ? undefined : SHAPES[input];
  return shape?.type === 'structure' && shape.members.some((member) => member.name === 'QueueUrl');
}
