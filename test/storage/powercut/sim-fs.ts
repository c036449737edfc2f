/**
 * An in-memory file system with the durability rules of a real disk, for power-cut tests.
 *
 * It keeps two views of every file and directory: what the running process sees (every write,
 * create, rename and unlink at once) and what is on the platters. A file's data reaches the
 * durable view only through fdatasync/fsync of that file; a directory entry (create, rename,
 * unlink, mkdir, rmdir) only through an fsync of the directory it lives in — as POSIX promises and
 * no more (ext4 and XFS often persist more; a store that relies on that is caught here).
 *
 * crashImage(rng) returns the disk a power cut at this instant leaves: the durable view plus some
 * of what was pending, chosen as the kernel might have written it back:
 *   - 'drop':    nothing pending survives;
 *   - 'torn':    per file, a prefix of its pending writes survives, the last one cut at a random byte;
 *   - 'reorder': per file, any subset of its pending writes survives, each possibly torn;
 *   directory changes: a random prefix (in order, as a journal commits them) of the pending ones.
 * Recovery then runs the real store code on a new SimFs holding that image.
 *
 * failNextSync() makes the next fdatasync/fsync fail with EIO and, as Linux does after a failed
 * writeback (fsyncgate), forget the pending data for good: a retried fsync "succeeds" without it.
 */
import { constants as fsConstants } from 'node:fs';
import type { StorageFs } from '../../../src/storage/storage-fs.js';

type DataOp = { kind: 'write'; pos: number; bytes: Buffer } | { kind: 'truncate'; len: number };

class Inode {
  /** Volatile contents (files). */
  data: Buffer = Buffer.alloc(0);
  size = 0;
  /** Durable contents (files). */
  durable: Buffer = Buffer.alloc(0);
  durableSize = 0;
  /** Data changes since the last sync, in order. */
  pending: DataOp[] = [];
  /** Volatile and durable entries (directories). */
  entries = new Map<string, Inode>();
  durableEntries = new Map<string, Inode>();
  constructor(
    readonly ino: number,
    readonly kind: 'file' | 'dir',
  ) {}
}

/** One directory entry change; a rename is two of them, applied together. */
interface EntryChange {
  dir: Inode;
  name: string;
  target: Inode | undefined;
}

export type CutMode = 'drop' | 'torn' | 'reorder';

export interface SimFsCounters {
  writes: number;
  syncs: number;
  dirSyncs: number;
  renames: number;
  unlinks: number;
  creates: number;
  /** fdatasync/fsync calls on files, failed ones included. */
  syncCalls: number;
}

