/**
 * The jobs chaos run: `jobs` jobs added by this process and processed by worker processes
 * (fixtures/chaos-worker.ts) sharing a FileProcessedIds (or a StreamProcessedIds), while the broker (a `pier serve` child on
 * one data directory and port) and the workers are SIGKILLed at random moments and restarted.
 * Some jobs fail their first attempt (retried after a backoff), some always fail (dead-lettered
 * after `attempts`). The oracle is the handlers' side effects: each job must end with exactly one
 * effect file or in the DLQ with its attempts recorded, and none may be missing. Used by
 * chaos.test.ts (small, in CI) and scripts/chaos-jobs.mjs (`npm run chaos:jobs`, 100,000 jobs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type DeadLetter, Queue } from '../../../src/jobs/index.js';
import { type ChildBroker, spawnBroker, tempDir } from '../../helpers/broker.js';

const WORKER = fileURLToPath(new URL('../fixtures/chaos-worker.js', import.meta.url));

export interface ChaosOptions {
  readonly jobs: number;
  readonly workers: number;
  readonly concurrency: number;
  readonly brokerKills: number;
  readonly workerKills: number;
  /** Every job's `attempts` (crashes count as attempts too). */
  readonly attempts: number;
  /** Every `flakyEvery`-th job fails its first attempt; every `poisonEvery`-th always fails. */
  readonly flakyEvery: number;
  readonly poisonEvery: number;
  readonly seed: number;
  /** Gives up when no job finished for this long (a lost job never finishes). */
  readonly stallMs: number;
  /** Extra `pier serve` flags, e.g. ['--fsync', 'always']. */
  readonly brokerArgs?: readonly string[];
  /** The workers' shared processed-id store: FileProcessedIds (default) or StreamProcessedIds. */
  readonly processedIds?: 'file' | 'stream';
  readonly log?: (line: string) => void;
}

export interface ChaosReport {
  readonly jobs: number;
  /** Jobs with their side effect made. */
  readonly completed: number;
  /** Distinct jobs in the DLQ, and how many copies the DLQ holds. */
  readonly deadLettered: number;
  readonly deadLetterCopies: number;
  /** Jobs neither completed nor dead-lettered (must be none). */
  readonly missing: string[];
  /** Jobs both completed and dead-lettered (must be none). */
  readonly completedAndDead: string[];
  /** Dead-lettered jobs that are not poison (crashes used up their attempts) — allowed, reported. */
  readonly deadNotPoison: string[];
  /** Poison jobs that were not dead-lettered (must be none). */
  readonly poisonNotDead: string[];
  /** DLQ copies whose history does not record every attempt (must be none). */
  readonly deadWithoutHistory: string[];
  /** Handler runs that found their job's effect already made (the crash window the store leaves). */
  readonly reruns: number;
  /** Jobs still in the job queue at the end (duplicates not yet skipped). */
  readonly leftInQueue: number;
  readonly brokerKills: number;
  readonly workerKills: number;
  readonly elapsedMs: number;
}

export const jobIdOf = (n: number) => `chaos-${n}`;

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
}

