// One SQS HTTP request, start to end: read the body (bounded), pick the wire protocol (X-Amz-Target →
// JSON 1.0, else query from the form body and the query string), check the SigV4 signature, decode,
// run the action's handler, and answer in the protocol the client spoke, with a request id always.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lockedOutReason } from '../../core/login-throttle.js';
import { SqsCoreError } from '../../core/sqs/errors.js';
import type { SqsQueueRegistry } from '../../core/sqs/registry.js';
import type { WriteAvailability } from '../../resources/resource-monitor.js';
import { accessDenied, authorize, type SqsCaller } from './access.js';
import type { SqsActionContext, SqsActionHandler } from './action-context.js';
import { isSqsError, SqsError, sqsError } from './errors.js';
import {
  formatJsonError,
  formatJsonResponse,
  parseJsonRequest,
  type SqsHttpResponse,
  type SqsRequest,
} from './json-protocol.js';
import { OPERATIONS, SHAPES, type SqsAction } from './model.js';
import { acceptsJson, formatQueryErrorJson, formatQueryResponseJson } from './query-json.js';
import { formatQueryError, formatQueryResponse, parseQueryRequest } from './query-protocol.js';
import {
  formatQueueUrl,
  isBareQueueName,
  isQueuePath,
  parseQueueUrl,
  queueDoesNotExist,
  regionOfHost,
  wrongRegion,
} from './queue-urls.js';
import { verifySigV4 } from './sigv4.js';

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

const INTERNAL_FAILURE_MESSAGE = 'We encountered an internal error. Please try again.';

