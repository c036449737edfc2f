/** Policy validation, matching and priority; application to queues and exchanges of a vhost. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerError } from '../../../src/core/amqp/errors.js';
import * as management from '../../../src/core/amqp/management.js';
import { MemoryQueueStore } from '../../../src/core/amqp/memory-queue-store.js';
import { NO_PROPERTIES } from '../../../src/core/amqp/message-properties.js';
import { type Policy, PolicyTable, validatePolicy } from '../../../src/core/amqp/policies.js';
import { BrokerCore } from '../../../src/core/broker-core.js';
import { discardDefinitions } from '../../../src/core/definitions.js';
import { ManualClock } from '../../../src/core/manual-clock.js';

function policy(name: string, pattern: string, priority = 0, applyTo = 'all'): Policy {
  return validatePolicy({ vhost: '/', name, pattern, priority, applyTo, definition: { 'max-length': 1 } });
}

function rejects(input: Partial<Parameters<typeof validatePolicy>[0]>, text: RegExp): void {
  assert.throws(
    () => validatePolicy({ vhost: '/', name: 'p', pattern: '.*', definition: { 'max-length': 1 }, ...input }),
    (e: BrokerError) => e.kind === 'precondition-failed' && text.test(e.detail),
  );
}

describe('policy validation', () => {
  it('accepts the RabbitMQ keys with valid values', () => {
    const p = validatePolicy({
      vhost: '/',
      name: 'all-keys',
      pattern: '^q',
      definition: {
        'message-ttl': 0,
        expires: 1,
        'max-length': 10,
        'max-length-bytes': 1024,
        overflow: 'reject-publish-dlx',
        'dead-letter-exchange': 'dlx',
        'dead-letter-routing-key': 'dead',
        'delivery-limit': 3,
        'alternate-exchange': 'ae',
        'max-age': '7D',
        'stream-max-segment-size-bytes': 1000,
        'queue-mode': 'lazy',
        'message-deduplication': true,
        'cache-size': 100,
        'cache-ttl': 1000,
      },
    });
    assert.equal(p.applyTo, 'all');
    assert.equal(p.priority, 0);
  });

  it('names the bad key and value', () => {
    rejects({ definition: { 'max-length': -1 } }, /'max-length': -1 is not a valid maximum length/);
    rejects({ definition: { 'message-ttl': 'x' } }, /'message-ttl': "x" is not a valid message TTL/);
    rejects({ definition: { expires: 0 } }, /'expires': 0 is not a valid queue expiry/);
    rejects({ definition: { overflow: 'foo' } }, /'overflow': "foo" is not a valid overflow value/);
    rejects({ definition: { 'max-age': '1x' } }, /'max-age': "1x" is not a valid max age/);
    rejects(
      { definition: { 'dead-letter-exchange': 5 } },
      /'dead-letter-exchange': 5 is not a valid dead letter/,
    );
    rejects({ definition: { 'max-length-bytes': 1.5 } }, /'max-length-bytes': 1.5 is not a valid/);
    rejects({ definition: { bogus: 1 } }, /'bogus' is not a recognised policy setting/);
  });

  it('rejects an empty or non-object definition, a bad pattern, apply-to or priority', () => {
    rejects({ definition: {} }, /no policy provided/);
    rejects({ definition: [1] }, /must be a JSON object/);
    rejects({ pattern: '(' }, /pattern should be regular expression but is invalid/);
    rejects({ applyTo: 'foo' }, /apply-to 'foo' unrecognised; should be 'queues', 'exchanges' or 'all'/);
    rejects({ priority: 1.5 }, /priority '1.5' must be an integer/);
    rejects({ name: '' }, /non-empty name/);
  });
});

describe('policy matching', () => {
  it('the highest-priority matching policy applies; patterns are unanchored', () => {
    const t = new PolicyTable();
    t.set(policy('low', 'orders', 1));
    t.set(policy('high', '^orders\\.', 10));
    t.set(policy('other', '^payments', 100));
    assert.equal(t.match('queue', 'orders.created')?.name, 'high');
    assert.equal(t.match('queue', 'x.orders')?.name, 'low');
    assert.equal(t.match('queue', 'invoices'), undefined);
  });

  it('apply-to limits the kind of entity', () => {
    const t = new PolicyTable();
    t.set(policy('q', '.*', 5, 'queues'));
    t.set(policy('x', '.*', 1, 'exchanges'));
    assert.equal(t.match('queue', 'a')?.name, 'q');
    assert.equal(t.match('exchange', 'a')?.name, 'x');
  });

  it('equal priorities go to the name that sorts first, whatever the order they were set in', () => {
    const t = new PolicyTable();
    t.set(policy('b', '.*'));
    t.set(policy('a', '.*'));
    t.set(policy('c', '.*'));
    assert.equal(t.match('queue', 'q')?.name, 'a');
    t.delete('a');
    assert.equal(t.match('queue', 'q')?.name, 'b');
  });

  it('re-setting a policy replaces it; list is highest priority first', () => {
    const t = new PolicyTable();
    t.set(policy('p', '^a', 1));
    t.set(policy('q', '^a', 2));
    t.set(policy('p', '^a', 3));
    assert.deepEqual(
      t.list().map((p) => [p.name, p.priority]),
      [
        ['p', 3],
        ['q', 2],
      ],
    );
  });
});

/** The name of the policy in effect (a function, so assertions do not narrow the field). */
const policyOf = (entity: { policy?: { name: string } }) => entity.policy?.name;

