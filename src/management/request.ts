/** One API request as the handlers see it: path parameters, query, body and the caller. */
import type { User } from '../core/users.js';
import { badRequest } from './errors.js';

export interface ApiRequest {
  readonly method: string;
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; undefined when there was none. */
  readonly body: unknown;
  readonly user: User;
}

/** A successful reply: a JSON value (200), or nothing (204 for writes, 201 for creations). */
export type ApiReply = { status: number; body?: unknown } | unknown;

/** A reply that is not JSON: its bytes are sent as they are, with their content type. */
export class RawReply {
  constructor(
    readonly contentType: string,
    /** The body, or its pieces in order (a metrics scrape; written without joining them). */
    readonly bytes: Buffer | readonly Buffer[],
  ) {}
}

export const NO_CONTENT = { status: 204 } as const;
export const CREATED = { status: 201 } as const;

/** The body as an object ({} when absent); 400 otherwise. */
export function bodyObject(req: ApiRequest): Record<string, unknown> {
  if (req.body === undefined) return {};
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw badRequest('the request body must be a JSON object');
  }
  return req.body as Record<string, unknown>;
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${key} must be a string`);
  return value;
}

export function requiredString(body: Record<string, unknown>, key: string): string {
  const value = optionalString(body, key);
  if (value === undefined) throw badRequest(`[{key_missing,${key}}]`);
  return value;
}

/** A boolean field; RabbitMQ's tools also send "true"/"false" strings. */
export function optionalBoolean(body: Record<string, unknown>, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw badRequest(`${key} must be a boolean`);
}

export function optionalInteger(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw badRequest(`${key} must be an integer`);
  return n;
}

export function optionalObject(
  body: Record<string, unknown>,
  key: string,
): Record<string, unknown> | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${key} must be an object`);
  return value as Record<string, unknown>;
}
