/**
 * The power-cut cases, one per disk store: a workload, what it acknowledges, and the check of a
 * recovered store against what was acknowledged at the cut (see harness.ts).
 */
import type { DefinitionKind } from '../../../src/core/definitions.js';
import type { SharePartitionSnapshot } from '../../../src/core/kafka/share-partition.js';
import type {
  AbortedRange,
  StoredTransaction,
  TransactionState,
} from '../../../src/core/kafka/transaction-log.js';
import type { Message } from '../../../src/core/message.js';
import type { SqsMessage } from '../../../src/core/sqs/message.js';
import { DiskDelayStore } from '../../../src/storage/amqp/disk-delay-store.js';
import { DiskQueueStore } from '../../../src/storage/amqp/disk-queue-store.js';
import { DiskDedupStore } from '../../../src/storage/disk-dedup-store.js';
import { DiskDefinitionsStore } from '../../../src/storage/disk-definitions-store.js';
import { type GroupCommitter, mkdirDurable } from '../../../src/storage/group-commit.js';
import {
  CleanerOffsetCheckpoint,
  formatCheckpoint,
} from '../../../src/storage/kafka/cleaner-offset-checkpoint.js';
import { DiskGroupOffsetStore } from '../../../src/storage/kafka/disk-group-offset-store.js';
import { DiskShareStateStore } from '../../../src/storage/kafka/disk-share-state-store.js';
import { DiskTransactionLog } from '../../../src/storage/kafka/disk-transaction-log.js';
import { type DiskSqsMessageStore, DiskSqsStorage } from '../../../src/storage/sqs/disk-sqs-store.js';
import { DiskStreamStore } from '../../../src/storage/stream/disk-stream-store.js';
import type { CutCase } from './harness.js';
import type { SimFs } from './sim-fs.js';

/** A persistent AMQP message with `body`, as the stores under test hold them. */
export function message(body: string): Message {
  const b = Buffer.from(body);
  return {
    exchange: 'x',
    routingKey: 'rk',
    properties: Buffer.from([0x10, 0x00, 0x02]),
    body: b,
    bodySizeBytes: b.length,
    persistent: true,
    publishedAtMs: 1_700_000_000_000,
    priority: 0,
  };
}

