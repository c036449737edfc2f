/**
 * The MD5 digests SQS returns with SendMessage and ReceiveMessage. SDKs check MD5OfMessageBody and
 * throw on a mismatch; the attribute digests follow AWS's binary encoding so clients that verify them
 * (the Java SDK does) accept ours.
 */
import { createHash, type Hash } from 'node:crypto';
import { hexDigest } from '../../util/digest.js';

/** A message (or message system) attribute as the API carries it; binary values already decoded. */
export interface AttributeValueForMd5 {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
  StringListValues?: string[];
  BinaryListValues?: Uint8Array[];
}

// Transport type bytes: what kind of value follows the DataType in the digest input.
const STRING_TRANSPORT = 1;
const BINARY_TRANSPORT = 2;
const STRING_LIST_TRANSPORT = 3;
const BINARY_LIST_TRANSPORT = 4;

/** Hex MD5 of the body's UTF-8 bytes (MD5OfMessageBody). */
export function md5OfMessageBody(body: string): string {
  return hexDigest('md5', body);
}

/**
 * MD5OfMessageAttributes: for each attribute in name order, the name, the DataType, a transport byte
 * and the value, every string and value prefixed by its 4-byte big-endian length. Undefined when
 * there are no attributes, as SQS then omits the field.
 */
export function md5OfMessageAttributes(
  attributes: Readonly<Record<string, AttributeValueForMd5>> | undefined,
): string | undefined {
  if (attributes === undefined) return undefined;
  const names = Object.keys(attributes);
  if (names.length === 0) return undefined;
  // AWS sorts by UTF-16 code units like Java's String.compareTo, which is JavaScript's default sort.
  names.sort();
  const hash = createHash('md5');
  for (const name of names) {
    const attribute = attributes[name]!;
    updateWithLength(hash, Buffer.from(name, 'utf8'));
    updateWithLength(hash, Buffer.from(attribute.DataType, 'utf8'));
    if (attribute.StringValue !== undefined) {
      hash.update(Uint8Array.of(STRING_TRANSPORT));
      updateWithLength(hash, Buffer.from(attribute.StringValue, 'utf8'));
    } else if (attribute.BinaryValue !== undefined) {
      hash.update(Uint8Array.of(BINARY_TRANSPORT));
      updateWithLength(hash, attribute.BinaryValue);
    } else if (attribute.StringListValues !== undefined) {
      hash.update(Uint8Array.of(STRING_LIST_TRANSPORT));
      for (const value of attribute.StringListValues) updateWithLength(hash, Buffer.from(value, 'utf8'));
    } else if (attribute.BinaryListValues !== undefined) {
      hash.update(Uint8Array.of(BINARY_LIST_TRANSPORT));
      for (const value of attribute.BinaryListValues) updateWithLength(hash, value);
    }
  }
  return hash.digest('hex');
}

/**
 * MD5OfMessageSystemAttributes: the same encoding over the message system attributes a sender set
 * (today only AWSTraceHeader, a String).
 */
export function md5OfMessageSystemAttributes(
  attributes: Readonly<Record<string, AttributeValueForMd5>> | undefined,
): string | undefined {
  return md5OfMessageAttributes(attributes);
}

function updateWithLength(hash: Hash, bytes: Uint8Array): void {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(bytes.length, 0);
  hash.update(length);
  hash.update(bytes);
}
