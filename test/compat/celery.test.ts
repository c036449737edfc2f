// A real Celery worker (Debian python3-celery 5.2 on kombu 5.2 and py-amqp 5.1, run with /usr/bin/python3)
// against an in-process Pier: the setup of issue 11 (-P threads -c 1, prefetch multiplier 1, acks_late,
// two queues, results over rpc://). The Python side is test/compat/python/celery_app.py (tasks) and
// celery_client.py (sends them). Tasks tell the test when they run over a TCP "gate" and wait for its
// answer, so the test awaits events instead of sleeping, and can hold a task while it looks at the broker.
//
// Why it matters: kombu applies basic.qos to the whole channel (global) only when server-properties say
// product RabbitMQ >= 3.3; otherwise per consumer (global=false), which RabbitMQ, and Pier, apply to
// consumers created afterwards only. So a worker that raises its prefetch while it holds an ETA task
// (Celery does) got nothing more until that task was acked, and Celery's thread pool leaves acks to its
// event loop, which sleeps up to 10 s when nothing else wakes it: 10 s per retry with a 1 s countdown.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import type { Queue } from '../../src/core/amqp/queue.js';
import type { AmqpConsumer } from '../../src/protocol/amqp/consumer.js';
import { PIER_VERSION } from '../../src/protocol/amqp/server-properties.js';
import { listenNodeServer, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { PYTHON, PYTHON_DIR } from './helpers.js';

const hasCelery = spawnSync(PYTHON, ['-c', 'import celery'], { stdio: 'ignore' }).status === 0;
const skip = hasCelery
  ? false
  : 'python3-celery is not installed for /usr/bin/python3 (apt-get install python3-celery)';

const QUEUE_A = 'celery-compat-a';
const QUEUE_B = 'celery-compat-b';
const WAIT_MS = 60_000;

/** Celery's default worker loop: its 2 s event heartbeat wakes it, so acks left to it go out soon. */
const AWAKE = ['--without-mingle', '--without-gossip'];
/** Without the 2 s event heartbeat, little but deliveries wakes the loop: it polls up to 10 s (kombu's cap). */
const QUIET = [...AWAKE, '--without-heartbeat'];

interface GateEvent {
  /** What the task said, e.g. `hold redelivered=False` or `flaky attempt=2`. */
  readonly text: string;
  /** performance.now() when it arrived. */
  readonly atMs: number;
  readonly socket: Socket;
}

/** The TCP server tasks report to (celery_app.gate); answers at once unless the text is held. */
class Gate {
  private readonly server: Server;
  private readonly events: GateEvent[] = [];
  private readonly waiters: Array<{ text: string; resolve: (event: GateEvent) => void }> = [];
  private readonly held = new Set<string>();
  port = 0;

  constructor() {
    this.server = createServer((socket) => {
      socket.on('error', () => {}); // a killed worker's task hangs up
      createInterface({ input: socket }).once('line', (text) =>
        this.arrived({ text, atMs: performance.now(), socket }),
      );
    });
  }

  async start(): Promise<void> {
    this.port = await listenNodeServer(this.server);
  }

  /** Events with this text wait for answer() instead of being answered at once. */
  hold(text: string): void {
    this.held.add(text);
  }

  answer(event: GateEvent, reply: string): void {
    event.socket.end(`${reply}\n`);
  }

  private arrived(event: GateEvent): void {
    this.events.push(event);
    if (!this.held.has(event.text)) this.answer(event, 'ok');
    for (const waiter of this.waiters.filter((w) => w.text === event.text)) waiter.resolve(event);
  }

  /** Whether an event with this text has arrived. */
  seen(text: string): boolean {
    return this.events.some((e) => e.text === text);
  }

  /** The first event with this text, when it arrives. */
  wait(text: string): Promise<GateEvent> {
    const event = this.events.find((e) => e.text === text);
    if (event) return Promise.resolve(event);
    return within(
      new Promise((resolve) => this.waiters.push({ text, resolve })),
      `no task reported '${text}'`,
    );
  }

  close(): void {
    this.server.close();
  }
}

function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A child process whose output is kept (for failure messages) and whose stdout lines can be awaited. */
class Child {
  readonly exited: Promise<number | NodeJS.Signals | null>;
  private output = '';
  private readonly lines: string[] = [];
  private readonly waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => process.once('exit', (code, signal) => resolve(signal ?? code)));
    for (const stream of [process.stdout!, process.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (this.output.length < 200_000) this.output += `${line}\n`;
        this.lines.push(line);
        for (const waiter of this.waiters.filter((w) => w.match(line))) waiter.resolve(line);
      });
    }
  }

  /** The first output line (stdout or stderr) matching `match`. */
  line(match: (line: string) => boolean, what: string): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    const failed = this.exited.then((code) => {
      throw new Error(`${this.name} exited (${code}) before ${what}:\n${this.output}`);
    });
    return within(
      Promise.race([new Promise<string>((resolve) => this.waiters.push({ match, resolve })), failed]),
      `${this.name}: no ${what}; output:\n${this.output}`,
    );
  }

  /** The JSON line celery_client.py prints with this key. */
  async json<T>(key: 'event' | 'result'): Promise<T> {
    const line = await this.line((l) => l.startsWith(`{"${key}"`), `'${key}' line`);
    return (JSON.parse(line) as Record<string, T>)[key]!;
  }

  /** SIGTERM (Celery's warm shutdown), SIGKILL if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

function pythonEnv(url: string, gate: Gate): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PIER_CELERY_BROKER: url,
    PIER_CELERY_GATE_PORT: String(gate.port),
    PYTHONPATH: PYTHON_DIR,
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
  };
}

/** `celery worker` as issue 11 runs it, started and waited for until it says it is ready. */
async function startWorker(name: string, url: string, gate: Gate, flags: string[]): Promise<Child> {
  const args = ['-m', 'celery', '-A', 'celery_app', 'worker', '-P', 'threads', '-c', '1'];
  args.push('-Q', `${QUEUE_A},${QUEUE_B}`, '-n', `${name}@pier-compat`, '--loglevel', 'INFO', ...flags);
  const child = new Child(name, spawn(PYTHON, args, { env: pythonEnv(url, gate), cwd: PYTHON_DIR }));
  await child.line((l) => /\bready\.$/.test(l), "'ready.' line");
  return child;
}

