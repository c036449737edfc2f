// `npm run bench -- --check`: a figure that lost more than 10 % fails, by its own value or by its
// ratio to the baseline measured in the same run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkReportText,
  comparableFigures,
  compareReports,
  DEFAULT_CHECK,
} from '../../bench/suite-check.js';
import type { BenchReport } from '../../bench/suite-model.js';
import { fixtureReport } from './fixture-report.js';

function withRates(pier: number, rabbit: number): BenchReport {
  const r = fixtureReport();
  r.workloads[0].results.Pier.rate = pier;
  r.workloads[0].results.RabbitMQ.rate = rabbit;
  return r;
}

const KEY = 'amqp.1to1.raw.transient.16B:rate';

test('an unchanged report passes', () => {
  const result = compareReports(fixtureReport(), fixtureReport());
  assert.equal(result.regressions.length, 0);
  assert.ok(result.findings.length > 0);
  assert.match(checkReportText(result, DEFAULT_CHECK), /check passed/);
});

test('both: a machine that got slower for both brokers fails on the absolute figure, passes on the ratio', () => {
  const stored = withRates(200_000, 50_000);
  const fresh = withRates(150_000, 37_500); // both 25 % slower: ratio unchanged
  const both = compareReports(stored, fresh);
  assert.deepEqual(
    both.regressions.map((f) => [f.key, f.measure]),
    [[KEY, 'absolute']],
  );
  const byRatio = compareReports(stored, fresh, { ...DEFAULT_CHECK, by: 'ratio' });
  assert.equal(byRatio.regressions.length, 0);
});

test('ratio: Pier slower while RabbitMQ is not fails', () => {
  const result = compareReports(withRates(200_000, 50_000), withRates(170_000, 50_000), {
    ...DEFAULT_CHECK,
    by: 'ratio',
  });
  assert.equal(result.regressions.length, 1);
  const [f] = result.regressions;
  assert.equal(f.measure, 'ratio');
  assert.equal(f.stored, 4);
  assert.equal(f.fresh, 3.4);
  assert.ok(Math.abs(f.change + 0.15) < 1e-9);
  assert.match(checkReportText(result, DEFAULT_CHECK), /check FAILED: 1 figure/);
});

test('exactly 10 % lower is tolerated, a little more is not', () => {
  const at10 = compareReports(withRates(200_000, 50_000), withRates(180_000, 50_000), {
    ...DEFAULT_CHECK,
    by: 'absolute',
  });
  assert.equal(at10.regressions.length, 0);
  const past10 = compareReports(withRates(200_000, 50_000), withRates(179_000, 50_000), {
    ...DEFAULT_CHECK,
    by: 'absolute',
  });
  assert.equal(past10.regressions.length, 1);
});

test('figures without a baseline fall back to the absolute value, also with --by ratio', () => {
  const fresh = fixtureReport();
  fresh.workloads[2].results.Pier.rate = 800_000; // kafka, no baseline: 20 % lower
  const result = compareReports(fixtureReport(), fresh, { ...DEFAULT_CHECK, by: 'ratio' });
  assert.deepEqual(
    result.regressions.map((f) => [f.key, f.measure]),
    [['kafka.produce.1partition.100B:rate', 'absolute']],
  );
});

test('latency and memory are lower-is-better and only checked when asked for', () => {
  const fresh = fixtureReport();
  const p50 = fresh.workloads[0].results.Pier.latency?.find((l) => l.fraction === 0.5);
  assert.ok(p50);
  p50.p99Ms = 3; // was 2: 33 % worse
  fresh.memory[0].results.Pier = 40_000; // was 30,000: worse
  assert.equal(compareReports(fixtureReport(), fresh).regressions.length, 0);
  const result = compareReports(fixtureReport(), fresh, {
    ...DEFAULT_CHECK,
    kinds: ['throughput', 'latency', 'memory'],
    by: 'absolute',
  });
  assert.deepEqual(result.regressions.map((f) => f.key).sort(), [
    'amqp.1to1.raw.transient.16B:p99@50%',
    'memory.connection.idle:memory',
  ]);
  // faster is never a regression
  const better = fixtureReport();
  better.memory[0].results.Pier = 10_000;
  assert.equal(
    compareReports(fixtureReport(), better, { ...DEFAULT_CHECK, kinds: ['memory'] }).regressions.length,
    0,
  );
});

test('figures the fresh run did not measure are listed, not failed; failed runs are not figures', () => {
  const fresh = fixtureReport();
  fresh.workloads = fresh.workloads.filter((w) => w.group === 'amqp');
  fresh.workloads[0].results.Pier.rate = null;
  const result = compareReports(fixtureReport(), fresh);
  assert.equal(result.regressions.length, 0);
  assert.deepEqual(result.notMeasured, [
    KEY,
    'kafka.produce.1partition.100B:rate',
    'sqs.standard.load.64:rate',
  ]);
  assert.ok(!comparableFigures(fresh).some((f) => f.key === KEY));
});

test('a check that compared nothing says so instead of reading like a pass of real figures', () => {
  const fresh = fixtureReport();
  fresh.workloads = [];
  fresh.memory = [];
  const result = compareReports(fixtureReport(), fresh);
  assert.equal(result.findings.length, 0);
  assert.match(checkReportText(result, DEFAULT_CHECK), /nothing compared/);
});
