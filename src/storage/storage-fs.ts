/**
 * The file-system calls Pier's disk stores make, as one narrow interface. Every store in
 * src/storage reaches the disk through a StorageFs (the committer's `fs`, or an `fs` option), so
 * a test can substitute a simulated file system that loses what a power cut would lose
 * (test/storage/powercut/sim-fs.ts) or fails an fdatasync.
 *
 * The real implementation is node:fs itself, not a wrapper: the hot path makes exactly the calls
 * it made before, with no extra frame or allocation.
 */
import * as fs from 'node:fs';

export interface StorageFs {
  openSync(path: string, flags: string | number, mode?: number): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fstatSync(fd: number): { size: number };
  statSync(path: string): { size: number };
  ftruncateSync(fd: number, len: number): void;
  truncateSync(path: string, len: number): void;
  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  fdatasyncSync(fd: number): void;
  /** fsync of a file, or of a directory opened with 'r' (makes its entries durable). */
  fsyncSync(fd: number): void;
  /** fsyncSync on the libuv pool. */
  fsync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  readFileSync(path: string): Buffer;
  writeFileSync(path: string, data: string | Uint8Array): void;
  existsSync(path: string): boolean;
  readdirSync(path: string): string[];
  mkdirSync(path: string, options: { recursive: true }): unknown;
  rmdirSync(path: string): void;
  rmSync(path: string, options: { recursive?: boolean; force?: boolean }): void;
  renameSync(oldPath: string, newPath: string): void;
  unlinkSync(path: string): void;
  /** unlinkSync on the libuv pool (deleting a big file frees its blocks: milliseconds). */
  unlink(path: string, callback: (err: NodeJS.ErrnoException | null) => void): void;
  readonly constants: { readonly O_RDWR: number; readonly O_CREAT: number; readonly O_EXCL: number };
}

/** The calls of StorageFs (all but `constants`). */
export const STORAGE_FS_CALLS = [
  'openSync',
  'closeSync',
  'readSync',
  'writeSync',
  'fstatSync',
  'statSync',
  'ftruncateSync',
  'truncateSync',
  'fdatasync',
  'fdatasyncSync',
  'fsyncSync',
  'fsync',
  'readFileSync',
  'writeFileSync',
  'existsSync',
  'readdirSync',
  'mkdirSync',
  'rmdirSync',
  'rmSync',
  'renameSync',
  'unlinkSync',
  'unlink',
] as const satisfies ReadonlyArray<Exclude<keyof StorageFs, 'constants'>>;

/** node:fs: the real file system. */
export const nodeFs: StorageFs = fs;
