import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QueuedMessage } from '../../src/core/message.js';
import { Storage } from '../../src/storage/storage.js';
import { makeMessage, tempDir } from './helpers.js';

/**
 * Not a strict benchmark (CI machines vary): publishes N 100-byte persistent messages with
 * fsync=always the way a broker would (a batch per event-loop turn, each batch waiting for its
 * afterDurable callback before counting as confirmed, several batches in flight), then consumes
 * and acks them all, and prints the rates.
 */
test('throughput: persistent 100-byte appends and acks with fsync=always', async () => {
  const { dir, cleanup } = tempDir();
  const N = Number(process.env.PIER_BENCH_MESSAGES ?? 300_000);
  const perTurn = Number(process.env.PIER_BENCH_PER_TURN ?? 1000);
  try {
    const s = Storage.open({ dataDir: dir, fsync: 'always', logger: () => {} });
    const q = s.openQueueStore('/', 'bench');
    const body = Buffer.alloc(100, 'x');
    const message = makeMessage(body);
    let confirmed = 0;
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      let pushed = 0;
      const turn = () => {
        for (let i = 0; i < perTurn && pushed < N; i++, pushed++) q.push(message);
        s.committer.afterDurable(() => {
          confirmed += perTurn;
          if (confirmed >= N) resolve();
        });
        if (pushed < N) setImmediate(turn);
      };
      turn();
    });
    const t1 = process.hrtime.bigint();
    const appendSec = Number(t1 - t0) / 1e9;
    const shifted: QueuedMessage[] = [];
    for (let m = q.shift(); m; m = q.shift()) {
      shifted.push(m);
      if (shifted.length === 1000) {
        for (const x of shifted) q.settle(x);
        shifted.length = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    for (const x of shifted) q.settle(x);
    await s.committer.flush();
    const t2 = process.hrtime.bigint();
    const ackSec = Number(t2 - t1) / 1e9;
    const st = s.committer.stats;
    console.log(
      `appends: ${Math.round(N / appendSec)}/s durable (${N} in ${appendSec.toFixed(2)} s); ` +
        `shift+ack: ${Math.round(N / ackSec)}/s; fdatasyncs ${st.syncs}, writes ${st.writes}, segments left ${q.segmentCount}`,
    );
    assert.equal(q.readyCount, 0);
    assert.ok(q.segmentCount <= 1);
    await s.close();
  } finally {
    cleanup();
  }
});
