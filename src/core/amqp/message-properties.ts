import type { Arguments } from './exchange.js';

/**
 * Reads and rewrites a message's encoded properties (Message.properties). The core needs this for
 * headers routing, deduplication and delays (reading headers) and for dead-lettering (adding the
 * x-death header); the protocol that owns the encoding supplies it, so the core stays free of codecs.
 *
 * Header values are plain values: strings, numbers, booleans, Dates (timestamps), arrays and
 * nested tables.
 */
export interface MessagePropertiesCodec {
  /** The headers table, or undefined when the message has none. Throws on malformed properties. */
  headers(properties: Buffer): Arguments | undefined;
  /** The `expiration` property as sent (a string of ms), or undefined. */
  expiration(properties: Buffer): string | undefined;
  /** New properties with `headers` replaced and the `expiration` property removed. */
  withHeadersWithoutExpiration(properties: Buffer, headers: Arguments): Buffer;
  /** New properties with `headers` replaced and everything else kept (delayed messages). */
  withHeaders(properties: Buffer, headers: Arguments): Buffer;
}

/** A codec for messages without properties (core unit tests). */
export const NO_PROPERTIES: MessagePropertiesCodec = {
  headers: () => undefined,
  expiration: () => undefined,
  withHeadersWithoutExpiration: (properties) => properties,
  withHeaders: (properties) => properties,
};
