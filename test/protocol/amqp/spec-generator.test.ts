import { test } from 'node:test';
import { assertCheckDetectsDrift, assertGeneratedUpToDate } from '../../helpers/generators.js';

test('the committed codec/spec.ts is what the generator makes from the vendored AMQP definition', () => {
  assertGeneratedUpToDate('gen-amqp-spec.mjs');
});

test('gen-amqp-spec --check fails, writing nothing, when the definition changes', () => {
  assertCheckDetectsDrift(
    'gen-amqp-spec.mjs',
    'amqp/amqp-rabbitmq-0.9.1.json',
    (text) => text.replace('"name": "qos"', '"name": "quality-of-service"'),
    ['src/protocol/amqp/codec/spec.ts'],
  );
});
