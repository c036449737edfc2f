import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DefinitionEntry } from '../../../src/core/definitions.js';
import {
  AclAuthorizer,
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermission,
  codeName,
  codeOf,
  filterMatches,
  InvalidAclError,
  PatternType,
  ResourceType,
} from '../../../src/core/kafka/acls.js';

const { READ, WRITE, DESCRIBE, ALL, ALTER_CONFIGS, DESCRIBE_CONFIGS, DELETE, CREATE } = AclOperation;
const { ALLOW, DENY } = AclPermission;

function acl(overrides: Partial<AclBinding>): AclBinding {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: 'orders',
    patternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: READ,
    permission: ALLOW,
    ...overrides,
  };
}

const ANY_FILTER: AclBindingFilter = {
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permission: AclPermission.ANY,
};

function ask(
  authorizer: AclAuthorizer,
  principal: string,
  operation: number,
  name = 'orders',
  host = '10.0.0.1',
) {
  return authorizer.authorize({
    principal,
    host,
    operation,
    resourceType: ResourceType.TOPIC,
    resourceName: name,
  });
}

describe('Kafka ACL decisions', () => {
  test('no ACL on a resource denies, unless allow.everyone.if.no.acl.found', () => {
    assert.equal(ask(new AclAuthorizer(), 'User:alice', READ), false);
    assert.equal(ask(new AclAuthorizer({ allowEveryoneIfNoAclFound: true }), 'User:alice', READ), true);
  });

  test('an ACL on the resource for someone else denies even with allow.everyone.if.no.acl.found', () => {
    const authorizer = new AclAuthorizer({ allowEveryoneIfNoAclFound: true });
    authorizer.add(acl({ principal: 'User:bob' }));
    assert.equal(ask(authorizer, 'User:alice', READ), false);
    assert.equal(ask(authorizer, 'User:bob', READ), true);
  });

  test('a literal ACL grants its operation on its resource only', () => {
    const authorizer = new AclAuthorizer();
    authorizer.add(acl({}));
    assert.equal(ask(authorizer, 'User:alice', READ), true);
    assert.equal(ask(authorizer, 'User:alice', WRITE), false);
    assert.equal(ask(authorizer, 'User:alice', READ, 'orders2'), false);
    assert.equal(ask(authorizer, 'User:bob', READ), false);
  });

  test('READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS', () => {
    for (const operation of [READ, WRITE, DELETE, AclOperation.ALTER]) {
      const authorizer = new AclAuthorizer();
      authorizer.add(acl({ operation }));
      assert.equal(ask(authorizer, 'User:alice', DESCRIBE), true, codeName('operation', operation));
    }
    const authorizer = new AclAuthorizer();
    authorizer.add(acl({ operation: ALTER_CONFIGS }));
    assert.equal(ask(authorizer, 'User:alice', DESCRIBE_CONFIGS), true);
    authorizer.add(acl({ operation: CREATE, principal: 'User:carol' }));
    assert.equal(ask(authorizer, 'User:carol', DESCRIBE), false);
  });

  test('ALL grants every operation; a DENY of ALL refuses every one', () => {
    const authorizer = new AclAuthorizer();
    authorizer.add(acl({ operation: ALL }));
    assert.equal(ask(authorizer, 'User:alice', WRITE), true);
    authorizer.add(acl({ operation: ALL, permission: DENY }));
    assert.equal(ask(authorizer, 'User:alice', READ), false);
  });

  test('deny beats allow, whatever the order and however broad the allow', () => {
    const authorizer = new AclAuthorizer();
    authorizer.add(acl({ permission: DENY, principal: 'User:alice' }));
    authorizer.add(acl({ principal: 'User:*', resourceName: '*' }));
    assert.equal(ask(authorizer, 'User:alice', READ), false);
    assert.equal(ask(authorizer, 'User:bob', READ), true);
  });

  test('wildcard resource name and principal', () => {
    const authorizer = new AclAuthorizer();
    authorizer.add(acl({ resourceName: '*', principal: 'User:*', operation: WRITE }));
    assert.equal(ask(authorizer, 'User:anyone', WRITE, 'whatever'), true);
    assert.equal(ask(authorizer, 'User:anyone', READ, 'whatever'), false);
  });

  test('prefixed patterns match names starting with the prefix', () => {
    const authorizer = new AclAuthorizer();
    authorizer.add(acl({ resourceName: 'team-a.', patternType: PatternType.PREFIXED }));
    assert.equal(ask(authorizer, 'User:alice', READ, 'team-a.orders'), true);
    assert.equal(ask(authorizer, 'User:alice', READ, 'team-a.'), true);
    assert.equal(ask(authorizer, 'User:alice', READ, 'team-b.orders'), false);
    assert.equal(ask(authorizer, 'User:alice', READ, 'team-a'), false);
  });

  test('host must match unless the ACL says *', () => {
    const authorizer = new AclAuthorizer();
    authorizer.add(acl({ host: '10.0.0.1' }));
    assert.equal(ask(authorizer, 'User:alice', READ, 'orders', '10.0.0.1'), true);
    assert.equal(ask(authorizer, 'User:alice', READ, 'orders', '10.0.0.2'), false);
  });

  test('super users may do anything, even against a DENY', () => {
    const authorizer = new AclAuthorizer({ superUsers: ['User:admin'] });
    authorizer.add(acl({ principal: 'User:admin', permission: DENY, operation: ALL }));
    assert.equal(ask(authorizer, 'User:admin', DELETE), true);
    assert.equal(ask(authorizer, 'User:alice', DELETE), false);
  });

  test('resource types are distinct', () => {
    const authorizer = new AclAuthorizer();
    authorizer.add(acl({ resourceType: ResourceType.GROUP, resourceName: 'orders' }));
    assert.equal(ask(authorizer, 'User:alice', READ), false);
    assert.equal(
      authorizer.authorize({
        principal: 'User:alice',
        host: '1.2.3.4',
        operation: READ,
        resourceType: ResourceType.GROUP,
        resourceName: 'orders',
      }),
      true,
    );
  });
});

