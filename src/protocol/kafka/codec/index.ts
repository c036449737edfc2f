// The Kafka wire codec: pure functions over Buffers, no sockets. A listener frames requests (int32
// size + bytes), calls decodeRequest on the bytes, dispatches on header.apiKey with the body cast to
// the generated type (RequestBodyByKey), and writes encodeResponse(...) (a whole frame). Errors:
// KafkaUnsupportedError → UNSUPPORTED_VERSION (for ApiVersions: a v0 body listing the supported
// versions); any other KafkaCodecError → INVALID_REQUEST or closing the connection, as Kafka does.
export type * from './body-types.js';
export { KafkaCodecError, type KafkaHeaderInfo, KafkaUnsupportedError } from './errors.js';
export {
  API_VERSIONS_KEY,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  encodeResponseChunks,
  isFlexible,
  type KafkaRequest,
  type KafkaRequestHeader,
  requestHeaderVersion,
  requestSchema,
  responseHeaderVersion,
  responseSchema,
} from './messages.js';
export { Reader, Writer } from './primitives.js';
export type { KafkaField, KafkaMessageSchema, VersionRange } from './schema-types.js';
export { API_KEYS, REQUESTS, RESPONSES } from './schemas.js';
export { defaultStruct, type KafkaStruct } from './struct-codec.js';
