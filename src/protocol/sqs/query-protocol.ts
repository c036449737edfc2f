// The AWS query protocol as SQS speaks it (boto3 < 1.34.90, the aws CLI v2.9, old SDKs): a form
// (Action=SendMessage&Version=2012-11-05&QueueUrl=...) in the body or query string, answered in XML.
// Lists and maps are flattened under the member's xmlName: AttributeName.1, Attribute.1.Name and
// Attribute.1.Value, SendMessageBatchRequestEntry.1.Id, MessageAttribute.1.Value.StringValue. Parsing
// folds them back into the JSON protocol's shape, so handlers see one params object for both, its
// types and required members checked against the model (what typedHandlers in action-context.ts
// relies on).
import { invalidParameterValue, missingParameter, SqsError, sqsError } from './errors.js';
import { isSqsAction, type SqsHttpResponse, type SqsRequest } from './json-protocol.js';
import {
  OPERATIONS,
  SHAPES,
  SQS_API_VERSION,
  type SqsAction,
  type SqsMember,
  type SqsShape,
} from './model.js';
import { setOwn } from './own-keys.js';

export const XML_NAMESPACE = `http://queue.amazonaws.com/doc/${SQS_API_VERSION}/`;

/** A decoded form: values by key, and every dotted prefix of a key, to find list items cheaply. */
interface Form {
  values: Map<string, string>;
  prefixes: Set<string>;
}

function readForm(body: Buffer | string, queryString?: string): Form {
  const values = new Map<string, string>();
  const add = (text: string) => {
    for (const [k, v] of new URLSearchParams(text)) values.set(k, v);
  };
  if (queryString) add(queryString.startsWith('?') ? queryString.slice(1) : queryString);
  add(typeof body === 'string' ? body : body.toString('utf8'));
  const prefixes = new Set<string>();
  for (const key of values.keys()) {
    for (let dot = key.indexOf('.'); dot !== -1; dot = key.indexOf('.', dot + 1))
      prefixes.add(key.slice(0, dot));
    prefixes.add(key);
  }
  return { values, prefixes };
}

/** Decodes a query-protocol request; returns an SqsError (not thrown) when AWS would answer with one. */
export function parseQueryRequest(body: Buffer | string, queryString?: string): SqsRequest | SqsError {
  const form = readForm(body, queryString);
  const action = form.values.get('Action');
  if (!action) return sqsError('MissingAction', 'The request must contain the parameter Action.');
  if (!isSqsAction(action)) {
    return sqsError('InvalidAction', `The action ${action} is not valid for this endpoint.`);
  }
  const inputShape = (OPERATIONS[action] as { input?: string }).input;
  if (!inputShape) return { action, params: {} };
  try {
    return { action, params: decodeStructure(form, inputShape, '') };
  } catch (err) {
    if (err instanceof SqsError) return err;
    throw err;
  }
}

function shapeOf(name: string): SqsShape {
  const shape = SHAPES[name];
  if (!shape) throw new TypeError(`SQS model has no shape ${name}`);
  return shape;
}

const memberKey = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

function decodeStructure(form: Form, shapeName: string, prefix: string): Record<string, unknown> {
  const shape = shapeOf(shapeName);
  if (shape.type !== 'structure') throw new TypeError(`${shapeName} is not a structure`);
  const out: Record<string, unknown> = {};
  for (const member of shape.members) {
    const key = memberKey(prefix, member.xmlName ?? member.name);
    const value = form.prefixes.has(key) ? decodeMember(form, member, key) : undefined;
    if (value === undefined) {
      // A batch without entries is AWS's EmptyBatchRequest, not a missing parameter: the handler
      // refuses the empty list with AWS's text ("There should be at least one
      // SendMessageBatchRequestEntry in the request.", as the query endpoint answers it).
      if (member.required && member.target.endsWith('BatchRequestEntryList')) {
        out[member.name] = [];
        continue;
      }
      if (member.required) throw missingParameter(key);
      continue;
    }
    out[member.name] = value;
  }
  return out;
}

function decodeMember(form: Form, member: SqsMember, key: string): unknown {
  const shape = shapeOf(member.target);
  if (shape.type === 'list') {
    // Flattened: Key.1, Key.2; otherwise Key.member.1 (no SQS input uses that, but the model allows it).
    const itemPrefix = member.flattened ? key : `${key}.${shape.memberXmlName ?? 'member'}`;
    const items: unknown[] = [];
    for (let i = 1; form.prefixes.has(`${itemPrefix}.${i}`); i++) {
      items.push(present(decodeValue(form, shape.member, `${itemPrefix}.${i}`), `${itemPrefix}.${i}`));
    }
    // botocore sends an empty list as a bare `Key=`.
    if (items.length === 0 && form.values.get(key) !== '') return undefined;
    return items;
  }
  if (shape.type === 'map') {
    const entryPrefix = member.flattened ? key : `${key}.entry`;
    const out: Record<string, unknown> = {};
    let count = 0;
    for (let i = 1; form.prefixes.has(`${entryPrefix}.${i}`); i++, count++) {
      const entryKey = `${entryPrefix}.${i}.${shape.keyXmlName}`;
      const name = form.values.get(entryKey);
      if (name === undefined) throw missingParameter(entryKey);
      const valueKey = `${entryPrefix}.${i}.${shape.valueXmlName}`;
      if (!form.prefixes.has(valueKey)) throw missingParameter(valueKey);
      setOwn(out, name, present(decodeValue(form, shape.value, valueKey), valueKey));
    }
    if (count === 0 && form.values.get(key) !== '') return undefined;
    return out;
  }
  return decodeValue(form, member.target, key);
}

