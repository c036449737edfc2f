// AscendingKeyMap (the channel's unacked deliveries by tag): checked against a Map over random
// operations of the kinds a channel makes (single acks out of order, multiple acks, gaps in the
// tags from no-ack deliveries), and its memory stays bounded by what it holds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AscendingKeyMap } from '../../src/core/ascending-key-map.js';

/** A small deterministic PRNG so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('AscendingKeyMap', () => {
  it('behaves as a Map with ascending keys over random set / delete / deleteUpTo', () => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const rnd = random(seed);
      const map = new AscendingKeyMap<{ tag: number }>();
      const model = new Map<number, { tag: number }>();
      let nextTag = 0;
      for (let step = 0; step < 20_000; step++) {
        const r = rnd();
        if (r < 0.5) {
          nextTag += 1 + Math.floor(rnd() * 3); // gaps: tags taken by no-ack deliveries
          const value = { tag: nextTag };
          map.set(nextTag, value);
          model.set(nextTag, value);
        } else if (r < 0.8) {
          const tag = Math.floor(rnd() * (nextTag + 2));
          assert.equal(map.delete(tag), model.get(tag), `seed ${seed} step ${step}: delete(${tag})`);
          model.delete(tag);
        } else if (r < 0.95) {
          const upTo = Math.floor(rnd() * (nextTag + 1));
          const expected = [...model.entries()].filter(([k]) => k <= upTo).map(([, v]) => v);
          for (const v of expected) model.delete(v.tag);
          assert.deepEqual(map.deleteUpTo(upTo), expected, `seed ${seed} step ${step}: deleteUpTo(${upTo})`);
        } else {
          const tag = Math.floor(rnd() * (nextTag + 2));
          assert.equal(map.has(tag), model.has(tag));
          assert.equal(map.get(tag), model.get(tag));
        }
        assert.equal(map.size, model.size);
        assert.equal(map.first(), model.values().next().value);
      }
      assert.deepEqual([...map.values()], [...model.values()]);
      assert.deepEqual(map.clear(), [...model.values()]);
      assert.equal(map.size, 0);
      assert.equal(map.first(), undefined);
    }
  });

  it('refuses a key that is not above the last one', () => {
    const map = new AscendingKeyMap<string>();
    map.set(5, 'a');
    assert.throws(() => map.set(5, 'b'), RangeError);
    assert.throws(() => map.set(3, 'b'), RangeError);
    map.delete(5);
    map.set(6, 'c');
    assert.deepEqual([...map.values()], ['c']);
  });

  it('does not grow while the oldest entry stays and every later one is removed', () => {
    const map = new AscendingKeyMap<number>();
    map.set(1, 1);
    const capacity = () => (map as unknown as { keys: number[] }).keys.length;
    for (let tag = 2; tag < 100_000; tag++) {
      map.set(tag, tag);
      map.delete(tag);
    }
    assert.equal(map.size, 1);
    assert.equal(map.first(), 1);
    assert.ok(capacity() <= 256, `capacity ${capacity()} after 100,000 removals behind a kept entry`);
  });
});
