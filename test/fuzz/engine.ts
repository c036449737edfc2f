/**
 * The mutation fuzzer behind `npm run fuzz` and the CI corpus test: inputs are mutations (stacked
 * byte edits, boundary integers, chunk moves, splices of two corpus entries, and JSON-aware value
 * swaps for JSON decoders) of a corpus that starts from test/fuzz-corpus/<target>/ and grows with
 * every input that reaches an outcome not seen before (a new error message shape or a new kind of
 * accepted input): outcome-guided, not coverage-guided (see RELIABILITY.md for why not jazzer.js).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutateJsonValue } from '../helpers/fuzz-mutations.js';
import { ROOT } from '../helpers/generators.js';
import { prng } from '../helpers/prng.js';
import { FuzzFinding, type FuzzTarget, JSON_TARGETS } from './targets.js';

export const CORPUS_DIR = join(ROOT, 'test', 'fuzz-corpus');
/** Inputs kept in memory per target beyond the corpus files (the oldest new ones are dropped). */
const MAX_GROWN_CORPUS = 4096;
const MAX_INPUT_BYTES = 64 * 1024;
/** Stateful targets are rebuilt this often so a long run's memory stays flat. */
const RESET_EVERY = 5000;

export interface Finding {
  readonly kind: 'exception' | 'slow' | 'hang' | 'crash';
  readonly message: string;
  readonly inputHex: string;
}

export interface FuzzStats {
  readonly target: string;
  inputs: number;
  /** Inputs the decoder accepted. */
  accepted: number;
  /** Inputs refused with the documented error. */
  refused: number;
  readonly findings: Finding[];
  /** Per kind of input (Kafka API, AMQP method), when the target names kinds. */
  readonly kinds: Map<string, number>;
  /** Distinct outcomes seen (the guidance signal). */
  outcomes: number;
  corpusSize: number;
  slowestMs: number;
  elapsedMs: number;
  /** Inputs that reached a new outcome in this run (written with --save-corpus). */
  readonly grown: Buffer[];
}

export interface FuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  /** An input that takes longer than this is a finding ('slow'). */
  readonly budgetMs: number;
  /** Called before each input runs (the worker publishes it for the hang watchdog). */
  readonly beforeInput?: (input: Buffer, index: number) => void;
  readonly onProgress?: (stats: FuzzStats) => void;
  readonly progressEvery?: number;
  /** Stop after this many findings with distinct messages. */
  readonly maxFindings?: number;
}

