// The query protocol's answers as JSON, for a query request that sends `Accept: application/json`.
// AWS negotiates the content type of query answers: with that header, ListQueues answers
// {"ListQueuesResponse": ...} instead of XML, and a refusal is {"Error": {"Code", "Message"}}
// (LocalStack's AWS-validated tests test_get_list_queues_with_query_auth and
// test_get_list_queues_fails_json_format). The shape follows the XML answer: <Action>Response holding
// <Action>Result and ResponseMetadata. Members are named as in the model; the one list AWS has been
// recorded answering, ReceiveMessageResult's messages, is lower camel case
// (`ReceiveMessageResponse.ReceiveMessageResult.messages[0].Body`, test_marker_serialization_json_protocol
// recorded on AWS), and lists are written so throughout. Maps (attributes) are lists of
// {Name, Value} entries, as their XML is. Where AWS's JSON differs beyond these recorded points is not
// known; the XML answer is the one the SDKs and the aws CLI read.
import type { SqsError } from './errors.js';
import type { SqsHttpResponse } from './json-protocol.js';
import { OPERATIONS, SHAPES, type SqsAction, type SqsMember, type SqsShape } from './model.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Whether a query request asks for JSON: an Accept header naming application/json. */
export function acceptsJson(accept: string | undefined): boolean {
  return accept !== undefined && /(^|[,\s])application\/json\b/i.test(accept);
}

function shapeOf(name: string): SqsShape {
  const shape = SHAPES[name];
  if (!shape) throw new TypeError(`SQS model has no shape ${name}`);
  return shape;
}

function jsonValue(shapeName: string, value: unknown): unknown {
  const shape = shapeOf(shapeName);
  switch (shape.type) {
    case 'structure': {
      // AWS writes every member, null where it has no value, in ASCII order of the names
      // (recorded: ListQueuesResult {"NextExclusiveStartQueueName":null,"NextToken":null,"queueUrls":null},
      // and a received message's "Attributes":null … "MessageAttributes":null).
      const out: Record<string, unknown> = {};
      const record = value as Record<string, unknown>;
      const members: Array<readonly [string, SqsMember | undefined]> = shape.members.map(
        (member) => [memberName(member), member] as const,
      );
      // A member AWS's own model has and the published one does not.
      if (shapeName === 'ListQueuesResult') members.push(['NextExclusiveStartQueueName', undefined]);
      members.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [name, member] of members) {
        const v = member === undefined ? undefined : record[member.name];
        out[name] =
          member === undefined || v === undefined || v === null ? null : jsonValue(member.target, v);
      }
      return out;
    }
    case 'list':
      return (value as unknown[]).map((item) => jsonValue(shape.member, item));
    case 'map':
      return Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => ({ [shape.keyXmlName]: k, [shape.valueXmlName]: jsonValue(shape.value, v) }));
    case 'blob':
      return Buffer.from(value as Uint8Array).toString('base64');
    default:
      // The XML answer's text: numbers and booleans as the strings the XML carries.
      return String(value);
  }
}

function memberName(member: SqsMember): string {
  const target = shapeOf(member.target);
  return target.type === 'list' ? member.name[0]!.toLowerCase() + member.name.slice(1) : member.name;
}

export function formatQueryResponseJson(
  action: SqsAction,
  result: Record<string, unknown> | undefined,
  requestId: string,
): SqsHttpResponse {
  const response: Record<string, unknown> = {};
  const outputShape = (OPERATIONS[action] as { output?: string }).output;
  if (outputShape) response[`${action}Result`] = jsonValue(outputShape, result ?? {});
  response.ResponseMetadata = { RequestId: requestId };
  return {
    status: 200,
    headers: { ...JSON_HEADERS, 'x-amzn-requestid': requestId },
    body: JSON.stringify({ [`${action}Response`]: response }),
  };
}

export function formatQueryErrorJson(error: SqsError, requestId: string): SqsHttpResponse {
  const body = {
    Error: { Type: error.fault, Code: error.queryCode, Message: error.queryMessage },
    RequestId: requestId,
  };
  return {
    status: error.httpStatus,
    headers: { ...JSON_HEADERS, 'x-amzn-requestid': requestId },
    body: JSON.stringify(body),
  };
}
