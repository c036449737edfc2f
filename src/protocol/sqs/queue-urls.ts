// Queue URLs. AWS forms them as `https://sqs.<region>.amazonaws.com/<account-id>/<name>` (AWS docs,
// "Amazon SQS queue and message identifiers" and "Amazon SQS endpoints and quotas"); older ones,
// still accepted, are `https://<region>.queue.amazonaws.com/...` and, for us-east-1,
// `https://queue.amazonaws.com/...` (the legacy endpoints in the AWS General Reference; the SDK
// issues aws/aws-sdk-ruby#179 and aws/aws-sdk-cpp#93 show both forms in use).
//
// Pier's URLs are `http://<host>:<port>/<account-id>/<name>` (https over the TLS listener) on the
// host:port the client used (its Host header), so the URL is reachable from where the client stands: the JS SDK sends each queue call
// to the QueueUrl's host unless it has an endpoint of its own. The region is in the URL:
// - when the client addressed a regional host (`sqs.<region>.<domain>`), in the host, as on AWS;
// - otherwise in the path, `/queue/<region>/<account-id>/<name>`, for every region but the default
//   one (--sqs-region), whose URLs keep the form they had before Pier had regions.
// A URL without a region (and a bare path or queue name) means the region the request is signed for:
// Pier's one endpoint answers for any region, as each AWS regional endpoint answers for its own.
import { sqsError } from './errors.js';

export const QUEUE_DOES_NOT_EXIST_MESSAGE = 'The specified queue does not exist.';

/** What AWS region names look like: us-east-1, eu-west-1, ap-southeast-2, us-gov-west-1, cn-north-1. */
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The region a host names (`sqs.<region>.*`, `<region>.queue.amazonaws.com`, `queue.amazonaws.com`). */
export function regionOfHost(authority: string): string | undefined {
  const host = authority.replace(/:\d+$/, '').toLowerCase();
  if (host === 'queue.amazonaws.com') return 'us-east-1';
  const labels = host.split('.');
  if (labels.length >= 3 && labels[0] === 'sqs' && AWS_REGION.test(labels[1]!)) return labels[1];
  if (host.endsWith('.queue.amazonaws.com') && labels.length === 4 && AWS_REGION.test(labels[0]!)) {
    return labels[0];
  }
  return undefined;
}

/**
 * A queue's URL for a client that addressed `authority`: the region in the host when the host names
 * it, in the path when the queue is not of the default region, else absent.
 */
export function formatQueueUrl(
  authority: string,
  accountId: string,
  queueName: string,
  region: string,
  defaultRegion: string,
  secure = false,
): string {
  const regionPath =
    regionOfHost(authority) !== undefined || region === defaultRegion ? '' : `/queue/${region}`;
  return `${secure ? 'https' : 'http'}://${authority}${regionPath}/${accountId}/${queueName}`;
}

/** What a QueueUrl names: the queue, and the region when the URL carries one. */
export interface QueueUrlParts {
  readonly name: string;
  readonly region: string | undefined;
}

/**
 * The queue a QueueUrl names: a full URL (any scheme and host) or a path `/<account>/<name>` or
 * `/queue/<region>/<account>/<name>`. Undefined when it is none of these, or names another account.
 */
export function parseQueueUrl(queueUrl: string, accountId: string): QueueUrlParts | undefined {
  let path = queueUrl;
  let hostRegion: string | undefined;
  const scheme = queueUrl.indexOf('://');
  if (scheme !== -1) {
    const slash = queueUrl.indexOf('/', scheme + 3);
    if (slash === -1) return undefined;
    hostRegion = regionOfHost(queueUrl.slice(scheme + 3, slash));
    path = queueUrl.slice(slash);
  }
  const query = path.indexOf('?');
  if (query !== -1) path = path.slice(0, query);
  const parts = path.split('/');
  // ['', account, name] or ['', 'queue', region, account, name] (a trailing slash is tolerated)
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  let pathRegion: string | undefined;
  if (parts.length === 5 && parts[1] === 'queue' && parts[2]) {
    pathRegion = parts[2];
    parts.splice(1, 2);
  }
  if (parts.length !== 3 || parts[0] !== '') return undefined;
  if (parts[1] !== accountId || !parts[2]) return undefined;
  // A URL naming two regions names no queue.
  if (hostRegion !== undefined && pathRegion !== undefined && hostRegion !== pathRegion) return undefined;
  try {
    return { name: decodeURIComponent(parts[2]), region: hostRegion ?? pathRegion };
  } catch {
    return undefined;
  }
}

/** The queue name of a QueueUrl (see parseQueueUrl), whatever its region. */
export function queueNameOfUrl(queueUrl: string, accountId: string): string | undefined {
  return parseQueueUrl(queueUrl, accountId)?.name;
}

/** A QueueUrl that is only a queue's name (no scheme, no path). */
export function isBareQueueName(queueUrl: string): boolean {
  return /^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(queueUrl) && queueUrl.length <= 80;
}

/** The request path names a queue (`/<account>/<name>`, `/queue/<region>/<account>/<name>`): AWS lets such requests leave QueueUrl out. */
export function isQueuePath(path: string): boolean {
  return /^(\/queue\/[^/]+)?\/[^/]+\/[^/]+\/?$/.test(path);
}

export function queueDoesNotExist() {
  return sqsError('QueueDoesNotExist', QUEUE_DOES_NOT_EXIST_MESSAGE);
}

/**
 * AWS's answer to a request signed for one region that reaches another region's endpoint: 403
 * SignatureDoesNotMatch, "Credential should be scoped to a valid region, not '<signed region>'. "
 * (with the trailing space; quoted in aws/aws-sdk-cpp#93, aws/aws-sdk-ruby#179 and #508, and
 * boto/boto#3688 for the query protocol's XML).
 */
export function wrongRegion(signedRegion: string) {
  return sqsError(
    'SignatureDoesNotMatch',
    `Credential should be scoped to a valid region, not '${signedRegion}'. `,
  );
}