const pick = <T>(rng: () => number, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

// ---- a register per key: the value a key may hold after a cut ---------------------------------

/** Writes to one key in issue order; `acked` = index of the newest acknowledged one. */
interface Register {
  ops: Array<string | undefined>;
  acked: number;
}

class RegisterModel {
  readonly keys = new Map<string, Register>();
  constructor(initial: Iterable<[string, string]>) {
    for (const [k, v] of initial) this.keys.set(k, { ops: [v], acked: 0 });
  }
  /** Records a write; returns the function that acknowledges it. */
  write(key: string, value: string | undefined): () => void {
    let reg = this.keys.get(key);
    if (!reg) {
      reg = { ops: [undefined], acked: 0 };
      this.keys.set(key, reg);
    }
    const r = reg;
    const idx = r.ops.push(value) - 1;
    return () => {
      if (idx > r.acked) r.acked = idx;
    };
  }
  current(key: string): string | undefined {
    const reg = this.keys.get(key);
    return reg?.ops[reg.ops.length - 1];
  }
  snapshot(): Map<string, Array<string | undefined>> {
    const out = new Map<string, Array<string | undefined>>();
    for (const [k, r] of this.keys) out.set(k, r.ops.slice(r.acked));
    return out;
  }
  static check(snap: Map<string, Array<string | undefined>>, recovered: Map<string, string>): string[] {
    const problems: string[] = [];
    for (const [k, allowed] of snap) {
      const got = recovered.get(k);
      if (!allowed.includes(got))
        problems.push(
          `key ${k}: recovered ${got ?? '(absent)'}, acknowledged state allows ${allowed.map((v) => v ?? '(absent)').join(' | ')}`,
        );
    }
    for (const k of recovered.keys()) if (!snap.has(k)) problems.push(`key ${k}: never written, recovered`);
    return problems;
  }
}

// ---- AMQP durable queue (queue-log.ts) ------------------------------------------------------------

interface QueueModel {
  firstId: number;
  nextId: number;
  confirmed: Set<number>;
  settled: Set<number>;
}
type QueueSnap = { confirmed: number[]; settled: Set<number> };

export const queueCase: CutCase<QueueModel, QueueSnap, DiskQueueStore> = {
  name: 'amqp queue log',
  open: (fs, committer) => {
    // As Storage.openQueueStore declares a queue: its directory is made without a sync; the queue
    // log syncs the parent before its first segment.
    mkdirDurable('/data/queues', fs, true);
    if (!fs.existsSync('/data/queues/q1')) fs.mkdirSync('/data/queues/q1', { recursive: true });
    return DiskQueueStore.open('/data/queues/q1', committer, { segmentSizeBytes: 600 });
  },
  modelFromRecovered(store) {
    const ids = store.peekMany(1_000_000).map((q) => Number(String(q.message.body).slice(1)));
    if (ids.length !== store.readyCount) throw new Error('peekMany did not return every recovered message');
    // Recovered messages are durable: they count as confirmed.
    return {
      firstId: Math.min(0, ...ids),
      nextId: Math.max(0, ...ids) + 1,
      confirmed: new Set(ids),
      settled: new Set(),
    };
  },
  async workload(store, model, committer, rng, yieldTurns) {
    const steps = 60 + Math.floor(rng() * 60);
    for (let s = 0; s < steps; s++) {
      const r = rng();
      if (r < 0.55) {
        const id = model.nextId++;
        store.push(message(`m${id}`));
        committer.afterDurable(() => model.confirmed.add(id));
      } else if (r < 0.9) {
        const q = store.shift();
        if (q) {
          const id = Number(String(q.message.body).slice(1));
          if (rng() < 0.2) store.markDelivered(q);
          // The consumer's ack is issued before the store acts on it: a cut inside settle() (it
          // may delete a fully acked segment) may keep or drop the message, both are right.
          model.settled.add(id);
          if (rng() < 0.5) store.settle(q);
          else store.settleAfterDurable(q);
        }
      } else if (r < 0.92) {
        // Purge removes every ready message, also those beyond the in-memory window (peekMany
        // would not list them): everything issued so far counts as deleted.
        for (let id = model.firstId; id < model.nextId; id++) model.settled.add(id);
        store.purge();
      }
      if (rng() < 0.3) await yieldTurns(1 + Math.floor(rng() * 3));
    }
    await yieldTurns(6);
  },
  snapshot: (m) => ({ confirmed: [...m.confirmed], settled: new Set(m.settled) }),
  check(store, snap) {
    const problems: string[] = [];
    const ids = drainQueue(store);
    const got = new Set(ids);
    if (got.size !== ids.length) problems.push(`duplicate messages recovered: ${ids.join(',')}`);
    for (let i = 1; i < ids.length; i++)
      if (ids[i]! <= ids[i - 1]!) problems.push(`out of order: ${ids[i - 1]} before ${ids[i]}`);
    for (const id of snap.confirmed)
      if (!snap.settled.has(id) && !got.has(id)) problems.push(`confirmed message m${id} lost`);
    return problems;
  },
  close: (store) => store.close(),
};

/** The ids of the ready messages, in order (shifted, not settled: the store keeps them). */
function drainQueue(store: DiskQueueStore): number[] {
  const ids: number[] = [];
  for (let q = store.shift(); q; q = store.shift()) ids.push(Number(String(q.message.body).slice(1)));
  return ids;
}

// ---- streams and Kafka partitions (disk-stream-store.ts) --------------------------------------------

interface StreamModel {
  confirmedUpTo: number;
}
type StreamSnap = { confirmedUpTo: number };

export const streamCase: CutCase<StreamModel, StreamSnap, DiskStreamStore> = {
  name: 'stream / kafka partition',
  open: (_fs, committer) =>
    DiskStreamStore.open('/data/streams/s1', committer, { segmentSizeBytes: 700, indexIntervalBytes: 128 }),
  modelFromRecovered: (store) => ({ confirmedUpTo: store.nextOffset }),
  async workload(store, model, committer, rng, yieldTurns) {
    const steps = 60 + Math.floor(rng() * 60);
    for (let s = 0; s < steps; s++) {
      const r = rng();
      if (r < 0.8) {
        const offset = store.nextOffset;
        const count = 1 + Math.floor(rng() * 3);
        store.append({
          offset,
          offsetCount: count,
          timestampMs: 1_700_000_000_000 + offset,
          message: undefined,
          payload: Buffer.from(`s${offset}:${'x'.repeat(Math.floor(rng() * 40))}`),
        });
        committer.afterDurable(() => {
          if (offset + count > model.confirmedUpTo) model.confirmedUpTo = offset + count;
        });
      } else if (r < 0.85) {
        store.applyRetention(0, { maxBytes: 1500 });
      } else if (r < 0.88) {
        compactSomeSegment(store, rng);
      } else if (r < 0.9) {
        store.read(store.firstOffset, 5, 10_000);
      }
      if (rng() < 0.3) await yieldTurns(1 + Math.floor(rng() * 3));
    }
    await yieldTurns(6);
  },
  snapshot: (m) => ({ confirmedUpTo: m.confirmedUpTo }),
  check(store, snap) {
    const problems: string[] = [];
    if (store.nextOffset < snap.confirmedUpTo)
      problems.push(
        `nextOffset ${store.nextOffset} < confirmed end ${snap.confirmedUpTo}: acknowledged entries lost`,
      );
    let expected = store.firstOffset;
    for (;;) {
      const entries = store.read(expected, 100, 1_000_000);
      if (entries.length === 0) break;
      for (const e of entries) {
        if (e.offset !== expected) problems.push(`entry at ${e.offset}, expected ${expected}`);
        // Compaction makes an entry cover the offsets of the entries removed before it.
        const held = Number(/^s(\d+):/.exec(e.payload.toString())?.[1]);
        if (!(held >= e.offset && held < e.offset + e.offsetCount))
          problems.push(`entry ${e.offset}+${e.offsetCount} holds ${e.payload}`);
        expected = e.offset + e.offsetCount;
      }
    }
    if (expected !== store.nextOffset)
      problems.push(`read ended at ${expected}, nextOffset ${store.nextOffset}`);
    return problems;
  },
  close: (store) => store.close(),
};

/**
 * What Kafka's log cleaner does to a closed segment: some entries removed, the rest tiled over the
 * segment's offsets (StreamStore.rewriteSegment), through a temp file, fsync and rename.
 */
function compactSomeSegment(store: DiskStreamStore, rng: () => number): void {
  const closed = store.closedSegments();
  if (closed.length === 0) return;
  const seg = pick(rng, closed);
  const entries = store
    .read(seg.baseOffset, 10_000, 1_000_000_000)
    .filter((e) => e.offset < seg.nextOffset)
    .map((e) => ({ ...e, payload: Buffer.from(e.payload) }));
  const kept = entries.filter((_e, i) => i === entries.length - 1 || rng() < 0.5);
  let start = seg.baseOffset;
  const tiled = kept.map((e, i) => {
    const end = i === kept.length - 1 ? seg.nextOffset : e.offset + e.offsetCount;
    const entry = { ...e, offset: start, offsetCount: end - start };
    start = end;
    return entry;
  });
  store.rewriteSegment(seg.baseOffset, tiled);
}

// ---- Kafka group offsets (disk-group-offset-store.ts) ---------------------------------------------

const GROUPS = ['g1', 'g2', 'g3'];
const TOPICS = ['t1', 't2'];

function offsetsOf(store: DiskGroupOffsetStore): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of store.groupIds()) {
    for (const [t, parts] of store.group(g) ?? [])
      for (const [p, c] of parts) out.set(`${g}/${t}/${p}`, String(c.offset));
  }
  return out;
}

