/**
 * Randomized power-cut runs of every disk store on SimFs (sim-fs.ts).
 *
 * A trial runs a store through generations. In each generation the store is opened on the disk
 * the previous cut left (recovery must not throw and must keep every acknowledged change), a
 * random workload runs, and at random file-system events a crash image is taken together with a
 * snapshot of what had been acknowledged at that instant. Every image is recovered and checked;
 * one of them carries the trial into the next generation, so recovery is also tested on disks
 * that earlier recoveries wrote.
 *
 * "Acknowledged" is what the store promises its caller: the afterDurable callback (or onDurable)
 * fired, or a synchronous durable call (definitions, dedup rewrite) returned.
 */
import { GroupCommitter } from '../../../src/storage/group-commit.js';
import { type CutMode, SimFs, seededRandom } from './sim-fs.js';

export interface CutCase<Model, Snap, Store> {
  readonly name: string;
  /** Opens (recovering) the store; throws are recovery failures. */
  open(fs: SimFs, committer: GroupCommitter): Store;
  /** The model of the state a fresh recovery holds (everything in it is durable). */
  modelFromRecovered(store: Store): Model;
  /** Runs a random workload; `yieldTurns` lets the committer's rounds progress. */
  workload(
    store: Store,
    model: Model,
    committer: GroupCommitter,
    rng: () => number,
    yieldTurns: (n: number) => Promise<void>,
  ): Promise<void>;
  /** What was acknowledged at this instant (copied). */
  snapshot(model: Model): Snap;
  /** Problems in a recovered store compared with the snapshot; empty when all is well. */
  check(store: Store, snap: Snap): string[];
  close(store: Store): void;
}

export interface TrialResult {
  cuts: number;
  failures: string[];
  /** Per cut mode, how many cuts were checked. */
  modes: Record<CutMode, number>;
}

function turns(n: number): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => new Promise<void>((r) => setImmediate(r)));
  return p;
}

/** Runs one trial of `generations` generations, cutting about `cutsPerGeneration` times in each. */
export async function runTrial<M, S, St>(
  kase: CutCase<M, S, St>,
  seed: number,
  generations: number,
  cutsPerGeneration: number,
): Promise<TrialResult> {
  const rng = seededRandom(seed);
  const result: TrialResult = { cuts: 0, failures: [], modes: { drop: 0, torn: 0, reorder: 0 } };
  let disk = new SimFs();
  for (let gen = 0; gen < generations; gen++) {
    const committer = new GroupCommitter({ fsync: 'always', fs: disk, onError: () => {} });
    let store: St;
    try {
      store = kase.open(disk, committer);
    } catch (err) {
      result.failures.push(`${kase.name} seed ${seed} gen ${gen}: recovery threw: ${(err as Error).stack}`);
      return result;
    }
    const model = kase.modelFromRecovered(store);
    // Cut at random events: the rate is tuned so a generation yields about cutsPerGeneration.
    const captured: Array<{ image: SimFs; snap: S; mode: CutMode; event: number }> = [];
    let events = 0;
    const rate = Math.min(1, cutsPerGeneration / 150);
    disk.onEvent = () => {
      events++;
      if (captured.length >= cutsPerGeneration || rng() >= rate) return;
      const mode = (['drop', 'torn', 'reorder'] as const)[Math.floor(rng() * 3)]!;
      captured.push({ image: disk.crashImage(rng, mode), snap: kase.snapshot(model), mode, event: events });
    };
    try {
      await kase.workload(store, model, committer, rng, turns);
    } finally {
      disk.onEvent = undefined;
    }
    kase.close(store);
    // A cut right after the workload's last event too (everything acknowledged must be there).
    captured.push({
      image: disk.crashImage(rng, 'drop'),
      snap: kase.snapshot(model),
      mode: 'drop',
      event: events,
    });
    let next: SimFs | undefined;
    for (const [i, cut] of captured.entries()) {
      const where = `${kase.name} seed ${seed} gen ${gen} cut at event ${cut.event} (${cut.mode})`;
      const rc = new GroupCommitter({ fsync: 'always', fs: cut.image, onError: () => {} });
      let recovered: St;
      try {
        recovered = kase.open(cut.image, rc);
      } catch (err) {
        result.failures.push(`${where}: recovery threw: ${(err as Error).stack}`);
        continue;
      }
      result.cuts++;
      result.modes[cut.mode]++;
      for (const problem of kase.check(recovered, cut.snap)) result.failures.push(`${where}: ${problem}`);
      kase.close(recovered);
      await rc.close().catch(() => {});
      if (next === undefined && (i === captured.length - 1 || rng() < 0.3)) next = cut.image;
    }
    if (result.failures.length > 0) return result;
    disk = next!;
  }
  return result;
}
