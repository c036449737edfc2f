// The share-partition state machine (KIP-932) on a manual clock: acquisition locks, delivery counts,
// acknowledge types, the delivery limit, the start offset, and the snapshot a restart resumes from.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AcknowledgeType,
  RecordState,
  SharePartition,
  type SharePartitionSnapshot,
} from '../../../src/core/kafka/share-partition.js';
import { ManualClock } from '../../../src/core/manual-clock.js';

function partition(
  clock: ManualClock,
  options: { lockMs?: number; limit?: number; maxInFlight?: number; initial?: SharePartitionSnapshot } = {},
) {
  const saved: SharePartitionSnapshot[] = [];
  const p = new SharePartition(
    clock,
    {
      lockDurationMs: () => options.lockMs ?? 30_000,
      deliveryCountLimit: () => options.limit ?? 5,
      maxInFlightRecords: () => options.maxInFlight ?? 2000,
    },
    options.initial ?? { startOffset: 0, endOffset: 0, ranges: [] },
    (s, onDurable) => {
      saved.push(s);
      onDurable();
    },
  );
  return { p, saved };
}

const ack = (first: number, last: number, type: number) => ({
  firstOffset: first,
  lastOffset: last,
  acknowledgeTypes: [type],
});

describe('SharePartition', () => {
  it('gives each record to one member at a time, and new records to the next', () => {
    const { p } = partition(new ManualClock());
    assert.deepEqual(p.acquire('a', 3, 0, 10), [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    assert.deepEqual(p.acquire('b', 3, 0, 10), [{ firstOffset: 3, lastOffset: 5, deliveryCount: 1 }]);
    assert.equal(p.stateOf(1)?.memberId, 'a');
    assert.equal(p.stateOf(4)?.memberId, 'b');
  });

  it('redelivers a released record with delivery count 2, before new records', () => {
    const { p } = partition(new ManualClock());
    p.acquire('a', 2, 0, 10);
    assert.equal(
      p.acknowledge('a', [ack(0, 0, AcknowledgeType.ACCEPT), ack(1, 1, AcknowledgeType.RELEASE)], () => {}),
      'NONE',
    );
    assert.equal(p.startOffset, 1);
    assert.deepEqual(p.acquire('b', 2, 0, 10), [
      { firstOffset: 1, lastOffset: 1, deliveryCount: 2 },
      { firstOffset: 2, lastOffset: 2, deliveryCount: 1 },
    ]);
  });

  it('releases a record whose acquisition lock expires; the late acknowledgement is refused', () => {
    const clock = new ManualClock();
    const { p } = partition(clock, { lockMs: 1000 });
    let woken = 0;
    p.watchAvailable(() => woken++);
    p.acquire('a', 1, 0, 1);
    clock.advance(999);
    assert.equal(woken, 0);
    assert.equal(p.stateOf(0)?.state, RecordState.ACQUIRED);
    clock.advance(1);
    assert.equal(p.stateOf(0)?.state, RecordState.AVAILABLE);
    assert.equal(woken, 1); // a waiting ShareFetch is woken
    assert.equal(
      p.acknowledge('a', [ack(0, 0, AcknowledgeType.ACCEPT)], () => {}),
      'INVALID_RECORD_STATE',
    );
    assert.deepEqual(p.acquire('b', 1, 0, 1), [{ firstOffset: 0, lastOffset: 0, deliveryCount: 2 }]);
  });

  it('archives a record at the delivery count limit instead of making it available again', () => {
    const clock = new ManualClock();
    const { p } = partition(clock, { limit: 3, lockMs: 1000 });
    for (let delivery = 1; delivery <= 3; delivery++) {
      assert.deepEqual(p.acquire('a', 1, 0, 1), [{ firstOffset: 0, lastOffset: 0, deliveryCount: delivery }]);
      if (delivery === 2)
        clock.advance(1000); // a lock timeout counts like a release
      else p.acknowledge('a', [ack(0, 0, AcknowledgeType.RELEASE)], () => {});
    }
    assert.equal(p.stateOf(0)?.state, RecordState.ACKNOWLEDGED); // below the start offset now: settled
    assert.equal(p.startOffset, 1);
    assert.deepEqual(p.acquire('a', 1, 0, 1), []);
  });

  it('archives rejected records and moves the start offset past settled ones only', () => {
    const { p } = partition(new ManualClock());
    p.acquire('a', 4, 0, 4);
    p.acknowledge('a', [ack(1, 1, AcknowledgeType.REJECT), ack(2, 2, AcknowledgeType.ACCEPT)], () => {});
    assert.equal(p.startOffset, 0);
    assert.equal(p.stateOf(1)?.state, RecordState.ARCHIVED);
    p.acknowledge(
      'a',
      [{ firstOffset: 0, lastOffset: 0, acknowledgeTypes: [AcknowledgeType.ACCEPT] }],
      () => {},
    );
    assert.equal(p.startOffset, 3);
  });

  it('refuses acknowledgements of records another member holds, applying none of the request', () => {
    const { p } = partition(new ManualClock());
    p.acquire('a', 1, 0, 2);
    p.acquire('b', 1, 0, 2);
    assert.equal(
      p.acknowledge('a', [ack(0, 0, AcknowledgeType.ACCEPT), ack(1, 1, AcknowledgeType.ACCEPT)], () => {}),
      'INVALID_RECORD_STATE',
    );
    assert.equal(p.stateOf(0)?.state, RecordState.ACQUIRED);
    assert.equal(
      p.acknowledge('a', [{ firstOffset: 0, lastOffset: 0, acknowledgeTypes: [7] }], () => {}),
      'INVALID_REQUEST',
    );
  });

  it('stops acquiring new records when the in-flight window is full', () => {
    const { p } = partition(new ManualClock(), { maxInFlight: 3 });
    assert.deepEqual(p.acquire('a', 10, 0, 10), [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    assert.deepEqual(p.acquire('a', 10, 0, 10), []);
    p.acknowledge('a', [ack(0, 0, AcknowledgeType.ACCEPT)], () => {});
    assert.deepEqual(p.acquire('a', 10, 0, 10), [{ firstOffset: 3, lastOffset: 3, deliveryCount: 1 }]);
  });

  it('releases a member whose session closed', () => {
    const { p } = partition(new ManualClock());
    p.acquire('a', 2, 0, 2);
    p.releaseMember('a');
    assert.deepEqual(p.acquire('b', 2, 0, 2), [{ firstOffset: 0, lastOffset: 1, deliveryCount: 2 }]);
  });

  it('resumes from its snapshot: settled records stay settled, locked ones come back released', () => {
    const clock = new ManualClock();
    const { p, saved } = partition(clock, { limit: 2 });
    p.acquire('a', 4, 0, 4);
    p.acknowledge(
      'a',
      [
        ack(0, 0, AcknowledgeType.ACCEPT),
        ack(2, 2, AcknowledgeType.REJECT),
        ack(3, 3, AcknowledgeType.RELEASE),
      ],
      () => {},
    );
    p.acquire('a', 1, 0, 4); // offset 1 stays locked, offset 3 locked again (count 2)
    const snapshot = saved[saved.length - 1]!;
    p.close();
    const { p: restored } = partition(clock, { limit: 2, initial: JSON.parse(JSON.stringify(snapshot)) });
    assert.equal(restored.startOffset, 1);
    assert.equal(restored.stateOf(2)?.state, RecordState.ARCHIVED);
    assert.deepEqual(restored.acquire('b', 10, 0, 5), [
      { firstOffset: 1, lastOffset: 1, deliveryCount: 2 },
      { firstOffset: 4, lastOffset: 4, deliveryCount: 1 },
    ]);
    // Offset 3 was in its second (last allowed) delivery when the broker stopped: archived.
    assert.equal(restored.stateOf(3)?.state, RecordState.ARCHIVED);
  });

  it('skips records the log no longer holds', () => {
    const { p } = partition(new ManualClock());
    p.acquire('a', 2, 0, 5);
    assert.deepEqual(p.acquire('a', 10, 4, 6), [{ firstOffset: 4, lastOffset: 5, deliveryCount: 1 }]);
    assert.equal(p.startOffset, 4);
  });
});
