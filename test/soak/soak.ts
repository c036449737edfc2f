/**
 * `npm run soak` (scripts/soak.mjs) and its CI test: a mixed AMQP + Kafka + SQS workload against a
 * child-process broker (fsync always) that is SIGKILLed at a random moment of each cycle and
 * restarted on the same data directory; every `checkEvery` cycles and at the end everything left is
 * drained and the ledgers (ledger.ts) settle what was lost, duplicated and reordered. `steadyS`
 * runs the same load without kills for that long instead, sampling the broker's RSS.
 */
import { readFileSync, rmSync } from 'node:fs';
import { type ChildBroker, spawnBroker, tempDir } from '../helpers/broker.js';
import { GROUP_TEST_ARGS } from '../helpers/kafka.js';
import { prng } from '../helpers/prng.js';
import { AmqpLoad } from './amqp-load.js';
import { KafkaLoad } from './kafka-load.js';
import type { LedgerSummary } from './ledger.js';
import { pause } from './ledger.js';
import type { ProtocolLoad, SoakAddress } from './soak-types.js';
import { SqsLoad } from './sqs-load.js';

export interface SoakOptions {
  readonly cycles: number;
  readonly seed: number;
  /** The kill comes this long after the restarted broker listens, at random in [min, max]. */
  readonly killMinMs: number;
  readonly killMaxMs: number;
  /** Drain and settle the ledgers every this many cycles (and always at the end). */
  readonly checkEvery: number;
  /** Messages per second per protocol (publishers are paced, so consumers keep up). */
  readonly ratePerSecond: number;
  readonly protocols: readonly ('amqp' | 'kafka' | 'sqs')[];
  /** Seconds of steady load without kills (memory-stability mode); 0: the kill cycles. */
  readonly steadyS: number;
  /**
   * Steady mode: seconds of load before the measured `steadyS` (not sampled for the verdict). 0: the
   * first fifth of `steadyS` (at least 60 s) is the warm-up. Kafka's tail caches (4,096 batches per
   * partition) take ~20 min to fill at 50 records/s, and memory grows until they have.
   */
  readonly warmupS?: number;
  readonly log: (line: string) => void;
}

export const DEFAULT_SOAK_OPTIONS: SoakOptions = {
  cycles: 20,
  seed: 1,
  killMinMs: 300,
  killMaxMs: 2000,
  checkEvery: 50,
  ratePerSecond: 200,
  protocols: ['amqp', 'kafka', 'sqs'],
  steadyS: 0,
  log: (line) => console.log(line),
};

export interface SoakResult {
  readonly cycles: number;
  readonly elapsedMs: number;
  readonly ledgers: LedgerSummary[];
  readonly kafkaCommitRegressions: number;
  /** Steady mode: RSS samples in MiB, and whether after warm-up they stayed within 10%. */
  readonly rss?: {
    samplesMiB: number[];
    warmupSamples: number;
    growthPercent: number;
    peakGrowthPercent: number;
    flat: boolean;
  };
  readonly ok: boolean;
}

const BROKER_ARGS = ['--kafka-port', '0', '--sqs-port', '0', '--fsync', 'always', ...GROUP_TEST_ARGS];

async function startBroker(dataDir: string): Promise<{ broker: ChildBroker; address: SoakAddress }> {
  // spawnBroker gives a start-up 20 s; on a loaded machine a start can take longer: try again.
  let broker: ChildBroker | undefined;
  for (let attempt = 1; !broker; attempt++) {
    try {
      broker = await spawnBroker(dataDir, BROKER_ARGS, ['amqp', 'kafka', 'sqs']);
    } catch (error) {
      if (attempt >= 3 || !/in 20 s/.test((error as Error).message)) throw error;
    }
  }
  const kafka = broker.listeners.get('kafka')!;
  const sqs = broker.listeners.get('sqs')!;
  return {
    broker,
    address: {
      amqpUrl: broker.url,
      kafkaBootstrap: `127.0.0.1:${kafka.port}`,
      sqsEndpoint: `http://127.0.0.1:${sqs.port}`,
    },
  };
}

