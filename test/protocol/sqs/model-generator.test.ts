import { test } from 'node:test';
import { assertCheckDetectsDrift, assertGeneratedUpToDate } from '../../helpers/generators.js';

const OUTPUTS = ['src/protocol/sqs/model.ts', 'src/protocol/sqs/model-types.ts'];

test('the committed model.ts and model-types.ts are what the generator makes from the vendored Smithy model', () => {
  assertGeneratedUpToDate('gen-sqs-model.mjs');
});

test('gen-sqs-model --check fails, writing nothing, when the model changes', () => {
  assertCheckDetectsDrift(
    'gen-sqs-model.mjs',
    'sqs/sqs-2012-11-05.json',
    (text) => text.replace('AWS.SimpleQueueService.NonExistentQueue', 'AWS.SimpleQueueService.NoSuchQueue'),
    OUTPUTS,
  );
});
