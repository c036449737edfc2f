// BENCHMARKS.md and its SVG charts from a report.json. Pure and deterministic: the same report
// gives byte-identical output (no clock, no locale), so the files only change when figures do.
// The charts are plain SVG — rectangles and text, no scripts or fonts to load — which GitHub shows
// inline in markdown.
import {
  type BenchReport,
  GROUPS,
  type Group,
  type LatencyAtLoad,
  type MemoryEntry,
  ratioToBaseline,
  targetNames,
  type WorkloadEntry,
} from './suite-model.js';

export interface RenderedFile {
  /** File name inside the charts directory. */
  name: string;
  content: string;
}

export interface RenderedReport {
  markdown: string;
  svgs: RenderedFile[];
}

const GROUP_TITLES: Record<Group, string> = {
  amqp: 'AMQP 0-9-1',
  kafka: 'Kafka',
  sqs: 'SQS',
  jobs: 'Jobs: piermq/jobs and BullMQ',
};

const SERIES_COLOURS = ['#2563eb', '#f97316', '#6b7280', '#16a34a', '#9333ea'];

/** 1234567.8 → "1,234,568"; small numbers keep up to 2 decimals. Locale-free on purpose. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  if (Math.abs(n) < 10 && !Number.isInteger(n)) return n.toFixed(2);
  if (Math.abs(n) < 100 && !Number.isInteger(n)) return n.toFixed(1);
  const s = Math.round(Math.abs(n)).toString();
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${grouped}` : grouped;
}

/** Milliseconds with about three significant digits: 0.61, 12.3, 456. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'n/a';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return formatNumber(Math.round(ms));
}

function formatRatio(r: number | null): string {
  return r === null ? 'n/a' : `${r.toFixed(2)}×`;
}

function formatBytes(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return 'n/a';
  if (n >= 10 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 10 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${formatNumber(Math.round(n))} B`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdownTable(header: string[], rows: string[][], rightAlignFrom = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i >= rightAlignFrom ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (i >= rightAlignFrom ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header.map(escapeCell)), sep, ...rows.map((r) => line(r.map(escapeCell)))].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Charts

export interface BarChart {
  title: string;
  /** Axis caption, e.g. "msgs/s (log scale)". */
  axisLabel: string;
  series: string[];
  rows: { label: string; values: (number | null)[] }[];
  log: boolean;
  format: (n: number) => string;
}

/** Width of the bars' area and of the value labels right of it. */
const PLOT_WIDTH = 450;
const VALUE_MARGIN = 90;
const MIN_LABEL_WIDTH = 280;
/** A generous average glyph width at 11 px (Helvetica, or DejaVu Sans where a browser falls back). */
const LABEL_CHAR_PX = 6.4;
const BAR_HEIGHT = 12;
const ROW_GAP = 10;

