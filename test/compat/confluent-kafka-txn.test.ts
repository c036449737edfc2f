// confluent-kafka (Debian's python3-confluent-kafka on librdkafka 2.0.2) exactly-once: a
// transactional consume-transform-produce loop (init_transactions, send_offsets_to_transaction,
// commit_transaction) with isolation.level=read_committed, while the child broker is SIGKILLed and
// restarted on the same port three times. A transform process that hits an error exits and is
// started again (the new instance fences the old one and resumes at the committed offsets). At the
// end a read_committed reader sees every input record exactly once in the output.
import assert from 'node:assert/strict';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freeLoopbackPort, tempDir } from '../helpers/broker.js';
import {
  type ChildKafkaBroker,
  GROUP_TEST_ARGS,
  spawnKafkaBroker,
  uniqueKafkaName,
} from '../helpers/kafka.js';
import { PYTHON, PYTHON_DIR, run, runPython } from './helpers.js';
import { pythonModuleMissing } from './kafka-clients.js';

const RECORDS = Number(process.env.PIER_TXN_RECORDS ?? 20_000);
const KILLS = 3;
const SCRIPT = 'confluent_kafka_txn.py';
const RESTART_EXIT_CODE = 3;

test(`confluent-kafka: transactional consume-transform-produce of ${RECORDS} records through ${KILLS} SIGKILLs, exactly once for read_committed`, {
  skip: pythonModuleMissing('confluent_kafka', 'python3-confluent-kafka'),
  timeout: 240_000,
}, async () => {
  const dataDir = tempDir('pier-confluent-txn-');
  const port = await freeLoopbackPort();
  const args = [...GROUP_TEST_ARGS, '--kafka-port', String(port), '--kafka-default-partitions', '3'];
  let broker: ChildKafkaBroker | undefined = await spawnKafkaBroker(dataDir, args);
  const bootstrap = broker.bootstrap;
  const input = uniqueKafkaName('ctp-in');
  const output = uniqueKafkaName('ctp-out');
  try {
    await runPython(
      SCRIPT,
      ['fill', '--bootstrap', bootstrap, '--topic', input, '--count', String(RECORDS)],
      90_000,
    );
    let kills = 0;
    let transformDone = false;
    // Kills while transactions flow, each time bringing the broker back on the same port.
    const killer = (async () => {
      while (kills < KILLS && !transformDone) {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        if (transformDone) break;
        await broker!.kill();
        kills++;
        broker = await spawnKafkaBroker(dataDir, args);
      }
    })();
    let runs = 0;
    for (;;) {
      runs++;
      const result = await run(
        PYTHON,
        [
          join(PYTHON_DIR, SCRIPT),
          'transform',
          ...['--bootstrap', bootstrap, '--topic', input, '--out', output],
          ...['--group', 'ctp-group', '--txn-id', 'ctp-txn', '--batch', '200'],
        ],
        { timeoutMs: 120_000 },
      );
      const debug = process.env.PIER_TXN_DEBUG;
      if (debug)
        appendFileSync(
          debug,
          `run ${runs}: exit ${result.code} ${result.stdout} ${result.stderr.slice(-400)}\n`,
        );
      if (result.code === 0) break;
      assert.equal(
        result.code,
        RESTART_EXIT_CODE,
        `transform failed (exit ${result.code ?? result.signal}): ${result.stderr.slice(-2000)}`,
      );
      assert.ok(runs < 20, `transform did not finish after ${runs} runs: ${result.stderr.slice(-2000)}`);
    }
    transformDone = true;
    await killer;
    assert.equal(kills, KILLS, `the broker was killed ${KILLS} times while the transform ran`);
    const { values } = await runPython<{ values: string[] }>(
      SCRIPT,
      ['read', '--bootstrap', bootstrap, '--topic', output, '--count', String(RECORDS)],
      120_000,
    );
    const counts = new Map<string, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
    const missing: string[] = [];
    for (let i = 0; i < RECORDS; i++) if (!counts.has(`out-in-${i}`)) missing.push(`out-in-${i}`);
    assert.deepEqual(duplicated.slice(0, 5), [], `${duplicated.length} records appear more than once`);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} input records are missing from the output`);
    assert.equal(values.length, RECORDS);
  } finally {
    await broker?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
