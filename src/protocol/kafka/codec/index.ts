export type * from './body-types.js';
export { KafkaCodecError, type KafkaHeaderInfo, KafkaUnsupportedError } from './errors.js';
export {
  API_VERSIONS_KEY,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
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
