import { ReplyCode, replyCodeName } from './spec.js';

/**
 * Malformed or unsupported input found by the codec. `replyCode` is the connection.close code the
 * connection should send; the message starts with the constant name, as reply texts must.
 *
 * Codes follow RabbitMQ (rabbit_reader.erl, rabbit_misc:frame_error/2):
 * - 501 FRAME_ERROR: unknown frame type, bad frame-end octet, frame over frame_max, and method
 *   arguments that cannot be decoded (RabbitMQ's "cannot decode" when the args are truncated).
 * - 502 SYNTAX_ERROR: illegal values inside well-framed data: field tables (unknown type byte,
 *   lengths past their end, nesting too deep) and content-header properties.
 * - 540 NOT_IMPLEMENTED: unknown class/method id. (RabbitMQ crashes the reader with an internal
 *   error here; 540 tells the peer what actually happened.)
 */
export class AmqpCodecError extends Error {
  readonly replyCode: number;

  constructor(replyCode: number, detail: string) {
    super(`${replyCodeName(replyCode) ?? 'INTERNAL_ERROR'} - ${detail}`);
    this.name = 'AmqpCodecError';
    this.replyCode = replyCode;
  }
}

export const frameError = (detail: string): AmqpCodecError =>
  new AmqpCodecError(ReplyCode.FRAME_ERROR, detail);
export const syntaxError = (detail: string): AmqpCodecError =>
  new AmqpCodecError(ReplyCode.SYNTAX_ERROR, detail);
