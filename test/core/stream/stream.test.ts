// The core Stream over the memory store: offsets, reads, start positions, retention on the
// injected clock, and push readers woken by appends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/manual-clock.js';
import type { Message } from '../../../src/core/message.js';
import { MemoryStreamStore } from '../../../src/core/stream/memory-stream-store.js';
import { Stream, type StreamOptions } from '../../../src/core/stream/stream.js';
import type { StreamEntry } from '../../../src/core/stream/stream-store.js';
import { StreamSubscription } from '../../../src/core/stream/stream-subscription.js';

function message(body: string, clock: ManualClock): Message {
  const b = Buffer.from(body);
  return {
    exchange: '',
    routingKey: 's',
    properties: Buffer.from([0, 0]),
    body: b,
    bodySizeBytes: b.length,
    persistent: true,
    publishedAtMs: clock.now(),
    priority: 0,
  };
}

function newStream(clock: ManualClock, segmentSizeBytes = 1 << 20, options: StreamOptions = {}): Stream {
  return new Stream('s', new MemoryStreamStore({ segmentSizeBytes }), clock, options);
}

const bodies = (entries: StreamEntry[]) => entries.map((e) => e.payload.toString());
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('core Stream', () => {
  it('assigns dense offsets and reads from any offset, bounded by entries and bytes', () => {
    const clock = new ManualClock();
    const stream = newStream(clock);
    assert.equal(stream.nextOffset, 0);
    assert.deepEqual(stream.readFrom(0, 10), []);
    for (let i = 0; i < 10; i++) assert.equal(stream.appendMessage(message(`m${i}`, clock)), i);
    assert.equal(stream.firstOffset, 0);
    assert.equal(stream.nextOffset, 10);
    assert.equal(stream.offsetCount, 10);
    assert.deepEqual(bodies(stream.readFrom(7, 10)), ['m7', 'm8', 'm9']);
    assert.deepEqual(bodies(stream.readFrom(2, 3)), ['m2', 'm3', 'm4']);
    // maxBytes stops after the entry that reaches it, but always returns at least one.
    assert.deepEqual(bodies(stream.readFrom(0, 10, 5)), ['m0', 'm1', 'm2']);
    assert.deepEqual(bodies(stream.readFrom(0, 10, 1)), ['m0']);
    assert.deepEqual(stream.readFrom(10, 10), []);
  });

  it('raw entries cover many offsets; a read inside one returns it whole', () => {
    const clock = new ManualClock();
    const stream = newStream(clock);
    assert.equal(stream.appendRaw(Buffer.from('batch-a'), 5), 0);
    assert.equal(stream.appendMessage(message('single', clock)), 5);
    assert.equal(stream.appendRaw(Buffer.from('batch-b'), 3), 6);
    assert.equal(stream.nextOffset, 9);
    const fromMiddle = stream.readFrom(3, 10);
    assert.deepEqual(
      fromMiddle.map((e) => [e.offset, e.offsetCount, e.payload.toString()]),
      [
        [0, 5, 'batch-a'],
        [5, 1, 'single'],
        [6, 3, 'batch-b'],
      ],
    );
    assert.equal(fromMiddle[0]!.message, undefined);
    assert.equal(fromMiddle[1]!.message?.routingKey, 's');
    assert.deepEqual(bodies(stream.readFrom(8, 10)), ['batch-b']);
    assert.throws(() => stream.appendRaw(Buffer.from('x'), 0), /at least one offset/);
  });

  it('start positions: first, last, next, offsets in and out of range, timestamps', () => {
    const clock = new ManualClock(1_000_000);
    const stream = newStream(clock);
    assert.equal(stream.startOffset({ kind: 'last' }), 0, "'last' on an empty stream is the next offset");
    for (let i = 0; i < 5; i++) {
      stream.appendMessage(message(`m${i}`, clock));
      clock.advance(1000);
    }
    assert.equal(stream.startOffset({ kind: 'first' }), 0);
    assert.equal(stream.startOffset({ kind: 'last' }), 4);
    assert.equal(stream.startOffset({ kind: 'next' }), 5);
    assert.equal(stream.startOffset({ kind: 'offset', offset: 3 }), 3);
    assert.equal(stream.startOffset({ kind: 'offset', offset: -3 }), 0);
    assert.equal(stream.startOffset({ kind: 'offset', offset: 100 }), 100, 'waits for offset 100');
    assert.equal(stream.startOffset({ kind: 'timestamp', timestampMs: 1_002_000 }), 2);
    assert.equal(stream.startOffset({ kind: 'timestamp', timestampMs: 1_002_001 }), 3);
    assert.equal(stream.startOffset({ kind: 'timestamp', timestampMs: 0 }), 0);
    assert.equal(stream.startOffset({ kind: 'timestamp', timestampMs: 9_999_999 }), 5);
  });

  it('retention drops whole old segments by size after a segment fills, never the newest', () => {
    const clock = new ManualClock();
    // Each entry counts 32 bytes of overhead plus fields and body: about 4 entries per segment.
    const stream = newStream(clock, 200, { retention: { maxBytes: 400 } });
    for (let i = 0; i < 40; i++) stream.appendMessage(message(`m${String(i).padStart(2, '0')}`, clock));
    assert.ok(stream.sizeBytes <= 400 + 200, `size ${stream.sizeBytes}`);
    assert.ok(stream.firstOffset > 0, 'old segments dropped');
    assert.equal(stream.nextOffset, 40);
    const kept = bodies(stream.readFrom(0, 100));
    assert.equal(kept[0], `m${String(stream.firstOffset).padStart(2, '0')}`);
    assert.equal(kept.at(-1), 'm39');
  });

  it('retention by age runs on the clock and keeps the segment being written', () => {
    const clock = new ManualClock();
    const stream = newStream(clock, 100, { retention: { maxAgeMs: 60_000 }, retentionIntervalMs: 10_000 });
    for (let i = 0; i < 6; i++) stream.appendMessage(message(`old-${i}`, clock));
    clock.advance(30_000);
    for (let i = 0; i < 6; i++) stream.appendMessage(message(`new-${i}`, clock));
    const before = stream.firstOffset;
    assert.equal(before, 0);
    clock.advance(40_000); // old entries are 70 s old, new ones 40 s
    const afterOld = stream.firstOffset;
    assert.ok(afterOld > 0 && afterOld <= 6, `old segments gone (first ${afterOld})`);
    assert.ok(bodies(stream.readFrom(0, 100)).includes('new-0'), 'new entries kept');
    clock.advance(3_600_000);
    // Everything is old now, but the newest segment stays.
    assert.ok(stream.offsetCount > 0);
    assert.equal(stream.nextOffset, 12);
    assert.deepEqual(bodies(stream.readFrom(stream.firstOffset, 100)).at(-1), 'new-5');
    stream.close();
    assert.equal(clock.pendingTimers, 0, 'close stops the retention timer');
  });

  it('a subscription delivers from its offset while the sink has room and wakes on appends', async () => {
    const clock = new ManualClock();
    const stream = newStream(clock);
    for (let i = 0; i < 3; i++) stream.appendMessage(message(`m${i}`, clock));
    const got: string[] = [];
    let room = 2;
    const subscription = new StreamSubscription(stream, 1, {
      canAccept: () => room > 0,
      deliver: (entry) => {
        room--;
        got.push(entry.payload.toString());
      },
    });
    await tick();
    assert.deepEqual(got, ['m1', 'm2']);
    stream.appendMessage(message('m3', clock));
    await tick();
    assert.deepEqual(got, ['m1', 'm2'], 'no room: nothing delivered');
    room = 5;
    subscription.schedulePump();
    await tick();
    assert.deepEqual(got, ['m1', 'm2', 'm3']);
    stream.appendMessage(message('m4', clock));
    stream.appendMessage(message('m5', clock));
    await tick();
    assert.deepEqual(got, ['m1', 'm2', 'm3', 'm4', 'm5']);
    assert.equal(subscription.position, 6);
    subscription.cancel();
    stream.appendMessage(message('m6', clock));
    await tick();
    assert.equal(got.length, 5, 'cancelled: no more deliveries');
    assert.equal(stream.readerCount, 0);
  });

  it('a subscription behind retention continues at the first kept offset', async () => {
    const clock = new ManualClock();
    const stream = newStream(clock, 100, { retention: { maxBytes: 150 } });
    const got: number[] = [];
    let room = 0;
    const subscription = new StreamSubscription(stream, 0, {
      canAccept: () => room > 0,
      deliver: (entry) => {
        room--;
        got.push(entry.offset);
      },
    });
    for (let i = 0; i < 20; i++) stream.appendMessage(message(`m${i}`, clock));
    assert.ok(stream.firstOffset > 0);
    room = 100;
    subscription.pump();
    assert.equal(got[0], stream.firstOffset);
    assert.equal(got.at(-1), 19);
  });
});
