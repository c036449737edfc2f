// kcat (Debian's kcat 1.7.1 on librdkafka 2.0.2) against Pier's Kafka listener: metadata listing
// (-L, -J), 100,000 records produced and consumed back, a balanced consumer group (-G) of two kcat
// processes splitting the partitions, and an idempotent producer (enable.idempotence=true).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { addUser } from '../../src/core/amqp/management.js';
import { type KafkaTestBroker, startKafkaTestBroker, uniqueKafkaName } from '../helpers/kafka.js';
import { fetchPartition, KafkaWireClient } from '../helpers/kafka-wire.js';
import { run, runOk } from './helpers.js';

const KCAT = 'kcat';
const hasKcat = spawnSync(KCAT, ['-V'], { stdio: 'ignore' }).status === 0;
const skip = hasKcat ? false : 'kcat is not installed (apt-get install kcat)';

let broker: KafkaTestBroker;

before(async () => {
  if (hasKcat) broker = await startKafkaTestBroker();
});

after(async () => {
  await broker?.stop();
});

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true }),
      true,
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces lines from stdin with kcat, acks=all. A record not delivered in 30 s fails the run
 * (librdkafka's default is to keep trying for 5 minutes).
 */
async function kcatProduce(topic: string, lines: string[], extra: string[] = []): Promise<void> {
  const args = [
    '-P',
    '-b',
    broker.bootstrap,
    '-t',
    topic,
    '-X',
    'acks=all',
    '-X',
    'message.timeout.ms=30000',
  ];
  await runOk(KCAT, [...args, ...extra], {
    input: `${lines.join('\n')}\n`,
    timeoutMs: 60_000,
  });
}

test('kcat -L lists the broker, the controller and topic partitions', { skip }, async () => {
  const topic = uniqueKafkaName('kcat-meta');
  await createTopic(topic, 3);
  const { stdout } = await runOk(KCAT, ['-L', '-b', broker.bootstrap]);
  const text = stdout.toString('utf8');
  assert.match(text, /^Metadata for all topics \(from broker 0: /m);
  assert.match(
    text,
    new RegExp(`^ 1 brokers:\\n  broker 0 at ${broker.host}:${broker.port} \\(controller\\)$`, 'm'),
  );
  const lines = text.split('\n');
  const at = lines.indexOf(`  topic "${topic}" with 3 partitions:`);
  assert.ok(at >= 0, `topic ${topic} with 3 partitions listed:\n${text}`);
  assert.deepEqual(
    lines.slice(at + 1, at + 4),
    [0, 1, 2].map((p) => `    partition ${p}, leader 0, replicas: 0, isrs: 0`),
  );
});

test('kcat -L -J describes the cluster as JSON', { skip }, async () => {
  const topic = uniqueKafkaName('kcat-json');
  await createTopic(topic, 2);
  const { stdout } = await runOk(KCAT, ['-L', '-J', '-b', broker.bootstrap, '-t', topic]);
  const metadata = JSON.parse(stdout.toString('utf8'));
  assert.equal(metadata.controllerid, 0);
  assert.deepEqual(metadata.brokers, [{ id: 0, name: `${broker.host}:${broker.port}` }]);
  assert.deepEqual(metadata.topics, [
    {
      topic,
      partitions: [0, 1].map((partition) => ({
        partition,
        leader: 0,
        replicas: [{ id: 0 }],
        isrs: [{ id: 0 }],
      })),
    },
  ]);
});

test('kcat produces 100,000 records with acks=all and consumes them back', {
  skip,
  timeout: 120_000,
}, async () => {
  const topic = uniqueKafkaName('kcat-100k');
  const count = 100_000;
  const lines = Array.from({ length: count }, (_, i) => `record-${i}-${(i * 2654435761) % 2 ** 32}`);
  await kcatProduce(topic, lines, ['-p', '0']);
  const { stdout } = await runOk(
    KCAT,
    [
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      topic,
      '-p',
      '0',
      '-o',
      'beginning',
      '-c',
      String(count),
      '-e',
      '-f',
      '%o %s\\n',
    ],
    { timeoutMs: 60_000 },
  );
  const got = stdout.toString('utf8').split('\n').slice(0, -1);
  assert.equal(got.length, count, `kcat consumed ${got.length} of ${count} records`);
  const wrong = got.flatMap((line, i) => (line === `${i} ${lines[i]}` ? [] : [`#${i}: ${line}`]));
  assert.deepEqual(
    wrong.slice(0, 5),
    [],
    `${wrong.length} records differ (want "offset value", offsets from 0)`,
  );
});

/** A long-running kcat whose stdout lines and stderr are collected. */
class KcatProcess {
  readonly lines: string[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private partial = '';
  private readonly waiters = new Set<() => void>();

  constructor(args: string[]) {
    this.child = spawn(KCAT, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.notify();
    });
    this.child.on('exit', () => this.notify());
  }

  /** Partitions of the latest "Group ... rebalanced ...: assigned: t [0], t [1]" line; undefined before one. */
  assigned(): number[] | undefined {
    const events = [...this.stderr.matchAll(/rebalanced \(memberid [^)]*\): (assigned|revoked): ([^\n]*)/g)];
    const last = events.at(-1);
    if (last?.[1] !== 'assigned') return undefined;
    return [...last[2]!.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort();
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  until(what: string, done: () => boolean, timeoutMs: number, others: KcatProcess[] = []): Promise<void> {
    const all = [this, ...others];
    return new Promise((resolve, reject) => {
      const check = () => {
        const dead = all.find((p) => p.exited);
        if (done()) finish();
        else if (dead) finish(new Error(`kcat exited while waiting for ${what}; stderr:\n${dead.stderr}`));
      };
      const timer = setTimeout(
        () =>
          finish(
            new Error(
              `timed out waiting for ${what}; stderr:\n${all.map((p) => p.stderr.slice(-2000)).join('\n--\n')}`,
            ),
          ),
        timeoutMs,
      );
      const finish = (error?: Error) => {
        clearTimeout(timer);
        for (const p of all) p.waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      for (const p of all) p.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

test('two kcat -G consumers split the partitions and consume every record once', {
  skip,
  timeout: 90_000,
}, async () => {
  const topic = uniqueKafkaName('kcat-group');
  const group = uniqueKafkaName('kcat-group');
  const partitions = 4;
  const count = 10_000;
  await createTopic(topic, partitions);
  const consumerArgs = [
    '-b',
    broker.bootstrap,
    '-G',
    group,
    '-X',
    'auto.offset.reset=earliest',
    // Members learn of a rebalance from a heartbeat: keep the wait short.
    '-X',
    'heartbeat.interval.ms=200',
    '-f',
    '%p %o %k %s\\n',
    '-u', // unbuffered: each record as it comes (stdout is a pipe)
    topic,
  ];
  const a = new KcatProcess(consumerArgs);
  const b = new KcatProcess(consumerArgs);
  try {
    const split = () => {
      const [pa, pb] = [a.assigned(), b.assigned()];
      if (!pa?.length || !pb?.length) return false;
      return new Set([...pa, ...pb]).size === partitions && pa.length + pb.length === partitions;
    };
    await a.until('both consumers to be assigned disjoint partitions covering the topic', split, 45_000, [b]);
    const [assignedA, assignedB] = [a.assigned()!, b.assigned()!];

    const records = Array.from({ length: count }, (_, i) => `key-${i}:value-${i}`);
    await kcatProduce(topic, records, ['-K', ':']);
    await a.until(`${count} records consumed`, () => a.lines.length + b.lines.length >= count, 45_000, [b]);
    await Promise.all([a.stop(), b.stop()]);

    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    for (const [name, consumer, assigned] of [
      ['a', a, assignedA],
      ['b', b, assignedB],
    ] as const) {
      assert.ok(consumer.lines.length > 0, `consumer ${name} received records`);
      for (const line of consumer.lines) {
        const [partition, offset, key, value] = line.split(' ') as [string, string, string, string];
        assert.ok(
          assigned.includes(Number(partition)),
          `${name} got ${line} from a partition it was not assigned`,
        );
        assert.equal(value, `value-${key.slice('key-'.length)}`, `value of ${key}`);
        if (seen.has(key)) duplicates.push(`${key} at ${seen.get(key)} and ${name} p${partition}:${offset}`);
        seen.set(key, `${name} p${partition}:${offset}`);
      }
    }
    assert.deepEqual(duplicates.slice(0, 5), [], `${duplicates.length} records consumed twice`);
    assert.equal(seen.size, count, 'every record consumed');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('kcat with enable.idempotence=true: records stored once, with a producer id and sequences', {
  skip,
}, async () => {
  const topic = uniqueKafkaName('kcat-idempotent');
  const count = 5000;
  const lines = Array.from({ length: count }, (_, i) => `idempotent-${i}`);
  await kcatProduce(topic, lines, ['-p', '0', '-X', 'enable.idempotence=true']);
  const client = await KafkaWireClient.connect(broker.host, broker.port);
  try {
    const { records } = await fetchPartition(client, topic, 0);
    assert.deepEqual(
      records.map((r) => r.value),
      lines,
    );
    assert.ok(
      records.every((r) => r.producerId >= 0n && r.producerId === records[0]!.producerId),
      'every batch carries the producer id InitProducerId gave',
    );
    assert.equal(records[0]!.baseSequence, 0, 'the first batch starts at sequence 0');
    // Sequences run on from batch to batch: the base sequence of each batch is its first record's index.
    const wrongSequence = records.filter(
      (r, i) => i > 0 && r.baseSequence !== records[i - 1]!.baseSequence && r.baseSequence !== i,
    );
    assert.deepEqual(wrongSequence.slice(0, 3), [], 'each batch starts at the sequence of its first record');
  } finally {
    client.close();
  }
});

test('kcat logs in with SASL SCRAM-SHA-512 and PLAIN as a Pier user, and a wrong password is refused', {
  skip,
}, async () => {
  const secured = await startKafkaTestBroker({ kafka: { sasl: true, groupInitialRebalanceDelayMs: 0 } });
  try {
    addUser(secured.broker.core, 'kcat-user', 'kcat-secret');
    const topic = uniqueKafkaName('kcat-sasl');
    const login = (mechanism: string, password: string) => [
      '-b',
      secured.bootstrap,
      '-X',
      'security.protocol=SASL_PLAINTEXT',
      '-X',
      `sasl.mechanisms=${mechanism}`,
      '-X',
      'sasl.username=kcat-user',
      '-X',
      `sasl.password=${password}`,
    ];
    await runOk(KCAT, ['-P', ...login('SCRAM-SHA-512', 'kcat-secret'), '-t', topic, '-X', 'acks=all'], {
      input: 'one\ntwo\n',
      timeoutMs: 30_000,
    });
    const consumed = await runOk(
      KCAT,
      ['-C', ...login('PLAIN', 'kcat-secret'), '-t', topic, '-o', 'beginning', '-c', '2', '-e', '-q'],
      { timeoutMs: 30_000 },
    );
    assert.equal(consumed.stdout.toString('utf8'), 'one\ntwo\n');
    // Asynchronously: the broker runs in this process and must keep answering.
    const refused = await run(KCAT, ['-L', ...login('SCRAM-SHA-256', 'wrong'), '-m', '5'], {
      timeoutMs: 30_000,
    });
    assert.notEqual(refused.code, 0, 'kcat -L with a wrong password fails');
    assert.match(refused.stderr, /[Aa]uthentication|SASL/);
  } finally {
    await secured.stop();
  }
});
