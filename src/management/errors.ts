/**
 * Errors of the management API, replied as RabbitMQ's `{"error","reason"}` with its status codes,
 * and the mapping of the core's BrokerError kinds onto them.
 */
import { BrokerError } from '../core/amqp/errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'HttpError';
  }
}

/** 404 as RabbitMQ words it for a missing object. */
export function objectNotFound(): HttpError {
  return new HttpError(404, 'Object Not Found', 'Not Found');
}

export function badRequest(reason: string): HttpError {
  return new HttpError(400, 'bad_request', reason);
}

export function notAuthorized(reason: string): HttpError {
  return new HttpError(401, 'not_authorized', reason);
}

export function forbidden(reason: string): HttpError {
  return new HttpError(403, 'not_authorized', reason);
}

/** What any thrown value becomes on the wire. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof BrokerError) {
    switch (error.kind) {
      case 'not-found':
        return new HttpError(404, 'not_found', error.message);
      case 'access-refused':
        return new HttpError(403, 'not_authorized', error.message);
      case 'not-implemented':
        return new HttpError(501, 'not_implemented', error.message);
      default:
        return badRequest(error.message);
    }
  }
  return new HttpError(500, 'internal_server_error', error instanceof Error ? error.message : String(error));
}