export const groupOffsetCase: CutCase<
  RegisterModel,
  Map<string, Array<string | undefined>>,
  DiskGroupOffsetStore
> = {
  name: 'kafka group offsets',
  open: (_fs, committer) => DiskGroupOffsetStore.open('/data/kafka/offsets', committer),
  modelFromRecovered: (store) => new RegisterModel(offsetsOf(store)),
  async workload(store, model, _committer, rng, yieldTurns) {
    const steps = 40 + Math.floor(rng() * 60);
    for (let s = 0; s < steps; s++) {
      const r = rng();
      const g = pick(rng, GROUPS);
      if (r < 0.7) {
        const entries = [];
        const acks: Array<() => void> = [];
        for (const t of TOPICS) {
          if (rng() < 0.4) continue;
          const partition = Math.floor(rng() * 2);
          const offset = Math.floor(rng() * 1000);
          entries.push({ topic: t, partition, offset, leaderEpoch: -1, metadata: 'm', commitTimestampMs: 1 });
          acks.push(model.write(`${g}/${t}/${partition}`, String(offset)));
        }
        if (entries.length > 0)
          store.commit(g, entries, () => {
            for (const a of acks) a();
          });
      } else if (r < 0.8) {
        const acks = [...model.keys.keys()]
          .filter((k) => k.startsWith(`${g}/`) && model.current(k) !== undefined)
          .map((k) => model.write(k, undefined));
        store.deleteGroup(g, () => {
          for (const a of acks) a();
        });
      } else if (r < 0.87) {
        const t = pick(rng, TOPICS);
        const acks = [...model.keys.keys()]
          .filter((k) => k.split('/')[1] === t && model.current(k) !== undefined)
          .map((k) => model.write(k, undefined));
        store.deleteTopic(t, () => {
          for (const a of acks) a();
        });
      } else if (r < 0.93) {
        const t = pick(rng, TOPICS);
        const key = `${g}/${t}/0`;
        const ack = model.current(key) !== undefined ? model.write(key, undefined) : () => {};
        store.deleteOffsets(g, [{ topic: t, partition: 0 }], ack);
      } else {
        store.compact();
      }
      if (rng() < 0.3) await yieldTurns(1 + Math.floor(rng() * 3));
    }
    await yieldTurns(6);
  },
  snapshot: (m) => m.snapshot(),
  check: (store, snap) => RegisterModel.check(snap, offsetsOf(store)),
  close: (store) => store.close(),
};

// ---- definitions (disk-definitions-store.ts) ------------------------------------------------------

const KINDS: DefinitionKind[] = ['queue', 'exchange', 'binding'];

