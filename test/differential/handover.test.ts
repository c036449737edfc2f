// `pier handover rabbitmq` against the real reference RabbitMQ 3.10 (PIER_REFERENCE_AMQP_URL and
// PIER_REFERENCE_HTTP_URL, started by .ci/start-rabbitmq): Pier's durable exchanges, queues,
// bindings, policies, users and persistent messages with headers move to RabbitMQ, where amqplib
// consumers read every message in order; a hand-over SIGKILLed mid-way and run again loses none.
// Everything is made in vhosts and users named for the run, deleted from RabbitMQ afterwards (the
// reference node is shared by the other differential tests).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type ConsumeMessage, connect } from 'amqplib';
import {
  type ChildBroker,
  freeLoopbackPort,
  runPier,
  spawnBroker,
  spawnPier,
  startTestBroker,
  type TestBroker,
  tempDir,
} from '../helpers/broker.js';
import { type ApiCall, apiClient } from '../management/api-client.js';

const referenceAmqp = process.env.PIER_REFERENCE_AMQP_URL;
const referenceHttp = process.env.PIER_REFERENCE_HTTP_URL;
const SKIP =
  referenceAmqp && referenceHttp
    ? false
    : 'PIER_REFERENCE_AMQP_URL and PIER_REFERENCE_HTTP_URL are not both set: the hand-over needs a real RabbitMQ ' +
      '(bash .ci/start-rabbitmq, then PIER_REFERENCE_AMQP_URL=amqp://guest:guest@127.0.0.1:5672 ' +
      'PIER_REFERENCE_HTTP_URL=http://guest:guest@127.0.0.1:15672)';

function clientFor(url: string): ApiCall {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return apiClient(parsed.origin, user, password);
}

/** The AMQP URL for a vhost, with other credentials when given. */
function amqpUrl(base: string, vhost: string, credentials?: { user: string; password: string }): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  if (credentials) {
    url.username = encodeURIComponent(credentials.user);
    url.password = encodeURIComponent(credentials.password);
  }
  return url.toString();
}

