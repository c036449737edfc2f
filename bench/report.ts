// Result records, machine description and markdown tables.

import * as os from 'node:os';
import type { ClientKind, Workload } from './stats.js';

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface RunResult {
  target: string;
  client: ClientKind;
  workload: Workload;
  /** Actual length of the measurement window in seconds. */
  seconds: number;
  published: number;
  consumed: number;
  confirmed: number;
  nacked: number;
  /** Messages both published and consumed inside the window. */
  endToEnd: number;
  publishRate: number;
  consumeRate: number;
  confirmRate: number;
  endToEndRate: number;
  /** Milliseconds; NaN when nothing was received. */
  latencyMs: LatencySummary;
  maxOutstanding: number;
  outstandingCap: number;
  confirmWindow: number | null;
  /** Bench process CPU over the window, % of one core. */
  clientCpuPct: number;
  /** Child broker CPU over the window, % of one core (only when the bench started it). */
  brokerCpuPct: number | null;
  error: string | null;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  os: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown',
    cores: cpus.length,
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

function table(header: string[], rows: string[][], rightAlignFrom = 0): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i >= rightAlignFrom ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (i >= rightAlignFrom ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

export function resultsTable(results: RunResult[]): string {
  const header = [
    'Target',
    'Client',
    'Workload',
    'Publish msg/s',
    'Consume msg/s',
    'End-to-end msg/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'max ms',
    'Max outstanding',
  ];
  const rows = results.map((r) =>
    r.error && r.endToEnd === 0
      ? [r.target, r.client, r.workload, 'error', '', '', '', '', '', '', '']
      : [
          r.target,
          r.client,
          r.workload,
          fmtInt(r.publishRate),
          fmtInt(r.consumeRate),
          fmtInt(r.endToEndRate),
          fmtMs(r.latencyMs.p50),
          fmtMs(r.latencyMs.p95),
          fmtMs(r.latencyMs.p99),
          fmtMs(r.latencyMs.max),
          fmtInt(r.maxOutstanding),
        ],
  );
  return table(header, rows, 3);
}

interface Metric {
  name: string;
  get: (r: RunResult) => number;
  fmt: (n: number) => string;
}

const METRICS: Metric[] = [
  { name: 'publish msg/s', get: (r) => r.publishRate, fmt: fmtInt },
  { name: 'consume msg/s', get: (r) => r.consumeRate, fmt: fmtInt },
  { name: 'end-to-end msg/s', get: (r) => r.endToEndRate, fmt: fmtInt },
  { name: 'latency p50 ms', get: (r) => r.latencyMs.p50, fmt: fmtMs },
  { name: 'latency p95 ms', get: (r) => r.latencyMs.p95, fmt: fmtMs },
  { name: 'latency p99 ms', get: (r) => r.latencyMs.p99, fmt: fmtMs },
  { name: 'latency max ms', get: (r) => r.latencyMs.max, fmt: fmtMs },
];

/** Long-format side-by-side table: one row per client × workload × metric. */
export function comparisonTable(a: string, b: string, results: RunResult[]): string {
  const rows: string[][] = [];
  const keys = new Set(results.map((r) => `${r.client}/${r.workload}`));
  for (const key of keys) {
    const ra = results.find((r) => r.target === a && `${r.client}/${r.workload}` === key);
    const rb = results.find((r) => r.target === b && `${r.client}/${r.workload}` === key);
    if (!ra || !rb) continue;
    const [client, workload] = key.split('/');
    for (const m of METRICS) {
      const va = m.get(ra);
      const vb = m.get(rb);
      const ratio = Number.isFinite(va) && Number.isFinite(vb) && vb > 0 ? `${(va / vb).toFixed(2)}×` : 'n/a';
      rows.push([
        client,
        workload,
        m.name,
        ra.error ? 'error' : m.fmt(va),
        rb.error ? 'error' : m.fmt(vb),
        ratio,
      ]);
    }
  }
  return table(['Client', 'Workload', 'Metric', a, b, `${a}/${b}`], rows, 3);
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpu} (${m.cores} cores), ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.os}`;
}
