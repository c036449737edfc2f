/**
 * SendMessage(Batch) input checks: message bodies (XML-safe characters, size) and message (user) and
 * system attributes, with AWS's error codes and messages. Pure; the handler calls these per message
 * and maps the codes to the wire.
 */
import type { AttributeValueForMd5 } from './md5.js';

export type MessageAttributeValue = AttributeValueForMd5;

export interface MessageValidationError {
  code: 'InvalidParameterValue' | 'InvalidMessageContents' | 'MissingParameter';
  message: string;
}

type Checked = { ok: true; sizeBytes: number } | ({ ok: false } & MessageValidationError);

export const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_ATTRIBUTE_NAME_CHARS = 256;
const MAX_DATA_TYPE_CHARS = 256;

/** The characters XML 1.0 allows; anything else in a body or String value is refused. */
const INVALID_CHARACTER = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const INVALID_CHARACTERS_MESSAGE =
  'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | ' +
  '#x10000 to #x10FFFF';

// Letters and digits of any script: AWS accepts names such as 'Héllo' or '名前' (issue 14's recorded
// AWS runs; the docs' "alphanumeric" is Unicode letters and digits).
const ATTRIBUTE_NAME = /^[\p{L}\p{N}_.-]+$/u;
const RESERVED_PREFIX = /^(aws|amazon)\./i;
const DATA_TYPE = /^(String|Number|Binary)(\..+)?$/;
// SQS numbers: up to 38 significant digits, magnitude from 10^-128 to 10^126.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function fail(code: MessageValidationError['code'], message: string): { ok: false } & MessageValidationError {
  return { ok: false, code, message };
}

/** True when every character of text is one SQS accepts in a body or String attribute. */
export function hasOnlyValidCharacters(text: string): boolean {
  return !INVALID_CHARACTER.test(text);
}

/** A body must be non-empty and XML-safe; its size is its UTF-8 length. */
export function validateMessageBody(body: string | undefined): Checked {
  if (body === undefined || body === '') {
    return fail('MissingParameter', 'The request must contain the parameter MessageBody.');
  }
  if (!hasOnlyValidCharacters(body)) return fail('InvalidMessageContents', INVALID_CHARACTERS_MESSAGE);
  return { ok: true, sizeBytes: Buffer.byteLength(body, 'utf8') };
}

/**
 * Message (user) attributes: at most 10, names of [A-Za-z0-9_.-] up to 256 characters without a
 * reserved 'AWS.'/'Amazon.' prefix or a leading, trailing or doubled '.', DataType String, Number or
 * Binary with an optional '.custom' suffix, and a non-empty value of that type. The size that counts
 * toward MaximumMessageSize is the sum of names, DataTypes and values in bytes.
 */
