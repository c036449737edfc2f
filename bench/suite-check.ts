// `npm run bench -- --check`: which figures of a fresh run regressed against the stored report.
//
// Two measures per figure, because a shared machine moves absolute numbers by far more than 10 %
// from one run to the next while Pier and RabbitMQ, measured minutes apart in the same run, drift
// together:
//   absolute — Pier's figure now against Pier's figure then;
//   ratio    — (Pier / baseline) now against (Pier / baseline) then, the baseline being RabbitMQ
//              (or a client's ceiling) measured in the same run. Only where both runs have it.
// `by: 'both'` (the default) flags a figure when either measure regressed by more than the
// tolerance; `by: 'ratio'` uses the ratio where there is one and the absolute figure elsewhere.
import { type BenchReport, ratioToBaseline, type WorkloadEntry } from './suite-model.js';

export type FigureKind = 'throughput' | 'latency' | 'memory';
export type CheckBy = 'absolute' | 'ratio' | 'both';

/** One number of a report that can be compared with the same number of another report. */
export interface ComparableFigure {
  key: string;
  title: string;
  kind: FigureKind;
  better: 'higher' | 'lower';
  value: number;
  /** Pier / baseline in the same run (for latency and memory: baseline / Pier, so higher is better), or null. */
  ratio: number | null;
}

export interface CheckFinding {
  key: string;
  title: string;
  kind: FigureKind;
  measure: 'absolute' | 'ratio';
  stored: number;
  fresh: number;
  /** Relative change in the "better" direction: −0.15 means 15 % worse. */
  change: number;
  regressed: boolean;
}

export interface CheckOptions {
  /** Largest tolerated relative loss, e.g. 0.1 for 10 %. */
  tolerance: number;
  kinds: readonly FigureKind[];
  by: CheckBy;
}

export const DEFAULT_CHECK: CheckOptions = { tolerance: 0.1, kinds: ['throughput'], by: 'both' };

export interface CheckResult {
  findings: CheckFinding[];
  regressions: CheckFinding[];
  /** Keys of the stored report that the fresh run did not measure (e.g. left out by --only). */
  notMeasured: string[];
}

/** The p99 at half the maximum rate: the latency figure the targets name. */
function p99AtHalf(entry: WorkloadEntry, target: string): number | null {
  const point = entry.results[target]?.latency?.find((l) => l.fraction === 0.5);
  return point?.p99Ms ?? null;
}

export function comparableFigures(report: BenchReport): ComparableFigure[] {
  const out: ComparableFigure[] = [];
  for (const w of report.workloads) {
    const rate = w.results.Pier?.rate ?? null;
    if (rate !== null && rate > 0) {
      out.push({
        key: `${w.id}:rate`,
        title: `${w.title} (${w.unit})`,
        kind: 'throughput',
        better: 'higher',
        value: rate,
        ratio: ratioToBaseline(w),
      });
    }
    const p99 = p99AtHalf(w, 'Pier');
    if (p99 !== null && p99 > 0) {
      const base = w.baseline !== null ? p99AtHalf(w, w.baseline) : null;
      out.push({
        key: `${w.id}:p99@50%`,
        title: `${w.title}: p99 ms at 50 % of max`,
        kind: 'latency',
        better: 'lower',
        value: p99,
        ratio: base !== null && base > 0 ? base / p99 : null,
      });
    }
  }
  for (const m of report.memory) {
    const pier = m.results.Pier ?? null;
    if (pier === null || pier <= 0) continue;
    const others = Object.entries(m.results).filter(([name, v]) => name !== 'Pier' && v !== null && v > 0);
    const base = others.length > 0 ? (others[0][1] as number) : null;
    out.push({
      key: `${m.id}:memory`,
      title: `${m.title} (${m.unit})`,
      kind: 'memory',
      better: 'lower',
      value: pier,
      ratio: base !== null ? base / pier : null,
    });
  }
  return out;
}

/** Relative change in the better direction: positive is an improvement. */
function change(stored: number, fresh: number, better: 'higher' | 'lower'): number {
  return better === 'higher' ? fresh / stored - 1 : stored / fresh - 1;
}

export function compareReports(
  stored: BenchReport,
  fresh: BenchReport,
  options: CheckOptions = DEFAULT_CHECK,
): CheckResult {
  const freshByKey = new Map(comparableFigures(fresh).map((f) => [f.key, f]));
  const findings: CheckFinding[] = [];
  const notMeasured: string[] = [];
  for (const old of comparableFigures(stored)) {
    if (!options.kinds.includes(old.kind)) continue;
    const now = freshByKey.get(old.key);
    if (!now) {
      notMeasured.push(old.key);
      continue;
    }
    const base = { key: old.key, title: old.title, kind: old.kind };
    const hasRatio = old.ratio !== null && now.ratio !== null;
    if (options.by === 'both' || options.by === 'absolute' || !hasRatio) {
      const c = change(old.value, now.value, old.better);
      findings.push({
        ...base,
        measure: 'absolute',
        stored: old.value,
        fresh: now.value,
        change: c,
        regressed: c < -options.tolerance,
      });
    }
    if (hasRatio && options.by !== 'absolute') {
      // ratios are oriented so that higher is better
      const c = change(old.ratio as number, now.ratio as number, 'higher');
      findings.push({
        ...base,
        measure: 'ratio',
        stored: old.ratio as number,
        fresh: now.ratio as number,
        change: c,
        regressed: c < -options.tolerance,
      });
    }
  }
  return { findings, regressions: findings.filter((f) => f.regressed), notMeasured };
}

function pct(n: number): string {
  return `${n >= 0 ? '+' : ''}${(n * 100).toFixed(1)} %`;
}

function num(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toString() : n.toFixed(3);
}

/** The text --check prints: every finding, regressions marked, then a verdict line. */
export function checkReportText(result: CheckResult, options: CheckOptions): string {
  const lines = result.findings.map(
    (f) =>
      `${f.regressed ? 'REGRESSED' : 'ok       '} ${f.measure.padEnd(8)} ${pct(f.change).padStart(9)}  ` +
      `${num(f.stored)} -> ${num(f.fresh)}  ${f.title}`,
  );
  if (result.notMeasured.length > 0)
    lines.push(`not measured in this run (skipped): ${result.notMeasured.length} figure(s)`);
  const tol = `${(options.tolerance * 100).toFixed(0)} %`;
  if (result.findings.length === 0)
    lines.push('nothing compared: neither report has a figure the other has (check --only and failed runs)');
  lines.push(
    result.regressions.length === 0
      ? `check passed: no figure regressed by more than ${tol} (${result.findings.length} compared, by ${options.by})`
      : `check FAILED: ${result.regressions.length} figure(s) regressed by more than ${tol} (by ${options.by})`,
  );
  return `${lines.join('\n')}\n`;
}
