/**
 * The short version of `npm run fuzz`: every decoder of test/fuzz/targets.ts gets 10,000 inputs
 * (PIER_FUZZ_INPUTS) mutated from its corpus in test/fuzz-corpus/, and may throw nothing but its
 * documented error, take no input longer than the budget, and must both accept and refuse some.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corpusFiles, fuzzTarget } from './engine.js';
import { FUZZ_TARGETS } from './targets.js';

const INPUTS = Number(process.env.PIER_FUZZ_INPUTS ?? 10_000);
const SEED = Number(process.env.PIER_FUZZ_SEED ?? 1);

for (const target of FUZZ_TARGETS) {
  test(`fuzz ${target.name}: ${INPUTS} inputs from its corpus, only ${target.documentedError}`, async () => {
    assert.ok(corpusFiles(target.name).length > 0, `test/fuzz-corpus/${target.name}/ has a corpus`);
    const stats = await fuzzTarget(target, { inputs: INPUTS, seed: SEED, budgetMs: 2000, maxFindings: 3 });
    const findings = stats.findings.map((f) => `${f.kind}: ${f.message}\ninput: ${f.inputHex.slice(0, 400)}`);
    assert.deepEqual(findings, [], `${target.name}: replay with npm run fuzz -- --target ${target.name}`);
    assert.equal(stats.inputs, INPUTS);
    assert.ok(
      stats.accepted > 0 && stats.refused > 0,
      `accepted ${stats.accepted}, refused ${stats.refused}`,
    );
  });
}