/** Builds the node:http request listener of the SQS front. */
export function sqsRequestHandler(
  options: SqsPipelineOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const nowMs = options.nowMs ?? Date.now;
  const lookupSecret = (id: string) => options.accessKeys.get(id);
  // Keys can be added at runtime (`pier user access-key add`): loopback mode ends with the first.
  const acceptsAnySignature = () => options.accessKeys.size === 0;

  return (req, res) => {
    const requestId = randomUUID();
    const declaredBytes = Number(req.headers['content-length'] ?? 0);
    if (declaredBytes > options.maxRequestBytes) {
      refuseTooLarge(req, res, requestId, options.maxRequestBytes);
      return;
    }
    const chunks: Buffer[] = [];
    let receivedBytes = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      receivedBytes += chunk.length;
      // Chunked bodies have no Content-Length: count as they come.
      if (receivedBytes > options.maxRequestBytes) {
        refused = true;
        chunks.length = 0;
        refuseTooLarge(req, res, requestId, options.maxRequestBytes);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, receivedBytes);
      serve(req, res, body, requestId);
    });
    req.on('error', () => res.destroy());
  };

  function serve(req: IncomingMessage, res: ServerResponse, body: Buffer, requestId: string): void {
    const isJson = req.headers['x-amz-target'] !== undefined;
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = queryAt === -1 ? '' : url.slice(queryAt + 1);
    // A query request may ask for JSON answers (AWS negotiates them; see query-json.ts).
    const queryJson = !isJson && acceptsJson(req.headers.accept);
    const fail = (error: SqsError) =>
      send(
        res,
        isJson
          ? formatJsonError(error, requestId)
          : queryJson
            ? formatQueryErrorJson(error, requestId)
            : formatQueryError(error, requestId),
      );

    const peer = req.socket.remoteAddress;
    const retryAfterMs = options.loginThrottle?.retryAfterMs(peer) ?? 0;
    if (retryAfterMs > 0) {
      fail(sqsError('ThrottlingException', lockedOutReason(peer ?? 'this address', retryAfterMs)));
      return;
    }
    const acceptAnySignature = acceptsAnySignature();
    const auth = verifySigV4(
      { method: req.method ?? 'POST', path, query, headers: req.headers, body },
      lookupSecret,
      nowMs(),
      { acceptAnySignature },
    );
    if (!auth.ok) {
      if (LOGIN_FAILURES.has(auth.code)) options.loginThrottle?.failed(peer);
      fail(sqsError(auth.code, auth.message));
      return;
    }
    if (!acceptAnySignature) options.loginThrottle?.succeeded(peer);
    // The request's region is the one it is signed for (SigV4's credential scope). A client that
    // addressed a regional host (sqs.<region>.*) of another region gets AWS's answer to that.
    const region = auth.region;
    const hostRegion = regionOfHost(req.headers.host ?? '');
    if (hostRegion !== undefined && hostRegion !== region) {
      fail(wrongRegion(region));
      return;
    }
    const request = decode(isJson, req, body, path, query);
    if (isSqsError(request)) {
      // A query request to a queue's URL without an Action: AWS answers 404 with a bare
      // <UnknownOperationException/>, in XML even when JSON was asked for (LocalStack's AWS-validated
      // test_get_without_query_returns_unknown_operation and ..._json_format_returns_returns_xml).
      if (!isJson && request.shape === 'MissingAction' && isQueuePath(path)) {
        send(res, {
          status: 404,
          headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
          body: '<UnknownOperationException/>',
        });
        return;
      }
      fail(request);
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
    const caller = callerOf(req, acceptAnySignature ? undefined : auth.accessKeyId);
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
      req,
      res,
      path,
      acceptAnySignature ? options.registry.accountId : auth.accessKeyId,
      region,
      caller,
      request.action,
    );
    const succeed = (result: Record<string, unknown> | undefined) =>
      send(
        res,
        isJson
          ? formatJsonResponse(request.action, result, requestId)
          : queryJson
            ? formatQueryResponseJson(request.action, result, requestId)
            : formatQueryResponse(request.action, result, requestId),
      );
    const failWith = (error: unknown) => fail(toSqsError(error, request.action));
    try {
      const result = handler(context, request.params);
      if (result instanceof Promise) result.then(succeed, failWith);
      else succeed(result);
    } catch (error) {
      failWith(error);
    }
  }

  /** Parses the request; a request sent to a queue's path may leave QueueUrl out, as AWS allows. */
  function decode(
    isJson: boolean,
    req: IncomingMessage,
    body: Buffer,
    path: string,
    query: string,
  ): SqsRequest | SqsError {
    const parse = (b: Buffer, q: string) =>
      isJson ? parseJsonRequest(req.headers, b) : parseQueryRequest(b, q);
    const parsed = parse(body, query);
    if (!isSqsError(parsed) || parsed.shape !== 'MissingParameter' || !isQueuePath(path)) return parsed;
    if (!parsed.message.endsWith(' QueueUrl.')) return parsed;
    if (!isJson) return parse(body, `${query}${query ? '&' : ''}QueueUrl=${encodeURIComponent(path)}`);
    try {
      const object = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
      return parse(Buffer.from(JSON.stringify({ ...object, QueueUrl: path })), query);
    } catch {
      return parsed;
    }
  }

  function actionContext(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    callerId: string,
    region: string,
    caller: SqsCaller,
    action: SqsAction,
  ): SqsActionContext {
    const { registry } = options;
    // A request that came over TLS is told https URLs (its Host names the TLS port).
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    const authority = req.headers.host || options.defaultAuthority(secure);
    const trace = req.headers['x-amzn-trace-id'];
    return {
      registry,
      writes: options.writes,
      callerId,
      callerAccountId: caller.account,
      region,
      traceHeader: typeof trace === 'string' && trace !== '' ? trace : undefined,
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
      onAbort(callback) {
        res.once('close', () => {
          if (!res.writableFinished) callback();
        });
      },
    };
  }

  /**
   * The signed caller: its account, and the condition keys a queue Policy may test (built only when
   * a policy is evaluated: the owner of a queue without one never needs them).
   */
  function callerOf(req: IncomingMessage, accessKeyId: string | undefined): SqsCaller {
    const owner = options.registry.accountId;
    const account = (accessKeyId !== undefined && options.keyAccounts?.get(accessKeyId)) || owner;
    const requestMs = nowMs();
    let context: Map<string, string> | undefined;
    return {
      account,
      isOwner: account === owner,
      get context() {
        if (context) return context;
        const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
        context = new Map<string, string>([
          ['aws:securetransport', secure ? 'true' : 'false'],
          ['aws:currenttime', new Date(requestMs).toISOString()],
          ['aws:epochtime', String(Math.floor(requestMs / 1000))],
          ['aws:principalaccount', account],
          ['aws:principalarn', `arn:aws:iam::${account}:root`],
          ['aws:principaltype', 'Account'],
        ]);
        const address = req.socket.remoteAddress;
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

/**
 * Answers wait for the end of the event-loop turn and go out together: every write on a loopback
 * socket wakes the client there and then, and on a VM each wake-up of a sleeping client costs as
 * much as handling a request; answers written back to back mostly find it awake.
 */
let pendingAnswers: Array<{ res: ServerResponse; response: SqsHttpResponse }> = [];

function send(res: ServerResponse, response: SqsHttpResponse): void {
  if (pendingAnswers.length === 0) setImmediate(flushAnswers);
  pendingAnswers.push({ res, response });
}

function flushAnswers(): void {
  const answers = pendingAnswers;
  pendingAnswers = [];
  for (const { res, response } of answers) {
    if (res.destroyed || res.writableEnded) continue;
    res.writeHead(response.status, {
      ...response.headers,
      'content-length': Buffer.byteLength(response.body),
    });
    res.end(response.body);
  }
}

/**
 * AWS's front end answers an oversized request with a bare 413 and this text. The connection closes
 * after the answer: the rest of the body is discarded, never buffered.
 */
function refuseTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  maxBytes: number,
): void {
  const body = `HTTP content length exceeded ${maxBytes} bytes.`;
  res.shouldKeepAlive = false;
  res.writeHead(413, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
    connection: 'close',
  });
  res.end(body);
  req.resume();
}
