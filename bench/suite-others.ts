// The report's Kafka and SQS parts: the existing kafka and sqs benches, run as child processes with
// --json, their figures turned into report entries.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopOnInterrupt } from './interrupt.js';
import type { JobsRunKind } from './jobs-bench.js';
import type { LatencyAtLoad, WorkloadEntry } from './suite-model.js';

/** Runs dist/bench/<script> with args; resolves with its parsed JSON stdout. */
function runBenchJson(script: string, args: string[], log: (line: string) => void): Promise<unknown> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The child stops the brokers it started when it gets SIGTERM (interrupt.ts).
    const childExited = new Promise<void>((resolveExit) => child.once('close', () => resolveExit()));
    const unregister = stopOnInterrupt(() => {
      child.kill('SIGTERM');
      return childExited;
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderrTail = (stderrTail + c).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      unregister();
      if (code !== 0) {
        reject(
          new Error(
            `${script} ${args.join(' ')} exited with ${code}: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch (err) {
        reject(new Error(`${script} printed no JSON (${(err as Error).message})`));
      }
    });
    log(`  ${script} ${args.join(' ')} (pid ${child.pid})`);
  });
}

interface KafkaBenchJson {
  phases: { phase: string; recordsPerS: number; brokerCpuPct: number | null }[];
}

/**
 * kcat producing (acks=all) and consuming `records` 100-byte records: one partition with a plain
 * consumer, then 12 partitions read by 3 consumer groups at once (records/s over all groups).
 */
export async function kafkaEntries(records: number, log: (line: string) => void): Promise<WorkloadEntry[]> {
  const runs = [
    { partitions: 1, groups: 0, consume: 'consume' },
    { partitions: 12, groups: 3, consume: 'consume, 3 groups' },
  ];
  const entries: WorkloadEntry[] = [];
  for (const run of runs) {
    const part = `${run.partitions} partition${run.partitions > 1 ? 's' : ''}`;
    const phases = [
      {
        name: 'produce',
        id: `kafka.produce.${run.partitions}p.100B`,
        title: `kcat produce (acks=all), ${part}`,
      },
      {
        name: 'consume',
        id: `kafka.consume.${run.partitions}p${run.groups > 0 ? `.${run.groups}groups` : ''}.100B`,
        title: `kcat ${run.consume}, ${part}`,
      },
    ];
    let out: KafkaBenchJson | null = null;
    let error: string | null = null;
    try {
      out = (await runBenchJson(
        './kafka-bench.js',
        [
          '--records',
          String(records),
          '--warmup',
          String(Math.min(200_000, records)),
          '--disk-test-mib',
          '0',
          '--partitions',
          String(run.partitions),
          '--groups',
          String(run.groups),
        ],
        log,
      )) as KafkaBenchJson;
    } catch (err) {
      error = (err as Error).message;
      log(`  kafka: FAILED: ${error}`);
    }
    for (const ph of phases) {
      const figures = out?.phases.find((p) => p.phase === ph.name);
      entries.push({
        id: ph.id,
        group: 'kafka',
        title: ph.title,
        unit: 'records/s',
        baseline: null,
        results: {
          Pier: figures
            ? { rate: figures.recordsPerS, brokerCpuPct: figures.brokerCpuPct }
            : { rate: null, error: error ?? `no ${ph.name} phase in the output` },
        },
      });
    }
  }
  return entries;
}

interface RawProduceJson {
  recordsPerS: number;
  brokerCpuPct: number;
  latencies: {
    fraction: number;
    targetRecordsPerS: number;
    recordsPerS: number;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    maxMs: number;
  }[];
}

/** The fractions of each maximum the latency runs use, as for AMQP. */
const LATENCY_FRACTIONS = [0.25, 0.5, 0.9];

interface RawConsumeJson {
  rounds: { recordsPerS: number; brokerCpuS: number }[];
  records: number;
}

/**
 * Pier with clients that are not the limit (kcat is, above ~0.5M records/s consumed): the raw
 * pipelined producer (acks=all, fsync always) on 1 and 12 partitions, then open loop at 25, 50 and
 * 90 % of the rate it reached for `latencySeconds` each (latency from each request's due time to its
 * acks=all answer); and the raw Fetch consumer on 1 and 1,000 partitions (the median of 3 passes).
 */
export async function kafkaRawEntries(
  records: number,
  latencySeconds: number,
  log: (line: string) => void,
): Promise<WorkloadEntry[]> {
  const entries: WorkloadEntry[] = [];
  const entry = (
    id: string,
    title: string,
    run: () => Promise<{ rate: number; brokerCpuPct: number | null; latency?: LatencyAtLoad[] }>,
  ): Promise<WorkloadEntry> =>
    run().then(
      (figures): WorkloadEntry => ({
        id,
        group: 'kafka',
        title,
        unit: 'records/s',
        baseline: null,
        results: { Pier: figures },
      }),
      (err: Error): WorkloadEntry => {
        log(`  kafka: FAILED: ${err.message}`);
        return {
          id,
          group: 'kafka',
          title,
          unit: 'records/s',
          baseline: null,
          results: { Pier: { rate: null, error: err.message } },
        };
      },
    );
  for (const partitions of [1, 12]) {
    const part = `${partitions} partition${partitions > 1 ? 's' : ''}`;
    entries.push(
      await entry(`kafka.raw-produce.${partitions}p.100B`, `raw producer (acks=all), ${part}`, async () => {
        const out = (await runBenchJson(
          './kafka-produce-bench.js',
          [
            '--records',
            String(records),
            '--warmup',
            String(Math.min(200_000, records)),
            '--partitions',
            String(partitions),
            '--latency-at',
            LATENCY_FRACTIONS.join(','),
            '--latency-seconds',
            String(latencySeconds),
          ],
          log,
        )) as RawProduceJson;
        const latency = out.latencies.map(
          (l): LatencyAtLoad => ({
            fraction: l.fraction,
            targetRate: l.targetRecordsPerS,
            achievedRate: l.recordsPerS,
            p50Ms: l.p50Ms,
            p90Ms: l.p90Ms,
            p99Ms: l.p99Ms,
            maxMs: l.maxMs,
          }),
        );
        return { rate: out.recordsPerS, brokerCpuPct: out.brokerCpuPct, latency };
      }),
    );
  }
  for (const partitions of [1, 1000]) {
    const part = `${partitions.toLocaleString('en-US')} partition${partitions > 1 ? 's' : ''}`;
    entries.push(
      await entry(`kafka.raw-consume.${partitions}p.100B`, `raw Fetch consumer, ${part}`, async () => {
        const out = (await runBenchJson(
          './kafka-consume-bench.js',
          ['--records', String(records), '--partitions', String(partitions), '--rounds', '3'],
          log,
        )) as RawConsumeJson;
        const sorted = [...out.rounds].sort((a, b) => a.recordsPerS - b.recordsPerS);
        const median = sorted[Math.floor(sorted.length / 2)]!;
        const seconds = out.records / median.recordsPerS;
        return { rate: median.recordsPerS, brokerCpuPct: (median.brokerCpuS / seconds) * 100 };
      }),
    );
  }
  return entries;
}

interface SqsBenchJson {
  rows: {
    client: string;
    target: string;
    queueType: 'standard' | 'fifo';
    concurrency: number;
    messagesPerS: number;
    serverCpuPct: number | null;
  }[];
}

/**
 * SQS standard and FIFO queues end to end (send batch, receive, delete batch), with the AWS SDK and
 * with the bench's own generator, each against Pier and against a do-nothing stub: the stub's figure
 * is the client's ceiling, the baseline Pier is compared with.
 */
export async function sqsEntries(
  durationS: number,
  warmupS: number,
  log: (line: string) => void,
): Promise<WorkloadEntry[]> {
  const cases = (['standard', 'fifo'] as const).flatMap((queueType) =>
    [
      { client: '@aws-sdk/client-sqs', id: 'sdk', title: '@aws-sdk/client-sqs' },
      { client: 'sqs-load', id: 'load', title: 'own generator' },
    ].map((c) => ({
      ...c,
      queueType,
      entryId: `sqs.${queueType}.${c.id}.64`,
      entryTitle: `${queueType === 'fifo' ? 'FIFO' : 'standard'} queues, ${c.title}, 64 workers, 100 B`,
    })),
  );
  const base = { group: 'sqs' as const, unit: 'msgs/s', baseline: 'stub' };
  try {
    const out = (await runBenchJson(
      './sqs-bench.js',
      [
        '--duration',
        String(durationS),
        '--warmup',
        String(warmupS),
        '--workers',
        '64',
        '--lanes',
        '64',
        '--queue-type',
        'standard,fifo',
      ],
      log,
    )) as SqsBenchJson;
    return cases.map((c) => {
      const rows = out.rows.filter((r) => r.client === c.client && r.queueType === c.queueType);
      const pier = rows.find((r) => r.target !== 'stub');
      const stub = rows.find((r) => r.target === 'stub');
      return {
        ...base,
        id: c.entryId,
        title: c.entryTitle,
        results: {
          Pier: { rate: pier?.messagesPerS ?? null, brokerCpuPct: pier?.serverCpuPct ?? null },
          stub: { rate: stub?.messagesPerS ?? null, brokerCpuPct: stub?.serverCpuPct ?? null },
        },
      };
    });
  } catch (err) {
    const error = (err as Error).message;
    log(`  sqs: FAILED: ${error}`);
    return cases.map((c) => ({
      ...base,
      id: c.entryId,
      title: c.entryTitle,
      results: { Pier: { rate: null, error } },
    }));
  }
}

export interface JobsBenchJson {
  jobs: number;
  concurrency: number;
  rows: { kind: JobsRunKind; name: string; addedPerS: number; processedPerS: number }[];
}

/** The jobs bench's rows the report shows, by the kind of run, and their report target. */
const JOBS_TARGETS: ReadonlyArray<{ kind: JobsRunKind; target: string }> = [
  { kind: 'pier-jobs', target: 'Pier' },
  { kind: 'bullmq-durable', target: 'BullMQ, appendfsync always' },
  { kind: 'bullmq-no-persistence', target: 'BullMQ, no persistence' },
  { kind: 'amqplib', target: 'amqplib on Pier' },
];

const JOBS_BASE = { group: 'jobs' as const, unit: 'jobs/s', baseline: 'BullMQ, appendfsync always' };

function jobsPhases(jobs: number) {
  return [
    {
      id: 'jobs.add.100B',
      title: `add ${jobs.toLocaleString('en-US')} jobs (addBulk), 100 B`,
      key: 'addedPerS',
    },
    { id: 'jobs.process.100B', title: 'process them, one worker, concurrency 100', key: 'processedPerS' },
  ] as const;
}

/** The report's jobs entries from jobs-bench.js's JSON (missing rows are runs that did not happen). */
export function jobsEntriesOf(out: JobsBenchJson): WorkloadEntry[] {
  return jobsPhases(out.jobs).map((phase) => {
    const results: WorkloadEntry['results'] = {};
    for (const { kind, target } of JOBS_TARGETS) {
      const found = out.rows.find((r) => r.kind === kind);
      results[target] = found ? { rate: found[phase.key] } : { rate: null, error: 'not run' };
    }
    return { ...JOBS_BASE, id: phase.id, title: phase.title, results };
  });
}

/**
 * The jobs library (piermq/jobs on Pier, fsync always) against BullMQ on Debian's redis-server,
 * durable (appendfsync always: the like-for-like baseline) and not, in one run of jobs-bench.js:
 * `jobs` 100-byte jobs added with addBulk, then processed by one worker of concurrency 100 with a
 * no-op handler; each the median of 3 rounds. Plain amqplib on the same Pier (persistent publishes
 * with confirms, manual acks) shows what the library's bookkeeping costs.
 */
export async function jobsEntries(jobs: number, log: (line: string) => void): Promise<WorkloadEntry[]> {
  try {
    const out = (await runBenchJson(
      './jobs-bench.js',
      ['--jobs', String(jobs), '--concurrency', '100', '--size', '100', '--rounds', '3'],
      log,
    )) as JobsBenchJson;
    return jobsEntriesOf(out);
  } catch (err) {
    const error = (err as Error).message;
    log(`  jobs: FAILED: ${error}`);
    return jobsPhases(jobs).map((phase) => ({
      ...JOBS_BASE,
      id: phase.id,
      title: phase.title,
      results: { Pier: { rate: null, error } },
    }));
  }
}
