/** What the request header said, when a request got that far; lets the listener answer in kind. */
export interface KafkaHeaderInfo {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
}

/**
 * Malformed Kafka bytes: truncated input, a length larger than what remains, null where the schema
 * forbids it, a value that cannot be encoded. The listener answers INVALID_REQUEST or closes.
 */
export class KafkaCodecError extends Error {
  override name = 'KafkaCodecError';
  /** Set once the request header was read, so a reply can carry the correlation id. */
  header?: KafkaHeaderInfo;
}

/**
 * A well-formed header naming an API key Pier has no schema for, or a version outside the API's
 * valid versions. The listener answers UNSUPPORTED_VERSION (ApiVersions: with the v0-style body).
 */
export class KafkaUnsupportedError extends KafkaCodecError {
  override name = 'KafkaUnsupportedError';
  constructor(
    message: string,
    readonly reason: 'unknown-api' | 'unsupported-version',
    override readonly header: KafkaHeaderInfo,
  ) {
    super(message);
  }
}
