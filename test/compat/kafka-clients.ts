// The scenario the Python Kafka clients (kafka-python, confluent-kafka) run against Pier: produce with
// acks=all, consume part of the topic in a group with synchronous commits, restart the broker on the
// same data directory, and consume the rest: the group must resume exactly at its committed offsets.
// The Python side is test/compat/python/<client>_client.py (see kafkautil.py for its commands).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/broker.js';
import {
  type ChildKafkaBroker,
  GROUP_TEST_ARGS,
  spawnKafkaBroker,
  uniqueKafkaName,
} from '../helpers/kafka.js';
import { PYTHON, runPython } from './helpers.js';

/** [key, partition, offset] */
type Placed = [string, number, number];

interface Produced {
  records: Placed[];
}

interface Consumed {
  /** Committed offsets the member found when it got its partitions (JSON object keys are strings). */
  resumed_from: Record<string, number | null> | null;
  records: Placed[];
  committed: Record<string, number | null>;
}

export function pythonModuleMissing(module: string, debianPackage: string): string | false {
  const found = spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
  return found ? false : `${debianPackage} is not installed for ${PYTHON} (apt-get install ${debianPackage})`;
}

const PARTITIONS = 3;
const TOTAL = 1000;
const FIRST_PART = 400;
const BROKER_ARGS = [...GROUP_TEST_ARGS, '--kafka-default-partitions', String(PARTITIONS)];
const PYTHON_TIMEOUT_MS = 90_000;

export async function producerGroupResumeScenario(script: string): Promise<void> {
  const dataDir = tempDir('pier-kafka-compat-');
  let broker: ChildKafkaBroker | undefined;
  const topic = uniqueKafkaName('compat');
  const group = uniqueKafkaName('compat-group');
  const run = <T>(args: string[]) =>
    runPython<T>(script, [...args, '--bootstrap', broker!.bootstrap, '--topic', topic], PYTHON_TIMEOUT_MS);
  try {
    broker = await spawnKafkaBroker(dataDir, BROKER_ARGS);
    // The topic is created on first use with --kafka-default-partitions partitions.
    const produced = await run<Produced>(['produce', '--count', String(TOTAL)]);
    assert.equal(produced.records.length, TOTAL, 'every send acknowledged');
    const placement = new Map(
      produced.records.map(([key, partition, offset]) => [key, `${partition}:${offset}`]),
    );
    assert.equal(placement.size, TOTAL, 'keys are distinct');
    const perPartition = new Map<number, number[]>();
    for (const [, partition, offset] of produced.records) {
      perPartition.set(partition, [...(perPartition.get(partition) ?? []), offset]);
    }
    assert.equal(perPartition.size, PARTITIONS, `keys spread over all ${PARTITIONS} partitions`);
    for (const [partition, offsets] of perPartition) {
      assert.deepEqual(
        offsets.sort((a, b) => a - b),
        offsets.map((_, i) => i),
        `partition ${partition}: acknowledged offsets are 0..n-1`,
      );
    }

    const first = await run<Consumed>(['consume', '--group', group, '--count', String(FIRST_PART)]);
    assert.equal(first.records.length, FIRST_PART);
    assert.ok(
      Object.values(first.resumed_from ?? {}).every((offset) => offset === null),
      `a new group has no committed offsets (got ${JSON.stringify(first.resumed_from)})`,
    );
    const lastRead = new Map<string, number>();
    for (const [key, partition, offset] of first.records) {
      assert.equal(`${partition}:${offset}`, placement.get(key), `${key} consumed where it was produced`);
      lastRead.set(String(partition), Math.max(lastRead.get(String(partition)) ?? -1, offset));
    }
    assert.deepEqual(
      first.committed,
      Object.fromEntries([...lastRead].map(([partition, offset]) => [partition, offset + 1])),
      'the commit stored the offset after the last record read of each partition',
    );

    await broker.stop();
    broker = await spawnKafkaBroker(dataDir, BROKER_ARGS);

    const second = await run<Consumed>(['consume', '--group', group, '--count', String(TOTAL - FIRST_PART)]);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const committed: number | null = first.committed[String(partition)] ?? null;
      assert.equal(
        second.resumed_from?.[String(partition)] ?? null,
        committed,
        `partition ${partition}: committed offset after the restart`,
      );
      const offsets = second.records.filter(([, p]) => p === partition).map(([, , offset]) => offset);
      if (offsets.length > 0) {
        assert.equal(
          offsets[0],
          committed ?? 0,
          `partition ${partition}: reading resumed at the committed offset`,
        );
      }
    }
    const seen = new Set<string>();
    for (const [key, partition, offset] of [...first.records, ...second.records]) {
      assert.ok(!seen.has(key), `${key} consumed twice`);
      seen.add(key);
      assert.equal(`${partition}:${offset}`, placement.get(key), `${key} consumed where it was produced`);
    }
    assert.equal(seen.size, TOTAL, 'every record consumed once across the restart');
  } finally {
    await broker?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
