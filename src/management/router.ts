/**
 * The route table: `GET /api/queues/:vhost/:name` style patterns matched on the raw path's
 * segments, each decoded on its own so `%2F` is the vhost `/`.
 */
import type { AccessLevel } from './auth.js';
import type { ManagementContext } from './context.js';
import { HttpError } from './errors.js';
import type { ApiReply, ApiRequest } from './request.js';

export type Handler = (req: ApiRequest, ctx: ManagementContext) => ApiReply | Promise<ApiReply>;

export interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly access: AccessLevel;
  readonly handler: Handler;
}

export function route(method: string, pattern: string, access: AccessLevel, handler: Handler): Route {
  return { method, pattern, access, handler };
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: string[];
}

export class Router {
  private readonly routes: Array<{ route: Route; segments: string[] }>;

  constructor(routes: readonly Route[]) {
    this.routes = routes.map((r) => ({ route: r, segments: r.pattern.split('/').filter((s) => s !== '') }));
  }

  /** The matching route; 404 when no pattern matches, 405 when only the method differs. */
  match(method: string, rawPath: string): RouteMatch {
    const segments = rawPath.split('/').filter((s) => s !== '');
    let decoded: string[];
    try {
      decoded = segments.map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, 'bad_request', 'malformed percent-encoding in the path');
    }
    let pathMatched = false;
    for (const { route: r, segments: pattern } of this.routes) {
      if (pattern.length !== decoded.length) continue;
      const params: string[] = [];
      let ok = true;
      for (let i = 0; i < pattern.length && ok; i++) {
        if (pattern[i]!.startsWith(':')) params.push(decoded[i]!);
        else ok = pattern[i] === decoded[i];
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r, params };
    }
    if (pathMatched) throw new HttpError(405, 'method_not_allowed', 'Method Not Allowed');
    throw new HttpError(404, 'Object Not Found', 'Not Found');
  }
}
