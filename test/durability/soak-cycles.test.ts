/**
 * The short version of `npm run soak`: the mixed AMQP + Kafka + SQS workload of test/soak/ against
 * a child-process broker, SIGKILLed at a random moment of each of a few cycles (PIER_SOAK_CYCLES),
 * then drained: no acknowledged message lost, none reordered where order is promised, no FIFO send
 * or idempotent Kafka record stored twice, no acknowledged Kafka commit found lower after a restart.
 * (Each protocol's own 20-cycle SIGKILL test is crash.test.ts, kafka-crash.test.ts, sqs-crash.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSoakResult, runSoak } from '../soak/soak.js';

const CYCLES = Number(process.env.PIER_SOAK_CYCLES ?? 4);

test(`soak: ${CYCLES} SIGKILL cycles of mixed AMQP, Kafka and SQS load lose nothing acknowledged`, {
  timeout: 300_000,
}, async () => {
  const lines: string[] = [];
  const result = await runSoak({
    cycles: CYCLES,
    checkEvery: 2,
    seed: Number(process.env.PIER_SOAK_SEED ?? 7),
    log: (line) => lines.push(line),
  });
  const report = `${lines.join('\n')}\n${formatSoakResult(result)}`;
  assert.ok(result.ok, report);
  assert.equal(result.cycles, CYCLES);
  // The load really ran: every stream had acknowledged messages to account for.
  for (const ledger of result.ledgers) {
    if (ledger.name.startsWith('kafka group')) continue; // consumption is settled against the log
    assert.ok(ledger.acknowledged > 0, `${ledger.name}: nothing acknowledged\n${report}`);
  }
});
