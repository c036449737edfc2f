// The latency-at-load runs: rates at fractions of the maximum, an open-loop schedule that never
// forgives lag, and the histogram the percentiles come from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOAD_FRACTIONS, loadRates, OpenLoopSchedule } from '../../bench/open-loop.js';
import { LatencyHistogram } from '../../bench/stats.js';

test('latency runs at 25, 50 and 90 % of the measured maximum', () => {
  assert.deepEqual(LOAD_FRACTIONS, [0.25, 0.5, 0.9]);
  assert.deepEqual(loadRates(10_001), [
    { fraction: 0.25, rate: 2500 },
    { fraction: 0.5, rate: 5001 },
    { fraction: 0.9, rate: 9001 },
  ]);
  assert.deepEqual(loadRates(2), [
    { fraction: 0.25, rate: 1 },
    { fraction: 0.5, rate: 1 },
    { fraction: 0.9, rate: 2 },
  ]);
  assert.deepEqual(loadRates(null), []);
  assert.deepEqual(loadRates(0), []);
  assert.deepEqual(loadRates(Number.NaN), []);
});

test('the schedule releases messages at the rate and stamps when each was due', () => {
  const s = new OpenLoopSchedule(1000); // one per ms
  const t0 = 5_000_000_000;
  s.start(t0);
  assert.equal(s.due(t0), 1); // the first is due at the start
  assert.equal(s.take(1), t0);
  assert.equal(s.due(t0 + 999_999), 0);
  assert.equal(s.due(t0 + 10_000_000), 10);
  const first = s.take(4);
  assert.equal(first, t0 + 1_000_000); // message 1 was due 1 ms after the start
  assert.equal(s.intervalNs, 1_000_000);
  assert.equal(s.due(t0 + 10_000_000), 6);
  assert.equal(s.sent, 5);
  assert.equal(s.nextDueNs(), t0 + 5_000_000); // message 5, not yet taken, is due 5 ms in
});

test('an open loop does not forgive lag: a stalled publisher owes every message, stamped early', () => {
  const s = new OpenLoopSchedule(100);
  s.start(0);
  s.take(s.due(0));
  // stalled for 2 s: 200 messages are owed, and the first of them was due 10 ms after the start
  assert.equal(s.due(2_000_000_000), 200);
  assert.equal(s.take(200), 10_000_000);
  assert.equal(s.due(2_000_000_000), 0);
});

test('a rate of zero is refused', () => {
  assert.throws(() => new OpenLoopSchedule(0), /rate must be > 0/);
});

test('histogram percentiles are within 1 % of the exact nearest-rank value, also after merging', () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const samplesUs: number[] = [];
  for (let i = 1; i <= 10_000; i++) {
    const us = (i * 7919) % 50_000; // spread over 0..50 ms, deterministic
    samplesUs.push(us);
    (i % 2 === 0 ? a : b).record(us * 1000);
  }
  a.mergeFrom(b);
  assert.equal(a.count, 10_000);
  samplesUs.sort((x, y) => x - y);
  for (const p of [25, 50, 90, 99]) {
    const exact = samplesUs[Math.ceil((p / 100) * samplesUs.length) - 1];
    const got = a.percentileUs(p);
    assert.ok(got >= exact && got <= exact * 1.01 + 1, `p${p}: ${got} vs ${exact}`);
  }
  assert.equal(a.maxUs, samplesUs[samplesUs.length - 1]);
});
