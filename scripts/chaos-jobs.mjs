#!/usr/bin/env node
// `npm run chaos:jobs -- [--jobs 100000] [--workers 3] [--concurrency 50] [--broker-kills 10]
//   [--worker-kills 20] [--attempts 5] [--seed N] [--fsync always] [--processed-ids file|stream]`: the long jobs chaos run
// (test/jobs/chaos/harness.ts) with progress output. Exits 1 when a job was lost, completed and
// dead-lettered, or dead-lettered without its attempts; prints the seed that replays the schedule.
import { runJobsChaos } from '../dist/test/jobs/chaos/harness.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const options = {
  jobs: Number(opt('jobs', 100_000)),
  workers: Number(opt('workers', 3)),
  concurrency: Number(opt('concurrency', 50)),
  brokerKills: Number(opt('broker-kills', 10)),
  workerKills: Number(opt('worker-kills', 20)),
  attempts: Number(opt('attempts', 5)),
  flakyEvery: Number(opt('flaky-every', 20)),
  poisonEvery: Number(opt('poison-every', 1000)),
  seed: Number(opt('seed', Date.now() % 100_000)),
  stallMs: Number(opt('stall-ms', 120_000)),
  brokerArgs: opt('fsync', undefined) ? ['--fsync', opt('fsync', undefined)] : [],
  processedIds: opt('processed-ids', 'file'),
  log: (line) => console.log(line),
};
console.log(`jobs chaos run: ${JSON.stringify(options)}`);
const report = await runJobsChaos(options);
const failures = ['missing', 'completedAndDead', 'poisonNotDead', 'deadWithoutHistory'].filter(
  (key) => report[key].length > 0,
);
const summary = Object.fromEntries(
  Object.entries(report).map(([key, value]) => [key, Array.isArray(value) ? value.length : value]),
);
console.log(JSON.stringify(summary, null, 2));
for (const key of failures) console.log(`${key}: ${report[key].slice(0, 20).join(' ')}`);
console.log(failures.length === 0 ? 'PASS' : `FAIL (seed ${options.seed})`);
process.exit(failures.length === 0 ? 0 : 1);
