/** Message bodies and message (user/system) attributes: AWS's rules, codes and messages. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  hasOnlyValidCharacters,
  isSqsNumber,
  type MessageAttributeValue,
  validateMessageAttributes,
  validateMessageBody,
  validateMessageSize,
  validateMessageSystemAttributes,
} from '../../../src/protocol/sqs/message-attributes.js';

const str = (StringValue: string, DataType = 'String'): MessageAttributeValue => ({ DataType, StringValue });

function errorOf(result: { ok: boolean; code?: string; message?: string }) {
  assert.equal(result.ok, false, 'expected a refusal');
  return { code: result.code, message: result.message };
}

test('bodies: XML characters only, including astral ones; empty is MissingParameter', () => {
  for (const ok of ['a', '\t\n\r', ' ~', '\uD7FF', '\uE000', '\uFFFD', '😀', '\u{10FFFF}', 'é']) {
    assert.equal(hasOnlyValidCharacters(ok), true, JSON.stringify(ok));
  }
  for (const bad of ['\u0000', '\u0008', '\u000B', '\u001F', '\uFFFE', '\uFFFF', '\uD800', 'a\uDC00b']) {
    assert.equal(hasOnlyValidCharacters(bad), false, JSON.stringify(bad));
    assert.deepEqual(errorOf(validateMessageBody(`x${bad}`)), {
      code: 'InvalidMessageContents',
      message:
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    });
  }
  assert.deepEqual(validateMessageBody('é😀'), { ok: true, sizeBytes: 6 });
  assert.deepEqual(errorOf(validateMessageBody('')), {
    code: 'MissingParameter',
    message: 'The request must contain the parameter MessageBody.',
  });
  assert.equal(errorOf(validateMessageBody(undefined)).code, 'MissingParameter');
});

test('at most 10 attributes', () => {
  const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, str('v')]));
  assert.equal(validateMessageAttributes(ten).ok, true);
  assert.deepEqual(errorOf(validateMessageAttributes({ ...ten, a10: str('v') })), {
    code: 'InvalidParameterValue',
    message: 'Number of message attributes [11] exceeds the allowed maximum [10].',
  });
});

test('attribute names: letters and digits of any script, _ . -, ≤ 256, no reserved prefix, no edge or doubled periods', () => {
  for (const name of [
    'a',
    'A.b-c_9',
    'x'.repeat(256),
    'awsX',
    'AWSome.thing',
    'my.aws.x',
    'é',
    'Héllo',
    '名前',
  ]) {
    assert.equal(validateMessageAttributes({ [name]: str('v') }).ok, true, name);
  }
  assert.match(errorOf(validateMessageAttributes({ ['x'.repeat(257)]: str('v') })).message!, /1 to 256/);
  assert.match(
    errorOf(validateMessageAttributes({ 'a b': str('v') })).message!,
    /can only contain upper and lower/,
  );
  assert.match(
    errorOf(validateMessageAttributes({ 'a!': str('v') })).message!,
    /can only contain upper and lower/,
  );
  for (const name of ['AWS.x', 'aws.x', 'Amazon.x', 'amazon.X', '.a', 'a.']) {
    const error = errorOf(validateMessageAttributes({ [name]: str('v') }));
    assert.equal(error.code, 'InvalidParameterValue');
    assert.match(error.message!, /beginning with 'AWS\.' or 'Amazon\.'/, name);
  }
  assert.match(errorOf(validateMessageAttributes({ 'a..b': str('v') })).message!, /successive periods/);
});

test('DataType: String, Number or Binary with an optional custom suffix', () => {
  for (const type of ['String', 'String.json', 'Number.int', 'Number.float.x']) {
    assert.equal(validateMessageAttributes({ a: str('1', type) }).ok, true, type);
  }
  assert.equal(
    validateMessageAttributes({ a: { DataType: 'Binary.gif', BinaryValue: Buffer.from([0]) } }).ok,
    true,
  );
  for (const type of ['string', 'Text', 'String.', 'StringX', 'Bool']) {
    assert.deepEqual(errorOf(validateMessageAttributes({ a: str('1', type) })), {
      code: 'InvalidParameterValue',
      message:
        "The type of message (user) attribute 'a' is invalid. You must use only the following supported type prefixes: Binary, Number, String.",
    });
  }
  assert.equal(
    errorOf(validateMessageAttributes({ a: str('1', '') })).message,
    "The message attribute 'a' must contain a non-empty attribute type.",
  );
  assert.match(
    errorOf(validateMessageAttributes({ a: str('1', `String.${'x'.repeat(250)}`) })).message!,
    /types must be shorter than 256/,
  );
});

test('values: non-empty of their type; String values XML-safe', () => {
  assert.equal(
    errorOf(validateMessageAttributes({ a: str('') })).message,
    "Message (user) attribute 'a' must contain a non-empty value of type 'String'.",
  );
  assert.equal(
    errorOf(validateMessageAttributes({ a: { DataType: 'Binary', BinaryValue: Buffer.alloc(0) } })).message,
    "Message (user) attribute 'a' must contain a non-empty value of type 'Binary'.",
  );
  assert.equal(
    errorOf(validateMessageAttributes({ a: { DataType: 'Binary', StringValue: 'x' } })).message,
    "Message (user) attribute 'a' must contain a non-empty value of type 'Binary'.",
  );
  const badChar = errorOf(validateMessageAttributes({ a: str('x\u0001') }));
  assert.equal(badChar.code, 'InvalidParameterValue');
  assert.match(badChar.message!, /^Invalid characters found/);
});

test('Number values: decimal notation, ≤ 38 significant digits, magnitude within 10^-128..10^126', () => {
  for (const ok of [
    '0',
    '-1',
    '+1',
    '1.5',
    '.5',
    '5.',
    '1e10',
    '1E-5',
    '0000123',
    '1'.repeat(38),
    '1e125',
    '1e-128',
    '0e999',
    '-0.0',
  ]) {
    assert.equal(isSqsNumber(ok), true, ok);
  }
  for (const bad of [
    '',
    'x',
    '1.2.3',
    '--1',
    '1e',
    'e5',
    '0x10',
    'NaN',
    'Infinity',
    ' 1',
    '1'.repeat(39),
    '1e126',
    '1e-129',
  ]) {
    assert.equal(isSqsNumber(bad), false, bad);
  }
  assert.deepEqual(errorOf(validateMessageAttributes({ Hello: str('world', 'Number') })), {
    code: 'InvalidParameterValue',
    message: "Can't cast the value of message (user) attribute 'Hello' to a number.",
  });
});

test('size counts body, names, DataTypes and values in bytes against MaximumMessageSize', () => {
  // body 4 + name 1 + 'String' 6 + 'é' 2 = 13; Binary: name 1 + 'Binary' 6 + 3 bytes = 10.
  const attributes = { a: str('é'), b: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) } };
  assert.deepEqual(validateMessageAttributes(attributes), { ok: true, sizeBytes: 19 });
  assert.deepEqual(validateMessageSize('body', attributes, 23), { ok: true, sizeBytes: 23 });
  assert.deepEqual(errorOf(validateMessageSize('body', attributes, 22)), {
    code: 'InvalidParameterValue',
    message: 'One or more parameters are invalid. Reason: Message must be shorter than 22 bytes.',
  });
  assert.equal(errorOf(validateMessageSize('', undefined, 1024)).code, 'MissingParameter');
});

test('message system attributes: only AWSTraceHeader, a non-empty String', () => {
  assert.equal(validateMessageSystemAttributes({ AWSTraceHeader: str('Root=1-abc') }).ok, true);
  assert.equal(validateMessageSystemAttributes(undefined).ok, true);
  assert.equal(
    errorOf(validateMessageSystemAttributes({ SenderId: str('x') })).message,
    "Message system attribute name 'SenderId' is invalid.",
  );
  assert.equal(
    errorOf(validateMessageSystemAttributes({ AWSTraceHeader: str('x', 'Number') })).code,
    'InvalidParameterValue',
  );
  assert.equal(
    errorOf(validateMessageSystemAttributes({ AWSTraceHeader: str('') })).code,
    'InvalidParameterValue',
  );
});
