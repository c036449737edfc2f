// Definitions round trip between a real RabbitMQ 3.10 (its management API at
// PIER_REFERENCE_HTTP_URL, enabled by .ci/start-rabbitmq) and Pier: a rich set of objects is made
// in RabbitMQ, its export is imported into Pier (POST /api/definitions), Pier's export is imported
// back into RabbitMQ after the objects were deleted there, and both sides must then hold the same
// objects, field by field for what both keep. A user's RabbitMQ password hash logs in to Pier.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect } from 'amqplib';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { type ApiCall, apiClient } from '../management/api-client.js';
import { NAME_PREFIX } from './kit.js';

type Row = Record<string, unknown>;
type Definitions = Record<string, unknown>;

export const MISSING_HTTP_REFERENCE =
  "PIER_REFERENCE_HTTP_URL is not set: the definitions round trip needs the reference RabbitMQ's management API. " +
  '`bash .ci/start-rabbitmq` enables it; set PIER_REFERENCE_HTTP_URL=http://guest:guest@127.0.0.1:15672';

/** The API client for a URL that carries its credentials (http://user:pass@host:port). */
function clientFor(url: string): ApiCall {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return apiClient(parsed.origin, user, password);
}

const SECTIONS = [
  'users',
  'vhosts',
  'permissions',
  'topic_permissions',
  'parameters',
  'global_parameters',
  'policies',
  'queues',
  'exchanges',
  'bindings',
] as const;

/** A stable order for a section's rows, so the two exports compare row by row. */
function sorted(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => {
    const ka = JSON.stringify(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1)));
    const kb = JSON.stringify(Object.entries(b).sort(([x], [y]) => (x < y ? -1 : 1)));
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/**
 * The run's objects of an export, in the fields both brokers keep: vhosts by name (RabbitMQ 3.10
 * writes only the name), users with sorted tags. Everything else is compared as written.
 */
function ours(defs: Definitions, run: string): Record<string, Row[]> {
  const mine = (value: unknown) => typeof value === 'string' && value.includes(run);
  const section = (key: string) => (defs[key] as Row[] | undefined) ?? [];
  const out: Record<string, Row[]> = {
    users: section('users')
      .filter((u) => mine(u.name))
      .map((u) => ({ ...u, tags: [...(u.tags as string[])].sort() })),
    vhosts: section('vhosts')
      .filter((v) => mine(v.name))
      .map((v) => ({ name: v.name })),
    global_parameters: section('global_parameters').filter((p) => mine(p.name)),
  };
  for (const key of SECTIONS) {
    if (out[key] === undefined) out[key] = section(key).filter((row) => mine(row.vhost));
  }
  for (const key of SECTIONS) out[key] = sorted(out[key]!);
  return out;
}

/** An importable file of the run's objects, as exported (version fields kept). */
function importable(defs: Definitions, run: string): Definitions {
  const mine = (value: unknown) => typeof value === 'string' && value.includes(run);
  const out: Definitions = {
    rabbit_version: defs.rabbit_version,
    rabbitmq_version: defs.rabbitmq_version,
  };
  for (const key of SECTIONS) {
    const rows = (defs[key] as Row[] | undefined) ?? [];
    out[key] = rows.filter((r) =>
      key === 'users' || key === 'vhosts' || key === 'global_parameters' ? mine(r.name) : mine(r.vhost),
    );
  }
  return out;
}

async function ok(reply: Promise<{ status: number; body: unknown }>, what: string): Promise<unknown> {
  const { status, body } = await reply;
  assert.ok(status >= 200 && status < 300, `${what}: ${status} ${JSON.stringify(body)}`);
  return body;
}