describe('policies applied to queues and exchanges', () => {
  function core(): BrokerCore {
    const c = new BrokerCore({
      clock: new ManualClock(),
      createStore: () => new MemoryQueueStore(),
      definitions: discardDefinitions,
      codec: NO_PROPERTIES,
    });
    c.restore([]);
    return c;
  }
  const declareQueue = (c: BrokerCore, name: string) =>
    c.vhosts.get('/')!.declareQueue({
      name,
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      arguments: {},
      owner: undefined,
    });

  it('a queue declared after a policy gets it; setting and clearing policies updates existing ones', () => {
    const c = core();
    management.setPolicy(c, {
      vhost: '/',
      name: 'ttl',
      pattern: '^jobs',
      definition: { 'message-ttl': 1000 },
    });
    const jobs = declareQueue(c, 'jobs');
    const other = declareQueue(c, 'other');
    assert.deepEqual(jobs.policy, c.vhosts.get('/')!.policyFor('queue', 'jobs'));
    assert.deepEqual(jobs.policy?.definition, { 'message-ttl': 1000 });
    assert.equal(policyOf(other), undefined);

    management.setPolicy(c, {
      vhost: '/',
      name: 'cap',
      pattern: '.*',
      priority: 5,
      applyTo: 'queues',
      definition: { 'max-length': 2 },
    });
    assert.equal(policyOf(jobs), 'cap');
    assert.equal(policyOf(other), 'cap');
    assert.equal(c.vhosts.get('/')!.exchanges.get('amq.direct')!.policy, undefined);

    management.clearPolicy(c, '/', 'cap');
    assert.equal(policyOf(jobs), 'ttl');
    assert.equal(policyOf(other), undefined);
  });

  it('exchanges get exchange policies, including the standard ones', () => {
    const c = core();
    management.setPolicy(c, {
      vhost: '/',
      name: 'ae',
      pattern: '^amq\\.direct$|^events$',
      applyTo: 'exchanges',
      definition: { 'alternate-exchange': 'unrouted' },
    });
    const vhost = c.vhosts.get('/')!;
    const events = vhost.declareExchange({
      name: 'events',
      type: 'topic',
      passive: false,
      durable: false,
      autoDelete: false,
      internal: false,
      arguments: {},
    });
    assert.equal(events.policy?.name, 'ae');
    assert.equal(vhost.exchanges.get('amq.direct')!.policy?.name, 'ae');
    assert.equal(vhost.exchanges.get('amq.topic')!.policy, undefined);
  });

  it('only entities whose policy changed are told', () => {
    const c = core();
    const q = declareQueue(c, 'q');
    let calls = 0;
    const original = q.applyPolicy.bind(q);
    q.applyPolicy = (p) => {
      calls++;
      original(p);
    };
    management.setPolicy(c, { vhost: '/', name: 'x', pattern: '^nomatch', definition: { 'max-length': 1 } });
    assert.equal(calls, 0);
    management.setPolicy(c, { vhost: '/', name: 'y', pattern: '^q', definition: { 'max-length': 1 } });
    assert.equal(calls, 1);
  });

  it('clearing an unknown policy or using an unknown vhost says what to do', () => {
    const c = core();
    assert.throws(
      () => management.clearPolicy(c, '/', 'nope'),
      /no policy 'nope' in vhost '\/'; 'pier policy list'/,
    );
    assert.throws(
      () =>
        management.setPolicy(c, { vhost: 'nov', name: 'p', pattern: '.*', definition: { 'max-length': 1 } }),
      /vhost 'nov' does not exist/,
    );
  });
});
