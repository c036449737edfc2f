#!/usr/bin/env node
// `npm run powercut -- --cuts 10000 [--store NAME] [--seed N]`: the long simulated power-loss run
// (test/storage/powercut): every disk store, at least --cuts cuts each, with progress output.
// Exits 1 on the first store with failures, printing them with the seed that replays them.
import { ALL_CASES } from '../dist/test/storage/powercut/cases.js';
import { runTrial } from '../dist/test/storage/powercut/harness.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const cutsPerStore = Number(opt('cuts', 10000));
const only = opt('store', undefined);
let seed = Number(opt('seed', 1));
let failed = false;
for (const kase of ALL_CASES) {
  if (only && !kase.name.includes(only)) continue;
  const started = Date.now();
  const modes = { drop: 0, torn: 0, reorder: 0 };
  let cuts = 0;
  let trials = 0;
  let lastReport = 0;
  while (cuts < cutsPerStore) {
    const r = await runTrial(kase, seed++, 4, 12);
    trials++;
    cuts += r.cuts;
    for (const m of Object.keys(modes)) modes[m] += r.modes[m];
    if (r.failures.length > 0) {
      console.log(`${kase.name}: ${r.failures.length} failures (seed ${seed - 1}):`);
      for (const f of r.failures.slice(0, 20)) console.log(`  ${f}`);
      failed = true;
      break;
    }
    if (Date.now() - lastReport > 2000) {
      lastReport = Date.now();
      process.stderr.write(`  ${kase.name}: ${cuts}/${cutsPerStore} cuts\r`);
    }
  }
  const s = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `${kase.name}: ${cuts} cuts (drop ${modes.drop}, torn ${modes.torn}, reorder ${modes.reorder}) in ${trials} trials, ${s} s: ${failed ? 'FAILED' : 'ok'}`,
  );
  if (failed) process.exit(1);
}