function definitionsOf(store: DiskDefinitionsStore): Map<string, string> {
  return new Map(store.entries().map((e) => [`${e.kind}/${e.key}`, JSON.stringify(e.value)]));
}

export const definitionsCase: CutCase<
  RegisterModel,
  Map<string, Array<string | undefined>>,
  DiskDefinitionsStore
> = {
  name: 'definitions',
  open: (fs) => DiskDefinitionsStore.open('/data/definitions', { fs, compactAfterRecords: 7 }),
  modelFromRecovered: (store) => new RegisterModel(definitionsOf(store)),
  async workload(store, model, _committer, rng, yieldTurns) {
    const steps = 20 + Math.floor(rng() * 40);
    // Some changes are made as the AMQP listener makes them: a batch under deferSyncs, acknowledged
    // only after syncDeferred (a cut inside the batch may keep or drop any of them).
    let deferred: Array<() => void> | undefined;
    const change = (s: number) => {
      const kind = pick(rng, KINDS);
      const key = `k${Math.floor(rng() * 6)}`;
      if (rng() < 0.75) {
        const value = { n: Math.floor(rng() * 1000) };
        const ack = model.write(`${kind}/${key}`, JSON.stringify(value));
        store.put(kind, key, value);
        if (deferred) deferred.push(ack);
        else ack();
      } else if (model.current(`${kind}/${key}`) !== undefined) {
        const ack = model.write(`${kind}/${key}`, undefined);
        store.delete(kind, key);
        if (deferred) deferred.push(ack);
        else ack();
      }
      return s;
    };
    for (let s = 0; s < steps; s++) {
      if (rng() < 0.15) {
        const batch: Array<() => void> = [];
        deferred = batch;
        const size = 1 + Math.floor(rng() * 5);
        store.deferSyncs(() => {
          for (let i = 0; i < size; i++) change(s);
        });
        deferred = undefined;
        if (rng() < 0.2) await yieldTurns(1);
        store.syncDeferred();
        for (const ack of batch) ack();
      } else change(s);
      if (rng() < 0.2) await yieldTurns(1);
    }
  },
  snapshot: (m) => m.snapshot(),
  check: (store, snap) => RegisterModel.check(snap, definitionsOf(store)),
  close: (store) => store.close(),
};

// ---- deduplication ids (disk-dedup-store.ts) -------------------------------------------------------

export const dedupCase: CutCase<
  RegisterModel,
  Map<string, Array<string | undefined>>,
  DiskDedupStore & { ids?: Map<string, string> }
> = {
  name: 'dedup ids',
  open(_fs, committer) {
    const store: DiskDedupStore & { ids?: Map<string, string> } = DiskDedupStore.open(
      '/data/dedup/x',
      committer,
    );
    store.ids = new Map(store.recover().map((id) => [id.key, 'present']));
    return store;
  },
  modelFromRecovered: (store) => new RegisterModel(store.ids!),
  async workload(store, model, committer, rng, yieldTurns) {
    const steps = 40 + Math.floor(rng() * 60);
    let next = 0;
    for (let s = 0; s < steps; s++) {
      if (rng() < 0.85) {
        const key = `d${Math.floor(rng() * 1e9)}-${next++}`;
        const ack = model.write(key, 'present');
        store.add({ key, expiresAtMs: 0 });
        committer.afterDurable(ack);
      } else {
        const live: string[] = [];
        const acks: Array<() => void> = [];
        for (const k of [...model.keys.keys()]) {
          if (model.current(k) === undefined) continue;
          if (rng() < 0.6) live.push(k);
          else acks.push(model.write(k, undefined));
        }
        for (const k of live) acks.push(model.write(k, 'present'));
        store.rewrite(live.map((key) => ({ key, expiresAtMs: 0 })));
        for (const a of acks) a();
      }
      if (rng() < 0.3) await yieldTurns(1 + Math.floor(rng() * 3));
    }
    await yieldTurns(6);
  },
  snapshot: (m) => m.snapshot(),
  check: (store, snap) => RegisterModel.check(snap, store.ids!),
  close: (store) => store.close(),
};

// ---- delayed messages (amqp/disk-delay-store.ts) -----------------------------------------------

interface DelayModel {
  nextId: number;
  /** The clock goes on across restarts, as wall time does: nothing new is due before a fired message. */
  clock: number;
  confirmed: Set<number>;
  firedConfirmed: Set<number>;
  pending: Array<{ id: number; due: number; ref: number }>;
}
type DelaySnap = { confirmed: number[]; fired: Set<number> };

function delayContents(
  store: DiskDelayStore & { lastFiredMs?: number },
): Array<{ id: number; due: number; ref: number }> {
  const out: Array<{ id: number; due: number; ref: number }> = [];
  store.lastFiredMs = store.recover((due, ref) => {
    const m = store.take(ref);
    out.push({ id: m ? Number(String(m.body).slice(1)) : -1, due, ref });
  });
  return out;
}

