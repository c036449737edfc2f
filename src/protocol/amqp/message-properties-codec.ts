import type { MessagePropertiesCodec } from '../../core/amqp/message-properties.js';
import type { FieldTable } from './codec/field-table.js';
import { decodeProperties, encodeProperties, readExpiration } from './codec/properties.js';

/** Property-flags bit of `headers` (the third basic property). */
const HEADERS_FLAG = 0x2000;

/** The core's view of AMQP basic properties (what Message.properties holds). */
export const amqpPropertiesCodec: MessagePropertiesCodec = {
  headers(properties) {
    // Most messages carry no headers: answer from the flags word without decoding.
    if (properties.length < 2 || (properties.readUInt16BE(0) & HEADERS_FLAG) === 0) return undefined;
    return decodeProperties(properties).headers as Record<string, unknown> | undefined;
  },
  expiration: (properties) => readExpiration(properties),
  withHeadersWithoutExpiration(properties, headers) {
    const decoded = decodeProperties(properties);
    return encodeProperties({ ...decoded, expiration: undefined, headers: headers as FieldTable });
  },
  withHeaders(properties, headers) {
    return encodeProperties({ ...decodeProperties(properties), headers: headers as FieldTable });
  },
};
