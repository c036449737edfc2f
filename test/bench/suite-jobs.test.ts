// The report's jobs group: jobs-bench.js's rows become two workloads (add, process) with piermq/jobs
// on Pier beside BullMQ on redis-server, compared with the durable BullMQ (like for like).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ratioToBaseline } from '../../bench/suite-model.js';
import { type JobsBenchJson, jobsEntriesOf } from '../../bench/suite-others.js';
import { renderReport } from '../../bench/suite-render.js';
import { fixtureReport } from './fixture-report.js';

const benchOutput: JobsBenchJson = {
  jobs: 20_000,
  concurrency: 100,
  rows: [
    {
      kind: 'pier-jobs',
      name: 'piermq/jobs on Pier (fsync always)',
      addedPerS: 24_000,
      processedPerS: 44_000,
    },
    {
      kind: 'amqplib',
      name: 'plain amqplib on Pier (fsync always) (confirms, acks)',
      addedPerS: 60_000,
      processedPerS: 55_000,
    },
    {
      kind: 'bullmq-no-persistence',
      name: 'BullMQ on redis-server (no persistence)',
      addedPerS: 10_000,
      processedPerS: 6_700,
    },
    {
      kind: 'bullmq-durable',
      name: 'BullMQ on redis-server (appendfsync always)',
      addedPerS: 8_000,
      processedPerS: 4_000,
    },
  ],
};

test('each phase has every target, and the durable BullMQ is the baseline', () => {
  const [add, processed] = jobsEntriesOf(benchOutput);
  assert.equal(add?.id, 'jobs.add.100B');
  assert.equal(add?.title, 'add 20,000 jobs (addBulk), 100 B');
  assert.deepEqual(Object.keys(add!.results), [
    'Pier',
    'BullMQ, appendfsync always',
    'BullMQ, no persistence',
    'amqplib on Pier',
  ]);
  assert.equal(add?.results.Pier?.rate, 24_000);
  assert.equal(processed?.results['BullMQ, no persistence']?.rate, 6_700);
  assert.equal(ratioToBaseline(processed!), 11);
});

test('a run that did not happen (no redis-server) is marked, and the rest still renders', () => {
  const entries = jobsEntriesOf({ ...benchOutput, rows: benchOutput.rows.slice(0, 2) });
  assert.equal(entries[0]?.results['BullMQ, appendfsync always']?.rate, null);
  assert.equal(ratioToBaseline(entries[0]!), null);
  const report = fixtureReport();
  report.workloads.push(...jobsEntriesOf(benchOutput));
  const { markdown, svgs } = renderReport(report, { chartPath: (name) => name });
  assert.match(markdown, /## Jobs: piermq\/jobs and BullMQ/);
  assert.match(
    markdown,
    /\| process them, one worker, concurrency 100 +\| jobs\/s +\| 44,000 \| +4,000 \| +6,700 \| +55,000 \| +11\.00× \|/,
  );
  assert.ok(svgs.some((s) => s.name === 'jobs-throughput.svg'));
});
