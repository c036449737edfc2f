// The login throttle on a manual clock: lockout after maxFailures within the window, lockouts that
// double, success clearing an address, loopback exempt unless asked, bounded memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginThrottle } from '../../src/core/login-throttle.js';
import { ManualClock } from '../../src/core/manual-clock.js';

const REMOTE = '203.0.113.7';

test('an address is locked out after maxFailures failures within the window, then may try again', () => {
  const clock = new ManualClock();
  const throttle = new LoginThrottle(clock, { maxFailures: 3, windowMs: 60_000, lockoutMs: 10_000 });
  assert.equal(throttle.failed(REMOTE), 0);
  assert.equal(throttle.failed(REMOTE), 0);
  assert.equal(throttle.retryAfterMs(REMOTE), 0);
  assert.equal(throttle.failed(REMOTE), 10_000, 'the third failure starts a lockout');
  assert.equal(throttle.retryAfterMs(REMOTE), 10_000);
  assert.equal(throttle.retryAfterMs('203.0.113.8'), 0, 'other addresses are not affected');
  clock.advance(9_999);
  assert.equal(throttle.retryAfterMs(REMOTE), 1);
  clock.advance(1);
  assert.equal(throttle.retryAfterMs(REMOTE), 0);
});

test('failures older than the window do not count', () => {
  const clock = new ManualClock();
  const throttle = new LoginThrottle(clock, { maxFailures: 3, windowMs: 60_000 });
  throttle.failed(REMOTE);
  throttle.failed(REMOTE);
  clock.advance(60_000);
  assert.equal(throttle.failed(REMOTE), 0, 'the two old failures left the window');
  assert.equal(throttle.failed(REMOTE), 0);
  assert.ok(throttle.failed(REMOTE) > 0);
});

test('each further lockout of an address is twice as long, up to the maximum', () => {
  const clock = new ManualClock();
  const throttle = new LoginThrottle(clock, { maxFailures: 1, lockoutMs: 1_000, maxLockoutMs: 5_000 });
  const lockouts: number[] = [];
  for (let i = 0; i < 5; i++) {
    lockouts.push(throttle.failed(REMOTE));
    clock.advance(throttle.retryAfterMs(REMOTE));
  }
  assert.deepEqual(lockouts, [1_000, 2_000, 4_000, 5_000, 5_000]);
});

test('a successful login clears the address', () => {
  const clock = new ManualClock();
  const throttle = new LoginThrottle(clock, { maxFailures: 2 });
  throttle.failed(REMOTE);
  throttle.succeeded(REMOTE);
  assert.equal(throttle.failed(REMOTE), 0, 'the failure before the success is forgotten');
  assert.equal(throttle.trackedAddresses, 1);
});

test('loopback addresses are exempt unless includeLoopback; maxFailures 0 turns it off', () => {
  const clock = new ManualClock();
  const exempt = new LoginThrottle(clock, { maxFailures: 1 });
  for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
    assert.equal(exempt.failed(address), 0);
    assert.equal(exempt.retryAfterMs(address), 0);
  }
  const strict = new LoginThrottle(clock, { maxFailures: 1, includeLoopback: true });
  assert.ok(strict.failed('127.0.0.1') > 0);
  const off = new LoginThrottle(clock, { maxFailures: 0 });
  assert.equal(off.failed(REMOTE), 0);
  assert.equal(off.trackedAddresses, 0);
});

test('memory is bounded: the least recently failing addresses are forgotten first', () => {
  const clock = new ManualClock();
  const throttle = new LoginThrottle(clock, { maxFailures: 2, maxTrackedAddresses: 100 });
  throttle.failed('198.51.100.0');
  for (let i = 1; i <= 100; i++) throttle.failed(`198.51.100.${i}`);
  assert.equal(throttle.trackedAddresses, 100);
  assert.equal(throttle.failed('198.51.100.0'), 0, 'its first failure was forgotten');
  assert.ok(throttle.failed('198.51.100.100') > 0, 'a recent one is still counted');
});
