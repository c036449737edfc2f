/** Users, vhosts, permissions and policies managed on a core: rules, durability, restore. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as management from '../../../src/core/amqp/management.js';
import { MemoryQueueStore } from '../../../src/core/amqp/memory-queue-store.js';
import { NO_PROPERTIES } from '../../../src/core/amqp/message-properties.js';
import { BrokerCore } from '../../../src/core/broker-core.js';
import type { DefinitionEntry, DefinitionKind, DefinitionWriter } from '../../../src/core/definitions.js';
import { ManualClock } from '../../../src/core/manual-clock.js';

/** A DefinitionWriter that keeps the current definitions, as the definitions store would. */
class RecordingWriter implements DefinitionWriter {
  readonly state = new Map<string, DefinitionEntry>();
  put(kind: DefinitionKind, key: string, value: unknown): void {
    this.state.set(`${kind}\0${key}`, { kind, key, value: structuredClone(value) });
  }
  delete(kind: DefinitionKind, key: string): void {
    this.state.delete(`${kind}\0${key}`);
  }
  entries(): DefinitionEntry[] {
    return [...this.state.values()];
  }
  kinds(kind: string): unknown[] {
    return this.entries()
      .filter((e) => e.kind === kind)
      .map((e) => e.value);
  }
}

function start(writer = new RecordingWriter()): { core: BrokerCore; writer: RecordingWriter } {
  const core = new BrokerCore({
    clock: new ManualClock(),
    createStore: () => new MemoryQueueStore(),
    definitions: writer,
    codec: NO_PROPERTIES,
  });
  core.restore(writer.entries());
  return { core, writer };
}

describe('management', () => {
  it("first start: vhost '/', guest with '.*' '.*' '.*' there, nothing else", () => {
    const { core } = start();
    assert.deepEqual(management.listPermissions(core), [
      { user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' },
    ]);
    assert.deepEqual(management.listVhosts(core), [{ name: '/' }]);
  });

  it('everything set survives a restart from the stored definitions', () => {
    const { core, writer } = start();
    management.addUser(core, 'bob', 'pw', ['monitoring', ' ']);
    management.addVhost(core, 'v');
    management.setPermissions(core, { user: 'bob', vhost: 'v', configure: '^b', write: '', read: '.*' });
    management.setPolicy(core, {
      vhost: 'v',
      name: 'std',
      pattern: '^amq\\.direct$',
      applyTo: 'exchanges',
      definition: { 'alternate-exchange': 'ae' },
    });
    const again = start(writer).core;
    assert.deepEqual(management.listUsers(again), [
      { name: 'bob', tags: ['monitoring'] },
      { name: 'guest', tags: ['administrator'] },
    ]);
    assert.equal(again.permissions.allows('bob', 'v', 'configure', 'bq'), true);
    assert.equal(again.permissions.allows('bob', 'v', 'write', 'bq'), false);
    assert.equal(management.listPolicies(again, 'v')[0]?.name, 'std');
    // The standard exchanges exist before policies are restored and still get theirs.
    assert.equal(again.vhosts.get('v')!.exchanges.get('amq.direct')!.policy?.name, 'std');
  });

  it('a data directory from before permissions existed keeps its users able to log in', () => {
    const writer = new RecordingWriter();
    writer.put('vhost', '/', { name: '/' });
    writer.put('vhost', 'old', { name: 'old' });
    writer.put('user', 'guest', { name: 'guest', passwordHash: 'x', tags: [] });
    writer.put('meta', 'initialized', true);
    const { core } = start(writer);
    assert.ok(core.permissions.get('guest', '/'));
    assert.ok(core.permissions.get('guest', 'old'));
    // Done once: permissions cleared afterwards stay cleared.
    management.clearPermissions(core, 'guest', 'old');
    assert.equal(start(writer).core.permissions.get('guest', 'old'), undefined);
  });

  it('a new vhost gives nobody access; adding it twice is harmless', () => {
    const { core } = start();
    management.addVhost(core, 'v');
    management.addVhost(core, 'v');
    assert.deepEqual(management.listPermissions(core, 'v'), []);
  });

  it('deleting a user removes its permissions and tells listeners to close its connections', () => {
    const { core, writer } = start();
    const revoked: unknown[] = [];
    core.revocations.add((r) => revoked.push(r));
    management.addUser(core, 'bob', 'pw');
    management.setPermissions(core, { user: 'bob', vhost: '/', configure: '.*', write: '.*', read: '.*' });
    management.deleteUser(core, 'bob');
    assert.deepEqual(revoked, [{ user: 'bob', reason: "user 'bob' is deleted" }]);
    assert.equal(core.permissions.get('bob', '/'), undefined);
    assert.deepEqual(
      writer.kinds('permission').map((p) => (p as { user: string }).user),
      ['guest'],
    );
    assert.throws(() => management.deleteUser(core, 'bob'), /user 'bob' does not exist; 'pier user list'/);
  });

  it('deleting a vhost removes its queues, exchanges, bindings, permissions and policies from storage', () => {
    const { core, writer } = start();
    management.addVhost(core, 'v');
    management.setPermissions(core, { user: 'guest', vhost: 'v', configure: '.*', write: '.*', read: '.*' });
    management.setPolicy(core, { vhost: 'v', name: 'p', pattern: '.*', definition: { 'max-length': 1 } });
    const vhost = core.vhosts.get('v')!;
    vhost.declareExchange({
      name: 'x',
      type: 'fanout',
      passive: false,
      durable: true,
      autoDelete: false,
      internal: false,
      arguments: {},
    });
    vhost.declareQueue({
      name: 'q',
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: {},
      owner: undefined,
    });
    vhost.bind('x', { kind: 'queue', name: 'q' }, '', {}, undefined);
    const queue = vhost.queues.get('q')!;
    const revoked: unknown[] = [];
    core.revocations.add((r) => revoked.push(r));

    management.deleteVhost(core, 'v');
    assert.deepEqual(revoked, [{ vhost: 'v', reason: "vhost 'v' is deleted" }]);
    assert.equal(queue.deleted, true);
    assert.equal(core.vhosts.has('v'), false);
    const left = writer.entries().filter((e) => JSON.stringify(e.value).includes('"v"') || e.key === 'v');
    assert.deepEqual(left, []);
    assert.throws(() => management.deleteVhost(core, 'v'), /vhost 'v' does not exist/);
  });

  it('set_permissions needs an existing user and vhost, as rabbitmqctl', () => {
    const { core } = start();
    const entry = { user: 'nobody', vhost: '/', configure: '', write: '', read: '' };
    assert.throws(() => management.setPermissions(core, entry), /user 'nobody' does not exist/);
    assert.throws(
      () => management.setPermissions(core, { ...entry, user: 'guest', vhost: 'nowhere' }),
      /vhost 'nowhere' does not exist/,
    );
    assert.throws(() => management.addUser(core, 'guest', 'x'), /user 'guest' already exists/);
    assert.throws(() => management.addUser(core, '', 'x'), /must not be empty/);
  });
});