describe('Kafka ACL storage and filters', () => {
  test('bindings Kafka refuses are refused with the reason', () => {
    const authorizer = new AclAuthorizer();
    const bad: Array<[Partial<AclBinding>, RegExp]> = [
      [{ resourceType: ResourceType.ANY }, /resourceType/],
      [{ patternType: PatternType.MATCH }, /patternType/],
      [{ operation: AclOperation.ANY }, /operation/],
      [{ permission: AclPermission.ANY }, /permissionType/],
      [{ resourceName: '' }, /empty/],
      [{ resourceType: ResourceType.CLUSTER, resourceName: 'x' }, /kafka-cluster/],
      [{ principal: 'alice' }, /principal/],
    ];
    for (const [overrides, message] of bad) {
      assert.throws(
        () => authorizer.add(acl(overrides)),
        (e: Error) => e instanceof InvalidAclError && message.test(e.message),
      );
    }
    assert.equal(authorizer.list().length, 0);
  });

  test('filters: ANY, MATCH, LITERAL and PREFIXED pattern types, principal and operation', () => {
    const literal = acl({});
    const wildcard = acl({ resourceName: '*' });
    const prefixed = acl({ resourceName: 'ord', patternType: PatternType.PREFIXED });
    const other = acl({ resourceName: 'payments' });
    const all = [literal, wildcard, prefixed, other];
    const pick = (filter: Partial<AclBindingFilter>) =>
      all.filter((b) => filterMatches({ ...ANY_FILTER, ...filter }, b));
    assert.deepEqual(pick({}), all);
    assert.deepEqual(pick({ resourceName: 'orders' }), [literal]);
    assert.deepEqual(pick({ resourceName: 'orders', patternType: PatternType.MATCH }), [
      literal,
      wildcard,
      prefixed,
    ]);
    assert.deepEqual(pick({ patternType: PatternType.PREFIXED }), [prefixed]);
    assert.deepEqual(pick({ patternType: PatternType.LITERAL }), [literal, wildcard, other]);
    assert.deepEqual(pick({ principal: 'User:bob' }), []);
    assert.deepEqual(pick({ operation: WRITE }), []);
  });

  test('add, remove and restore go through the definitions', () => {
    const entries = new Map<string, DefinitionEntry>();
    const definitions = {
      put: (kind: DefinitionEntry['kind'], key: string, value: unknown) =>
        entries.set(key, { kind, key, value }),
      delete: (_kind: DefinitionEntry['kind'], key: string) => entries.delete(key),
    };
    const authorizer = new AclAuthorizer({ definitions });
    authorizer.add(acl({}));
    authorizer.add(acl({}));
    authorizer.add(acl({ operation: WRITE }));
    assert.equal(entries.size, 2);
    const removed = authorizer.remove({ ...ANY_FILTER, operation: WRITE });
    assert.equal(removed.length, 1);
    assert.equal(entries.size, 1);
    const restored = new AclAuthorizer();
    restored.restore([...entries.values()]);
    assert.deepEqual(restored.list(), [acl({})]);
  });

  test('names as kafka-acls.sh writes them', () => {
    assert.equal(codeOf('operation', 'IdempotentWrite'), AclOperation.IDEMPOTENT_WRITE);
    assert.equal(codeOf('resourceType', 'transactional-id'), ResourceType.TRANSACTIONAL_ID);
    assert.equal(codeName('operation', AclOperation.DESCRIBE_CONFIGS), 'DescribeConfigs');
    assert.equal(codeOf('operation', 'nonsense'), undefined);
  });
});
