/**
 * One target's fuzz run in a worker thread (scripts/fuzz.mjs starts it): the input about to run is
 * published in shared memory, so the main thread can name the input of a hang or a crash it sees
 * from outside (a synchronous infinite loop cannot report itself).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type FuzzStats, fuzzTarget } from './engine.js';
import { FUZZ_TARGETS } from './targets.js';

export interface FuzzWorkerData {
  readonly target: string;
  readonly inputs: number;
  readonly seed: number;
  readonly budgetMs: number;
  readonly progressEvery: number;
  /** [index of the input running, its length], then the input's bytes. */
  readonly shared: SharedArrayBuffer;
}

export const SHARED_HEADER_BYTES = 8;

export function summarize(stats: FuzzStats) {
  return { ...stats, kinds: Object.fromEntries(stats.kinds), grown: undefined };
}

const data = workerData as FuzzWorkerData;
const target = FUZZ_TARGETS.find((t) => t.name === data.target);
if (!target) throw new Error(`no fuzz target ${data.target}`);
const header = new Int32Array(data.shared, 0, 2);
const bytes = new Uint8Array(data.shared, SHARED_HEADER_BYTES);

const stats = await fuzzTarget(target, {
  inputs: data.inputs,
  seed: data.seed,
  budgetMs: data.budgetMs,
  progressEvery: data.progressEvery,
  maxFindings: 20,
  beforeInput(input, index) {
    const length = Math.min(input.length, bytes.length);
    bytes.set(input.subarray(0, length));
    Atomics.store(header, 1, length);
    Atomics.store(header, 0, index);
  },
  onProgress: (s) => parentPort!.postMessage({ type: 'progress', stats: summarize(s) }),
});
parentPort!.postMessage({ type: 'done', stats: summarize(stats), grown: stats.grown });
