import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// This file runs from dist/test/protocol/kafka.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const specDir = resolve(root, '../shared/specs/kafka/message');

test('the committed schemas.ts and body-types.ts are what the generator makes from Kafka’s schemas', {
  skip: existsSync(specDir) ? false : `no Kafka schemas at ${specDir}`,
}, () => {
  const run = spawnSync(process.execPath, ['scripts/gen-kafka-schemas.mjs', '--check', specDir], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
});
