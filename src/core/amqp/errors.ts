/**
 * Errors the core raises for a client's request. Each protocol maps the kind to its own code
 * (AMQP reply codes, SQS error codes, Kafka error codes); `detail` is the human part of the
 * message, written as RabbitMQ words it (e.g. "no queue 'q' in vhost '/'").
 */
export type BrokerErrorKind =
  | 'not-found'
  | 'precondition-failed'
  | 'resource-locked'
  | 'access-refused'
  | 'not-allowed'
  | 'resource-error'
  | 'not-implemented'
  | 'command-invalid';

export class BrokerError extends Error {
  constructor(
    readonly kind: BrokerErrorKind,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'BrokerError';
  }
}

export function notFound(detail: string): BrokerError {
  return new BrokerError('not-found', detail);
}

export function preconditionFailed(detail: string): BrokerError {
  return new BrokerError('precondition-failed', detail);
}

export function accessRefused(detail: string): BrokerError {
  return new BrokerError('access-refused', detail);
}

export function resourceLocked(detail: string): BrokerError {
  return new BrokerError('resource-locked', detail);
}

export function notAllowed(detail: string): BrokerError {
  return new BrokerError('not-allowed', detail);
}