/**
 * A list item or map value must have a value: `AttributeName.1.x=y` names item 1 without giving it,
 * which would otherwise reach a handler as undefined inside a list its type says holds strings.
 */
function present(value: unknown, key: string): unknown {
  if (value === undefined) throw missingParameter(key);
  return value;
}

function decodeValue(form: Form, shapeName: string, key: string): unknown {
  const shape = shapeOf(shapeName);
  if (shape.type === 'structure') return decodeStructure(form, shapeName, key);
  if (shape.type === 'list' || shape.type === 'map') {
    // A list or map inside a list or map: only reachable through a synthetic member.
    return decodeMember(form, { name: key, target: shapeName, flattened: true }, key);
  }
  const text = form.values.get(key);
  if (text === undefined) return undefined;
  switch (shape.type) {
    case 'string':
    case 'enum':
      return text;
    case 'integer':
    case 'long': {
      const n = Number(text);
      if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n)) {
        throw invalidParameterValue(key, text, 'must be an integer.');
      }
      return n;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false')
        throw invalidParameterValue(key, text, 'must be true or false.');
      return text === 'true';
    case 'blob': {
      // A '+' sent unencoded reads as a space in a form: put it back.
      const compact = text.replace(/ /g, '+');
      if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
        throw invalidParameterValue(key, text, 'must be base64-encoded binary.');
      }
      return Buffer.from(compact, 'base64');
    }
  }
}

// XML escaping as SQS does it: the five entities, and CR as a character reference because XML
// parsers turn a literal CR into LF.
const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#xD;',
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c]!);
}

function scalarText(value: unknown): string {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return String(value);
}

function encodeStructure(out: string[], shapeName: string, value: Record<string, unknown>): void {
  const shape = shapeOf(shapeName);
  if (shape.type !== 'structure') throw new TypeError(`${shapeName} is not a structure`);
  for (const member of shape.members) {
    const v = value[member.name];
    if (v !== undefined && v !== null) encodeMember(out, member, v);
  }
}

function encodeMember(out: string[], member: SqsMember, value: unknown): void {
  const name = member.xmlName ?? member.name;
  const shape = shapeOf(member.target);
  if (shape.type === 'list') {
    const items = value as unknown[];
    const itemName = member.flattened ? name : (shape.memberXmlName ?? 'member');
    if (!member.flattened) out.push(`<${name}>`);
    for (const item of items) encodeElement(out, itemName, shape.member, item);
    if (!member.flattened) out.push(`</${name}>`);
  } else if (shape.type === 'map') {
    const entryName = member.flattened ? name : 'entry';
    if (!member.flattened) out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      out.push(`<${entryName}><${shape.keyXmlName}>${escapeXml(k)}</${shape.keyXmlName}>`);
      encodeElement(out, shape.valueXmlName, shape.value, v);
      out.push(`</${entryName}>`);
    }
    if (!member.flattened) out.push(`</${name}>`);
  } else {
    encodeElement(out, name, member.target, value);
  }
}

function encodeElement(out: string[], name: string, shapeName: string, value: unknown): void {
  const shape = shapeOf(shapeName);
  if (shape.type === 'structure') {
    out.push(`<${name}>`);
    encodeStructure(out, shapeName, value as Record<string, unknown>);
    out.push(`</${name}>`);
  } else if (shape.type === 'list' || shape.type === 'map') {
    encodeMember(out, { name, target: shapeName }, value);
  } else {
    out.push(`<${name}>${escapeXml(scalarText(value))}</${name}>`);
  }
}

const XML_HEADERS = { 'content-type': 'text/xml' };

export function formatQueryResponse(
  action: SqsAction,
  result: Record<string, unknown> | undefined,
  requestId: string,
): SqsHttpResponse {
  const out = [`<?xml version="1.0"?><${action}Response xmlns="${XML_NAMESPACE}">`];
  const outputShape = (OPERATIONS[action] as { output?: string }).output;
  // Actions without an output shape (DeleteMessage, ...) have no <ActionResult> element.
  if (outputShape) {
    // An empty result is a self-closed element, as AWS writes it (`<ReceiveMessageResult/>` for a
    // receive that found nothing; botocore's and the SDKs' recorded query fixtures).
    const start = out.push(`<${action}Result>`);
    encodeStructure(out, outputShape, result ?? {});
    if (out.length === start) out[start - 1] = `<${action}Result/>`;
    else out.push(`</${action}Result>`);
  }
  out.push(
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>`,
  );
  return { status: 200, headers: { ...XML_HEADERS, 'x-amzn-requestid': requestId }, body: out.join('') };
}

export function formatQueryError(error: SqsError, requestId: string): SqsHttpResponse {
  const body =
    `<?xml version="1.0"?><ErrorResponse xmlns="${XML_NAMESPACE}"><Error><Type>${error.fault}</Type>` +
    `<Code>${escapeXml(error.queryCode)}</Code><Message>${escapeXml(error.queryMessage)}</Message><Detail/></Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`;
  return { status: error.httpStatus, headers: { ...XML_HEADERS, 'x-amzn-requestid': requestId }, body };
}
