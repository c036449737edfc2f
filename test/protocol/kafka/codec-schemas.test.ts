import { test } from 'node:test';
import { assertCheckDetectsDrift, assertGeneratedUpToDate } from '../../helpers/generators.js';

test('the committed schemas.ts and body-types.ts are what the generator makes from the vendored schemas', () => {
  assertGeneratedUpToDate('gen-kafka-schemas.mjs');
});

test('gen-kafka-schemas --check fails, writing nothing, when a schema changes', () => {
  assertCheckDetectsDrift(
    'gen-kafka-schemas.mjs',
    'kafka/message/HeartbeatRequest.json',
    (text) => text.replace('"validVersions": "0-4"', '"validVersions": "0-5"'),
    ['src/protocol/kafka/codec/schemas.ts', 'src/protocol/kafka/codec/body-types.ts'],
    true,
  );
});
