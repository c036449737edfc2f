/**
 * Simulated power loss for every disk store: randomized workloads cut at random file-system
 * events (SimFs drops, tears and reorders what was not synced), recovered by the real store code
 * and checked against what had been acknowledged. `npm run powercut -- --cuts 10000` runs the
 * long version (scripts/powercut.mjs).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_CASES } from './cases.js';
import { runTrial } from './harness.js';

/** Cuts per store in CI (each trial yields about generations × (cutsPerGeneration + 1)). */
const CUTS_PER_STORE = Number(process.env.PIER_POWERCUT_CUTS ?? 600);

/**
 * Seeds that once failed, replayed first (they lie beyond the CI budget's seeds):
 * queue 16: the model counted a settle only after settle() returned, so a cut inside it (deleting
 * a fully acked segment) expected the message still there (a harness error);
 * stream 208: a sealed segment came back with a hole before records that survived (stream
 * segments are now synced before their successor is created).
 */
const REGRESSION_SEEDS: Record<string, number[]> = {
  'amqp queue log': [16],
  'stream / kafka partition': [208],
};

for (const kase of ALL_CASES) {
  test(`power cuts: ${kase.name}: nothing acknowledged is lost, recovery never throws`, async () => {
    let cuts = 0;
    const failures: string[] = [];
    for (const seed of REGRESSION_SEEDS[kase.name] ?? [])
      failures.push(...(await runTrial(kase, seed, 4, 12)).failures);
    for (let seed = 1; cuts < CUTS_PER_STORE && failures.length === 0; seed++) {
      const r = await runTrial(kase, seed, 4, 12);
      cuts += r.cuts;
      failures.push(...r.failures);
    }
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failures`);
  });
}
