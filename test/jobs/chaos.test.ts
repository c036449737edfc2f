// The jobs chaos run, small enough for CI: 2,000 jobs through two worker processes while the broker
// is SIGKILLed and restarted three times and a worker twice (test/jobs/chaos/harness.ts). Every job
// ends with exactly one side effect or in the DLQ with its attempts recorded; none is lost.
// `npm run chaos:jobs` runs the same with 100,000 jobs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runJobsChaos } from './chaos/harness.js';

test('2,000 jobs, broker SIGKILLed 3 times and workers twice: each job completed once or dead-lettered, none lost', async () => {
  const report = await runJobsChaos({
    jobs: 2_000,
    workers: 2,
    concurrency: 20,
    brokerKills: 3,
    workerKills: 2,
    attempts: 4,
    flakyEvery: 20,
    poisonEvery: 250,
    seed: Number(process.env.PIER_CHAOS_SEED ?? 1),
    stallMs: 30_000,
    log: process.env.PIER_CHAOS_LOG ? (line) => console.log(line) : undefined,
  });
  const { missing, completedAndDead, poisonNotDead, deadWithoutHistory, ...numbers } = report;
  console.log(JSON.stringify({ ...numbers, deadNotPoison: report.deadNotPoison.length }));
  assert.deepEqual(missing, [], 'jobs lost: neither completed nor dead-lettered');
  assert.deepEqual(completedAndDead, [], 'jobs both completed and dead-lettered');
  assert.deepEqual(poisonNotDead, [], 'poison jobs not dead-lettered');
  assert.deepEqual(deadWithoutHistory, [], 'dead letters without every attempt in their history');
  assert.equal(report.completed + report.deadLettered, report.jobs);
  assert.equal(report.brokerKills, 3);
  assert.equal(report.workerKills, 2);
  // Re-runs (a handler finding its effect already made) are the crash window the processed-id
  // store leaves: a worker killed between the effect and the store's record, or a claim that
  // expired (3 s here) while a loaded machine delayed its renewal. The effect is idempotent, so they
  // are measured, not failures; a tenth of the jobs would mean the store is not consulted at all.
  assert.ok(report.reruns < report.jobs / 10, `${report.reruns} re-runs`);
});
