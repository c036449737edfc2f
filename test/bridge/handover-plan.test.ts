// The hand-over's definitions plan (src/bridge/handover/definitions-plan.ts): what of Pier's
// export is imported into RabbitMQ, what is left out and why, and the check after the import.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareDefinitions, planDefinitions } from '../../src/bridge/handover/definitions-plan.js';

const pier = {
  rabbit_version: '3.10.0',
  users: [
    {
      name: 'guest',
      password_hash: 'x',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: ['administrator'],
    },
    { name: 'shop-app', password_hash: 'y', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] },
    {
      name: 'billing-app',
      password_hash: 'z',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: [],
    },
  ],
  vhosts: [{ name: 'shop' }, { name: 'billing' }],
  permissions: [
    { user: 'guest', vhost: 'shop', configure: '.*', write: '.*', read: '.*' },
    { user: 'shop-app', vhost: 'shop', configure: '', write: '.*', read: '.*' },
    { user: 'billing-app', vhost: 'billing', configure: '', write: '.*', read: '.*' },
  ],
  topic_permissions: [],
  parameters: [
    { vhost: 'shop', component: 'shovel', name: 'to-kafka', value: { 'src-queue': 'a', 'dest-topic': 'b' } },
    { vhost: 'shop', component: 'vhost-limits', name: 'limits', value: { 'max-queues': 100 } },
  ],
  global_parameters: [
    { name: 'cluster_name', value: 'pier@box' },
    { name: 'my-setting', value: 1 },
  ],
  policies: [
    {
      vhost: 'shop',
      name: 'ttl',
      pattern: '^orders$',
      'apply-to': 'queues',
      priority: 0,
      definition: { 'message-ttl': 1 },
    },
  ],
  queues: [
    { vhost: 'shop', name: 'orders', durable: true, auto_delete: false, arguments: { 'x-max-priority': 5 } },
    { vhost: 'shop', name: 'audit', durable: true, auto_delete: false, arguments: {} },
    {
      vhost: 'shop',
      name: 'stream',
      durable: true,
      auto_delete: false,
      arguments: { 'x-queue-type': 'stream' },
    },
    { vhost: 'billing', name: 'invoices', durable: true, auto_delete: false, arguments: {} },
  ],
  exchanges: [
    {
      vhost: 'shop',
      name: 'events',
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    },
  ],
  bindings: [
    {
      vhost: 'shop',
      source: 'events',
      destination: 'orders',
      destination_type: 'queue',
      routing_key: 'o.#',
      arguments: {},
    },
    {
      vhost: 'shop',
      source: 'events',
      destination: 'audit',
      destination_type: 'queue',
      routing_key: '#',
      arguments: {},
    },
  ],
};
const target = { users: [{ name: 'guest', tags: ['administrator'] }], vhosts: [{ name: '/' }] };

describe('hand-over definitions plan', () => {
  it('keeps the target its own users and cluster name, and leaves out plugin parameters, saying why', () => {
    const plan = planDefinitions(pier, target);
    const d = plan.definitions as Record<string, Array<Record<string, unknown>>>;
    assert.deepEqual(
      d.users!.map((u) => u.name),
      ['shop-app', 'billing-app'],
    );
    assert.deepEqual(
      d.parameters!.map((p) => p.component),
      ['vhost-limits'],
    );
    assert.deepEqual(
      d.global_parameters!.map((p) => p.name),
      ['my-setting'],
    );
    assert.equal(d.permissions!.length, 3, "the target's existing users still get Pier's grants");
    assert.ok(plan.notes.some((n) => /user 'guest' exists on the target/.test(n)));
    assert.ok(plan.notes.some((n) => /shovel parameter 'to-kafka'/.test(n)));
    assert.deepEqual(
      plan.queues.map((q) => `${q.vhost}/${q.name}`),
      ['shop/orders', 'shop/audit', 'shop/stream', 'billing/invoices'],
    );
  });

  it('--vhosts narrows everything to those vhosts and their users; --queues to those queues and bindings', () => {
    const plan = planDefinitions(pier, target, { vhosts: /^shop$/, queues: /^orders$/ });
    const d = plan.definitions as Record<string, Array<Record<string, unknown>>>;
    assert.deepEqual(
      d.vhosts!.map((v) => v.name),
      ['shop'],
    );
    assert.deepEqual(
      d.users!.map((u) => u.name),
      ['shop-app'],
    );
    assert.deepEqual(d.global_parameters, []);
    assert.deepEqual(
      d.queues!.map((q) => q.name),
      ['orders'],
    );
    assert.deepEqual(
      d.bindings!.map((b) => b.destination),
      ['orders'],
    );
    assert.deepEqual(plan.queues, [{ vhost: 'shop', name: 'orders' }]);
  });

  it('--quorum turns classic queues into quorum queues without the arguments they refuse; streams stay streams', () => {
    const plan = planDefinitions(pier, target, { quorum: true });
    const queues = (plan.definitions.queues as Array<{ name: string; arguments: unknown }>).map((q) => [
      q.name,
      q.arguments,
    ]);
    assert.deepEqual(queues, [
      ['orders', { 'x-queue-type': 'quorum' }],
      ['audit', { 'x-queue-type': 'quorum' }],
      ['stream', { 'x-queue-type': 'stream' }],
      ['invoices', { 'x-queue-type': 'quorum' }],
    ]);
    assert.ok(plan.notes.some((n) => /'orders' .* without x-max-priority/.test(n)));
  });

  it('the check after the import names what is missing or different, and accepts key order and tag spelling', () => {
    const plan = planDefinitions(pier, target, { vhosts: /^shop$/ });
    const same = JSON.parse(JSON.stringify(plan.definitions)) as Record<
      string,
      Array<Record<string, unknown>>
    >;
    same.users = same.users!.map((u) => ({ ...u, tags: '' }));
    same.queues = same.queues!.map((q) => ({ arguments: q.arguments, ...q }));
    assert.deepEqual(compareDefinitions(plan.definitions, same), []);

    const changed = JSON.parse(JSON.stringify(same)) as typeof same;
    changed.queues = changed.queues!.filter((q) => q.name !== 'audit');
    changed.policies![0]!.pattern = '^other$';
    changed.bindings = [];
    assert.deepEqual(compareDefinitions(plan.definitions, changed), [
      `policy 'shop' 'ttl': pattern is "^other$" on the target, "^orders$" on Pier`,
      `queue 'shop' 'audit': missing on the target`,
      `binding 'shop' 'events' 'queue' 'orders' 'o.#' '{}': missing on the target`,
      `binding 'shop' 'events' 'queue' 'audit' '#' '{}': missing on the target`,
    ]);
  });
});
