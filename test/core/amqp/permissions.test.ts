/** Permission patterns as RabbitMQ's internal backend applies them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerError } from '../../../src/core/amqp/errors.js';
import { PermissionTable } from '../../../src/core/amqp/permissions.js';

function table(configure: string, write: string, read: string): PermissionTable {
  const t = new PermissionTable();
  t.set({ user: 'bob', vhost: '/', configure, write, read });
  return t;
}

describe('permission patterns', () => {
  it("'.*' allows every name, '' allows none", () => {
    const t = table('.*', '', '.*');
    for (const name of ['q', 'amq.gen-abc', 'a.b.c', ' ']) {
      assert.equal(t.allows('bob', '/', 'configure', name), true, name);
      assert.equal(t.allows('bob', '/', 'write', name), false, name);
    }
  });

  it('patterns are unanchored searches, as re:run: anchors must be written', () => {
    const t = table('fg', '^w', 'r$');
    assert.equal(t.allows('bob', '/', 'configure', 'xcfgq'), true);
    assert.equal(t.allows('bob', '/', 'write', 'wq'), true);
    assert.equal(t.allows('bob', '/', 'write', 'qw'), false);
    assert.equal(t.allows('bob', '/', 'read', 'ar'), true);
    assert.equal(t.allows('bob', '/', 'read', 'ra'), false);
  });

  it('a user without an entry in the vhost is refused everything', () => {
    const t = table('.*', '.*', '.*');
    assert.equal(t.allows('bob', 'other', 'read', 'q'), false);
    assert.equal(t.allows('alice', '/', 'read', 'q'), false);
  });

  it("refusals carry RabbitMQ's text; the default exchange is checked as 'amq.default'", () => {
    const t = table('', '^x', '');
    assert.throws(
      () => t.check('bob', '/', 'read', 'queue', 'q'),
      (e: BrokerError) =>
        e.kind === 'access-refused' && e.detail === "access to queue 'q' in vhost '/' refused for user 'bob'",
    );
    assert.throws(
      () => t.check('bob', '/', 'write', 'exchange', ''),
      (e: BrokerError) => e.detail === "access to exchange 'amq.default' in vhost '/' refused for user 'bob'",
    );
    t.set({ user: 'bob', vhost: '/', configure: '', write: '^amq\\.default$', read: '' });
    t.check('bob', '/', 'write', 'exchange', '');
  });

  it('an invalid pattern is rejected with its text, and the old entry stays', () => {
    const t = table('.*', '.*', '.*');
    assert.throws(
      () => t.set({ user: 'bob', vhost: '/', configure: '(', write: '', read: '' }),
      (e: BrokerError) => e instanceof BrokerError && /regular expression '\(' is invalid/.test(e.detail),
    );
    assert.equal(t.get('bob', '/')?.configure, '.*');
  });

  it('every change moves the version (callers cache decisions against it)', () => {
    const t = table('.*', '.*', '.*');
    const v = t.version;
    t.delete('bob', '/');
    assert.ok(t.version > v);
    const v2 = t.version;
    t.delete('bob', '/'); // nothing to delete: no change
    assert.equal(t.version, v2);
  });
});