function client(scenario: string, url: string, gate: Gate): Child {
  const script = `${PYTHON_DIR}/celery_client.py`;
  return new Child(`client ${scenario}`, spawn(PYTHON, [script, scenario], { env: pythonEnv(url, gate) }));
}

function queue(broker: TestBroker, name: string): Queue {
  const found = broker.core.vhosts.get('/')?.queues.get(name);
  assert.ok(found, `queue ${name} exists`);
  return found;
}

test('celery', { skip }, async (t) => {
  const broker = await startTestBroker();
  const gate = new Gate();
  await gate.start();
  const children: Child[] = [];
  const track = (child: Child) => {
    children.push(child);
    return child;
  };
  try {
    await t.test(
      'kombu sees RabbitMQ 3.10 in server-properties, so it applies basic.qos per channel',
      async () => {
        const identity = await track(client('identity', broker.url, gate)).json<Record<string, unknown>>(
          'result',
        );
        assert.deepEqual(identity, {
          product: 'RabbitMQ',
          version: '3.10.8',
          pier_version: PIER_VERSION,
          qos_semantics_matches_spec: false,
        });
      },
    );

    // A worker whose loop nothing wakes but deliveries: where a prefetch that cannot be raised cost 10 s.
    const quiet = track(await startWorker('quiet', broker.url, gate, QUIET));

    await t.test(
      'a task held for its countdown (ETA) does not keep the next task on its queue waiting',
      async () => {
        // First on a fresh worker: no ack of an earlier task is pending in its loop to hold both back.
        const sender = track(client('eta', broker.url, gate));
        await sender.json('event');
        // Celery raised its prefetch to 2 for the held task: the next one is delivered and runs at once.
        await gate.wait('next-task redelivered=False');
        assert.ok(!gate.seen('eta-task redelivered=False'), 'the next task ran before the countdown task');
        assert.deepEqual(await sender.json('result'), { eta: 'ok', next: 'ok' });
      },
    );

    await t.test(
      'autoretry_for with retry_backoff: each retry runs about its 1 s countdown later',
      async () => {
        const sender = track(client('retry', broker.url, gate));
        await sender.json('event');
        const attempts: number[] = [];
        for (let i = 0; i <= 3; i++) attempts.push((await gate.wait(`flaky attempt=${i}`)).atMs);
        const result = await sender.json<{ retries: number; seconds: number }>('result');
        assert.equal(result.retries, 3);
        const gaps = attempts.slice(1).map((at, i) => (at - attempts[i]!) / 1000);
        for (const gap of gaps) {
          // The countdown is honoured, and the retry is not left waiting for the worker's loop to wake.
          assert.ok(
            gap >= 0.9 && gap < 3,
            `gaps between attempts ${gaps.map((g) => g.toFixed(2)).join(', ')} s`,
          );
        }
        // A 1 s countdown, then 3 retries 1 s apart: about 4 s (10 s per attempt before).
        assert.ok(result.seconds < 8, `took ${result.seconds.toFixed(1)} s`);
      },
    );

    await quiet.stop();
    // Every task was acked before the worker left: nothing is redelivered to the next one.
    for (const name of [QUEUE_A, QUEUE_B]) {
      const q = queue(broker, name);
      assert.deepEqual({ ready: q.messageCount, unacked: q.leasedCount }, { ready: 0, unacked: 0 }, name);
    }

    // Celery's default loop, woken every 2 s by its event heartbeat.
    const worker = track(await startWorker('awake', broker.url, gate, AWAKE));
    const a = queue(broker, QUEUE_A);
    const b = queue(broker, QUEUE_B);

    await t.test(
      'prefetch multiplier 1 with -c 1: one unacked delivery on the channel across both queues',
      async () => {
        assert.equal(a.consumerCount, 1);
        assert.equal(b.consumerCount, 1);
        const consumers = [a.consumers[0], b.consumers[0]] as AmqpConsumer[];
        assert.equal(
          consumers[0]!.channel,
          consumers[1]!.channel,
          'the worker consumes both queues on one channel',
        );
        gate.hold('hold redelivered=False');
        const sender = track(client('prefetch', broker.url, gate));
        const held = await gate.wait('hold redelivered=False');
        try {
          await sender.json('event'); // all three published and confirmed: routed, and dispatched if they could be
          assert.equal(a.leasedCount + b.leasedCount, 1, 'unacked deliveries to the worker');
          assert.equal(a.messageCount, 1, `ready in ${QUEUE_A}`);
          assert.equal(b.messageCount, 1, `ready in ${QUEUE_B}`);
        } finally {
          gate.answer(held, 'released');
        }
        assert.deepEqual(await sender.json('result'), { hold: 'released', a: 5, b: 9 });
      },
    );

    // Celery's rpc:// backend answers to the queue named in reply_to: a queue per client above (the
    // results of every scenario came that way); here a kombu client names amq.rabbitmq.reply-to instead.
    await t.test("results over RabbitMQ's direct reply-to (amq.rabbitmq.reply-to)", async () => {
      const sender = track(client('direct-reply', broker.url, gate));
      const reply = await sender.json<Record<string, unknown>>('result');
      assert.equal(reply.status, 'SUCCESS');
      assert.equal(reply.value, 42);
      assert.equal(reply.correlation_id, reply.task_id);
    });

    await t.test(
      'a worker killed (SIGKILL) mid-task: its task is redelivered to a new worker and completes',
      async () => {
        gate.hold('crash redelivered=False');
        gate.hold('crash redelivered=True');
        const sender = track(client('crash', broker.url, gate));
        await gate.wait('crash redelivered=False');
        assert.equal(a.leasedCount, 1);
        worker.process.kill('SIGKILL');
        assert.equal(await worker.exited, 'SIGKILL');
        const successor = track(await startWorker('successor', broker.url, gate, AWAKE));
        const redelivered = await gate.wait('crash redelivered=True');
        gate.answer(redelivered, 'done after redelivery');
        assert.equal(await sender.json('result'), 'done after redelivery');
        await successor.stop();
      },
    );
  } finally {
    for (const child of children) await child.stop();
    gate.close();
    await broker.stop();
  }
});
