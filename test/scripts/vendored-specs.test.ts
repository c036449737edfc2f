// The specifications in spec/ are upstream's files, unmodified: each is listed in spec/SHA256SUMS with
// its digest, and each folder carries the upstream licence and a README naming where it came from.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/generators.js';

const SPEC = join(ROOT, 'spec');

test('every vendored spec file matches spec/SHA256SUMS, and every data file is listed', () => {
  const listed = new Map<string, string>();
  for (const line of readFileSync(join(SPEC, 'SHA256SUMS'), 'utf8').trim().split('\n')) {
    const [digest, path] = line.split(/\s+\*?/);
    listed.set(path!, digest!);
  }
  for (const [path, digest] of listed) {
    const actual = createHash('sha256')
      .update(readFileSync(join(SPEC, path)))
      .digest('hex');
    assert.equal(actual, digest, `spec/${path} differs from the upstream copy recorded in SHA256SUMS`);
  }
  const jsonFiles = (dir: string): string[] =>
    readdirSync(join(SPEC, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? jsonFiles(join(dir, entry.name))
        : entry.name.endsWith('.json')
          ? [join(dir, entry.name)]
          : [],
    );
  assert.deepEqual(jsonFiles('.').sort(), [...listed.keys()].sort());
});

test('each vendored spec has its licence and a README', () => {
  for (const folder of ['amqp', 'kafka', 'sqs']) {
    for (const file of ['LICENSE', 'README.md']) {
      assert.ok(existsSync(join(SPEC, folder, file)), `spec/${folder}/${file}`);
    }
  }
});
