// BENCHMARKS.md and its charts are generated from report.json: the same report must give the same
// bytes (so the committed files change only when figures do), and what a reader sees must be there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChartSvg, formatCompact, formatNumber, renderReport } from '../../bench/suite-render.js';
import { fixtureReport } from './fixture-report.js';

const chartPath = (name: string): string => `docs/benchmarks/${name}`;

test('rendering a fixed report is deterministic, also after a JSON round trip', () => {
  const a = renderReport(fixtureReport(), { chartPath });
  const b = renderReport(JSON.parse(JSON.stringify(fixtureReport())), { chartPath });
  assert.equal(a.markdown, b.markdown);
  assert.deepEqual(a.svgs, b.svgs);
  assert.deepEqual(
    a.svgs.map((s) => s.name),
    ['amqp-throughput.svg', 'amqp-latency.svg', 'kafka-throughput.svg', 'sqs-throughput.svg'],
  );
});

test('the markdown has the conditions, side-by-side tables with ratios, latency cells and memory', () => {
  const md = renderReport(fixtureReport(), { chartPath }).markdown;
  assert.match(md, /\*\*Quick run\.\*\*/);
  assert.match(md, /Measured 2026-12-06 12:00 UTC on Test CPU \(2 cores, 4 GiB\), Node v20\.0\.0/);
  assert.match(md, /Load average \(1 \/ 5 \/ 15 min\): 0\.50 \/ 0\.40 \/ 0\.30 at the start/);
  assert.match(md, /RabbitMQ: RabbitMQ 3\.10\.8/);
  assert.match(md, /- a note/);
  assert.match(md, /\| 1 → 1, raw, transient, 16 B +\| msgs\/s +\| 200,000 \| +50,000 \| +4\.00× \|/);
  // a failed run shows as failed, its ratio as n/a, and its first error line is listed
  assert.match(md, /\| 1 → 1, raw, persistent, 16 B +\| msgs\/s +\| 100,000 \| +failed \| +n\/a \|/);
  assert.match(md, /- 1 → 1, raw, persistent, 16 B, RabbitMQ: connection reset\n/);
  assert.match(md, /99,000\/s: 0\.60 \/ 2\.00/);
  assert.match(md, /!\[AMQP 0-9-1 throughput\]\(docs\/benchmarks\/amqp-throughput\.svg\)/);
  assert.match(md, /\| Pier \/ stub \|/);
  assert.match(
    md,
    /\| per idle connection with one channel \(1,000 opened\) \(bytes\) \| 29\.3 KiB \| 97\.7 KiB \|/,
  );
});