function fsError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: simulated ${syscall}${path ? ` '${path}'` : ''}`) as NodeJS.ErrnoException;
  err.code = code;
  err.syscall = syscall;
  if (path) err.path = path;
  return err;
}

function applyOp(buf: Buffer, size: number, op: DataOp): { buf: Buffer; size: number } {
  if (op.kind === 'truncate') {
    if (op.len > buf.length) {
      const grown = Buffer.alloc(Math.max(op.len, buf.length * 2));
      buf.copy(grown, 0, 0, size);
      buf = grown;
    } else if (op.len > size) buf.fill(0, size, op.len);
    return { buf, size: op.len };
  }
  const end = op.pos + op.bytes.length;
  if (end > buf.length) {
    const grown = Buffer.alloc(Math.max(end, buf.length * 2, 256));
    buf.copy(grown, 0, 0, size);
    buf = grown;
  }
  if (op.pos > size) buf.fill(0, size, op.pos);
  op.bytes.copy(buf, op.pos);
  return { buf, size: Math.max(size, end) };
}

export class SimFs implements StorageFs {
  readonly constants = {
    O_RDWR: fsConstants.O_RDWR,
    O_CREAT: fsConstants.O_CREAT,
    O_EXCL: fsConstants.O_EXCL,
  };
  readonly counters: SimFsCounters = {
    writes: 0,
    syncs: 0,
    dirSyncs: 0,
    renames: 0,
    unlinks: 0,
    creates: 0,
    syncCalls: 0,
  };
  /** Called after every recorded event (write, sync, create, rename, unlink, directory sync). */
  onEvent: (() => void) | undefined;
  private root: Inode;
  private nextIno = 2;
  private readonly fds = new Map<number, Inode>();
  private nextFd = 1000;
  /** Directory changes not yet made durable, in order. */
  private pendingEntries: EntryChange[][] = [];
  private failSyncs = 0;
  /**
   * A full disk: 'writes' fails every write (and growing truncate) with ENOSPC, writing nothing;
   * 'syncs' fails every fdatasync/fsync of a file with ENOSPC (delayed allocation finds no space at
   * writeback) and, as after EIO, the pending data is gone. undefined: space is back.
   */
  diskFull: 'writes' | 'syncs' | undefined;
  /**
   * Bytes the disk still takes (undefined: no limit). A write that does not fit writes the prefix
   * that does and returns its length (a short write); the next one fails with ENOSPC.
   */
  spaceLeftBytes: number | undefined;
  /** Creating a file or directory fails with ENOSPC (a full disk has no block for the new entry). */
  createsFail = false;

  constructor(root?: Inode) {
    this.root = root ?? new Inode(1, 'dir');
  }

  /** Every further fdatasync/fsync of a file fails with EIO (`count` of them). */
  failNextSync(count = 1): void {
    this.failSyncs += count;
  }

  // ---- path resolution ----------------------------------------------------------------------

  private parts(path: string): string[] {
    return path.split('/').filter((p) => p !== '' && p !== '.');
  }

  private lookup(path: string): Inode | undefined {
    let node: Inode | undefined = this.root;
    for (const p of this.parts(path)) {
      if (!node || node.kind !== 'dir') return undefined;
      node = node.entries.get(p);
    }
    return node;
  }

  private parentOf(path: string, syscall: string): { dir: Inode; name: string } {
    const parts = this.parts(path);
    const name = parts.pop();
    if (name === undefined) throw fsError('EINVAL', syscall, path);
    const dir = this.lookup(parts.join('/'));
    if (!dir) throw fsError('ENOENT', syscall, path);
    if (dir.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
    return { dir, name };
  }

  private event(): void {
    this.onEvent?.();
  }

  private changeEntries(changes: EntryChange[]): void {
    for (const c of changes) {
      if (c.target) c.dir.entries.set(c.name, c.target);
      else c.dir.entries.delete(c.name);
    }
    this.pendingEntries.push(changes);
  }

  private fileOf(fd: number, syscall: string): Inode {
    const node = this.fds.get(fd);
    if (!node) throw fsError('EBADF', syscall);
    return node;
  }

  // ---- StorageFs ----------------------------------------------------------------------------

  openSync(path: string, flags: string | number, _mode?: number): number {
    let create = false;
    let excl = false;
    let trunc = false;
    if (typeof flags === 'string') {
      create = flags.startsWith('w') || flags.startsWith('a');
      excl = flags.includes('x');
      trunc = flags.startsWith('w');
    } else {
      create = (flags & fsConstants.O_CREAT) !== 0;
      excl = (flags & fsConstants.O_EXCL) !== 0;
      trunc = (flags & fsConstants.O_TRUNC) !== 0;
    }
    let node = this.lookup(path);
    if (node && excl && create) throw fsError('EEXIST', 'open', path);
    if (!node) {
      if (!create) throw fsError('ENOENT', 'open', path);
      const { dir, name } = this.parentOf(path, 'open');
      if (this.createsFail) throw fsError('ENOSPC', 'open', path);
      node = new Inode(this.nextIno++, 'file');
      this.changeEntries([{ dir, name, target: node }]);
      this.counters.creates++;
      this.event();
    } else if (trunc && node.size > 0) {
      this.truncateInode(node, 0);
    }
    const fd = this.nextFd++;
    this.fds.set(fd, node);
    return fd;
  }

  closeSync(fd: number): void {
    if (!this.fds.delete(fd)) throw fsError('EBADF', 'close');
  }

  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const node = this.fileOf(fd, 'read');
    if (node.kind !== 'file') throw fsError('EISDIR', 'read');
    if (position >= node.size) return 0;
    const n = Math.min(length, node.size - position);
    buffer.set(node.data.subarray(position, position + n), offset);
    return n;
  }

  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const node = this.fileOf(fd, 'write');
    if (this.diskFull === 'writes' && length > 0) throw fsError('ENOSPC', 'write');
    if (this.spaceLeftBytes !== undefined && length > 0) {
      if (this.spaceLeftBytes === 0) throw fsError('ENOSPC', 'write');
      length = Math.min(length, this.spaceLeftBytes);
      this.spaceLeftBytes -= length;
    }
    const bytes = Buffer.from(buffer.subarray(offset, offset + length));
    const op: DataOp = { kind: 'write', pos: position, bytes };
    ({ buf: node.data, size: node.size } = applyOp(node.data, node.size, op));
    node.pending.push(op);
    this.counters.writes++;
    this.event();
    return length;
  }

  private truncateInode(node: Inode, len: number): void {
    if (this.diskFull === 'writes' && len > node.size) throw fsError('ENOSPC', 'ftruncate');
    const op: DataOp = { kind: 'truncate', len };
    ({ buf: node.data, size: node.size } = applyOp(node.data, node.size, op));
    node.pending.push(op);
    this.counters.writes++;
    this.event();
  }

  fstatSync(fd: number): { size: number } {
    return { size: this.fileOf(fd, 'fstat').size };
  }

  statSync(path: string): { size: number } {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'stat', path);
    return { size: node.size };
  }

  ftruncateSync(fd: number, len: number): void {
    this.truncateInode(this.fileOf(fd, 'ftruncate'), len);
  }

  truncateSync(path: string, len: number): void {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'truncate', path);
    this.truncateInode(node, len);
  }

  /** Makes a file's pending data durable (or, when failing, loses it for good). */
  private syncData(node: Inode, upTo: number): void {
    const ops = node.pending.splice(0, upTo);
    this.counters.syncCalls++;
    if (this.failSyncs > 0) {
      this.failSyncs--;
      throw fsError('EIO', 'fdatasync');
    }
    if (this.diskFull === 'syncs' && ops.length > 0) throw fsError('ENOSPC', 'fdatasync');
    for (const op of ops)
      ({ buf: node.durable, size: node.durableSize } = applyOp(node.durable, node.durableSize, op));
    this.counters.syncs++;
    this.event();
  }

  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void {
    let node: Inode;
    try {
      node = this.fileOf(fd, 'fdatasync');
    } catch (err) {
      setImmediate(() => callback(err as NodeJS.ErrnoException));
      return;
    }
    // The sync covers what was written before the call; it completes later, as on the libuv pool.
    const upTo = node.pending.length;
    setImmediate(() => {
      try {
        this.syncData(node, Math.min(upTo, node.pending.length));
        callback(null);
      } catch (err) {
        callback(err as NodeJS.ErrnoException);
      }
    });
  }

  fdatasyncSync(fd: number): void {
    const node = this.fileOf(fd, 'fdatasync');
    this.syncData(node, node.pending.length);
  }

  fsyncSync(fd: number): void {
    const node = this.fileOf(fd, 'fsync');
    if (node.kind === 'file') {
      this.syncData(node, node.pending.length);
      return;
    }
    this.syncEntries(node, () => true);
  }

  fsync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void {
    const node = this.fds.get(fd);
    // A file's fsync is its fdatasync here (metadata is not modelled); so is a bad fd's error.
    if (node?.kind !== 'dir') {
      this.fdatasync(fd, callback);
      return;
    }
    // Like fdatasync: the sync covers the entry changes made before the call, and completes later.
    const before = new Set(this.pendingEntries.flat());
    setImmediate(() => {
      this.syncEntries(node, (c) => before.has(c));
      callback(null);
    });
  }

  /** A directory's fsync: its entry changes that `covered` accepts become durable. */
  private syncEntries(dir: Inode, covered: (change: EntryChange) => boolean): void {
    // The halves of cross-directory renames too: each half is its own change.
    const kept: EntryChange[][] = [];
    for (const changes of this.pendingEntries) {
      const rest: EntryChange[] = [];
      for (const c of changes) {
        if (c.dir !== dir || !covered(c)) rest.push(c);
        else if (c.target) dir.durableEntries.set(c.name, c.target);
        else dir.durableEntries.delete(c.name);
      }
      if (rest.length > 0) kept.push(rest);
    }
    this.pendingEntries = kept;
    this.counters.dirSyncs++;
    this.event();
  }

  readFileSync(path: string): Buffer {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'open', path);
    if (node.kind !== 'file') throw fsError('EISDIR', 'read', path);
    return Buffer.from(node.data.subarray(0, node.size));
  }

  writeFileSync(path: string, data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const fd = this.openSync(path, 'w');
    try {
      if (bytes.length > 0) this.writeSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      this.closeSync(fd);
    }
  }

  existsSync(path: string): boolean {
    return this.lookup(path) !== undefined;
  }

  readdirSync(path: string): string[] {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'scandir', path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
    return [...node.entries.keys()].sort();
  }

  mkdirSync(path: string, _options: { recursive: true }): unknown {
    let node = this.root;
    for (const p of this.parts(path)) {
      let next = node.entries.get(p);
      if (!next) {
        if (this.createsFail) throw fsError('ENOSPC', 'mkdir', path);
        next = new Inode(this.nextIno++, 'dir');
        this.changeEntries([{ dir: node, name: p, target: next }]);
        this.counters.creates++;
        this.event();
      } else if (next.kind !== 'dir') throw fsError('ENOTDIR', 'mkdir', path);
      node = next;
    }
    return undefined;
  }

  rmdirSync(path: string): void {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'rmdir', path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'rmdir', path);
    if (node.entries.size > 0) throw fsError('ENOTEMPTY', 'rmdir', path);
    const { dir, name } = this.parentOf(path, 'rmdir');
    this.changeEntries([{ dir, name, target: undefined }]);
    this.counters.unlinks++;
    this.event();
  }

  rmSync(path: string, options: { recursive?: boolean; force?: boolean }): void {
    const node = this.lookup(path);
    if (!node) {
      if (options.force) return;
      throw fsError('ENOENT', 'rm', path);
    }
    if (node.kind === 'dir') {
      if (!options.recursive) throw fsError('EISDIR', 'rm', path);
      for (const name of [...node.entries.keys()]) this.rmSync(`${path}/${name}`, options);
      this.rmdirSync(path);
      return;
    }
    this.unlinkSync(path);
  }

  renameSync(oldPath: string, newPath: string): void {
    const node = this.lookup(oldPath);
    if (!node) throw fsError('ENOENT', 'rename', oldPath);
    const from = this.parentOf(oldPath, 'rename');
    const to = this.parentOf(newPath, 'rename');
    this.changeEntries([
      { dir: from.dir, name: from.name, target: undefined },
      { dir: to.dir, name: to.name, target: node },
    ]);
    this.counters.renames++;
    this.event();
  }

  unlink(path: string, callback: (err: NodeJS.ErrnoException | null) => void): void {
    setImmediate(() => {
      try {
        this.unlinkSync(path);
        callback(null);
      } catch (err) {
        callback(err as NodeJS.ErrnoException);
      }
    });
  }

  unlinkSync(path: string): void {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'unlink', path);
    if (node.kind === 'dir') throw fsError('EISDIR', 'unlink', path);
    const { dir, name } = this.parentOf(path, 'unlink');
    this.changeEntries([{ dir, name, target: undefined }]);
    this.counters.unlinks++;
    this.event();
  }

  // ---- power cut ----------------------------------------------------------------------------

  /**
   * The disk a power cut at this instant leaves, as a fresh SimFs (no open files). `rng` returns
   * numbers in [0, 1); `mode` picks how much of the pending data survives (random if omitted).
   */
  crashImage(rng: () => number, mode?: CutMode): SimFs {
    const cutMode: CutMode = mode ?? (['drop', 'torn', 'reorder'] as const)[Math.floor(rng() * 3)]!;
    // Directory changes: the durable entries plus a prefix of the pending changes, in order.
    const keepEntries = cutMode === 'drop' ? 0 : Math.floor(rng() * (this.pendingEntries.length + 1));
    const entriesOf = new Map<Inode, Map<string, Inode>>();
    const durableEntries = (dir: Inode): Map<string, Inode> => {
      let m = entriesOf.get(dir);
      if (!m) {
        m = new Map(dir.durableEntries);
        entriesOf.set(dir, m);
      }
      return m;
    };
    for (let i = 0; i < keepEntries; i++) {
      for (const c of this.pendingEntries[i]!) {
        const m = durableEntries(c.dir);
        if (c.target) m.set(c.name, c.target);
        else m.delete(c.name);
      }
    }
    // Rebuild the tree reachable through the surviving entries.
    const copies = new Map<Inode, Inode>();
    const copy = (node: Inode): Inode => {
      const existing = copies.get(node);
      if (existing) return existing;
      const out = new Inode(node.ino, node.kind);
      copies.set(node, out);
      if (node.kind === 'dir') {
        for (const [name, child] of durableEntries(node)) {
          const c = copy(child);
          out.entries.set(name, c);
          out.durableEntries.set(name, c);
        }
      } else {
        let buf: Buffer = Buffer.from(node.durable.subarray(0, node.durableSize));
        let size = node.durableSize;
        for (const op of this.survivingOps(node.pending, cutMode, rng))
          ({ buf, size } = applyOp(buf, size, op));
        out.data = buf;
        out.size = size;
        out.durable = Buffer.from(buf.subarray(0, size));
        out.durableSize = size;
      }
      return out;
    };
    const image = new SimFs(copy(this.root));
    image.nextIno = this.nextIno;
    return image;
  }

  private survivingOps(pending: DataOp[], mode: CutMode, rng: () => number): DataOp[] {
    if (mode === 'drop' || pending.length === 0) return [];
    if (mode === 'torn') {
      const n = Math.floor(rng() * (pending.length + 1));
      const ops = pending.slice(0, n);
      const last = ops[n - 1];
      if (last?.kind === 'write' && rng() < 0.5)
        ops[n - 1] = {
          kind: 'write',
          pos: last.pos,
          bytes: last.bytes.subarray(0, Math.floor(rng() * last.bytes.length)),
        };
      return ops;
    }
    const ops: DataOp[] = [];
    for (const op of pending) {
      if (rng() < 0.5) continue;
      if (op.kind === 'write' && rng() < 0.25)
        ops.push({
          kind: 'write',
          pos: op.pos,
          bytes: op.bytes.subarray(0, Math.floor(rng() * op.bytes.length)),
        });
      else ops.push(op);
    }
    // Write-back order is the kernel's: shuffle what survives.
    for (let i = ops.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [ops[i], ops[j]] = [ops[j]!, ops[i]!];
    }
    return ops;
  }
}

/** A small seeded PRNG (mulberry32), so a failing cut can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
