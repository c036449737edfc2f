// PositionSet (a segment's acked record positions): checked against a Set over positions that
// arrive mostly in order, some out of order and some twice, as acks do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PositionSet } from '../../src/storage/position-set.js';

describe('PositionSet', () => {
  it('answers as a Set does for in-order, out-of-order and repeated positions', () => {
    let state = 7;
    const rnd = () => {
      state = (state * 1664525 + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    const set = new PositionSet();
    const model = new Set<number>();
    let next = 0;
    for (let i = 0; i < 50_000; i++) {
      const r = rnd();
      // Record starts 40..140 bytes apart; most acks in order, some late, some repeated.
      let position: number;
      if (r < 0.8) {
        next += 40 + Math.floor(rnd() * 100);
        position = next;
      } else position = Math.floor(rnd() * (next + 1000));
      assert.equal(set.add(position), !model.has(position), `add(${position})`);
      model.add(position);
      const probe = Math.floor(rnd() * (next + 1000));
      assert.equal(set.has(probe), model.has(probe), `has(${probe})`);
    }
    assert.equal(set.size, model.size);
    for (const p of model) assert.ok(set.has(p));
    assert.ok(set.has(0xffffffff) === model.has(0xffffffff));
    set.clear();
    assert.equal(set.size, 0);
    assert.equal(set.has([...model][0]!), false);
  });

  it('keeps positions up to 2^32 - 1', () => {
    const set = new PositionSet();
    set.add(0);
    set.add(0xfffffffe);
    assert.ok(set.has(0xfffffffe));
    assert.ok(!set.has(0xffffffff));
    assert.equal(set.add(12), true);
    assert.ok(set.has(12));
  });
});