export function corpusFiles(target: string): Buffer[] {
  const dir = join(CORPUS_DIR, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.bin'))
    .sort()
    .map((name) => readFileSync(join(dir, name)));
}

/** Writes inputs into the target's corpus directory, named by content hash; returns how many were new. */
export function saveCorpus(target: string, inputs: readonly Buffer[]): number {
  const dir = join(CORPUS_DIR, target);
  mkdirSync(dir, { recursive: true });
  let added = 0;
  for (const input of inputs) {
    const path = join(dir, `${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`);
    if (existsSync(path)) continue;
    writeFileSync(path, input);
    added++;
  }
  return added;
}

/** The shape of an outcome: digits, quoted names and hex runs blanked, so messages group. */
function outcomeOf(target: FuzzTarget, input: Buffer, error: unknown, label: string | undefined): string {
  const kind = target.kindOf?.(input) ?? '';
  if (error === undefined) return `${kind} ${(label ?? 'ok').replace(/\d+/g, '#').slice(0, 60)}`;
  const message = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
  return `${kind} ${message
    .replace(/'[^']*'|"[^"]*"|`[^`]*`/g, 'Q')
    .replace(/\d+/g, '#')
    .slice(0, 48)}`;
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff];
const INTERESTING_32 = [0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 4096];

/** One byte-level edit. */
function editBytes(input: Buffer, corpus: readonly Buffer[], rand: () => number): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const at = () => int(input.length);
  if (input.length === 0) return Buffer.from([int(256)]);
  const b = Buffer.from(input);
  switch (int(11)) {
    case 0:
      b[at()]! ^= 1 << int(8);
      return b;
    case 1:
      b[at()] = int(256);
      return b;
    case 2:
      b[at()] = INTERESTING_8[int(INTERESTING_8.length)]!;
      return b;
    case 3: {
      // Lengths and counts are where decoders go wrong: boundary integers, 16 or 32 bits, big-endian.
      const value = INTERESTING_32[int(INTERESTING_32.length)]!;
      const width = rand() < 0.5 ? 2 : 4;
      const pos = int(Math.max(1, b.length - width + 1));
      if (pos + width <= b.length) {
        if (width === 2) b.writeUInt16BE(value & 0xffff, pos);
        else b.writeInt32BE(value | 0, pos);
      }
      return b;
    }
    case 4: {
      const pos = at();
      b[pos] = (b[pos]! + (rand() < 0.5 ? 1 : -1) * (1 + int(16))) & 0xff;
      return b;
    }
    case 5: {
      const from = at();
      return Buffer.concat([b.subarray(0, from), b.subarray(from + 1 + int(16))]);
    }
    case 6: {
      const pos = at();
      const chunk = Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)));
      return Buffer.concat([b.subarray(0, pos), chunk, b.subarray(pos)]);
    }
    case 7: {
      // Duplicate a chunk of the input somewhere else (repeated fields, repeated frames).
      const from = at();
      const chunk = b.subarray(from, from + 1 + int(64));
      const pos = at();
      return Buffer.concat([b.subarray(0, pos), chunk, b.subarray(pos)]);
    }
    case 8:
      return b.subarray(0, at());
    case 9: {
      // Splice: the head of this input, the tail of another.
      const other = corpus[int(corpus.length)]!;
      return Buffer.concat([b.subarray(0, at()), other.subarray(int(other.length))]);
    }
    default: {
      const pos = at();
      const text = Buffer.from(String(INTERESTING_32[int(INTERESTING_32.length)]));
      return Buffer.concat([b.subarray(0, pos), text, b.subarray(pos + int(4))]);
    }
  }
}

/** A JSON-aware edit: replaces one value with one of another type; the SQS JSON input keeps its header line. */
function editJson(input: Buffer, rand: () => number): Buffer | undefined {
  const nl = input[0] === 0x7b ? -1 : input.indexOf(10);
  try {
    const value = JSON.parse(input.toString('utf8', nl + 1));
    const text = JSON.stringify(mutateJsonValue(value, rand));
    return Buffer.concat([input.subarray(0, nl + 1), Buffer.from(text ?? 'null')]);
  } catch {
    return undefined;
  }
}

export function mutate(target: string, input: Buffer, corpus: readonly Buffer[], rand: () => number): Buffer {
  if (rand() < 0.02) {
    return Buffer.from(Array.from({ length: Math.floor(rand() * 128) }, () => Math.floor(rand() * 256)));
  }
  let out = input;
  if (JSON_TARGETS.has(target) && rand() < 0.4) out = editJson(out, rand) ?? out;
  // Mostly one or two edits, sometimes a burst.
  const edits = rand() < 0.5 ? 1 : rand() < 0.7 ? 2 : 3 + Math.floor(rand() * 6);
  for (let i = 0; i < edits; i++) out = editBytes(out, corpus, rand);
  return out.length > MAX_INPUT_BYTES ? out.subarray(0, MAX_INPUT_BYTES) : out;
}

/** Runs `options.inputs` generated inputs through the target; never throws for a finding. */
export async function fuzzTarget(target: FuzzTarget, options: FuzzOptions): Promise<FuzzStats> {
  const rand = prng(options.seed);
  const fromFiles = corpusFiles(target.name);
  const corpus: Buffer[] = fromFiles.length > 0 ? fromFiles : target.seeds();
  const baseSize = corpus.length;
  const seen = new Set<string>();
  const findingMessages = new Set<string>();
  const stats: FuzzStats = {
    target: target.name,
    inputs: 0,
    accepted: 0,
    refused: 0,
    findings: [],
    kinds: new Map(),
    outcomes: 0,
    corpusSize: corpus.length,
    slowestMs: 0,
    elapsedMs: 0,
    grown: [],
  };
  const startedAt = performance.now();
  const progressEvery = options.progressEvery ?? 0;
  target.reset?.();
  for (let i = 0; i < options.inputs; i++) {
    if (target.reset && i > 0 && i % RESET_EVERY === 0) target.reset();
    // The corpus entries themselves go first, then mutations of random entries.
    const input =
      i < baseSize
        ? corpus[i]!
        : mutate(target.name, corpus[Math.floor(rand() * corpus.length)]!, corpus, rand);
    options.beforeInput?.(input, i);
    const kind = target.kindOf?.(input);
    if (kind !== undefined) stats.kinds.set(kind, (stats.kinds.get(kind) ?? 0) + 1);
    const t0 = performance.now();
    let error: unknown;
    let label: string | undefined;
    try {
      const pending = target.run(input);
      label = (pending instanceof Promise ? await pending : pending) || undefined;
    } catch (e) {
      error = e;
    }
    const tookMs = performance.now() - t0;
    stats.inputs++;
    if (tookMs > stats.slowestMs) stats.slowestMs = tookMs;
    const record = (kind: Finding['kind'], message: string) => {
      const key = message.replace(/\d+/g, '#').slice(0, 200);
      if (findingMessages.has(key)) return;
      findingMessages.add(key);
      stats.findings.push({ kind, message, inputHex: input.toString('hex') });
    };
    if (error === undefined) {
      if (label?.startsWith('refused')) stats.refused++;
      else stats.accepted++;
    } else if (!(error instanceof FuzzFinding) && target.isDocumented(error)) stats.refused++;
    else record('exception', error instanceof Error ? (error.stack ?? error.message) : String(error));
    if (tookMs > options.budgetMs)
      record('slow', `input ${i} took ${tookMs.toFixed(0)} ms (budget ${options.budgetMs} ms)`);
    const outcome = outcomeOf(target, input, error, label);
    if (!seen.has(outcome)) {
      seen.add(outcome);
      if (i >= baseSize) {
        corpus.push(input);
        stats.grown.push(input);
        // Keep the grown part bounded: drop the oldest grown entry, never a corpus file.
        if (corpus.length > baseSize + MAX_GROWN_CORPUS) corpus.splice(baseSize, 1);
      }
    }
    if (options.maxFindings !== undefined && stats.findings.length >= options.maxFindings) break;
    if (progressEvery > 0 && (i + 1) % progressEvery === 0) {
      stats.outcomes = seen.size;
      stats.corpusSize = corpus.length;
      stats.elapsedMs = performance.now() - startedAt;
      options.onProgress?.(stats);
    }
  }
  stats.outcomes = seen.size;
  stats.corpusSize = corpus.length;
  stats.elapsedMs = performance.now() - startedAt;
  return stats;
}