async function ok(reply: Promise<{ status: number; body: unknown }>, what: string): Promise<unknown> {
  const r = await reply;
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Publishes persistent messages with headers and message ids on a confirm channel. */
async function publish(
  url: string,
  exchange: string,
  routingKey: string,
  count: number,
  idPrefix: string,
): Promise<void> {
  const connection = await connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    for (let i = 0; i < count; i++) {
      channel.publish(exchange, routingKey, Buffer.from(`order ${i}`), {
        persistent: true,
        messageId: `${idPrefix}-${i}`,
        contentType: 'text/plain',
        correlationId: `c-${i}`,
        headers: { seq: i, tenant: 'acme', tags: ['a', 'b'], nested: { region: 'eu' } },
      });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Reads every message of a queue with a consumer (acks them), until `count` arrived and a pause. */
async function consumeAll(url: string, queue: string, count: number): Promise<ConsumeMessage[]> {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(500);
    const got: ConsumeMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${got.length} of ${count} messages arrived from '${queue}' in 30 s`)),
        30_000,
      );
      void channel.consume(queue, (message) => {
        if (message === null) return;
        got.push(message);
        channel.ack(message);
        if (got.length === count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // Anything beyond `count` (duplicates) is still waiting: count it without consuming it.
    const extra = (await channel.checkQueue(queue)).messageCount;
    assert.equal(extra, 0, `'${queue}' holds ${extra} more message(s) than the ${count} read`);
    return got;
  } finally {
    await connection.close();
  }
}

async function depth(url: string, queue: string): Promise<number> {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

describe('pier handover rabbitmq (against the reference RabbitMQ)', { skip: SKIP }, () => {
  const run = `handover-${randomBytes(6).toString('hex')}`;
  const vhost = `${run}-shop`;
  const interruptedVhost = `${run}-kill`;
  const quorumVhost = `${run}-quorum`;
  const restartVhost = `${run}-restart`;
  const refusedVhost = `${run}-refused`;
  const appUser = `${run}-app`;
  const appPassword = 'app-secret';
  let pier: TestBroker;
  let pierApi: ApiCall;
  let rabbit: ApiCall;

  before(async () => {
    rabbit = clientFor(referenceHttp!);
    pier = await startTestBroker({ httpPort: 0 });
    pierApi = apiClient(pier.http!.url);
  });
  after(async () => {
    if (rabbit) {
      for (const v of [vhost, interruptedVhost, quorumVhost, restartVhost, refusedVhost])
        await rabbit('DELETE', `/api/vhosts/${encodeURIComponent(v)}`);
      await rabbit('DELETE', `/api/users/${encodeURIComponent(appUser)}`);
    }
    await pier?.stop();
  });

  const handover = (extra: string[]) =>
    runPier(
      [
        'handover',
        'rabbitmq',
        '--amqp',
        referenceAmqp!,
        '--http',
        referenceHttp!,
        '--from',
        pier.url,
        '--data-dir',
        pier.dataDir,
        ...extra,
      ],
      { timeoutMs: 120_000 },
    );

  it('moves definitions and every message, in order with their headers; a rerun moves nothing more', async () => {
    const v = encodeURIComponent(vhost);
    const put = (path: string, body: unknown) => ok(pierApi('PUT', path, body), `PUT ${path} on Pier`);
    await put(`/api/vhosts/${v}`, {});
    await put(`/api/users/${encodeURIComponent(appUser)}`, { password: appPassword, tags: 'monitoring' });
    for (const user of ['guest', appUser]) {
      await put(`/api/permissions/${v}/${encodeURIComponent(user)}`, {
        configure: '.*',
        write: '.*',
        read: '.*',
      });
    }
    await put(`/api/exchanges/${v}/orders`, { type: 'topic', durable: true });
    await put(`/api/queues/${v}/orders.created`, { durable: true, arguments: { 'x-max-length': 100_000 } });
    await put(`/api/queues/${v}/orders.audit`, { durable: true });
    await ok(
      pierApi('POST', `/api/bindings/${v}/e/orders/q/orders.created`, { routing_key: 'order.created' }),
      'bind',
    );
    await ok(
      pierApi('POST', `/api/bindings/${v}/e/orders/q/orders.audit`, { routing_key: 'order.#' }),
      'bind',
    );
    await put(`/api/policies/${v}/audit-ttl`, {
      pattern: '^orders\\.audit$',
      'apply-to': 'queues',
      priority: 1,
      definition: { 'message-ttl': 3_600_000 },
    });

    const N = 2000;
    await publish(amqpUrl(pier.url, vhost), 'orders', 'order.created', N, 'o');

    const dry = await handover(['--vhosts', vhost, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: nothing changed/);
    assert.match(dry.stdout, new RegExp(`${vhost}\\s+orders\\.created\\s+${N}`));
    assert.equal((await rabbit('GET', `/api/vhosts/${v}`)).status, 404, 'a dry run created the vhost');

    const first = await handover(['--vhosts', vhost]);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    assert.match(first.stdout, /hand-over complete/);
    assert.match(first.stdout, /definitions: all on the target/);
    assert.match(first.stdout, new RegExp(`moved ${2 * N} message\\(s\\), 0 left at Pier`));
    assert.match(first.stderr, /user 'guest' exists on the target: kept/);

    // The definitions, as RabbitMQ's own export shows them.
    const defs = (await ok(rabbit('GET', `/api/definitions/${v}`), 'export')) as Record<string, Row[]>;
    const names = (rows: Row[]) => rows.map((r) => r.name).sort();
    assert.deepEqual(names(defs.queues!), ['orders.audit', 'orders.created']);
    assert.deepEqual(defs.queues!.find((q) => q.name === 'orders.created')!.arguments, {
      'x-max-length': 100_000,
    });
    assert.deepEqual(
      defs.exchanges!.map((x) => [x.name, x.type, x.durable]),
      [['orders', 'topic', true]],
    );
    assert.deepEqual(defs.bindings!.map((b) => [b.source, b.destination, b.routing_key]).sort(), [
      ['orders', 'orders.audit', 'order.#'],
      ['orders', 'orders.created', 'order.created'],
    ]);
    assert.deepEqual(
      defs.policies!.map((p) => [p.name, p.pattern, p.definition]),
      [['audit-ttl', '^orders\\.audit$', { 'message-ttl': 3_600_000 }]],
    );
    const user = (await ok(rabbit('GET', `/api/users/${encodeURIComponent(appUser)}`), 'user')) as Row;
    assert.deepEqual(user.tags, ['monitoring']);

    // Pier is empty; RabbitMQ holds every message; the app's own user (its password moved as a
    // hash) consumes them there, in publish order, properties and headers intact.
    assert.equal(await depth(amqpUrl(pier.url, vhost), 'orders.created'), 0);
    const appOnRabbit = amqpUrl(referenceAmqp!, vhost, { user: appUser, password: appPassword });
    const created = await consumeAll(appOnRabbit, 'orders.created', N);
    assert.deepEqual(
      created.map((m) => m.properties.headers?.seq),
      Array.from({ length: N }, (_, i) => i),
    );
    const sample = created[7]!;
    assert.equal(sample.content.toString(), 'order 7');
    assert.equal(sample.properties.deliveryMode, 2);
    assert.equal(sample.properties.messageId, 'o-7');
    assert.equal(sample.properties.correlationId, 'c-7');
    assert.equal(sample.properties.contentType, 'text/plain');
    assert.deepEqual(sample.properties.headers, {
      seq: 7,
      tenant: 'acme',
      tags: ['a', 'b'],
      nested: { region: 'eu' },
    });
    assert.equal(sample.fields.routingKey, 'orders.created');
    const audit = await consumeAll(appOnRabbit, 'orders.audit', N);
    assert.equal(audit.length, N);

    // Run again: the definitions are there already and nothing is left to move.
    const again = await handover(['--vhosts', vhost]);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.match(again.stdout, /moved 0 message\(s\), 0 left at Pier/);
  });

  it('a hand-over SIGKILLed mid-way and run again delivers every message at least once', async () => {
    const v = encodeURIComponent(interruptedVhost);
    const put = (path: string, body: unknown) => ok(pierApi('PUT', path, body), `PUT ${path} on Pier`);
    await put(`/api/vhosts/${v}`, {});
    await put(`/api/permissions/${v}/guest`, { configure: '.*', write: '.*', read: '.*' });
    await put(`/api/queues/${v}/jobs`, { durable: true });
    const M = 5000;
    await publish(amqpUrl(pier.url, interruptedVhost), '', 'jobs', M, 'j');

    // One message in flight at a time, so the move lasts long enough to be killed in the middle.
    const child = spawnPier([
      'handover',
      'rabbitmq',
      '--amqp',
      referenceAmqp!,
      '--http',
      referenceHttp!,
      '--from',
      pier.url,
      '--data-dir',
      pier.dataDir,
      '--vhosts',
      interruptedVhost,
      '--prefetch',
      '1',
    ]);
    child.stdout!.resume();
    const exited = new Promise<string | number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code)),
    );
    // The first progress line ("moved N of M") comes after a second of moving: kill it then.
    let stderr = '';
    const lines = createInterface({ input: child.stderr! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        stderr += `${line}\n`;
        if (/queue 'jobs' .*: moved \d+ of \d+/.test(line)) resolve();
      });
      void exited.then((code) =>
        reject(new Error(`the hand-over ended (${code}) before it was killed:\n${stderr}`)),
      );
    });
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const leftAtPier = await depth(amqpUrl(pier.url, interruptedVhost), 'jobs');
    assert.ok(leftAtPier > 0 && leftAtPier < M, `killed mid-way: ${leftAtPier} of ${M} left at Pier`);

    const rerun = await handover(['--vhosts', interruptedVhost]);
    assert.equal(rerun.code, 0, `${rerun.stdout}\n${rerun.stderr}`);
    assert.match(rerun.stdout, /hand-over complete/);
    assert.equal(await depth(amqpUrl(pier.url, interruptedVhost), 'jobs'), 0);

    const onRabbit = amqpUrl(referenceAmqp!, interruptedVhost);
    const total = await depth(onRabbit, 'jobs');
    assert.ok(total >= M, `RabbitMQ holds ${total} messages, fewer than the ${M} published`);
    const got = await consumeAll(onRabbit, 'jobs', total);
    const ids = new Set(got.map((m) => m.properties.messageId as string));
    const missing = Array.from({ length: M }, (_, i) => `j-${i}`).filter((id) => !ids.has(id));
    assert.deepEqual(missing, [], 'messages lost by the interrupted hand-over');
    // At most the in-flight window (one message) can be duplicated by the kill.
    assert.ok(total - M <= 1, `${total - M} duplicates after the kill`);
  });

  it('--quorum makes quorum queues on RabbitMQ; --queues leaves the other queues and their messages at Pier', async () => {
    const v = encodeURIComponent(quorumVhost);
    const put = (path: string, body: unknown) => ok(pierApi('PUT', path, body), `PUT ${path} on Pier`);
    await put(`/api/vhosts/${v}`, {});
    await put(`/api/permissions/${v}/guest`, { configure: '.*', write: '.*', read: '.*' });
    await put(`/api/queues/${v}/q.prio`, { durable: true, arguments: { 'x-max-priority': 9 } });
    await put(`/api/queues/${v}/stays`, { durable: true });
    await publish(amqpUrl(pier.url, quorumVhost), '', 'q.prio', 50, 'p');
    await publish(amqpUrl(pier.url, quorumVhost), '', 'stays', 7, 's');

    const result = await handover(['--vhosts', quorumVhost, '--queues', 'q\\..*', '--quorum']);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stderr, /queue 'q\.prio' in vhost '[^']+' as a quorum queue without x-max-priority/);

    const queue = (await ok(rabbit('GET', `/api/queues/${v}/q.prio`), 'queue')) as Row;
    assert.equal(queue.type, 'quorum');
    assert.deepEqual(queue.arguments, { 'x-queue-type': 'quorum' });
    assert.equal(
      (await rabbit('GET', `/api/queues/${v}/stays`)).status,
      404,
      '--queues moved a queue it excludes',
    );
    assert.equal(await depth(amqpUrl(pier.url, quorumVhost), 'stays'), 7);
    // Without --quorum the plan now conflicts with the quorum queue there: the dry run says so.
    const conflict = await handover(['--vhosts', quorumVhost, '--queues', 'q\\..*', '--dry-run']);
    assert.equal(conflict.code, 0, conflict.stderr);
    assert.match(
      conflict.stdout,
      /1 object\(s\) exist on the target with other settings[^\n]*\n {2}queue '[^']+' 'q\.prio': arguments is \{"x-queue-type":"quorum"\} on the target/,
    );
    const got = await consumeAll(amqpUrl(referenceAmqp!, quorumVhost), 'q.prio', 50);
    assert.deepEqual(
      got.map((m) => m.properties.messageId),
      Array.from({ length: 50 }, (_, i) => `p-${i}`),
    );
  });

  it('Pier SIGKILLed and restarted during the hand-over: the move resumes by itself and loses nothing', async (t) => {
    const dataDir = tempDir();
    const port = await freeLoopbackPort();
    const start = () => spawnBroker(dataDir, ['--amqp-port', String(port)]);
    let child: ChildBroker | undefined = await start();
    try {
      const admin = async (args: string[]) => {
        const r = await runPier([...args, '--data-dir', dataDir]);
        assert.equal(r.code, 0, r.stderr);
      };
      await admin(['vhost', 'add', restartVhost]);
      await admin(['permissions', 'set', 'guest', '.*', '.*', '.*', '--vhost', restartVhost]);
      const pierUrl = amqpUrl(child.url, restartVhost);
      const connection = await connect(pierUrl);
      await (await connection.createChannel()).assertQueue('jobs', { durable: true });
      await connection.close();
      const M = 5000;
      await publish(pierUrl, '', 'jobs', M, 'r');

      const handoverRun = spawnPier([
        'handover',
        'rabbitmq',
        '--amqp',
        referenceAmqp!,
        '--http',
        referenceHttp!,
        '--from',
        child.url,
        '--data-dir',
        dataDir,
        '--vhosts',
        restartVhost,
        '--prefetch',
        '1',
      ]);
      let stdout = '';
      let stderr = '';
      handoverRun.stdout!.on('data', (chunk) => {
        stdout += chunk;
      });
      const exited = new Promise<string | number | null>((resolve) =>
        handoverRun.once('exit', (code, signal) => resolve(signal ?? code)),
      );
      const progressed = new Promise<void>((resolve, reject) => {
        createInterface({ input: handoverRun.stderr! }).on('line', (line) => {
          stderr += `${line}\n`;
          if (/queue 'jobs' .*: moved \d+ of \d+/.test(line)) resolve();
        });
        void exited.then((code) =>
          reject(new Error(`the hand-over ended (${code}) before Pier was killed:\n${stderr}`)),
        );
      });
      await progressed;
      child.process.kill('SIGKILL');
      await child.exited;
      child = await start();
      assert.equal(await exited, 0, `${stdout}\n${stderr}`);
      assert.match(stdout, /hand-over complete/);
      assert.match(stderr, /retrying/, 'the move never saw Pier go away');
      assert.equal(await depth(amqpUrl(child.url, restartVhost), 'jobs'), 0);

      const onRabbit = amqpUrl(referenceAmqp!, restartVhost);
      const total = await depth(onRabbit, 'jobs');
      const got = await consumeAll(onRabbit, 'jobs', total);
      const ids = new Set(got.map((m) => m.properties.messageId as string));
      const missing = Array.from({ length: M }, (_, i) => `r-${i}`).filter((id) => !ids.has(id));
      assert.deepEqual(missing, [], 'messages lost when Pier was killed during the hand-over');
      t.diagnostic(`${total - M} duplicate(s) after Pier's SIGKILL (acks lost with the process)`);
    } finally {
      child?.process.kill('SIGKILL');
      await child?.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a target that refuses messages: the move stops with the reason, Pier keeps them, exit 1', async () => {
    const v = encodeURIComponent(refusedVhost);
    await ok(pierApi('PUT', `/api/vhosts/${v}`, {}), 'vhost on Pier');
    await ok(
      pierApi('PUT', `/api/permissions/${v}/guest`, { configure: '.*', write: '.*', read: '.*' }),
      'grant',
    );
    await ok(pierApi('PUT', `/api/queues/${v}/capped`, { durable: true }), 'queue on Pier');
    await publish(amqpUrl(pier.url, refusedVhost), '', 'capped', 20, 'c');
    // On RabbitMQ a policy of its own caps the queue at 5 and refuses further publishes (basic.nack).
    await ok(rabbit('PUT', `/api/vhosts/${v}`, {}), 'vhost on RabbitMQ');
    await ok(
      rabbit('PUT', `/api/policies/${v}/cap`, {
        pattern: '^capped$',
        'apply-to': 'queues',
        definition: { 'max-length': 5, overflow: 'reject-publish' },
      }),
      'policy on RabbitMQ',
    );

    const result = await handover(['--vhosts', refusedVhost, '--prefetch', '1']);
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stderr, /the target refused a message for queue 'capped' \(basic\.nack\)/);
    assert.match(result.stdout, /hand-over incomplete/);
    assert.match(result.stdout, new RegExp(`${refusedVhost}\\s+capped\\s+20\\s+5\\s+15\\s+5\\s`));
    assert.equal(await depth(amqpUrl(pier.url, refusedVhost), 'capped'), 15);
  });
});

type Row = Record<string, unknown>;
