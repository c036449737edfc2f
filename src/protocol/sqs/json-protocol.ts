// The AWS JSON 1.0 protocol as SQS speaks it (@aws-sdk/client-sqs ≥ 3.446, botocore ≥ 1.34.90):
// POST / with X-Amz-Target: AmazonSQS.<Action> and a JSON body of the input shape's members; the
// response is the output shape as JSON, errors are {"__type","message"} plus the legacy query code in
// x-amzn-query-error (the model is awsQueryCompatible, and the SDKs take the code from that header).
// Parsing checks the body against the model (types, required members) so handlers get clean params;
// blobs arrive as base64 and are handed on as Buffers, as the query protocol does. This check is what
// lets handlers take their params typed (model-types.ts; see typedHandlers in action-context.ts).
import { missingParameter, SqsError, sqsError } from './errors.js';
import { OPERATIONS, SHAPES, type SqsAction, type SqsShape } from './model.js';
import { setOwn } from './own-keys.js';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'AmazonSQS.';

/** A decoded request, the same whichever protocol carried it. */
export interface SqsRequest {
  action: SqsAction;
  /** The input shape's members by model name; blobs are Buffers, lists arrays, maps plain objects. */
  params: Record<string, unknown>;
}

export interface SqsHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

export function isSqsAction(name: string): name is SqsAction {
  return Object.hasOwn(OPERATIONS, name);
}

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Decodes a JSON 1.0 request; returns an SqsError (not thrown) when AWS would answer with one. */
export function parseJsonRequest(headers: HeaderBag, body: Buffer): SqsRequest | SqsError {
  const target = header(headers, 'x-amz-target');
  if (!target) {
    return sqsError(
      'UnknownOperationException',
      'The request has no X-Amz-Target header naming an operation.',
    );
  }
  const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  if (!isSqsAction(action)) {
    return sqsError(
      'UnknownOperationException',
      `X-Amz-Target ${target} is not an SQS operation (expected AmazonSQS.<Action>, e.g. AmazonSQS.SendMessage).`,
    );
  }
  let parsed: unknown = {};
  if (body.length > 0) {
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return sqsError(
        'SerializationException',
        `The request body is not valid JSON: ${(err as Error).message}`,
      );
    }
  }
  const inputShape = (OPERATIONS[action] as { input?: string }).input;
  if (!inputShape) return { action, params: {} };
  try {
    const params = decodeValue(inputShape, parsed, '') as Record<string, unknown>;
    return { action, params };
  } catch (err) {
    if (err instanceof SqsError) return err;
    throw err;
  }
}

function typeError(path: string, expected: string): SqsError {
  return sqsError('SerializationException', `${path || 'The request body'} must be ${expected}.`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Checks a JSON value against a model shape and converts blobs to Buffers. Throws SqsError. */
function decodeValue(shapeName: string, value: unknown, path: string): unknown {
  const shape: SqsShape | undefined = SHAPES[shapeName];
  if (!shape) throw new TypeError(`SQS model has no shape ${shapeName}`);
  switch (shape.type) {
    case 'string':
    case 'enum':
      if (typeof value !== 'string') throw typeError(path, 'a string');
      return value;
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(path, 'an integer');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw typeError(path, 'a boolean');
      return value;
    case 'blob':
      if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
        throw typeError(path, 'base64-encoded binary');
      }
      return Buffer.from(value, 'base64');
    case 'list': {
      if (!Array.isArray(value)) throw typeError(path, 'a list');
      return value.map((item, i) => decodeValue(shape.member, item, `${path}[${i}]`));
    }
    case 'map': {
      if (!isObject(value)) throw typeError(path, 'a map');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v !== null) setOwn(out, k, decodeValue(shape.value, v, `${path}.${k}`));
      }
      return out;
    }
    case 'structure': {
      if (!isObject(value)) throw typeError(path, 'an object');
      const out: Record<string, unknown> = {};
      for (const member of shape.members) {
        const v = value[member.name];
        const memberPath = path ? `${path}.${member.name}` : member.name;
        if (v === undefined || v === null) {
          if (member.required) throw missingParameter(memberPath);
          continue;
        }
        out[member.name] = decodeValue(member.target, v, memberPath);
      }
      return out;
    }
  }
}

/**
 * JSON.stringify's replacer for outputs: binary values become base64 (the replacer sees the value
 * before Buffer.prototype.toJSON through `this[key]`), bigints numbers; undefined members are left
 * out by JSON.stringify itself. No copy of the result is made.
 */
function jsonReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (original instanceof Uint8Array) {
    return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  }
  return typeof value === 'bigint' ? Number(value) : value;
}

/**
 * Whether an answer holds a value JSON.stringify would get wrong without jsonReplacer (binary, a
 * bigint). Most received messages carry none, and a replacer — a call per key — made stringifying
 * ReceiveMessage answers the largest single cost of a receive.
 */
function needsReplacer(value: unknown): boolean {
  if (typeof value === 'bigint' || value instanceof Uint8Array) return true;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (needsReplacer(item)) return true;
    return false;
  }
  for (const key in value) if (needsReplacer((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** Whether a shape can hold a blob (binary value), through any member, item or map value. */
function reachesBlob(shapeName: string, seen = new Set<string>()): boolean {
  if (seen.has(shapeName)) return false;
  seen.add(shapeName);
  const shape = SHAPES[shapeName];
  if (!shape) return false;
  switch (shape.type) {
    case 'blob':
      return true;
    case 'list':
      return reachesBlob(shape.member, seen);
    case 'map':
      return reachesBlob(shape.value, seen);
    case 'structure':
      return shape.members.some((member) => reachesBlob(member.target, seen));
    default:
      return false;
  }
}

/**
 * Actions whose answers may carry binary values (ReceiveMessage: binary message attributes). The
 * others are stringified without a replacer, which V8 does about twice as fast.
 */
const BINARY_OUTPUTS: ReadonlySet<SqsAction> = new Set(
  (Object.keys(OPERATIONS) as SqsAction[]).filter((action) => {
    const output = (OPERATIONS[action] as { output?: string }).output;
    return output !== undefined && reachesBlob(output);
  }),
);

export function formatJsonResponse(
  action: SqsAction,
  result: Record<string, unknown> | undefined,
  requestId?: string,
): SqsHttpResponse {
  const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE };
  if (requestId) headers['x-amzn-requestid'] = requestId;
  const body =
    BINARY_OUTPUTS.has(action) && needsReplacer(result)
      ? JSON.stringify(result ?? {}, jsonReplacer)
      : JSON.stringify(result ?? {});
  return { status: 200, headers, body };
}

export function formatJsonError(error: SqsError, requestId?: string): SqsHttpResponse {
  const headers: Record<string, string> = {
    'content-type': JSON_CONTENT_TYPE,
    'x-amzn-query-error': `${error.queryCode};${error.fault}`,
  };
  if (requestId) headers['x-amzn-requestid'] = requestId;
  return {
    status: error.httpStatus,
    headers,
    body: JSON.stringify({ __type: error.jsonType, message: error.message }),
  };
}
