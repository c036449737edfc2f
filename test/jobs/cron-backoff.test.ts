// The jobs library's pure parts: cron expressions, backoff delays, the processed-id memory.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelayMs, MemoryProcessedIds, parseCron } from '../../src/jobs/index.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('cron', () => {
  test('next slots for common expressions, in UTC', () => {
    const from = at('2026-12-05T23:07:30Z'); // a Saturday
    const cases: Array<[string, string]> = [
      ['* * * * *', '2026-12-05T23:08:00.000Z'],
      ['*/15 * * * *', '2026-12-05T23:15:00.000Z'],
      ['0 * * * *', '2026-12-06T00:00:00.000Z'],
      ['30 9 * * MON-FRI', '2026-12-07T09:30:00.000Z'],
      ['0 0 1 JAN *', '2027-01-01T00:00:00.000Z'],
      ['0 12 29 2 *', '2028-02-29T12:00:00.000Z'],
      ['0 0 13 * 5', '2026-12-11T00:00:00.000Z'], // Friday or the 13th, whichever comes first
      ['5,10 8-10/2 * * 7', '2026-12-06T08:05:00.000Z'],
    ];
    for (const [expression, expected] of cases)
      assert.equal(iso(parseCron(expression).next(from)), expected, expression);
  });

  test('the next slot is strictly later, also from an exact slot', () => {
    const cron = parseCron('*/5 * * * *');
    assert.equal(iso(cron.next(at('2026-01-01T00:05:00Z'))), '2026-01-01T00:10:00.000Z');
  });

  test('bad expressions are refused with what is wrong', () => {
    assert.throws(() => parseCron('* * * *'), /expected 5 fields/);
    assert.throws(() => parseCron('60 * * * *'), /'60' is not in 0-59/);
    assert.throws(() => parseCron('* * * * FOO'), /'FOO' is not in 0-7/);
    assert.throws(() => parseCron('*/0 * * * *'), /bad step/);
    assert.throws(() => parseCron('0 0 31 2 *').next(0), /never matches/);
  });
});

describe('backoff', () => {
  test('fixed, exponential (capped), jitter within [1 - jitter, 1] of the base, custom', () => {
    assert.equal(backoffDelayMs({ type: 'fixed', delayMs: 250 }, 3, new Error()), 250);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) =>
        backoffDelayMs({ type: 'exponential', delayMs: 100, maxDelayMs: 1000 }, n, null),
      ),
      [100, 200, 400, 800, 1000],
    );
    const jittered = { type: 'exponential', delayMs: 1000, jitter: 0.5 } as const;
    assert.equal(
      backoffDelayMs(jittered, 1, null, {}, () => 0),
      1000,
    );
    assert.equal(
      backoffDelayMs(jittered, 1, null, {}, () => 0.999_999),
      501,
    );
    const custom = { type: 'custom', name: 'linear' } as const;
    assert.equal(backoffDelayMs(custom, 3, null, { linear: (attempt) => attempt * 10 }), 30);
    assert.throws(() => backoffDelayMs(custom, 1, null, {}), /backoffStrategies/);
    assert.equal(backoffDelayMs(undefined, 1, null), 0);
  });
});

describe('processed ids in memory', () => {
  test('bounded by count (oldest forgotten first) and by TTL', () => {
    let now = 0;
    const ids = new MemoryProcessedIds(2, 1_000, () => now);
    ids.add('a');
    ids.add('b');
    ids.add('c');
    assert.deepEqual([ids.has('a'), ids.has('b'), ids.has('c')], [false, true, true]);
    now = 1_000;
    assert.equal(ids.has('b'), false);
    assert.equal(ids.size, 1);
  });
});
