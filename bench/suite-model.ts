// The shape of bench/results/report.json, written by `npm run bench -- --report` and read by
// `--check` and the BENCHMARKS.md renderer. Plain data: numbers that could not be measured are null.

import type { MachineInfo } from './report.js';

export type Group = 'amqp' | 'kafka' | 'sqs' | 'jobs';
export const GROUPS: readonly Group[] = ['amqp', 'kafka', 'sqs', 'jobs'];

/** Latency of an open-loop run at a fraction of the target's own measured maximum rate. */
export interface LatencyAtLoad {
  fraction: number;
  targetRate: number;
  /** What the run delivered end to end (msgs/s): below targetRate when the broker fell behind. */
  achievedRate: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** One target's figures for one workload. */
export interface TargetFigures {
  /** The maximum sustained rate (end to end), in the workload's unit; null when the run failed. */
  rate: number | null;
  /** Latency at saturation, where the bench measured it. */
  p50Ms?: number | null;
  p99Ms?: number | null;
  brokerCpuPct?: number | null;
  latency?: LatencyAtLoad[];
  error?: string | null;
}

export interface WorkloadEntry {
  /** Stable key across runs, e.g. `amqp.1to1.raw.persistent.1KiB`: --check matches on it. */
  id: string;
  group: Group;
  /** Short label for tables and charts. */
  title: string;
  unit: string;
  /** The target Pier is compared with in the same run (RabbitMQ, or a client's ceiling), if any. */
  baseline: string | null;
  /** Keyed by target name; Pier first. */
  results: Record<string, TargetFigures>;
}

export interface MemoryEntry {
  id: string;
  title: string;
  unit: string;
  results: Record<string, number | null>;
}

export interface Conditions {
  machine: MachineInfo;
  /** os.loadavg() when the run started and ended (1, 5, 15 minutes). */
  loadAverageStart: number[];
  loadAverageEnd: number[];
  /** Measurement window and warm-up of each AMQP run, seconds. */
  durationS: number;
  warmupS: number;
  fsync: string;
  /** RabbitMQ's version when it ran side by side, else null. */
  rabbitmq: string | null;
  /** Wall-clock seconds the whole run took. */
  elapsedS: number;
  notes: string[];
}

export interface BenchReport {
  schema: 1;
  /** ISO time the run started. */
  createdAt: string;
  /** A --quick run: short windows, only fit to prove the machinery and to compare like with like. */
  quick: boolean;
  /** The --only selection, empty for everything. */
  only: string[];
  conditions: Conditions;
  workloads: WorkloadEntry[];
  memory: MemoryEntry[];
}

/** Target names in a stable order: Pier first, then the baselines in order of appearance. */
export function targetNames(entries: readonly { results: Record<string, unknown> }[]): string[] {
  const names: string[] = [];
  for (const e of entries)
    for (const name of Object.keys(e.results)) if (!names.includes(name)) names.push(name);
  return names.sort((a, b) => (a === 'Pier' ? -1 : b === 'Pier' ? 1 : 0));
}

/** Pier's figure divided by the baseline's in the same run, or null. */
export function ratioToBaseline(entry: WorkloadEntry): number | null {
  if (entry.baseline === null) return null;
  const pier = entry.results.Pier?.rate ?? null;
  const base = entry.results[entry.baseline]?.rate ?? null;
  return pier !== null && base !== null && base > 0 ? pier / base : null;
}

/** Rounds numbers for the JSON file (3 significant decimals) and turns NaN/Infinity into null. */
export function toJson(report: BenchReport): string {
  return `${JSON.stringify(
    report,
    (_key, value) => {
      if (typeof value !== 'number') return value;
      if (!Number.isFinite(value)) return null;
      return Math.round(value * 1000) / 1000;
    },
    2,
  )}\n`;
}

/** Parses report.json, refusing files of another shape with a message that says what to do. */
export function parseReport(text: string, source: string): BenchReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${source} is not JSON (${(err as Error).message}): regenerate it with npm run bench -- --report`,
    );
  }
  const r = data as Partial<BenchReport>;
  if (r.schema !== 1 || !Array.isArray(r.workloads) || !Array.isArray(r.memory) || !r.conditions) {
    throw new Error(
      `${source} is not a benchmark report of schema 1: regenerate it with npm run bench -- --report`,
    );
  }
  return r as BenchReport;
}

/** Whether a selection includes an id: --only names groups or prefixes of ids; empty selects all. */
export function selected(only: readonly string[], id: string): boolean {
  return only.length === 0 || only.some((o) => id.startsWith(o));
}

/**
 * `--report --merge`: the stored report with a partial run's figures in place of its own. Entries
 * the partial run selected (its --only) are replaced by what it measured, in their places (new ones
 * after the last entry of their group); everything else and the stored run's conditions stay, and
 * a note says what was measured again, when, and how loaded the machine was.
 */
export function mergeReports(stored: BenchReport, partial: BenchReport): BenchReport {
  if (partial.only.length === 0) return partial;
  if (stored.quick !== partial.quick)
    throw new Error(
      `cannot merge a ${partial.quick ? '--quick' : 'full'} run into a ${stored.quick ? '--quick' : 'full'} report: run alike`,
    );
  const freshById = new Map(partial.workloads.map((w) => [w.id, w]));
  const workloads: WorkloadEntry[] = [];
  for (const old of stored.workloads) {
    if (!selected(partial.only, old.id)) workloads.push(old);
    else if (freshById.has(old.id)) workloads.push(freshById.get(old.id)!);
  }
  for (const fresh of partial.workloads) {
    if (workloads.includes(fresh)) continue;
    const lastOfGroup = workloads.map((w) => w.group).lastIndexOf(fresh.group);
    workloads.splice(lastOfGroup === -1 ? workloads.length : lastOfGroup + 1, 0, fresh);
  }
  const freshMemory = new Map(partial.memory.map((m) => [m.id, m]));
  const memory = stored.memory.map((m) => freshMemory.get(m.id) ?? m);
  for (const m of partial.memory) if (!stored.memory.some((s) => s.id === m.id)) memory.push(m);
  const elapsedS = partial.conditions.elapsedS;
  const took = elapsedS < 90 ? `${Math.round(elapsedS)} s` : `${Math.round(elapsedS / 60)} min`;
  const load = partial.conditions.loadAverageStart.map((v) => v.toFixed(2)).join(' / ');
  const note =
    `${partial.only.join(', ')}: measured again ${partial.createdAt.slice(0, 16).replace('T', ' ')} UTC ` +
    `(load average ${load} at its start, ${took}) and merged into this report (\`--merge\`)`;
  return {
    ...stored,
    conditions: {
      ...stored.conditions,
      notes: [
        ...stored.conditions.notes.filter((n) => !n.startsWith(`${partial.only.join(', ')}: measured again`)),
        note,
        ...partial.conditions.notes,
      ],
    },
    workloads,
    memory,
  };
}
