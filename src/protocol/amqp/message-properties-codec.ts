import type { MessagePropertiesCodec } from '../../core/message-properties.js';
import type { FieldTable } from './codec/field-table.js';
import { decodeProperties, encodeProperties, readExpiration } from './codec/properties.js';

/** The core's view of AMQP basic properties (what Message.properties holds). */
export const amqpPropertiesCodec: MessagePropertiesCodec = {
  headers: (properties) => decodeProperties(properties).headers as Record<string, unknown> | undefined,
  expiration: (properties) => readExpiration(properties),
  withHeadersWithoutExpiration(properties, headers) {
    const decoded = decodeProperties(properties);
    return encodeProperties({ ...decoded, expiration: undefined, headers: headers as FieldTable });
  },
  withHeaders(properties, headers) {
    return encodeProperties({ ...decodeProperties(properties), headers: headers as FieldTable });
  },
};
