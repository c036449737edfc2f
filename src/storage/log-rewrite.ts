/**
 * Replaces a log file with compacted contents, crash-safely: the bytes go to a temporary file in the
 * same directory (synced unless the policy is 'never'), which is renamed over the log (the directory
 * synced too). A crash leaves either the old log or the new one, plus at most a stray temporary
 * file that the next open removes. Throws on failure; the old log is then untouched.
 */
import { dirname } from 'node:path';
import type { FsyncPolicy } from '../core/durability.js';
import { fsyncDir } from './group-commit.js';
import { nodeFs, type StorageFs } from './storage-fs.js';

export function rewriteLog(
  logPath: string,
  tmpPath: string,
  bytes: Buffer,
  policy: FsyncPolicy,
  fs: StorageFs = nodeFs,
): void {
  try {
    const fd = fs.openSync(tmpPath, 'w', 0o644);
    try {
      for (let written = 0; written < bytes.length; )
        written += fs.writeSync(fd, bytes, written, bytes.length - written, written);
      if (policy !== 'never') fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmpPath, logPath);
    if (policy !== 'never') fsyncDir(dirname(logPath), fs);
  } catch (err) {
    fs.rmSync(tmpPath, { force: true });
    throw err;
  }
}
