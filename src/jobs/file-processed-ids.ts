/**
 * A durable ProcessedIdStore in a directory, shared by the worker processes of ONE host (a local
 * filesystem: it relies on link() failing when the name exists and on rename() being atomic, which
 * network filesystems do not all promise). It survives worker crashes and restarts.
 *
 *   <directory>/done/<sha256 of the id>    a completed job (its mtime: when); forgotten after ttlMs
 *   <directory>/claims/<sha256 of the id>  a running job: {"ownerId", "untilMs"} (JSON)
 *   <directory>/tmp/                       files written here first, then linked or renamed in place
 *
 * A claim is taken with link() (only one worker's link succeeds), extended by its owner with an
 * atomic rename, and taken over once expired (its owner died) by renaming it away first, so only
 * one worker of several racing for an expired claim gets it. Completed ids are fsynced before
 * add() resolves. `prune()` deletes expired entries; call it now and then (e.g. hourly).
 */
import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PROCESSED_TTL_MS, type ProcessedIdStore } from './processed-ids.js';

interface Claim {
  readonly ownerId: string;
  readonly untilMs: number;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class FileProcessedIds implements ProcessedIdStore {
  private ready: Promise<unknown> | undefined;

  constructor(
    readonly directory: string,
    private readonly ttlMs = DEFAULT_PROCESSED_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private prepare(): Promise<unknown> {
    this.ready ??= Promise.all(
      ['done', 'claims', 'tmp'].map((sub) => mkdir(join(this.directory, sub), { recursive: true })),
    );
    return this.ready;
  }

  private path(kind: 'done' | 'claims', jobId: string): string {
    return join(this.directory, kind, createHash('sha256').update(jobId).digest('hex'));
  }

  /** Writes `body` to a fresh temporary file (fsynced) and returns its path. */
  private async temporary(body: string): Promise<string> {
    const path = join(this.directory, 'tmp', randomUUID());
    const file = await open(path, 'w');
    try {
      await file.writeFile(body);
      await file.sync();
    } finally {
      await file.close();
    }
    return path;
  }

  async has(jobId: string): Promise<boolean> {
    await this.prepare();
    try {
      return (await stat(this.path('done', jobId))).mtimeMs + this.ttlMs > this.now();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async add(jobId: string): Promise<void> {
    await this.prepare();
    await rename(await this.temporary(jobId), this.path('done', jobId));
    await unlink(this.path('claims', jobId)).catch(() => {});
  }

  private async readClaim(path: string): Promise<Claim | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as Claim;
    } catch (error) {
      if (isMissing(error) || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async claim(jobId: string, ownerId: string, leaseMs: number): Promise<boolean> {
    await this.prepare();
    const path = this.path('claims', jobId);
    const body = JSON.stringify({ ownerId, untilMs: this.now() + leaseMs } satisfies Claim);
    for (let tries = 0; tries < 5; tries++) {
      const temp = await this.temporary(body);
      try {
        await link(temp, path);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await unlink(temp).catch(() => {});
      }
      const held = await this.readClaim(path);
      if (held === undefined) continue; // released meanwhile (or half-written): try again
      if (held.ownerId === ownerId) {
        await rename(await this.temporary(body), path);
        return true;
      }
      if (held.untilMs > this.now()) return false;
      // Expired: move it away; of several workers racing here only one rename finds it.
      const stale = join(this.directory, 'tmp', `stale-${randomUUID()}`);
      try {
        await rename(path, stale);
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      const moved = await this.readClaim(stale);
      if (moved && moved.untilMs > this.now()) {
        // Another worker took it over between our read and our rename: give it back.
        await link(stale, path).catch(() => {});
        await unlink(stale).catch(() => {});
        return false;
      }
      await unlink(stale).catch(() => {});
    }
    return false;
  }

  async release(jobId: string, ownerId: string): Promise<void> {
    await this.prepare();
    const path = this.path('claims', jobId);
    if ((await this.readClaim(path))?.ownerId === ownerId) await unlink(path).catch(() => {});
  }

  /** Deletes completed ids older than ttlMs and expired claims; resolves with how many. */
  async prune(): Promise<number> {
    await this.prepare();
    let removed = 0;
    for (const kind of ['done', 'claims'] as const) {
      const folder = join(this.directory, kind);
      for (const name of await readdir(folder)) {
        const path = join(folder, name);
        try {
          const expired =
            kind === 'done'
              ? (await stat(path)).mtimeMs + this.ttlMs <= this.now()
              : ((await this.readClaim(path))?.untilMs ?? 0) <= this.now();
          if (expired) {
            await unlink(path);
            removed++;
          }
        } catch {}
      }
    }
    return removed;
  }
}
