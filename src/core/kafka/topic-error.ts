/**
 * Why a topic operation was refused. `code` is the name of the Kafka error a client expects (the
 * core names it, the protocol maps it to the number), `message` the text sent back with it.
 */
export type TopicErrorCode =
  | 'INVALID_TOPIC_EXCEPTION'
  | 'TOPIC_ALREADY_EXISTS'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'UNKNOWN_TOPIC_ID'
  | 'INVALID_PARTITIONS'
  | 'INVALID_CONFIG'
  | 'INVALID_REQUEST';

export class TopicError extends Error {
  override name = 'TopicError';
  constructor(
    readonly code: TopicErrorCode,
    message: string,
  ) {
    super(message);
  }
}