export const delayCase: CutCase<
  DelayModel,
  DelaySnap,
  DiskDelayStore & { contents?: Array<{ id: number; due: number; ref: number }>; lastFiredMs?: number }
> = {
  name: 'amqp delayed messages',
  open(_fs, committer) {
    const store: DiskDelayStore & {
      contents?: Array<{ id: number; due: number; ref: number }>;
      lastFiredMs?: number;
    } = DiskDelayStore.open('/data/delayed/x', committer, { segmentSizeBytes: 500 });
    store.contents = delayContents(store);
    return store;
  },
  modelFromRecovered(store) {
    const c = store.contents!;
    return {
      nextId: Math.max(0, ...c.map((e) => e.id + 1)) + 1_000_000,
      clock: Math.max(0, store.lastFiredMs ?? 0, ...c.map((e) => e.due)),
      confirmed: new Set(c.map((e) => e.id)),
      firedConfirmed: new Set(),
      pending: [...c].sort((a, b) => a.due - b.due || a.ref - b.ref),
    };
  },
  async workload(store, model, committer, rng, yieldTurns) {
    const steps = 50 + Math.floor(rng() * 60);
    for (let s = 0; s < steps; s++) {
      if (rng() < 0.65) {
        const id = model.nextId++;
        const due = model.clock + 1 + Math.floor(rng() * 50);
        const ref = store.add(message(`d${id}`), due);
        committer.afterDurable(() => model.confirmed.add(id));
        model.pending.push({ id, due, ref });
        model.pending.sort((a, b) => a.due - b.due || a.ref - b.ref);
      } else if (model.pending.length > 0) {
        // Time passes; what is due fires, in (due, ref) order, as the exchange routes it.
        model.clock += 20;
        const n = model.pending.findIndex((p) => p.due > model.clock);
        const fired = model.pending.splice(0, n < 0 ? model.pending.length : n);
        if (fired.length > 0) {
          for (const f of fired) store.take(f.ref);
          const last = fired[fired.length - 1]!;
          // Routed: from here the copies the exchange routed carry the promise (the store writes
          // its mark only after they are durable), so the store may forget these.
          for (const f of fired) model.firedConfirmed.add(f.id);
          store.fired(last.due, last.ref);
        }
      }
      if (rng() < 0.3) await yieldTurns(1 + Math.floor(rng() * 3));
    }
    await yieldTurns(8);
  },
  snapshot: (m) => ({ confirmed: [...m.confirmed], fired: new Set(m.firedConfirmed) }),
  check(store, snap) {
    const problems: string[] = [];
    const got = new Set<number>();
    for (const e of store.contents!) {
      if (e.id < 0) problems.push(`recovered ref ${e.ref} unreadable`);
      got.add(e.id);
    }
    for (const id of snap.confirmed)
      if (!snap.fired.has(id) && !got.has(id)) problems.push(`confirmed delayed message d${id} lost`);
    return problems;
  },
  close: (store) => store.close(),
};

// ---- SQS messages (sqs/disk-sqs-store.ts: one shared QueueLog, receive records, relocation) ------

const SQS_QUEUES = ['qa', 'qb'];

interface SqsStores {
  storage: DiskSqsStorage;
  views: Map<string, DiskSqsMessageStore>;
  /** Per queue, the messages recovered at open. */
  recovered: Map<string, SqsMessage[]>;
}

interface SqsModel {
  /** A tag for this generation's message ids (ids must not repeat across generations). */
  tag: number;
  nextId: number;
  live: Map<string, SqsMessage[]>;
  confirmed: Set<string>;
  removed: Set<string>;
  /** Per message id: the newest receive count known durable, and the highest issued. */
  ackedReceives: Map<string, number>;
  issuedReceives: Map<string, number>;
}
type SqsSnap = {
  confirmed: string[];
  removed: Set<string>;
  ackedReceives: Map<string, number>;
  issuedReceives: Map<string, number>;
};

function sqsMessage(queue: string, id: string): SqsMessage {
  const body = `${queue}:${id}`;
  return {
    messageId: id,
    body,
    bodyMd5: 'd41d8cd98f00b204e9800998ecf8427e',
    messageAttributes: undefined,
    messageAttributesMd5: undefined,
    systemAttributes: undefined,
    systemAttributesMd5: undefined,
    sizeBytes: body.length,
    senderId: 'AKIDEXAMPLE',
    sentAtMs: 1_764_331_200_123,
    messageGroupId: undefined,
    deduplicationId: undefined,
    sequenceNumber: undefined,
    deadLetterSourceArn: undefined,
    visibleFromMs: 1_764_331_200_123,
    receiveCount: 0,
    firstReceivedAtMs: 0,
    storageRef: undefined,
  };
}

