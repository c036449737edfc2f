// `npm run bench -- --report --merge --only kafka,sqs` measures part of the matrix again and puts its
// figures into the stored report: the selection's entries are replaced, everything else kept, and
// the report says what was measured when.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BenchReport, mergeReports } from '../../bench/suite-model.js';
import { fixtureReport } from './fixture-report.js';

function partialRun(only: string[]): BenchReport {
  const run = fixtureReport();
  run.createdAt = '2026-12-07T21:40:00.000Z';
  run.only = only;
  run.conditions.loadAverageStart = [1.5, 1.25, 1];
  run.conditions.elapsedS = 180;
  run.conditions.notes = [];
  run.memory = [];
  run.workloads = [
    {
      id: 'sqs.standard.load.64',
      group: 'sqs',
      title: 'standard queues, own generator, 64 workers, 100 B',
      unit: 'msgs/s',
      baseline: 'stub',
      results: { Pier: { rate: 30_000 }, stub: { rate: 60_000 } },
    },
    {
      id: 'sqs.fifo.load.64',
      group: 'sqs',
      title: 'FIFO queues, own generator, 64 workers, 100 B',
      unit: 'msgs/s',
      baseline: 'stub',
      results: { Pier: { rate: 20_000 }, stub: { rate: 55_000 } },
    },
  ];
  return run;
}

test('the selection is replaced in place, new entries join their group, the rest is kept', () => {
  const stored = fixtureReport();
  stored.workloads.push({
    id: 'sqs.standard.sdk.64',
    group: 'sqs',
    title: 'standard queues, @aws-sdk/client-sqs, 64 workers, 100 B',
    unit: 'msgs/s',
    baseline: 'stub',
    results: { Pier: { rate: 4_000 }, stub: { rate: 4_100 } },
  });
  const merged = mergeReports(stored, partialRun(['sqs']));
  assert.deepEqual(
    merged.workloads.map((w) => w.id),
    [
      'amqp.1to1.raw.transient.16B',
      'amqp.1to1.raw.persistent.16B',
      'kafka.produce.1partition.100B',
      'sqs.standard.load.64',
      'sqs.fifo.load.64',
    ],
    'the stored SDK figure was in the selection and not measured again: it is gone, not kept stale',
  );
  assert.equal(merged.workloads.find((w) => w.id === 'sqs.standard.load.64')?.results.Pier?.rate, 30_000);
  assert.deepEqual(merged.workloads[0], stored.workloads[0]);
  assert.deepEqual(merged.memory, stored.memory);
  assert.equal(merged.createdAt, stored.createdAt);
  assert.deepEqual(merged.conditions.machine, stored.conditions.machine);
  assert.equal(merged.conditions.notes[0], 'a note');
  assert.equal(
    merged.conditions.notes[1],
    'sqs: measured again 2026-12-07 21:40 UTC (load average 1.50 / 1.25 / 1.00 at its start, 3 min) and merged into this report (`--merge`)',
  );
});

test('merging the same selection again keeps one note for it; a group not in the report is added', () => {
  const once = mergeReports(fixtureReport(), partialRun(['sqs']));
  const twice = mergeReports(once, partialRun(['sqs']));
  assert.equal(twice.conditions.notes.filter((n) => n.startsWith('sqs: measured again')).length, 1);
  const stored = fixtureReport();
  stored.workloads = stored.workloads.filter((w) => w.group !== 'sqs');
  assert.deepEqual(
    mergeReports(stored, partialRun(['sqs']))
      .workloads.map((w) => w.id)
      .slice(-2),
    ['sqs.standard.load.64', 'sqs.fifo.load.64'],
  );
});

test('a quick run is not merged into a full report, nor the other way round', () => {
  const full = fixtureReport();
  full.quick = false;
  assert.throws(
    () => mergeReports(full, partialRun(['sqs'])),
    /cannot merge a --quick run into a full report/,
  );
});