describe('differential: definitions round trip with RabbitMQ 3.10', () => {
  const referenceHttp = process.env.PIER_REFERENCE_HTTP_URL;
  const referenceAmqp = process.env.PIER_REFERENCE_AMQP_URL;
  const run = `${NAME_PREFIX}-${randomBytes(6).toString('hex')}`;
  const vhostA = `${run}-shop`;
  const vhostB = `${run}-billing`;
  const admin = `${run}-admin`;
  const app = `${run}-app`;
  const appPassword = 'app-secret-1';
  const globalName = `${run}-global`;
  let rabbit: ApiCall | undefined;
  let pier: TestBroker;
  let pierApi: ApiCall;

  /** Deletes the run's objects from RabbitMQ (vhosts take their contents and parameters along). */
  async function cleanRabbit(): Promise<void> {
    const rabbit = reference();
    for (const v of [vhostA, vhostB]) await rabbit('DELETE', `/api/vhosts/${encodeURIComponent(v)}`);
    for (const u of [admin, app]) await rabbit('DELETE', `/api/users/${encodeURIComponent(u)}`);
    await rabbit('DELETE', `/api/global-parameters/${encodeURIComponent(globalName)}`);
  }

  const reference = (): ApiCall => {
    if (!rabbit) throw new Error(MISSING_HTTP_REFERENCE);
    return rabbit;
  };

  before(async () => {
    if (!referenceHttp) throw new Error(MISSING_HTTP_REFERENCE);
    rabbit = clientFor(referenceHttp);
    pier = await startTestBroker({ httpPort: 0 });
    pierApi = apiClient(pier.http!.url);
  });
  after(async () => {
    if (rabbit) await cleanRabbit();
    await pier?.stop();
  });

  it('RabbitMQ -> Pier -> RabbitMQ keeps every object; RabbitMQ password hashes log in to Pier', async () => {
    const rabbit = reference();
    const a = encodeURIComponent(vhostA);
    const b = encodeURIComponent(vhostB);
    const x = (name: string) => encodeURIComponent(`${run}.${name}`);
    const q = (name: string) => encodeURIComponent(`${run}.${name}`);
    const put = (path: string, body: unknown) => ok(rabbit('PUT', path, body), `PUT ${path}`);
    const post = (path: string, body: unknown) => ok(rabbit('POST', path, body), `POST ${path}`);

    // ---- a rich set of objects, made in RabbitMQ through its API
    await put(`/api/vhosts/${a}`, { description: 'shop', tags: 'prod' });
    await put(`/api/vhosts/${b}`, {});
    await put(`/api/users/${encodeURIComponent(admin)}`, {
      password: 'admin-secret',
      tags: 'administrator,monitoring',
    });
    await put(`/api/users/${encodeURIComponent(app)}`, { password: appPassword, tags: 'policymaker' });
    await put(`/api/user-limits/${encodeURIComponent(app)}/max-connections`, { value: 10 });
    await put(`/api/permissions/${a}/${encodeURIComponent(admin)}`, {
      configure: '.*',
      write: '.*',
      read: '.*',
    });
    await put(`/api/permissions/${b}/${encodeURIComponent(admin)}`, {
      configure: '',
      write: '.*',
      read: '^billing',
    });
    await put(`/api/permissions/${a}/${encodeURIComponent(app)}`, {
      configure: '^app\\.',
      write: '.*',
      read: '.*',
    });
    await put(`/api/topic-permissions/${a}/${encodeURIComponent(app)}`, {
      exchange: `${run}.events`,
      write: '^{username}\\.',
      read: '.*',
    });
    await put(`/api/policies/${a}/ttl`, {
      pattern: '^.*\\.orders$',
      definition: { 'message-ttl': 60000, 'dead-letter-exchange': `${run}.dlx` },
      priority: 3,
      'apply-to': 'queues',
    });
    await put(`/api/policies/${a}/ae`, {
      pattern: 'events$',
      definition: { 'alternate-exchange': `${run}.unrouted` },
      'apply-to': 'exchanges',
    });
    await put(`/api/operator-policies/${a}/cap`, {
      pattern: '.*',
      definition: { 'max-length': 100000, 'message-ttl': 3600000 },
      priority: 1,
      'apply-to': 'queues',
    });
    await put(`/api/vhost-limits/${a}/max-connections`, { value: 50 });
    await put(`/api/vhost-limits/${a}/max-queues`, { value: 100 });
    await put(`/api/global-parameters/${encodeURIComponent(globalName)}`, { value: { region: 'eu', n: 3 } });
    for (const [name, type, extra] of [
      ['events', 'topic', {}],
      ['dlx', 'fanout', {}],
      ['unrouted', 'fanout', {}],
      ['direct', 'direct', { arguments: { 'alternate-exchange': `${run}.unrouted` } }],
      ['headers', 'headers', { internal: true }],
      ['temp', 'fanout', { auto_delete: true }],
    ] as const) {
      await put(`/api/exchanges/${a}/${x(name)}`, { type, durable: true, ...extra });
    }
    await put(`/api/exchanges/${b}/${x('invoices')}`, { type: 'direct', durable: true });
    const queues: Array<[string, string, Row]> = [
      [a, 'orders', { 'x-max-length': 1000, 'x-overflow': 'reject-publish' }],
      [a, 'priority', { 'x-max-priority': 5, 'x-message-ttl': 30000 }],
      [a, 'dead', { 'x-dead-letter-exchange': `${run}.events`, 'x-dead-letter-routing-key': 'retry' }],
      [a, 'auto', {}],
      [b, 'invoices', { 'x-expires': 86400000, 'x-max-length-bytes': 1048576 }],
    ];
    for (const [vhost, name, args] of queues) {
      await put(`/api/queues/${vhost}/${q(name)}`, {
        durable: true,
        auto_delete: name === 'auto',
        arguments: args,
      });
    }
    await post(`/api/bindings/${a}/e/${x('events')}/q/${q('orders')}`, {
      routing_key: 'order.*',
      arguments: {},
    });
    await post(`/api/bindings/${a}/e/${x('events')}/q/${q('orders')}`, {
      routing_key: 'order.#.eu',
      arguments: {},
    });
    await post(`/api/bindings/${a}/e/${x('dlx')}/q/${q('dead')}`, { routing_key: '', arguments: {} });
    await post(`/api/bindings/${a}/e/${x('events')}/e/${x('headers')}`, {
      routing_key: 'audit.#',
      arguments: {},
    });
    await post(`/api/bindings/${a}/e/${x('headers')}/q/${q('priority')}`, {
      routing_key: '',
      arguments: { 'x-match': 'any', region: 'eu', tier: 2 },
    });
    await post(`/api/bindings/${a}/e/${x('temp')}/q/${q('auto')}`, { routing_key: 'k', arguments: {} });
    await post(`/api/bindings/${b}/e/${x('invoices')}/q/${q('invoices')}`, {
      routing_key: 'inv',
      arguments: {},
    });

    // ---- RabbitMQ's export, into Pier
    const fromRabbit = (await ok(rabbit('GET', '/api/definitions'), 'RabbitMQ export')) as Definitions;
    const original = ours(fromRabbit, run);
    for (const key of SECTIONS) assert.ok(original[key]!.length > 0, `RabbitMQ exported no ${key}`);
    if (process.env.PIER_DIFFERENTIAL_PRINT === '1') console.log(JSON.stringify(original, null, 1));
    const imported = await pierApi('POST', '/api/definitions', importable(fromRabbit, run));
    assert.equal(imported.status, 204, JSON.stringify(imported.body));

    const fromPier = (await ok(pierApi('GET', '/api/definitions'), 'Pier export')) as Definitions;
    const inPier = ours(fromPier, run);
    for (const key of SECTIONS)
      assert.deepEqual(inPier[key], original[key], `Pier's ${key} differ from RabbitMQ's`);

    // The user's RabbitMQ password hash logs in to Pier, and its permissions and limits apply there.
    const pierAmqp = new URL(pier.url);
    const login = await connect(
      `amqp://${encodeURIComponent(app)}:${appPassword}@${pierAmqp.host}/${encodeURIComponent(vhostA)}`,
    );
    const channel = await login.createChannel();
    assert.equal((await channel.checkQueue(`${run}.orders`)).messageCount, 0);
    await login.close();
    const queue = (await ok(pierApi('GET', `/api/queues/${a}/${q('orders')}`), 'queue in Pier')) as Row;
    assert.equal(queue.policy, 'ttl');
    assert.equal(queue.operator_policy, 'cap');

    // ---- Pier's export, back into RabbitMQ after the objects there were deleted
    await cleanRabbit();
    const gone = ours((await ok(rabbit('GET', '/api/definitions'), 'RabbitMQ export')) as Definitions, run);
    assert.deepEqual(gone.vhosts, []);
    const back = await rabbit('POST', '/api/definitions', importable(fromPier, run));
    assert.ok(
      back.status === 204 || back.status === 200,
      `RabbitMQ refused Pier's export: ${JSON.stringify(back.body)}`,
    );
    const roundTripped = ours(
      (await ok(rabbit('GET', '/api/definitions'), 'RabbitMQ export')) as Definitions,
      run,
    );
    for (const key of SECTIONS) {
      assert.deepEqual(roundTripped[key], original[key], `RabbitMQ's ${key} differ after the round trip`);
    }
    if (referenceAmqp) {
      // The hash Pier kept still logs in to RabbitMQ.
      const reference = new URL(referenceAmqp);
      const again = await connect(
        `amqp://${encodeURIComponent(app)}:${appPassword}@${reference.host}/${encodeURIComponent(vhostA)}`,
      );
      await again.close();
    }
  });
});