export function validateMessageAttributes(
  attributes: Readonly<Record<string, MessageAttributeValue>> | undefined,
): Checked {
  if (attributes === undefined) return { ok: true, sizeBytes: 0 };
  const names = Object.keys(attributes);
  if (names.length > MAX_MESSAGE_ATTRIBUTES) {
    return fail(
      'InvalidParameterValue',
      `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  let sizeBytes = 0;
  for (const name of names) {
    const nameError = checkAttributeName(name);
    if (nameError) return nameError;
    const checked = checkAttributeValue(name, attributes[name]!);
    if (!checked.ok) return checked;
    sizeBytes += Buffer.byteLength(name, 'utf8') + checked.sizeBytes;
  }
  return { ok: true, sizeBytes };
}

function checkAttributeName(name: string): ({ ok: false } & MessageValidationError) | undefined {
  if (name.length === 0 || name.length > MAX_ATTRIBUTE_NAME_CHARS) {
    return fail(
      'InvalidParameterValue',
      `Message (user) attribute name '${name}' is invalid: names must be 1 to ${MAX_ATTRIBUTE_NAME_CHARS} characters long.`,
    );
  }
  if (!ATTRIBUTE_NAME.test(name)) {
    return fail(
      'InvalidParameterValue',
      'Message (user) attributes name can only contain upper and lower score characters, digits, periods, ' +
        'hyphens and underscores. ',
    );
  }
  if (RESERVED_PREFIX.test(name) || name.startsWith('.') || name.endsWith('.')) {
    return fail(
      'InvalidParameterValue',
      "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. " +
        "These strings are reserved for internal use. Additionally, they cannot start or end with '.'.",
    );
  }
  if (name.includes('..')) {
    return fail(
      'InvalidParameterValue',
      `Message (user) attribute name '${name}' can not contain successive periods.`,
    );
  }
  return undefined;
}

function checkAttributeValue(name: string, value: MessageAttributeValue): Checked {
  const dataType = value.DataType;
  if (!dataType) {
    return fail(
      'InvalidParameterValue',
      `The message attribute '${name}' must contain a non-empty attribute type.`,
    );
  }
  if (dataType.length > MAX_DATA_TYPE_CHARS) {
    return fail('InvalidParameterValue', 'Message (user) attribute types must be shorter than 256 Bytes');
  }
  const match = DATA_TYPE.exec(dataType);
  if (!match) {
    return fail(
      'InvalidParameterValue',
      `The type of message (user) attribute '${name}' is invalid. ` +
        'You must use only the following supported type prefixes: Binary, Number, String.',
    );
  }
  const typeBytes = Buffer.byteLength(dataType, 'utf8');
  if (match[1] === 'Binary') {
    if (value.BinaryValue === undefined || value.BinaryValue.length === 0) {
      return fail(
        'InvalidParameterValue',
        `Message (user) attribute '${name}' must contain a non-empty value of type 'Binary'.`,
      );
    }
    return { ok: true, sizeBytes: typeBytes + value.BinaryValue.length };
  }
  const text = value.StringValue;
  if (text === undefined || text === '') {
    return fail(
      'InvalidParameterValue',
      `Message (user) attribute '${name}' must contain a non-empty value of type '${match[1]}'.`,
    );
  }
  if (match[1] === 'Number' && !isSqsNumber(text)) {
    return fail(
      'InvalidParameterValue',
      `Can't cast the value of message (user) attribute '${name}' to a number.`,
    );
  }
  if (!hasOnlyValidCharacters(text)) return fail('InvalidParameterValue', INVALID_CHARACTERS_MESSAGE);
  return { ok: true, sizeBytes: typeBytes + Buffer.byteLength(text, 'utf8') };
}

/** A Number attribute: decimal notation, ≤ 38 significant digits, magnitude 10^-128 to 10^126 (or 0). */
export function isSqsNumber(text: string): boolean {
  if (!NUMBER.test(text)) return false;
  const [mantissa, exponentText] = text.replace(/^[+-]/, '').toLowerCase().split('e') as [string, string?];
  const digits = mantissa.replace('.', '');
  const significant = digits.replace(/^0+/, '').replace(/0+$/, '');
  if (significant === '') return true; // zero
  if (significant.length > 38) return false;
  // Decimal exponent of the leading significant digit.
  const point = mantissa.includes('.') ? mantissa.indexOf('.') : mantissa.length;
  const leading = digits.length - digits.replace(/^0+/, '').length;
  const magnitude = point - leading - 1 + Number(exponentText ?? 0);
  return magnitude >= -128 && magnitude <= 125;
}

/**
 * The size SQS checks against MaximumMessageSize: body plus attribute names, types and values.
 * Refused with InvalidParameterValue when larger.
 */
export function validateMessageSize(
  body: string,
  attributes: Readonly<Record<string, MessageAttributeValue>> | undefined,
  maximumMessageSizeBytes: number,
): Checked {
  const checkedBody = validateMessageBody(body);
  if (!checkedBody.ok) return checkedBody;
  const checkedAttributes = validateMessageAttributes(attributes);
  if (!checkedAttributes.ok) return checkedAttributes;
  const sizeBytes = checkedBody.sizeBytes + checkedAttributes.sizeBytes;
  if (sizeBytes > maximumMessageSizeBytes) {
    return fail(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${maximumMessageSizeBytes} bytes.`,
    );
  }
  return { ok: true, sizeBytes };
}

/** Message system attributes a sender may set: only AWSTraceHeader, of DataType String. */
export function validateMessageSystemAttributes(
  attributes: Readonly<Record<string, MessageAttributeValue>> | undefined,
): Checked {
  if (attributes === undefined) return { ok: true, sizeBytes: 0 };
  let sizeBytes = 0;
  for (const [name, value] of Object.entries(attributes)) {
    if (name !== 'AWSTraceHeader') {
      return fail('InvalidParameterValue', `Message system attribute name '${name}' is invalid.`);
    }
    if (value.DataType !== 'String' || !value.StringValue) {
      return fail(
        'InvalidParameterValue',
        `Message system attribute '${name}' must contain a non-empty value of type 'String'.`,
      );
    }
    sizeBytes += Buffer.byteLength(value.StringValue, 'utf8');
  }
  return { ok: true, sizeBytes };
}