function niceLinearMax(max: number): number {
  const exp = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

/** A horizontal grouped bar chart: one group of bars per row, one bar per series. */
export function barChartSvg(chart: BarChart): string {
  const values = chart.rows.flatMap((r) => r.values).filter((v): v is number => v !== null && v > 0);
  // The row labels' column fits the longest label, so none is cut off at the chart's left edge.
  const longest = Math.max(0, ...chart.rows.map((r) => r.label.length));
  const labelWidth = Math.max(MIN_LABEL_WIDTH, Math.ceil(longest * LABEL_CHAR_PX) + 16);
  const plotRight = labelWidth + PLOT_WIDTH;
  const chartWidth = plotRight + VALUE_MARGIN;
  const plotWidth = PLOT_WIDTH;
  let scale: (v: number) => number;
  let ticks: number[];
  if (values.length === 0) {
    scale = () => 0;
    ticks = [];
  } else if (chart.log) {
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
    scale = (v) => ((Math.log10(v) - lo) / (hi - lo)) * plotWidth;
    ticks = [];
    for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  } else {
    const max = niceLinearMax(Math.max(...values));
    scale = (v) => (v / max) * plotWidth;
    ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  }
  const groupHeight = chart.series.length * BAR_HEIGHT + ROW_GAP;
  const top = 58;
  const height = top + chart.rows.length * groupHeight + 34;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${chartWidth}" height="${height}" viewBox="0 0 ${chartWidth} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect x="0" y="0" width="${chartWidth}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold" fill="#111827">${escapeXml(chart.title)}</text>`,
  );
  // legend
  let lx = labelWidth;
  chart.series.forEach((name, i) => {
    out.push(
      `<rect x="${lx}" y="30" width="10" height="10" fill="${SERIES_COLOURS[i % SERIES_COLOURS.length]}"/>`,
      `<text x="${lx + 14}" y="39" fill="#111827">${escapeXml(name)}</text>`,
    );
    lx += 24 + name.length * 7;
  });
  // grid and ticks
  const plotBottom = top + chart.rows.length * groupHeight;
  for (const t of ticks) {
    const x = (labelWidth + (chart.log && t <= 0 ? 0 : scale(t))).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${plotBottom}" stroke="#e5e7eb"/>`,
      `<text x="${x}" y="${plotBottom + 14}" text-anchor="middle" fill="#6b7280">${escapeXml(formatCompact(t))}</text>`,
    );
  }
  out.push(
    `<text x="${(labelWidth + plotRight) / 2}" y="${plotBottom + 28}" text-anchor="middle" fill="#6b7280">${escapeXml(chart.axisLabel)}</text>`,
  );
  chart.rows.forEach((row, r) => {
    const y0 = top + r * groupHeight;
    out.push(
      `<text x="${labelWidth - 8}" y="${(y0 + (chart.series.length * BAR_HEIGHT) / 2 + 4).toFixed(1)}" text-anchor="end" fill="#111827">${escapeXml(row.label)}</text>`,
    );
    row.values.forEach((v, s) => {
      const y = y0 + s * BAR_HEIGHT;
      if (v === null || !(v > 0)) {
        out.push(`<text x="${labelWidth + 4}" y="${y + 10}" fill="#9ca3af">n/a</text>`);
        return;
      }
      const w = Math.max(1, scale(v));
      out.push(
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${BAR_HEIGHT - 2}" fill="${SERIES_COLOURS[s % SERIES_COLOURS.length]}"/>`,
        `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + 9}" fill="#111827">${escapeXml(chart.format(v))}</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Markdown sections

function loadAverage(l: number[]): string {
  return l.map((v) => v.toFixed(2)).join(' / ');
}

/** How each group's latency runs measure, above its latency table. */
const LATENCY_METHOD: Partial<Record<Group, string>> = {
  amqp: 'Open-loop runs after the saturation run, each broker at fractions of **its own** maximum: each message is stamped with the time it was due, so stalls count. Cells: delivered msgs/s: p50 / p99 ms.',
  kafka:
    "Open-loop runs after the raw producer's saturation run, on the same connection, at fractions of that maximum: each Produce request (a 1,000-record batch for each of up to 8 partitions, acks=all, `--fsync always`) is sent when it is due and its latency runs from that due time to the answer, so stalls count. Cells: acknowledged records/s: p50 / p99 ms.",
};

function latencyCell(l: LatencyAtLoad | undefined): string {
  if (!l) return 'n/a';
  return `${formatNumber(l.achievedRate)}/s: ${formatMs(l.p50Ms)} / ${formatMs(l.p99Ms)}`;
}

function throughputChart(group: Group, entries: WorkloadEntry[]): BarChart {
  const series = targetNames(entries);
  return {
    title: `${GROUP_TITLES[group]}: maximum sustained rate`,
    axisLabel: `${entries[0]?.unit ?? 'per second'} (log scale)`,
    series,
    rows: entries.map((e) => ({ label: e.title, values: series.map((s) => e.results[s]?.rate ?? null) })),
    log: true,
    format: (n) => formatCompact(n),
  };
}

function latencyChart(group: Group, entries: WorkloadEntry[]): BarChart | null {
  const withLatency = entries.filter((e) =>
    Object.values(e.results).some((r) => (r.latency ?? []).length > 0),
  );
  if (withLatency.length === 0) return null;
  const series = targetNames(withLatency);
  return {
    title: `${GROUP_TITLES[group]}: p99 latency at 50 % of each broker's maximum rate`,
    axisLabel: 'milliseconds (log scale, lower is better)',
    series,
    rows: withLatency.map((e) => ({
      label: e.title,
      values: series.map((s) => e.results[s]?.latency?.find((l) => l.fraction === 0.5)?.p99Ms ?? null),
    })),
    log: true,
    format: formatMs,
  };
}

/** 1234567 → "1.2M", 45000 → "45k": short axis and bar labels. */
export function formatCompact(n: number): string {
  if (n >= 1e6) return `${trim(n / 1e6)}M`;
  if (n >= 1e3) return `${trim(n / 1e3)}k`;
  if (n >= 1) return trim(n);
  return n.toPrecision(1);
}

function trim(n: number): string {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(1).replace(/\.0$/, '');
}

function groupSection(
  group: Group,
  entries: WorkloadEntry[],
  chartPath: (name: string) => string,
  svgs: RenderedFile[],
): string[] {
  const out: string[] = [`## ${GROUP_TITLES[group]}`, ''];
  const targets = targetNames(entries);
  const tName = `${group}-throughput.svg`;
  svgs.push({ name: tName, content: barChartSvg(throughputChart(group, entries)) });
  out.push(`![${GROUP_TITLES[group]} throughput](${chartPath(tName)})`, '');
  const baselines = [...new Set(entries.map((e) => e.baseline).filter((b): b is string => b !== null))];
  const header = ['Workload', 'Unit', ...targets.map((t) => `${t}`), ...baselines.map((b) => `Pier / ${b}`)];
  const rows = entries.map((e) => [
    e.title,
    e.unit,
    ...targets.map((t) => {
      const r = e.results[t];
      if (!r) return '—';
      if (r.rate === null) return r.error ? 'failed' : 'n/a';
      return formatNumber(r.rate);
    }),
    ...baselines.map((b) => (e.baseline === b ? formatRatio(ratioToBaseline(e)) : '—')),
  ]);
  out.push(markdownTable(header, rows, 2), '');
  const failures = entries.flatMap((e) =>
    Object.entries(e.results)
      .filter(([, r]) => r.error)
      .map(([t, r]) => `- ${e.title}, ${t}: ${(r.error ?? '').split('\n')[0]}`),
  );
  if (failures.length > 0) out.push('Failed runs:', '', ...failures, '');

  const lChart = latencyChart(group, entries);
  if (lChart) {
    const lName = `${group}-latency.svg`;
    svgs.push({ name: lName, content: barChartSvg(lChart) });
    out.push(
      '### Latency at 25 %, 50 % and 90 % of the maximum rate',
      '',
      LATENCY_METHOD[group] ??
        'Open-loop runs at fractions of the maximum rate. Cells: delivered per second: p50 / p99 ms.',
      '',
      `![${GROUP_TITLES[group]} latency](${chartPath(lName)})`,
      '',
    );
    const lRows: string[][] = [];
    for (const e of entries) {
      for (const t of targets) {
        const lat = e.results[t]?.latency;
        if (!lat || lat.length === 0) continue;
        lRows.push([
          e.title,
          t,
          ...[0.25, 0.5, 0.9].map((f) => latencyCell(lat.find((l) => l.fraction === f))),
          formatMs(e.results[t]?.p99Ms ?? null),
        ]);
      }
    }
    out.push(
      markdownTable(['Workload', 'Target', 'at 25 %', 'at 50 %', 'at 90 %', 'p99 ms at max'], lRows, 2),
      '',
    );
  }
  return out;
}

/** A memory figure; RSS that fell while messages were added is no figure per message at all. */
function formatMemory(n: number | null): string {
  return n !== null && n < 0 ? `RSS fell ${formatBytes(-n)} per message¹` : formatBytes(n);
}

function memorySection(memory: MemoryEntry[]): string[] {
  if (memory.length === 0) return [];
  const targets = targetNames(memory);
  const fell = memory.some((m) => targets.some((t) => (m.results[t] ?? 0) < 0));
  return [
    '## Memory',
    '',
    "The broker process's resident memory (RSS) before and after, divided by the count. RabbitMQ's is the Erlang VM's RSS.",
    '',
    markdownTable(
      ['Measure', ...targets],
      memory.map((m) => [
        `${m.title} (${m.unit})`,
        ...targets.map((t) => formatMemory(m.results[t] ?? null)),
      ]),
    ),
    '',
    ...(fell
      ? [
          "¹ The process's RSS was lower after the messages were queued than before: it handed back memory it held from the runs before (Erlang's allocators, V8's heap) while the messages went mostly to disk, so RSS cannot say what a message costs in that run.",
          '',
        ]
      : []),
  ];
}

export interface RenderOptions {
  /** How BENCHMARKS.md links a chart file, e.g. `docs/benchmarks/${name}`. */
  chartPath: (name: string) => string;
}

export function renderReport(report: BenchReport, options: RenderOptions): RenderedReport {
  const svgs: RenderedFile[] = [];
  const c = report.conditions;
  const out: string[] = [
    '# Pier benchmarks',
    '',
    '<!-- Generated by `npm run bench -- --report` from bench/results/report.json; edits here are overwritten. -->',
    '',
  ];
  if (report.quick) {
    out.push(
      '> **Quick run.** These figures come from `--quick` (short windows on a small matrix) and prove that',
      '> the machinery works; they are not the figures to quote. Regenerate on a quiet machine with',
      '> `npm run bench -- --report`. Memory per queued message comes from 20,000 messages in a quick run:',
      "> the broker's RSS moves by as much for other reasons (GC, allocator), so those figures are noise.",
      '',
    );
  }
  out.push(
    `Measured ${report.createdAt.slice(0, 16).replace('T', ' ')} UTC on ${c.machine.cpu} (${c.machine.cores} cores, ${c.machine.ramGiB} GiB), Node ${c.machine.node}, ${c.machine.os}.`,
    '',
    `- Load average (1 / 5 / 15 min): ${loadAverage(c.loadAverageStart)} at the start, ${loadAverage(c.loadAverageEnd)} at the end` +
      (c.loadAverageStart[0] > c.machine.cores / 2
        ? ' — **a busy machine: absolute figures are low and noisy**'
        : ''),
    `- AMQP runs: ${c.durationS} s measured after ${c.warmupS} s of warm-up each; Pier with \`--fsync ${c.fsync}\`; broker and load generator share the machine`,
    `- RabbitMQ: ${c.rabbitmq ?? 'not run'}${c.rabbitmq ? ', a node started on loopback for this run (bench/rabbitmq-node.ts)' : ''}`,
    `- Selection: ${report.only.length > 0 ? report.only.join(', ') : 'everything'}; the whole run took ${Math.round(c.elapsedS / 60)} min`,
    ...c.notes.map((n) => `- ${n}`),
    '',
  );
  for (const group of GROUPS) {
    const entries = report.workloads.filter((w) => w.group === group);
    if (entries.length === 0) continue;
    out.push(...groupSection(group, entries, options.chartPath, svgs));
  }
  out.push(...memorySection(report.memory));
  out.push(
    '## Rerun and check',
    '',
    '```sh',
    'npm run bench -- --report                 # the whole matrix; rewrites bench/results/report.json and this file',
    'npm run bench -- --report --quick --only amqp   # a short subset',
    'npm run bench -- --check --quick          # compare a fresh run with the stored report: exit 1 on a >10 % regression',
    '```',
    '',
    'See bench/README.md ("The report") for the workloads, the measures and how `--check` compares.',
    '',
  );
  return { markdown: out.join('\n'), svgs };
}