export const sqsCase: CutCase<SqsModel, SqsSnap, SqsStores> = {
  name: 'sqs messages',
  open(_fs, committer) {
    // Small segments and a high sparse fraction: relocation runs often.
    const storage = new DiskSqsStorage('/data', committer, {
      segmentSizeBytes: 600,
      relocateMaxLiveFraction: 0.5,
    });
    const views = new Map<string, DiskSqsMessageStore>();
    const recovered = new Map<string, SqsMessage[]>();
    for (const q of SQS_QUEUES) {
      const view = storage.openMessageStore(q);
      views.set(q, view);
      recovered.set(q, view.recover());
    }
    storage.removeOrphans(new Set(SQS_QUEUES));
    return { storage, views, recovered };
  },
  modelFromRecovered(stores) {
    const model: SqsModel = {
      tag: 0,
      nextId: 0,
      live: new Map(),
      confirmed: new Set(),
      removed: new Set(),
      ackedReceives: new Map(),
      issuedReceives: new Map(),
    };
    for (const [q, messages] of stores.recovered) {
      model.live.set(q, [...messages]);
      for (const m of messages) {
        model.confirmed.add(m.messageId);
        model.ackedReceives.set(m.messageId, m.receiveCount);
        model.issuedReceives.set(m.messageId, m.receiveCount);
      }
    }
    return model;
  },
  async workload(stores, model, committer, rng, yieldTurns) {
    model.tag = Math.floor(rng() * 1e9);
    const steps = 60 + Math.floor(rng() * 80);
    for (let s = 0; s < steps; s++) {
      const q = pick(rng, SQS_QUEUES);
      const view = stores.views.get(q)!;
      const live = model.live.get(q) ?? [];
      model.live.set(q, live);
      const r = rng();
      if (r < 0.03) {
        // The queue's view is closed and opened again in this process (its records stay in the
        // shared log; the new view takes them back with fresh message objects).
        view.close();
        const reopened = stores.storage.openMessageStore(q);
        stores.views.set(q, reopened);
        const back = reopened.recover();
        const want = live.map((m) => m.messageId).join(',');
        const got = back.map((m) => m.messageId).join(',');
        if (got !== want) throw new Error(`queue ${q} reopened with [${got}], expected [${want}]`);
        model.live.set(q, back);
      } else if (r < 0.42 || live.length === 0) {
        const id = `${model.tag}-${model.nextId++}`;
        const m = sqsMessage(q, id);
        view.append(m);
        live.push(m);
        committer.afterDurable(() => model.confirmed.add(id));
      } else if (r < 0.5) {
        // A paged-out message is read back (what a queue does on receive beyond its memory window),
        // whether its record is still staged, written, or relocated since.
        const m = pick(rng, live);
        const loaded = view.load(m);
        if (loaded.messageId !== m.messageId || loaded.body !== `${q}:${m.messageId}`)
          throw new Error(`queue ${q} read ${m.messageId} back as ${loaded.messageId} '${loaded.body}'`);
      } else if (r < 0.7) {
        const m = pick(rng, live);
        m.receiveCount++;
        if (m.firstReceivedAtMs === 0) m.firstReceivedAtMs = 1_764_331_300_000;
        const count = m.receiveCount;
        model.issuedReceives.set(m.messageId, count);
        view.recordReceive(m);
        committer.afterDurable(() => {
          if (count > (model.ackedReceives.get(m.messageId) ?? 0))
            model.ackedReceives.set(m.messageId, count);
        });
      } else {
        const i = Math.floor(rng() * live.length);
        const m = live[i]!;
        live.splice(i, 1);
        // DeleteMessage was issued: from here the message may or may not come back.
        model.removed.add(m.messageId);
        if (rng() < 0.5) view.remove(m);
        else view.removeAfterDurable(m);
      }
      if (rng() < 0.3) await yieldTurns(1 + Math.floor(rng() * 3));
    }
    await yieldTurns(8);
  },
  snapshot: (m) => ({
    confirmed: [...m.confirmed],
    removed: new Set(m.removed),
    ackedReceives: new Map(m.ackedReceives),
    issuedReceives: new Map(m.issuedReceives),
  }),
  check(stores, snap) {
    const problems: string[] = [];
    const got = new Map<string, SqsMessage>();
    for (const [q, messages] of stores.recovered) {
      for (const m of messages) {
        if (got.has(m.messageId)) problems.push(`message ${m.messageId} recovered twice`);
        got.set(m.messageId, m);
        if (m.body !== `${q}:${m.messageId}`)
          problems.push(`queue ${q} recovered ${m.messageId} holding ${m.body}`);
        const acked = snap.ackedReceives.get(m.messageId) ?? 0;
        const issued = snap.issuedReceives.get(m.messageId) ?? 0;
        if (!snap.removed.has(m.messageId) && m.receiveCount < acked)
          problems.push(`message ${m.messageId}: receive count ${m.receiveCount} < durable ${acked}`);
        if (m.receiveCount > issued)
          problems.push(`message ${m.messageId}: receive count ${m.receiveCount} never written`);
      }
    }
    for (const id of snap.confirmed)
      if (!snap.removed.has(id) && !got.has(id)) problems.push(`confirmed message ${id} lost`);
    return problems;
  },
  close: (stores) => stores.storage.close(),
};

