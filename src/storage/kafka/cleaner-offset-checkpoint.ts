/**
 * The log cleaner's progress on disk, as Kafka keeps it: `<log dir>/cleaner-offset-checkpoint`, the
 * first dirty offset (everything below it was cleaned) of each compacted partition, in Kafka's
 * offset-checkpoint text format:
 *
 *   0                      version
 *   2                      number of entries
 *   orders 0 1200          topic, partition, first dirty offset
 *   orders 1 880
 *
 * Each write replaces the whole file crash-safely (log-rewrite.ts: a `.tmp` file written and
 * fdatasync'd, renamed over the checkpoint, the directory fsync'd), so a power cut leaves the old
 * checkpoint or the new one. A missing file means nothing was cleaned yet; an unreadable one (bad
 * version, count or line) is logged and read as empty, so every compacted partition counts as dirty
 * once — the cleaner's work is redone, no data is at risk. (Kafka takes the log directory offline on
 * a malformed checkpoint; Pier has one data directory, so it carries on.) Topic names cannot hold
 * spaces (Kafka's legal characters), so the format needs no quoting.
 */
import { join } from 'node:path';
import type { FsyncPolicy } from '../../core/durability.js';
import { rewriteLog } from '../log-rewrite.js';
import type { StorageFs } from '../storage-fs.js';

export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
const VERSION = 0;

export interface CheckpointEntry {
  readonly topic: string;
  readonly partition: number;
  /** The first dirty offset: offsets below it were cleaned. */
  readonly offset: number;
}

export class CleanerOffsetCheckpoint {
  readonly path: string;
  private readonly tmpPath: string;

  constructor(
    dir: string,
    private readonly fs: StorageFs,
    private readonly policy: FsyncPolicy,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.path = join(dir, CLEANER_CHECKPOINT_FILE);
    this.tmpPath = `${this.path}.tmp`;
    // A write a crash interrupted before its rename.
    this.fs.rmSync(this.tmpPath, { force: true });
  }

  /** The entries last written; empty when there is no checkpoint or it cannot be read. */
  read(): CheckpointEntry[] {
    if (!this.fs.existsSync(this.path)) return [];
    try {
      return parseCheckpoint(this.fs.readFileSync(this.path).toString('utf8'));
    } catch (err) {
      this.log(
        `kafka log cleaner: ignoring ${this.path} (${(err as Error).message}); every compacted partition is cleaned once again`,
      );
      return [];
    }
  }

  /** Replaces the checkpoint with `entries`, durably (returns once the rename is synced). */
  write(entries: Iterable<CheckpointEntry>): void {
    rewriteLog(this.path, this.tmpPath, Buffer.from(formatCheckpoint(entries)), this.policy, this.fs);
  }
}

export function formatCheckpoint(entries: Iterable<CheckpointEntry>): string {
  const lines = [...entries].map((e) => `${e.topic} ${e.partition} ${e.offset}`);
  return `${VERSION}\n${lines.length}\n${lines.map((l) => `${l}\n`).join('')}`;
}

/** Kafka's CheckpointFile reading rules: version 0, the count, then exactly that many lines. */
export function parseCheckpoint(text: string): CheckpointEntry[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== String(VERSION)) throw new Error(`unrecognized version '${lines[0] ?? ''}'`);
  const count = Number(lines[1]);
  if (lines[1] === undefined || !/^\d+$/.test(lines[1]))
    throw new Error(`malformed entry count '${lines[1] ?? ''}'`);
  if (lines.length - 2 !== count) throw new Error(`expected ${count} entries but found ${lines.length - 2}`);
  return lines.slice(2).map((line) => {
    const match = /^(\S+) (\d+) (\d+)$/.exec(line);
    if (!match) throw new Error(`malformed line '${line}'`);
    return { topic: match[1]!, partition: Number(match[2]), offset: Number(match[3]) };
  });
}
