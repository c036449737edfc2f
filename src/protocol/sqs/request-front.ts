// The half of an SQS request that needs neither the queues nor the secrets: pick the wire protocol,
// prepare the SigV4 check (hashes, canonical request), decode the params against the model, and, on
// the way back, format the answer in the protocol the client spoke. It is pure work on the request's
// bytes, so it can run on the SQS listener's HTTP thread (http-thread.ts) while the main thread
// decides (http-pipeline.ts). Everything it produces crosses threads by structured clone: plain data
// only, errors as their shape and message.
import type { SqsErrorShape } from './errors.js';
import { INTERNAL_FAILURE_MESSAGE, isSqsError, SqsError } from './errors.js';
import {
  formatJsonError,
  formatJsonResponse,
  type HeaderBag,
  parseJsonRequest,
  type SqsHttpResponse,
  type SqsRequest,
} from './json-protocol.js';
import type { SqsAction } from './model.js';
import { acceptsJson, formatQueryErrorJson, formatQueryResponseJson } from './query-json.js';
import { formatQueryError, formatQueryResponse, parseQueryRequest } from './query-protocol.js';
import { isQueuePath } from './queue-urls.js';
import { prepareSigV4, type SigV4Error, type SigV4Prepared } from './sigv4.js';

/** An SQS error as data: enough to rebuild the SqsError on either thread. */
export interface SqsWireError {
  readonly shape: SqsErrorShape;
  readonly message: string;
}

/** A request made ready for the decisions of the main thread. */
export interface PreparedSqsRequest {
  readonly requestId: string;
  /** JSON 1.0 (X-Amz-Target) rather than the query protocol. */
  readonly isJson: boolean;
  /** A query request that asked for JSON answers (query-json.ts). */
  readonly queryJson: boolean;
  /** The path without the query, still percent-encoded. */
  readonly path: string;
  readonly host: string | undefined;
  readonly traceHeader: string | undefined;
  readonly auth: SigV4Prepared | SigV4Error;
  readonly request: SqsRequest | { readonly error: SqsWireError };
}

/** What the main thread answers: a result to format, an error, or a response made already. */
export type SqsAnswer =
  | {
      readonly kind: 'result';
      readonly action: SqsAction;
      readonly result: Record<string, unknown> | undefined;
    }
  | { readonly kind: 'error'; readonly error: SqsWireError }
  | { readonly kind: 'response'; readonly response: SqsHttpResponse };

export interface SqsRawRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: HeaderBag;
}

/**
 * Prepares one request whose body has been read. `acceptAnySignature` skips the signature's hashes
 * (loopback mode); the HTTP thread always computes them, as keys may be added at any time.
 */
export function prepareSqsRequest(
  req: SqsRawRequest,
  body: Buffer,
  requestId: string,
  nowMs: number,
  acceptAnySignature: boolean,
): PreparedSqsRequest {
  const headers = req.headers;
  const isJson = headers['x-amz-target'] !== undefined;
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt + 1);
  const accept = headers.accept;
  const trace = headers['x-amzn-trace-id'];
  const host = headers.host;
  const auth = prepareSigV4({ method: req.method ?? 'POST', path, query, headers, body }, nowMs, {
    acceptAnySignature,
  });
  const decoded = decode(isJson, headers, body, path, query);
  return {
    requestId,
    isJson,
    // A query request may ask for JSON answers (AWS negotiates them; see query-json.ts).
    queryJson: !isJson && acceptsJson(typeof accept === 'string' ? accept : undefined),
    path,
    host: typeof host === 'string' ? host : undefined,
    traceHeader: typeof trace === 'string' && trace !== '' ? trace : undefined,
    auth,
    request: isSqsError(decoded) ? { error: toWireError(decoded) } : decoded,
  };
}

/** Parses the request; a request sent to a queue's path may leave QueueUrl out, as AWS allows. */
function decode(
  isJson: boolean,
  headers: HeaderBag,
  body: Buffer,
  path: string,
  query: string,
): SqsRequest | SqsError {
  const parse = (b: Buffer, q: string) => (isJson ? parseJsonRequest(headers, b) : parseQueryRequest(b, q));
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

export function toWireError(error: SqsError): SqsWireError {
  return { shape: error.shape, message: error.message };
}

/** What formatting an answer needs to know of its request. */
export type SqsAnswerFormat = Pick<PreparedSqsRequest, 'requestId' | 'isJson' | 'queryJson'>;

/** The format of a request that could not be prepared: JSON when it named its action in X-Amz-Target. */
export function unpreparedFormat(req: SqsRawRequest, requestId: string): SqsAnswerFormat {
  return { requestId, isJson: req.headers['x-amz-target'] !== undefined, queryJson: false };
}

const INTERNAL_FAILURE_ANSWER: SqsAnswer = {
  kind: 'error',
  error: { shape: 'InternalFailure', message: INTERNAL_FAILURE_MESSAGE },
};

/**
 * A bug while handling one request costs that request, not its connection, the HTTP thread or the
 * broker: logged with what was being done, answered 500 InternalFailure as AWS answers its own.
 */
export function internalFailure(
  doing: string,
  error: unknown,
  format: SqsAnswerFormat,
  log: (line: string) => void,
): SqsHttpResponse {
  log(`sqs: ${doing} failed: ${(error as Error)?.stack ?? error}`);
  return formatSqsAnswer(format, INTERNAL_FAILURE_ANSWER);
}

/** formatSqsAnswer that never throws: an answer it cannot format becomes an InternalFailure. */
export function formatSqsAnswerOrFailure(
  format: SqsAnswerFormat,
  answer: SqsAnswer,
  log: (line: string) => void,
): SqsHttpResponse {
  try {
    return formatSqsAnswer(format, answer);
  } catch (error) {
    return internalFailure('formatting an answer', error, format, log);
  }
}

/** The HTTP response for an answer, in the protocol the request came in. */
export function formatSqsAnswer(request: SqsAnswerFormat, answer: SqsAnswer): SqsHttpResponse {
  const { requestId, isJson, queryJson } = request;
  switch (answer.kind) {
    case 'response':
      return answer.response;
    case 'error': {
      const error = new SqsError(answer.error.shape, answer.error.message);
      if (isJson) return formatJsonError(error, requestId);
      return queryJson ? formatQueryErrorJson(error, requestId) : formatQueryError(error, requestId);
    }
    case 'result':
      if (isJson) return formatJsonResponse(answer.action, answer.result, requestId);
      return queryJson
        ? formatQueryResponseJson(answer.action, answer.result, requestId)
        : formatQueryResponse(answer.action, answer.result, requestId);
  }
}
