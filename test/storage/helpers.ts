import { cpSync, fdatasync, fdatasyncSync, mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '../../src/core/message.js';
import type { CommitFs } from '../../src/storage/group-commit.js';

/** A fresh temp directory; removed by the returned cleanup. */
export function tempDir(prefix = 'pier-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function makeMessage(body: string | Buffer, persistent = true, routingKey = 'rk'): Message {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    exchange: 'amq.direct',
    routingKey,
    properties: Buffer.from([0x10, 0x00, 0x02]),
    body: b,
    bodySizeBytes: b.length,
    persistent,
    publishedAtMs: 1_700_000_000_123,
    priority: 0,
  };
}

/** Resolves after the current turn's setImmediate callbacks have run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A CommitFs that copies `liveDir` into `<dir>/snapshot-N` after every write syscall while
 * `recording` is set: each copy is a state a kill -9 could leave behind.
 */
export function snapshottingFs(dir: string, liveDir: string) {
  const snapshots: string[] = [];
  const control = { recording: true, snapshots };
  const fs: CommitFs = {
    writeSync: (fd, buffer, offset, length, position) => {
      const written = writeSync(fd, buffer, offset, length, position);
      if (control.recording) {
        const copy = join(dir, `snapshot-${snapshots.length}`);
        cpSync(liveDir, copy, { recursive: true });
        snapshots.push(copy);
      }
      return written;
    },
    fdatasync: (fd, callback) => fdatasync(fd, callback),
    fdatasyncSync: (fd) => fdatasyncSync(fd),
  };
  return Object.assign(control, { fs });
}