// ---- Kafka transactions (kafka/disk-transaction-log.ts) --------------------------------------------

const TXN_IDS = ['tx1', 'tx2', 'tx3'];
const TXN_STATES: TransactionState[] = [
  'Ongoing',
  'PrepareCommit',
  'CompleteCommit',
  'PrepareAbort',
  'CompleteAbort',
];

interface TxnModel {
  reg: RegisterModel;
  tag: number;
  n: number;
  /** Ranges written with each txn value (they must come back with it), and every range written. */
  rangesOf: Map<string, string[]>;
  writtenRanges: Set<string>;
  ackedRanges: Set<string>;
}
type TxnSnap = {
  reg: Map<string, Array<string | undefined>>;
  rangesOf: Map<string, string[]>;
  writtenRanges: Set<string>;
  ackedRanges: string[];
};

const txnValue = (t: StoredTransaction) => `${t.producerEpoch}:${t.state}:${t.updateTimeMs}`;
const rangeKey = (r: AbortedRange) => `${r.topicId}/${r.partition}/${r.firstOffset}-${r.lastOffset}`;

export const transactionLogCase: CutCase<TxnModel, TxnSnap, DiskTransactionLog> = {
  name: 'kafka transaction log',
  open: (_fs, committer) =>
    DiskTransactionLog.open('/data/kafka-transactions', committer, { compactMinRecords: 8 }),
  modelFromRecovered(log) {
    const reg = new RegisterModel([...log.transactions].map(([id, t]) => [id, txnValue(t)]));
    const ranges = new Set(log.aborted.map(rangeKey));
    return {
      reg,
      tag: 0,
      n: 0,
      rangesOf: new Map(),
      writtenRanges: new Set(ranges),
      ackedRanges: new Set(ranges),
    };
  },
  async workload(log, model, committer, rng, yieldTurns) {
    model.tag = Math.floor(rng() * 1e6) * 1000;
    const steps = 30 + Math.floor(rng() * 50);
    for (let s = 0; s < steps; s++) {
      const id = pick(rng, TXN_IDS);
      const state = pick(rng, TXN_STATES);
      const txn: StoredTransaction = {
        transactionalId: id,
        producerId: 7,
        producerEpoch: Math.floor(rng() * 5),
        timeoutMs: 60_000,
        state,
        startTimeMs: 1,
        updateTimeMs: model.tag + model.n++,
        partitions: [{ topic: 't', topicId: 'T', partition: 0, startOffset: 0 }],
        groups: [],
        pendingOffsets: [],
      };
      const aborted: AbortedRange[] = [];
      if (state === 'CompleteAbort') {
        const first = txn.updateTimeMs * 10;
        for (let i = 0, n = 1 + Math.floor(rng() * 2); i < n; i++)
          aborted.push({
            topicId: 'T',
            partition: i,
            producerId: 7,
            firstOffset: first,
            lastOffset: first + 3,
          });
      }
      const keys = aborted.map(rangeKey);
      model.rangesOf.set(txnValue(txn), keys);
      for (const k of keys) model.writtenRanges.add(k);
      const ack = model.reg.write(id, txnValue(txn));
      log.append(txn, aborted, () => {
        ack();
        for (const k of keys) model.ackedRanges.add(k);
      });
      if (rng() < 0.3) await yieldTurns(1 + Math.floor(rng() * 3));
    }
    await yieldTurns(6);
  },
  snapshot: (m) => ({
    reg: m.reg.snapshot(),
    rangesOf: new Map(m.rangesOf),
    writtenRanges: new Set(m.writtenRanges),
    ackedRanges: [...m.ackedRanges],
  }),
  check(log, snap) {
    const values = new Map([...log.transactions].map(([id, t]) => [id, txnValue(t)]));
    const problems = RegisterModel.check(snap.reg, values);
    const ranges = new Set(log.aborted.map(rangeKey));
    for (const k of snap.ackedRanges)
      if (!ranges.has(k)) problems.push(`acknowledged aborted range ${k} lost`);
    for (const k of ranges) if (!snap.writtenRanges.has(k)) problems.push(`aborted range ${k} never written`);
    for (const [id, v] of values)
      for (const k of snap.rangesOf.get(v) ?? [])
        if (!ranges.has(k)) problems.push(`${id} recovered as ${v} without its aborted range ${k}`);
    return problems;
  },
  close: (log) => log.close(),
};

// ---- Kafka share groups' state (kafka/disk-share-state-store.ts) --------------------------------