async function kill(broker: ChildBroker): Promise<void> {
  if (broker.process.exitCode === null && broker.process.signalCode === null) broker.process.kill('SIGKILL');
  await broker.exited;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export async function runSoak(partial: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const options = { ...DEFAULT_SOAK_OPTIONS, ...partial };
  const random = prng(options.seed);
  const rate = options.ratePerSecond;
  const loads: ProtocolLoad[] = [];
  if (options.protocols.includes('amqp')) loads.push(new AmqpLoad(prng(options.seed + 1), rate));
  if (options.protocols.includes('kafka')) loads.push(new KafkaLoad(prng(options.seed + 2), rate));
  if (options.protocols.includes('sqs')) loads.push(new SqsLoad(prng(options.seed + 3), rate));
  const dataDir = tempDir('pier-soak-');
  const startedAt = Date.now();
  let keep = false;
  let cycle = 0;
  let rss: SoakResult['rss'];
  const drainAll = async (why: string) => {
    const { broker, address } = await startBroker(dataDir);
    try {
      for (const load of loads) await load.drain(address);
    } finally {
      await kill(broker);
    }
    const owed = loads.flatMap((l) => l.ledgers()).reduce((n, l) => n + l.lost, 0);
    options.log(`  checked (${why}): lost so far ${owed}`);
  };
  try {
    if (options.steadyS > 0) {
      rss = await steady(options, loads, dataDir);
    } else {
      for (cycle = 1; cycle <= options.cycles; cycle++) {
        const { broker, address } = await startBroker(dataDir);
        const controller = new AbortController();
        const killAfterMs =
          options.killMinMs + Math.floor(random() * (options.killMaxMs - options.killMinMs));
        // The kill comes a random time after every client is connected and running (or gave up).
        const running = loads.map((load) => load.run(address, controller.signal).catch(() => {}));
        await Promise.race([Promise.all(running), pause(15_000, controller.signal)]);
        await pause(killAfterMs, new AbortController().signal);
        await kill(broker);
        controller.abort();
        await Promise.all(running);
        await Promise.all(loads.map((load) => load.close()));
        const ledgers = loads.flatMap((l) => l.ledgers().map((g) => g.summary()));
        const acked = ledgers.map((l) => `${l.name.split(' (')[0]} ${l.acknowledged}`).join(', ');
        options.log(
          `cycle ${cycle}/${options.cycles}: killed ${killAfterMs} ms into the load; acknowledged so far: ${acked}; ` +
            `${((Date.now() - startedAt) / 1000).toFixed(0)} s`,
        );
        if (cycle % options.checkEvery === 0 && cycle < options.cycles)
          await drainAll(`after cycle ${cycle}`);
      }
      cycle = options.cycles;
      await drainAll('end');
    }
    // Clients a cycle's end caught while connecting closed themselves; sweep once more anyway.
    await Promise.all(loads.map((load) => load.close()));
    const ledgers = loads.flatMap((l) => l.ledgers().map((g) => g.summary()));
    const kafka = loads.find((l) => l instanceof KafkaLoad) as KafkaLoad | undefined;
    const forbidden = ledgers.some((l) => l.problems.some((p) => /duplicate|stored twice/.test(p)));
    const ok =
      ledgers.every((l) => l.lost === 0 && l.reordered === 0) &&
      !forbidden &&
      (kafka?.commitRegressions ?? 0) === 0 &&
      (rss?.flat ?? true);
    keep = !ok;
    return {
      cycles: options.steadyS > 0 ? 0 : cycle,
      elapsedMs: Date.now() - startedAt,
      ledgers,
      kafkaCommitRegressions: kafka?.commitRegressions ?? 0,
      rss,
      ok,
    };
  } catch (error) {
    keep = true;
    throw new Error(
      `soak failed in cycle ${cycle}: ${(error as Error).message} (data directory kept: ${dataDir})`,
      {
        cause: error,
      },
    );
  } finally {
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
    else options.log(`data directory kept: ${dataDir}`);
  }
}

/**
 * Steady load for `warmupS` + `steadyS` seconds, RSS sampled every 5 s; without `warmupS` the warm-up
 * is the first fifth (at least 60 s).
 */
async function steady(
  options: SoakOptions,
  loads: ProtocolLoad[],
  dataDir: string,
): Promise<SoakResult['rss']> {
  const { broker, address } = await startBroker(dataDir);
  const controller = new AbortController();
  const samples: number[] = [];
  try {
    await Promise.all(loads.map((load) => load.run(address, controller.signal)));
    const totalS = (options.warmupS ?? 0) + options.steadyS;
    const endAt = Date.now() + totalS * 1000;
    while (Date.now() < endAt) {
      await pause(5000, new AbortController().signal);
      samples.push(rssMiB(broker.process.pid!));
      const owed = loads.flatMap((l) => l.ledgers()).map((l) => l.owedCount);
      options.log(
        `steady ${Math.round((totalS * 1000 - (endAt - Date.now())) / 1000)}/${totalS} s: ` +
          `RSS ${samples.at(-1)!.toFixed(1)} MiB, owed ${owed.join('/')}`,
      );
    }
    controller.abort();
    await Promise.all(loads.map((load) => load.close()));
    for (const load of loads) await load.drain(address);
  } finally {
    controller.abort();
    await kill(broker);
  }
  const warmupSamples = options.warmupS
    ? Math.min(samples.length - 2, Math.round(options.warmupS / 5))
    : Math.min(samples.length - 2, Math.max(12, Math.ceil(samples.length / 5)));
  const after = samples.slice(Math.max(0, warmupSamples));
  const quarter = Math.max(1, Math.floor(after.length / 4));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(after.slice(0, quarter));
  const last = mean(after.slice(-quarter));
  const growthPercent = ((last - first) / first) * 100;
  // V8 resizes its young generation and its memory reducer gives old-space pages back, so RSS swings
  // ±20 MiB around its level with nothing leaking (seen: 102 ↔ 140 MiB within a minute). Flat means
  // the level and the peaks do not grow: the last quarter's mean and maximum within 10% of the first's.
  const peakGrowthPercent =
    ((Math.max(...after.slice(-quarter)) - Math.max(...after.slice(0, quarter))) /
      Math.max(...after.slice(0, quarter))) *
    100;
  return {
    samplesMiB: samples,
    warmupSamples,
    growthPercent,
    peakGrowthPercent,
    flat: growthPercent <= 10 && peakGrowthPercent <= 10,
  };
}

/** The end-of-run table. */
export function formatSoakResult(result: SoakResult): string {
  const head = ['stream', 'acknowledged', 'finished', 'duplicates', 'lost', 'reordered'];
  const rows = result.ledgers.map((l) => [
    l.name,
    String(l.acknowledged),
    String(l.finished),
    String(l.duplicates),
    String(l.lost),
    String(l.reordered),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)];
  out.push(
    `kafka committed offsets found below an acknowledged commit after a restart: ${result.kafkaCommitRegressions}`,
  );
  if (result.rss) {
    const s = result.rss.samplesMiB;
    out.push(
      `RSS: ${s.length} samples, warm-up ${result.rss.warmupSamples}; after warm-up min ${Math.min(...s.slice(result.rss.warmupSamples)).toFixed(1)} MiB, ` +
        `max ${Math.max(...s.slice(result.rss.warmupSamples)).toFixed(1)} MiB, growth first→last quarter ${result.rss.growthPercent.toFixed(1)}% (mean), ${result.rss.peakGrowthPercent.toFixed(1)}% (peak): ${result.rss.flat ? 'flat' : 'NOT FLAT'}`,
    );
  }
  for (const l of result.ledgers) for (const p of l.problems) out.push(`  ${p}`);
  const what = result.rss ? 'steady load (no kills)' : `${result.cycles} SIGKILL cycles`;
  out.push(`${what} in ${(result.elapsedMs / 1000).toFixed(0)} s: ${result.ok ? 'ok' : 'FAILED'}`);
  return out.join('\n');
}