export async function runJobsChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const startedMs = Date.now();
  const rand = random(options.seed);
  const root = tempDir('pier-chaos-');
  const dataDir = join(root, 'data');
  const effectsDir = join(root, 'effects');
  const idsDir = join(root, 'ids');
  for (const dir of [dataDir, effectsDir, idsDir]) mkdirSync(dir, { recursive: true });
  const name = `chaos-${options.seed}`;
  const brokerArgs = [...(options.brokerArgs ?? [])];
  let broker: ChildBroker = await spawnBroker(dataDir, brokerArgs);
  const { port, url } = broker;
  const deadSeen = new Set<string>();
  let reruns = 0;

  const startWorker = (): WorkerProcess => {
    const child = spawn(
      process.execPath,
      [WORKER, url, name, effectsDir, idsDir, String(options.concurrency), options.processedIds ?? 'file'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('dead ')) deadSeen.add(line.slice(5));
      else if (line.startsWith('rerun ')) reruns++;
    });
    return { child, exited };
  };
  const workers = Array.from({ length: options.workers }, startWorker);

  const queue = new Queue<{ n: number; poison?: boolean; flaky?: boolean }>(name, {
    connection: url,
    retryAddForMs: 300_000,
    events: false,
  });
  const isPoison = (n: number) => n % options.poisonEvery === options.poisonEvery - 1;
  const isFlaky = (n: number) => n % options.flakyEvery === 1;
  let added = 0;
  const adding = (async () => {
    const chunk = 1_000;
    for (let from = 0; from < options.jobs; from += chunk) {
      const to = Math.min(options.jobs, from + chunk);
      await queue.addBulk(
        Array.from({ length: to - from }, (_, i) => {
          const n = from + i;
          return {
            name: 'chaos',
            data: { n, ...(isPoison(n) ? { poison: true } : {}), ...(isFlaky(n) ? { flaky: true } : {}) },
            options: {
              jobId: jobIdOf(n),
              attempts: options.attempts,
              backoff: { type: 'fixed' as const, delayMs: 200 },
            },
          };
        }),
      );
      added = to;
    }
  })();
  let addError: unknown;
  adding.catch((error) => {
    addError = error;
  });

  // Kills happen at random points of the run's progress (adds and finished jobs together), so
  // they land while jobs are being added and processed, whatever the machine's speed.
  const kills = [
    ...Array.from({ length: options.brokerKills }, () => ({
      at: 0.05 + rand() * 0.85,
      what: 'broker' as const,
    })),
    ...Array.from({ length: options.workerKills }, () => ({
      at: 0.05 + rand() * 0.85,
      what: 'worker' as const,
    })),
  ].sort((a, b) => a.at - b.at);
  let brokerKills = 0;
  let workerKills = 0;
  let finished = 0;
  let lastProgressMs = Date.now();
  let lastLogMs = 0;
  const countFinished = () => readdirSync(effectsDir).length + deadSeen.size;

  try {
    while (finished < options.jobs) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (addError) throw addError;
      const now = countFinished();
      if (now !== finished) lastProgressMs = Date.now();
      finished = now;
      const progress = (added + finished) / (2 * options.jobs);
      while (kills.length > 0 && kills[0]!.at <= progress) {
        const kill = kills.shift()!;
        if (kill.what === 'broker') {
          broker.process.kill('SIGKILL');
          await broker.exited;
          brokerKills++;
          log(`  SIGKILL broker (${brokerKills}) at ${added} added, ${finished} finished`);
          broker = await spawnBroker(dataDir, [...brokerArgs, '--amqp-port', String(port)]);
        } else {
          const index = Math.floor(rand() * workers.length);
          const victim = workers[index]!;
          victim.child.kill('SIGKILL');
          await victim.exited;
          workerKills++;
          log(
            `  SIGKILL worker ${victim.child.pid} (${workerKills}) at ${added} added, ${finished} finished`,
          );
          workers[index] = startWorker();
        }
        lastProgressMs = Date.now();
      }
      if (Date.now() - lastLogMs >= 5_000) {
        lastLogMs = Date.now();
        log(
          `  ${((Date.now() - startedMs) / 1000).toFixed(0)} s: ${added} added, ${finished} finished ` +
            `(${deadSeen.size} dead-lettered), ${reruns} reruns, kills: broker ${brokerKills}, workers ${workerKills}`,
        );
      }
      if (Date.now() - lastProgressMs > options.stallMs) {
        log(
          `  no job finished for ${options.stallMs} ms: stopping with ${options.jobs - finished} unfinished`,
        );
        break;
      }
    }
    await adding.catch(() => {});
    // The outcome, from the broker and the effects.
    const letters: DeadLetter[] = await queue.deadLetters(Number.POSITIVE_INFINITY);
    const { waiting } = await queue.counts();
    const effects = new Set(readdirSync(effectsDir));
    const dead = new Set(letters.map((letter) => String(letter.id)));
    const missing: string[] = [];
    const completedAndDead: string[] = [];
    const deadNotPoison: string[] = [];
    const poisonNotDead: string[] = [];
    for (let n = 0; n < options.jobs; n++) {
      const id = jobIdOf(n);
      if (!effects.has(id) && !dead.has(id)) missing.push(id);
      if (effects.has(id) && dead.has(id)) completedAndDead.push(id);
      if (dead.has(id) && !isPoison(n)) deadNotPoison.push(id);
      if (isPoison(n) && !dead.has(id)) poisonNotDead.push(id);
    }
    const deadWithoutHistory = letters
      .filter(
        (letter) =>
          letter.reason !== 'attempts-exhausted' ||
          letter.history.length < Math.min(10, options.attempts) ||
          letter.history.some((entry, i) => (entry as { attempt?: number }).attempt !== i + 1),
      )
      .map((letter) => String(letter.id));
    return {
      jobs: options.jobs,
      completed: effects.size,
      deadLettered: dead.size,
      deadLetterCopies: letters.length,
      missing,
      completedAndDead,
      deadNotPoison,
      poisonNotDead,
      deadWithoutHistory,
      reruns,
      leftInQueue: waiting,
      brokerKills,
      workerKills,
      elapsedMs: Date.now() - startedMs,
    };
  } finally {
    log(`  removing ${root} (the effects and processed ids: one file per job)`);
    for (const worker of workers) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    await queue.close().catch(() => {});
    broker.process.kill('SIGKILL');
    await broker.exited;
    rmSync(root, { recursive: true, force: true });
  }
}