const SHARE_KEYS = ['g1/t/0', 'g1/t/1', 'g2/t/0'];
const SHARE_GROUPS = ['g1', 'g2'];

function shareStateOf(store: DiskShareStateStore): Map<string, string> {
  const values = new Map<string, string>();
  for (const [key, snapshot] of store.partitions) values.set(`p:${key}`, JSON.stringify(snapshot));
  for (const [group, configs] of store.groupConfigs) values.set(`c:${group}`, JSON.stringify(configs));
  return values;
}

type ShareModel = { reg: RegisterModel; n: number };

export const shareStateCase: CutCase<
  ShareModel,
  Map<string, Array<string | undefined>>,
  DiskShareStateStore
> = {
  name: 'kafka share group state',
  open: (_fs, committer) =>
    DiskShareStateStore.open('/data/kafka-share-groups', committer, { compactMinRecords: 8 }),
  modelFromRecovered: (store) => ({ reg: new RegisterModel(shareStateOf(store)), n: 0 }),
  async workload(store, model, _committer, rng, yieldTurns) {
    const steps = 30 + Math.floor(rng() * 50);
    for (let s = 0; s < steps; s++) {
      const roll = rng();
      if (roll < 0.1) {
        // DeleteGroups / DeleteShareGroupOffsets: several keys gone in one record.
        const keys = SHARE_KEYS.filter(() => rng() < 0.5);
        const acks = keys.map((key) => model.reg.write(`p:${key}`, undefined));
        store.deletePartitions(keys, () => {
          for (const ack of acks) ack();
        });
      } else if (roll < 0.8) {
        const key = pick(rng, SHARE_KEYS);
        const start = model.n++;
        // A snapshot's in-flight window: acknowledged, archived and available runs.
        const snapshot: SharePartitionSnapshot = {
          startOffset: start,
          endOffset: start + 3,
          ranges: [
            [start, start + 1, 2, 1],
            [start + 2, start + 2, 0, 1 + Math.floor(rng() * 4)],
          ],
        };
        const ack = model.reg.write(`p:${key}`, JSON.stringify(snapshot));
        store.writePartition(key, snapshot, ack);
      } else {
        const group = pick(rng, SHARE_GROUPS);
        const configs = { 'share.record.lock.duration.ms': String(1000 + model.n++) };
        const ack = model.reg.write(`c:${group}`, JSON.stringify(configs));
        store.writeGroupConfigs(group, configs, ack);
      }
      if (rng() < 0.3) await yieldTurns(1 + Math.floor(rng() * 3));
    }
    await yieldTurns(6);
  },
  snapshot: (model) => model.reg.snapshot(),
  check: (store, snap) => RegisterModel.check(snap, shareStateOf(store)),
  close: (store) => store.close(),
};

// ---- Kafka log cleaner checkpoint (kafka/cleaner-offset-checkpoint.ts) ------------------------------

/** The whole checkpoint as one register: a write replaces every entry, so a cut leaves one whole file. */
const checkpointText = (store: CleanerOffsetCheckpoint) => formatCheckpoint(store.read());

export const cleanerCheckpointCase: CutCase<
  RegisterModel,
  Map<string, Array<string | undefined>>,
  CleanerOffsetCheckpoint
> = {
  name: 'kafka cleaner offset checkpoint',
  open(fs) {
    mkdirDurable('/data', fs, true);
    return new CleanerOffsetCheckpoint('/data', fs, 'always');
  },
  modelFromRecovered: (store) => new RegisterModel([['file', checkpointText(store)]]),
  async workload(store, model, _committer, rng, yieldTurns) {
    const steps = 10 + Math.floor(rng() * 20);
    const offsets = new Map<string, number>();
    for (let s = 0; s < steps; s++) {
      const key = `${pick(rng, TOPICS)} ${Math.floor(rng() * 3)}`;
      offsets.set(key, (offsets.get(key) ?? 0) + 1 + Math.floor(rng() * 500));
      if (rng() < 0.1) offsets.delete(key);
      const entries = [...offsets].map(([k, offset]) => {
        const [topic, partition] = k.split(' ');
        return { topic: topic!, partition: Number(partition), offset };
      });
      const ack = model.write('file', formatCheckpoint(entries));
      store.write(entries); // durable when it returns
      ack();
      if (rng() < 0.3) await yieldTurns(1);
    }
  },
  snapshot: (m) => m.snapshot(),
  check: (store, snap) => RegisterModel.check(snap, new Map([['file', checkpointText(store)]])),
  close: () => {},
};

// biome-ignore lint/suspicious/noExplicitAny: the cases differ in their model types
export const ALL_CASES: Array<CutCase<any, any, any>> = [
  queueCase,
  streamCase,
  groupOffsetCase,
  definitionsCase,
  dedupCase,
  delayCase,
  sqsCase,
  transactionLogCase,
  shareStateCase,
  cleanerCheckpointCase,
];
export type { GroupCommitter, SimFs };
