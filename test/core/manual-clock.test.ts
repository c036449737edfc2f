import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/manual-clock.js';

test('ManualClock fires due timers in due-time order with now() at each due time', () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
  const cancelled = clock.setTimeout(() => fired.push('never'), 150);
  clock.clearTimeout(cancelled);
  clock.setTimeout(() => {
    fired.push(`c@${clock.now()}`);
    clock.setTimeout(() => fired.push(`nested@${clock.now()}`), 10);
  }, 250);
  clock.advance(199);
  assert.deepEqual(fired, ['a@1100']);
  assert.equal(clock.now(), 1199);
  clock.advance(100);
  assert.deepEqual(fired, ['a@1100', 'b@1200', 'c@1250', 'nested@1260']);
  assert.equal(clock.now(), 1299);
  assert.equal(clock.pendingTimers, 0);
});
