// Queue URLs are `http://<host>:<port>/<account-id>/<name>`. The host:port is the one the client used
// (its Host header), so the URL is reachable from where the client stands: the JS SDK sends each
// queue call to the QueueUrl's host. Reading a QueueUrl only looks at the path.
import { sqsError } from './errors.js';

export const QUEUE_DOES_NOT_EXIST_MESSAGE = 'The specified queue does not exist.';

/** `http://<authority>/<account>/<name>`; authority is `host:port` as the client named it. */
export function formatQueueUrl(authority: string, accountId: string, queueName: string): string {
  return `http://${authority}/${accountId}/${queueName}`;
}

/**
 * The queue name a QueueUrl names: a full URL (any scheme and host) or a path `/<account>/<name>`.
 * Undefined when it is neither, or names another account.
 */
export function queueNameOfUrl(queueUrl: string, accountId: string): string | undefined {
  let path = queueUrl;
  const scheme = queueUrl.indexOf('://');
  if (scheme !== -1) {
    const slash = queueUrl.indexOf('/', scheme + 3);
    if (slash === -1) return undefined;
    path = queueUrl.slice(slash);
  }
  const query = path.indexOf('?');
  if (query !== -1) path = path.slice(0, query);
  const parts = path.split('/');
  // ['', account, name] (a trailing slash is tolerated)
  if (parts.length === 4 && parts[3] === '') parts.pop();
  if (parts.length !== 3 || parts[0] !== '') return undefined;
  if (parts[1] !== accountId || !parts[2]) return undefined;
  try {
    return decodeURIComponent(parts[2]);
  } catch {
    return undefined;
  }
}

/** A QueueUrl that is only a queue's name (no scheme, no path). */
export function isBareQueueName(queueUrl: string): boolean {
  return /^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(queueUrl) && queueUrl.length <= 80;
}

/** The request path names a queue (`/<account>/<name>`): AWS lets such requests leave QueueUrl out. */
export function isQueuePath(path: string): boolean {
  return /^\/[^/]+\/[^/]+\/?$/.test(path);
}

export function queueDoesNotExist() {
  return sqsError('QueueDoesNotExist', QUEUE_DOES_NOT_EXIST_MESSAGE);
}