test('a memory figure whose RSS fell is not shown as a negative size per message', () => {
  const report = fixtureReport();
  report.memory.push({
    id: 'memory.queued.persistent.100B',
    title: 'per queued persistent message, 100 B body (100,000 queued)',
    unit: 'bytes',
    results: { Pier: 152, RabbitMQ: -76 },
  });
  const md = renderReport(report, { chartPath }).markdown;
  assert.match(
    md,
    /\| per queued persistent message, 100 B body \(100,000 queued\) \(bytes\) *\| *152 B *\| *RSS fell 76 B per message¹ *\|/,
  );
  assert.match(md, /\n¹ The process's RSS was lower after the messages were queued than before/);
  assert.doesNotMatch(md, /\| -76 B/);
  assert.doesNotMatch(
    renderReport(fixtureReport(), { chartPath }).markdown,
    /¹/,
    'no footnote without a fall',
  );
});

test('charts are plain SVG with text labels and values, no scripts', () => {
  const { svgs } = renderReport(fixtureReport(), { chartPath });
  for (const { name, content } of svgs) {
    assert.match(content, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, name);
    assert.doesNotMatch(content, /<script|onload=|href=/i, name);
    assert.match(content, /<\/svg>\n$/, name);
  }
  const amqp = svgs.find((s) => s.name === 'amqp-throughput.svg')?.content ?? '';
  assert.match(amqp, />1 → 1, raw, transient, 16 B</);
  assert.match(amqp, />200k</);
  assert.match(amqp, />Pier</);
  assert.match(amqp, />RabbitMQ</);
  assert.match(amqp, />n\/a</); // the failed RabbitMQ run
});

test('bar lengths follow the log scale', () => {
  const svg = barChartSvg({
    title: 't',
    axisLabel: 'a',
    series: ['A'],
    rows: [
      { label: 'ten', values: [10] },
      { label: 'hundred', values: [100] },
      { label: 'thousand', values: [1000] },
    ],
    log: true,
    format: formatCompact,
  });
  // bars, not the legend's swatch (y=30)
  const widths = [...svg.matchAll(/<rect x="280" y="(\d+)" width="([\d.]+)"/g)]
    .filter((m) => m[1] !== '30')
    .map((m) => Number(m[2]));
  assert.equal(widths.length, 3);
  assert.equal(widths[0], 1); // the smallest value sits on the axis (drawn 1 px wide)
  assert.ok(Math.abs(widths[2] - 2 * widths[1]) < 0.2, `log scale: ${widths.join(', ')}`);
});

test('a long row label widens the label column instead of being cut off at the left edge', () => {
  const chart = (label: string) =>
    barChartSvg({
      title: 't',
      axisLabel: 'a',
      series: ['A'],
      rows: [{ label, values: [10] }],
      log: false,
      format: formatCompact,
    });
  const labelEnd = (svg: string) => Number(/<text x="([\d.]+)" y="[\d.]+" text-anchor="end"/.exec(svg)?.[1]);
  const width = (svg: string) => Number(/<svg [^>]*width="(\d+)"/.exec(svg)?.[1]);
  const short = chart('1 → 1, raw, transient, 16 B');
  const long = chart('standard queues, @aws-sdk/client-sqs, 64 workers, 100 B, and then some more words');
  assert.equal(labelEnd(short), 272, 'short labels keep the usual column');
  // ~6 px per character at 11 px: the label's start stays right of x = 0
  assert.ok(labelEnd(long) > 84 * 6, `label ends at ${labelEnd(long)}`);
  assert.equal(width(long) - width(short), labelEnd(long) - labelEnd(short), 'the plot keeps its width');
});

test('labels are escaped and numbers formatted without a locale', () => {
  const svg = barChartSvg({
    title: 'a < b & "c"',
    axisLabel: 'x',
    series: ['S'],
    rows: [{ label: '<x>', values: [1] }],
    log: false,
    format: formatCompact,
  });
  assert.match(svg, /a &lt; b &amp; &quot;c&quot;/);
  assert.match(svg, /&lt;x&gt;/);
  assert.equal(formatNumber(1234567.8), '1,234,568');
  assert.equal(formatNumber(1.234), '1.23');
  assert.equal(formatNumber(null), 'n/a');
  assert.equal(formatCompact(1_500_000), '1.5M');
  assert.equal(formatCompact(45_000), '45k');
});

test("Kafka's acks=all latency gets its own table and chart, saying how it was measured", () => {
  const report = fixtureReport();
  report.workloads.push({
    id: 'kafka.raw-produce.1p.100B',
    group: 'kafka',
    title: 'raw producer (acks=all), 1 partition',
    unit: 'records/s',
    baseline: null,
    results: {
      Pier: {
        rate: 2_000_000,
        latency: [0.25, 0.5, 0.9].map((fraction) => ({
          fraction,
          targetRate: 2_000_000 * fraction,
          achievedRate: 2_000_000 * fraction,
          p50Ms: 1.5,
          p90Ms: 2,
          p99Ms: fraction * 10,
          maxMs: 30,
        })),
      },
    },
  });
  const rendered = renderReport(report, { chartPath });
  assert.ok(rendered.svgs.some((s) => s.name === 'kafka-latency.svg'));
  const kafka = rendered.markdown.slice(
    rendered.markdown.indexOf('## Kafka'),
    rendered.markdown.indexOf('## SQS'),
  );
  assert.match(kafka, /!\[Kafka latency\]\(docs\/benchmarks\/kafka-latency\.svg\)/);
  assert.match(kafka, /each Produce request .* acks=all/);
  assert.doesNotMatch(kafka, /each message is stamped/, 'the AMQP method is not claimed for Kafka');
  assert.match(
    kafka,
    /\| raw producer \(acks=all\), 1 partition *\| Pier *\| *500,000\/s: 1\.50 \/ 2\.50 *\| *1,000,000\/s: 1\.50 \/ 5\.00 *\| *1,800,000\/s: 1\.50 \/ 9\.00 *\| *n\/a *\|/,
  );
});
