// ListQueues and ListDeadLetterSourceQueues: MaxResults 1-1000, and an opaque NextToken that names
// where the next page starts. The token carries the last name returned (names are listed sorted), so
// a queue created or deleted between pages neither repeats nor hides the rest.
import { invalidParameterValue, sqsError } from '../errors.js';

export const MAX_LIST_RESULTS = 1000;

export interface Page<T> {
  items: T[];
  nextToken: string | undefined;
}

/**
 * One page of `names` (sorted). Without MaxResults AWS returns at most 1000 and no token; with it, a
 * token whenever more remain. `scope` ties a token to the listing it came from.
 */
export function pageOf(
  names: readonly string[],
  params: { readonly MaxResults?: number; readonly NextToken?: string },
  scope: string,
): Page<string> {
  const maxResults = params.MaxResults;
  if (maxResults !== undefined && (maxResults < 1 || maxResults > MAX_LIST_RESULTS)) {
    throw invalidParameterValue(
      'MaxResults',
      String(maxResults),
      `MaxResults must be an integer between 1 and ${MAX_LIST_RESULTS}.`,
    );
  }
  let start = 0;
  const token = params.NextToken;
  if (token !== undefined && token !== '') {
    const after = readToken(token, scope);
    start = names.findIndex((name) => name > after);
    if (start === -1) start = names.length;
  }
  const limit = maxResults ?? MAX_LIST_RESULTS;
  const items = names.slice(start, start + limit);
  const more = start + limit < names.length;
  return {
    items,
    nextToken: maxResults !== undefined && more ? writeToken(items[items.length - 1]!, scope) : undefined,
  };
}

function writeToken(after: string, scope: string): string {
  return Buffer.from(JSON.stringify({ s: scope, a: after })).toString('base64url');
}

function readToken(token: string, scope: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      s?: unknown;
      a?: unknown;
    };
    if (parsed.s === scope && typeof parsed.a === 'string') return parsed.a;
  } catch {
    // fall through
  }
  throw sqsError(
    'InvalidParameterValue',
    'Invalid NextToken value. Pass the NextToken of the previous response unchanged.',
  );
}
