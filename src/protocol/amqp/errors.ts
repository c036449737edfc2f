import type { BrokerError, BrokerErrorKind } from '../../core/amqp/errors.js';
import { ReplyCode, replyCodeName } from './codec/spec.js';

/**
 * An AMQP exception to raise: a channel exception (soft error: the channel is closed) or a
 * connection exception (hard error: the connection is closed). The reply text starts with the
 * constant name, as RabbitMQ's do: `NOT_FOUND - no queue 'q' in vhost '/'`.
 */
export class AmqpError extends Error {
  readonly replyText: string;

  constructor(
    readonly replyCode: number,
    detail: string,
    readonly connectionLevel: boolean,
  ) {
    const text = `${replyCodeName(replyCode) ?? 'INTERNAL_ERROR'} - ${detail}`;
    super(text);
    this.name = 'AmqpError';
    // Reply texts are shortstr: at most 255 bytes on the wire.
    this.replyText = Buffer.byteLength(text) > 255 ? Buffer.from(text).subarray(0, 255).toString() : text;
  }
}

export const channelError = (replyCode: number, detail: string) => new AmqpError(replyCode, detail, false);
export const connectionError = (replyCode: number, detail: string) => new AmqpError(replyCode, detail, true);

const CODE_BY_KIND: Record<BrokerErrorKind, [code: number, connectionLevel: boolean]> = {
  'not-found': [ReplyCode.NOT_FOUND, false],
  'precondition-failed': [ReplyCode.PRECONDITION_FAILED, false],
  'resource-locked': [ReplyCode.RESOURCE_LOCKED, false],
  'access-refused': [ReplyCode.ACCESS_REFUSED, false],
  'resource-error': [ReplyCode.RESOURCE_ERROR, true],
  'not-allowed': [ReplyCode.NOT_ALLOWED, true],
  'not-implemented': [ReplyCode.NOT_IMPLEMENTED, true],
  'command-invalid': [ReplyCode.COMMAND_INVALID, true],
};

export function fromBrokerError(error: BrokerError): AmqpError {
  const [code, connectionLevel] = CODE_BY_KIND[error.kind];
  return new AmqpError(code, error.detail, connectionLevel);
}
