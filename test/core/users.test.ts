import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryQueueStore } from '../../src/core/amqp/memory-queue-store.js';
import { NO_PROPERTIES } from '../../src/core/amqp/message-properties.js';
import { BrokerCore } from '../../src/core/broker-core.js';
import { systemClock } from '../../src/core/clock.js';
import type { DefinitionKind } from '../../src/core/definitions.js';
import { checkPassword, hashPassword } from '../../src/core/users.js';

function freshCore(): { core: BrokerCore; stored: Map<string, unknown> } {
  const stored = new Map<string, unknown>();
  const core = new BrokerCore({
    clock: systemClock,
    createStore: () => new MemoryQueueStore(),
    definitions: {
      put: (kind, key, value) => stored.set(`${kind}:${key}`, value),
      delete: (kind, key) => stored.delete(`${kind}:${key}`),
    },
    codec: NO_PROPERTIES,
  });
  core.restore([]);
  return { core, stored };
}

test('guest/guest is accepted from loopback addresses only, as in RabbitMQ', () => {
  const { core } = freshCore();
  for (const address of ['127.0.0.1', '127.10.0.3', '::1', '::ffff:127.0.0.1']) {
    assert.equal(core.authenticate('guest', 'guest', address).ok, true, address);
  }
  for (const address of ['10.1.2.3', '192.168.0.7', '::ffff:10.0.0.1', 'fe80::1', undefined]) {
    const result = core.authenticate('guest', 'guest', address);
    assert.equal(result.ok, false, String(address));
    assert.match((result as { reason: string }).reason, /can only connect via localhost/);
  }
});

test('a wrong password or unknown user is refused without saying which', () => {
  const { core } = freshCore();
  const wrong = core.authenticate('guest', 'nope', '127.0.0.1');
  const unknown = core.authenticate('nobody', 'guest', '127.0.0.1');
  assert.equal(wrong.ok, false);
  assert.equal(unknown.ok, false);
  assert.equal((wrong as { reason: string }).reason, (unknown as { reason: string }).reason);
});

test('passwords are stored salted and hashed, never in clear', () => {
  const { stored } = freshCore();
  const guest = stored.get('user:guest') as { passwordHash: string };
  assert.ok(guest, 'the first start stores the guest user');
  assert.notEqual(guest.passwordHash, 'guest');
  assert.equal(Buffer.from(guest.passwordHash, 'base64').length, 36, '4-byte salt + SHA-256');
  const user = { name: 'u', passwordHash: guest.passwordHash, tags: [] };
  assert.equal(checkPassword(user, 'guest'), true);
  assert.equal(checkPassword(user, 'Guest'), false);
  assert.notEqual(hashPassword('same'), hashPassword('same'), 'each hash has its own salt');
});

test('the first start creates vhost / and the guest user once; a restart restores them', () => {
  const { core, stored } = freshCore();
  assert.ok(core.vhosts.has('/'));
  const entries = [...stored.entries()].map(([k, value]) => {
    const [kind, ...rest] = k.split(':');
    return { kind: kind as DefinitionKind, key: rest.join(':'), value };
  });
  const again = new BrokerCore({
    clock: systemClock,
    createStore: () => new MemoryQueueStore(),
    definitions: { put() {}, delete() {} },
    codec: NO_PROPERTIES,
  });
  again.restore(entries);
  assert.ok(again.vhosts.has('/'));
  assert.equal(again.authenticate('guest', 'guest', '127.0.0.1').ok, true);
});
