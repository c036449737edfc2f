#!/usr/bin/env node
// `npm run soak -- [--cycles 1000] [--seed N] [--kill-min-ms 300] [--kill-max-ms 2000] [--check-every 50]
//                  [--rate 200] [--protocols amqp,kafka,sqs] [--steady SECONDS [--warmup SECONDS]]`
// The long SIGKILL soak (test/soak/): a mixed AMQP + Kafka + SQS workload against a child-process
// broker (--fsync always), killed at a random moment of each cycle and restarted; every
// --check-every cycles and at the end all is drained and every acknowledged message accounted for
// (lost: never allowed; duplicated beyond the promise; reordered where order is promised).
// --steady SECONDS runs the load without kills and checks the broker's RSS stays flat (±10%) after
// a warm-up: --warmup SECONDS of load first (default: the first fifth of --steady, at least 60 s).
// Exits 1 on any violation, keeping the data directory.
import { cpus, totalmem } from 'node:os';
import { formatSoakResult, runSoak } from '../dist/test/soak/soak.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const options = {
  cycles: Number(opt('cycles', 1000)),
  seed: Number(opt('seed', 1)),
  killMinMs: Number(opt('kill-min-ms', 300)),
  killMaxMs: Number(opt('kill-max-ms', 2000)),
  checkEvery: Number(opt('check-every', 50)),
  ratePerSecond: Number(opt('rate', 200)),
  protocols: opt('protocols', 'amqp,kafka,sqs').split(','),
  steadyS: Number(opt('steady', 0)),
  warmupS: Number(opt('warmup', 0)),
};
console.log(
  `soak: ${JSON.stringify(options)}; node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? '?'}, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, ${new Date().toISOString()}`,
);
const result = await runSoak(options);
console.log(`\n${formatSoakResult(result)}`);
process.exit(result.ok ? 0 : 1);
