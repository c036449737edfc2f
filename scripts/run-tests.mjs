// Runs the compiled test files under dist/test with node:test. Node 20's --test does not expand
// globs, so the file list is built here.
//   node scripts/run-tests.mjs            unit and integration tests (everything but compat/)
//   node scripts/run-tests.mjs --compat   the compat suite: other languages' clients (pika, amqp-tools, ...)
//   node scripts/run-tests.mjs amqp       only files whose path contains "amqp"
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const args = process.argv.slice(2);
const compat = args.includes('--compat');
const filter = args.find((a) => !a.startsWith('--'));
const compatDir = `${sep}compat${sep}`;
const files = findTests(join('dist', 'test'))
  .filter((f) => f.includes(compatDir) === compat)
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
