// Runs the compiled test files under dist/test with node:test. Node 20's --test does not expand
// globs, so the file list is built here.
//   node scripts/run-tests.mjs                 unit and integration tests (everything but compat/ and differential/)
//   node scripts/run-tests.mjs --compat        the compat suite: other languages' clients (pika, amqp-tools, ...)
//   node scripts/run-tests.mjs --differential  the differential suite: Pier against a reference RabbitMQ
//                                              (needs PIER_REFERENCE_AMQP_URL)
//   node scripts/run-tests.mjs amqp            only files whose path contains "amqp"
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

// Suites with their own folder and mode; the default mode runs everything else.
const SUITES = ['compat', 'differential'];

const args = process.argv.slice(2);
const suite = SUITES.find((name) => args.includes(`--${name}`));
const filter = args.find((a) => !a.startsWith('--'));
const suiteOf = (file) => SUITES.find((name) => file.includes(`${sep}${name}${sep}`));

if (suite === 'differential' && !process.env.PIER_REFERENCE_AMQP_URL) {
  console.error(
    'PIER_REFERENCE_AMQP_URL is not set: the differential suite compares Pier with a reference RabbitMQ.\n' +
      'Start one (bash .ci/start-rabbitmq) and run e.g.\n' +
      '  PIER_REFERENCE_AMQP_URL=amqp://guest:guest@127.0.0.1:5672 npm run test:differential',
  );
  process.exit(1);
}

const files = findTests(join('dist', 'test'))
  .filter((f) => suiteOf(f) === suite)
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
