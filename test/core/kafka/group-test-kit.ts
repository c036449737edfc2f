// Shared set-up for group coordinator tests: a coordinator on a ManualClock with an in-memory
// offset store, predictable member ids, and helpers that run a member through join and sync.
import assert from 'node:assert/strict';
import type { GroupProtocol, JoinResult, SyncResult } from '../../../src/core/kafka/consumer-group.js';
import {
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type JoinRequest,
} from '../../../src/core/kafka/group-coordinator.js';
import { type GroupOffsetStore, MemoryGroupOffsetStore } from '../../../src/core/kafka/group-offsets.js';
import { ManualClock } from '../../../src/core/manual-clock.js';

export const SESSION_MS = 10_000;
export const REBALANCE_MS = 30_000;

export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface Kit {
  clock: ManualClock;
  offsets: GroupOffsetStore;
  groups: GroupCoordinator;
}

export function kit(config: Partial<GroupCoordinatorConfig> = {}, offsets?: GroupOffsetStore): Kit {
  const clock = new ManualClock();
  const store = offsets ?? new MemoryGroupOffsetStore();
  let n = 0;
  const groups = new GroupCoordinator({
    clock,
    offsets: store,
    config: { initialRebalanceDelayMs: 0, ...config },
    randomId: () => `id${++n}`,
  });
  return { clock, offsets: store, groups };
}

/** A promise whose settlement a test can look at synchronously. */
export interface Tracked<T> {
  readonly settled: boolean;
  readonly value: T;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const t = { settled: false, value: undefined as T };
  promise.then((v) => {
    t.settled = true;
    t.value = v;
  });
  return t;
}

export const protocols = (...names: string[]): GroupProtocol[] =>
  names.map((name) => ({ name, metadata: Buffer.from(`meta:${name}`) }));

export function joinRequest(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: protocols('range'),
    requireKnownMemberId: true,
    ...overrides,
  };
}

/** Gets a member id the v4+ way: an empty-id join answers MEMBER_ID_REQUIRED with the id to use. */
export async function memberIdFor(k: Kit, overrides: Partial<JoinRequest> = {}): Promise<string> {
  const first = await k.groups.join(joinRequest(overrides));
  assert.equal(first.error, 'MEMBER_ID_REQUIRED');
  return first.memberId;
}

/** Starts a join with a known member id; the answer usually waits for the join phase. */
export function joinAs(k: Kit, memberId: string, overrides: Partial<JoinRequest> = {}): Tracked<JoinResult> {
  return track(k.groups.join(joinRequest({ memberId, ...overrides })));
}

export function syncAs(
  k: Kit,
  memberId: string,
  generationId: number,
  assignments: { memberId: string; assignment: Buffer }[] = [],
  groupId = 'g',
): Tracked<SyncResult> {
  return track(
    k.groups.sync({
      groupId,
      generationId,
      memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments,
    }),
  );
}

/** Advances the clock by `ms` and lets resolved promises run. */
export async function advance(k: Kit, ms: number): Promise<void> {
  k.clock.advance(ms);
  await tick();
}

/** Brings a one-member group to Stable; returns the member id and generation. */
export async function stableSingle(k: Kit, overrides: Partial<JoinRequest> = {}) {
  const id = await memberIdFor(k, overrides);
  const join = joinAs(k, id, overrides);
  await advance(k, 0);
  assert.equal(join.value.error, 'NONE');
  const sync = syncAs(k, id, join.value.generationId, [{ memberId: id, assignment: Buffer.from(`a:${id}`) }]);
  await tick();
  assert.equal(sync.value.error, 'NONE');
  return { memberId: id, generationId: join.value.generationId };
}
