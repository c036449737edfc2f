// Kafka's share-group SimpleAssignor rules (share-assignor.ts): balance (counts differ by at most one,
// a partition shared only when members outnumber partitions), stickiness, subscriptions honoured,
// and per-topic balance when members subscribe to different topics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignShareGroup, type ShareAssignorMember } from '../../../src/core/kafka/share-assignor.js';

const PARTITIONS: Record<string, number> = { t1: 4, t2: 2, t3: 3 };
const count = (topicId: string) => PARTITIONS[topicId] ?? 0;

function member(
  memberId: string,
  topics: string[],
  current: Record<string, number[]> = {},
): ShareAssignorMember {
  return { memberId, subscribedTopicIds: topics, current: new Map(Object.entries(current)) };
}

/** memberId → ['t1:0', ...] */
function flat(result: ReturnType<typeof assignShareGroup>): Record<string, string[]> {
  return Object.fromEntries(
    [...result].map(([id, topics]) => [id, [...topics].flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`))]),
  );
}

describe('share group assignment (Kafka SimpleAssignor rules)', () => {
  it('2 members × 4 partitions: two each, disjoint; sticky when a third joins; hands over on leave', () => {
    const first = flat(assignShareGroup([member('a', ['t1']), member('b', ['t1'])], count));
    assert.deepEqual(first, { a: ['t1:0', 't1:2'], b: ['t1:1', 't1:3'] }, 'round-robin');

    // c joins: counts 2/1/1 (ceil steps of 4/3), a and b keep what they can, nothing shared.
    const next = assignShareGroup(
      [member('a', ['t1'], { t1: [0, 2] }), member('b', ['t1'], { t1: [1, 3] }), member('c', ['t1'])],
      count,
    );
    assert.deepEqual(flat(next), { a: ['t1:0', 't1:2'], b: ['t1:1'], c: ['t1:3'] });

    // b leaves: its partition goes to a member below its count; a and c keep theirs.
    const after = flat(
      assignShareGroup([member('a', ['t1'], { t1: [0, 2] }), member('c', ['t1'], { t1: [3] })], count),
    );
    assert.deepEqual(after, { a: ['t1:0', 't1:2'], c: ['t1:1', 't1:3'] });
  });

  it('more members than partitions: each partition shared by ceil(M/P) members, counts differ by ≤ 1', () => {
    const members = ['m0', 'm1', 'm2', 'm3', 'm4'].map((id) => member(id, ['t1']));
    const result = flat(assignShareGroup(members, count));
    const sizes = Object.values(result).map((ps) => ps.length);
    assert.deepEqual(sizes, [2, 2, 1, 2, 1]); // ceil(1.6·(i+1)) − ceil(1.6·i)
    const holders = new Map<string, number>();
    for (const ps of Object.values(result)) for (const p of ps) holders.set(p, (holders.get(p) ?? 0) + 1);
    assert.deepEqual([...holders.values()], [2, 2, 2, 2], 'every partition has exactly 2 members');
    for (const ps of Object.values(result)) assert.equal(new Set(ps).size, ps.length, 'no partition twice');
  });

  it('a member alone gets everything; an unsubscribed topic is revoked', () => {
    assert.deepEqual(flat(assignShareGroup([member('a', ['t1', 't2'])], count)), {
      a: ['t1:0', 't1:1', 't1:2', 't1:3', 't2:0', 't2:1'],
    });
    assert.deepEqual(flat(assignShareGroup([member('a', ['t2'], { t1: [0, 1, 2, 3], t2: [0, 1] })], count)), {
      a: ['t2:0', 't2:1'],
    });
  });

  it('different subscriptions: each topic balanced over its own subscribers', () => {
    const result = flat(
      assignShareGroup([member('m1', ['t1']), member('m2', ['t2']), member('m3', ['t1', 't2'])], count),
    );
    assert.deepEqual(result, { m1: ['t1:0', 't1:2'], m2: ['t2:0'], m3: ['t1:1', 't1:3', 't2:1'] });
  });

  it('no members, no topics, empty topics', () => {
    assert.deepEqual(flat(assignShareGroup([], count)), {});
    assert.deepEqual(flat(assignShareGroup([member('a', ['gone'])], count)), { a: [] });
  });
});
