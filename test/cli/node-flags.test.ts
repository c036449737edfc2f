// The V8 flags a broker process starts with (src/cli/node-flags.ts): `npm start` passes them, and the
// Node.js running the tests accepts them and starts with the whole young generation they ask for.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BROKER_NODE_FLAGS } from '../../src/cli/node-flags.js';

const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

test('npm start runs the broker with the broker node flags', () => {
  const start = packageJson.scripts.start ?? '';
  for (const flag of BROKER_NODE_FLAGS) assert.match(start, new RegExp(`^node .*${flag} .*pier\\.js serve`));
});

test('with the flags the young generation is 16 MiB from the start (without them: smaller)', () => {
  const newSpaceBytes = (flags: readonly string[]): number =>
    Number(
      execFileSync(
        process.execPath,
        [
          ...flags,
          '-e',
          "process.stdout.write(String(require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))",
        ],
        { encoding: 'utf8' },
      ),
    );
  assert.equal(newSpaceBytes(BROKER_NODE_FLAGS), 16 * 1024 * 1024);
  assert.ok(newSpaceBytes([]) < 16 * 1024 * 1024, 'the default young generation starts smaller');
});
