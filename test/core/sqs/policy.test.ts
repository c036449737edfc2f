// The queue Policy language as IAM evaluates resource-based policies: principals, actions and
// resources with wildcards, explicit Deny over Allow, condition operators and missing keys, and
// documents refused whole with the element that is wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  evaluateQueuePolicy,
  PolicyParseError,
  type PolicyRequest,
  parseQueuePolicy,
  wildcardMatch,
} from '../../../src/core/sqs/policy.js';

const OWNER = '000000000000';
const OTHER = '111122223333';
const QUEUE_ARN = `arn:aws:sqs:us-east-1:${OWNER}:orders`;

function request(
  overrides: Partial<PolicyRequest> = {},
  context: Record<string, string> = {},
): PolicyRequest {
  const account = overrides.account ?? OTHER;
  return {
    account,
    principalArn: `arn:aws:iam::${account}:root`,
    action: 'SendMessage',
    resource: QUEUE_ARN,
    context: new Map(
      Object.entries({ 'aws:securetransport': 'false', 'aws:sourceip': '10.1.2.3', ...context }),
    ),
    ...overrides,
  };
}

const policy = (...statements: object[]) =>
  parseQueuePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
const allow = (extra: object = {}) => ({
  Effect: 'Allow',
  Principal: { AWS: OTHER },
  Action: 'sqs:SendMessage',
  Resource: QUEUE_ARN,
  ...extra,
});

test('no statement matching the caller is an implicit deny; no policy too', () => {
  assert.equal(evaluateQueuePolicy(undefined, request()), 'implicit-deny');
  assert.equal(evaluateQueuePolicy(policy(allow()), request()), 'allow');
  assert.equal(evaluateQueuePolicy(policy(allow()), request({ account: '444455556666' })), 'implicit-deny');
  assert.equal(evaluateQueuePolicy(policy(allow()), request({ action: 'ReceiveMessage' })), 'implicit-deny');
  assert.equal(
    evaluateQueuePolicy(policy(allow()), request({ resource: `arn:aws:sqs:us-east-1:${OWNER}:other` })),
    'implicit-deny',
  );
});

test('principals: *, {"AWS":"*"}, account ids, root ARNs, lists; other principal types never match', () => {
  for (const principal of [
    '*',
    { AWS: '*' },
    { AWS: OTHER },
    { AWS: `arn:aws:iam::${OTHER}:root` },
    { AWS: ['444455556666', OTHER] },
  ]) {
    assert.equal(
      evaluateQueuePolicy(policy(allow({ Principal: principal })), request()),
      'allow',
      JSON.stringify(principal),
    );
  }
  assert.equal(
    evaluateQueuePolicy(policy(allow({ Principal: { Service: 'sns.amazonaws.com' } })), request()),
    'implicit-deny',
  );
  // NotPrincipal: everyone but the listed.
  const notMe = policy({ ...allow(), Principal: undefined, NotPrincipal: { AWS: OTHER } });
  assert.equal(evaluateQueuePolicy(notMe, request()), 'implicit-deny');
  assert.equal(evaluateQueuePolicy(notMe, request({ account: '444455556666' })), 'allow');
});

test('actions: wildcards, case-insensitive names and service prefix, NotAction', () => {
  for (const action of ['*', 'sqs:*', 'SQS:SendMessage', 'sqs:sendmessage', 'SQS:Send*', 'sqs:Send?essage']) {
    assert.equal(evaluateQueuePolicy(policy(allow({ Action: action })), request()), 'allow', action);
  }
  for (const action of ['sqs:Receive*', 'sns:Publish', 'sqs:Send']) {
    assert.equal(evaluateQueuePolicy(policy(allow({ Action: action })), request()), 'implicit-deny', action);
  }
  const allButDelete = policy({ ...allow(), Action: undefined, NotAction: 'sqs:Delete*' });
  assert.equal(evaluateQueuePolicy(allButDelete, request()), 'allow');
  assert.equal(evaluateQueuePolicy(allButDelete, request({ action: 'DeleteMessage' })), 'implicit-deny');
});

test('resources: ARN wildcards per part, * and NotResource; an absent Resource is the queue itself', () => {
  for (const resource of [
    '*',
    `arn:aws:sqs:*:${OWNER}:*`,
    `arn:aws:sqs:us-east-1:${OWNER}:ord*`,
    'arn:aws:sqs:*:*:orders',
  ]) {
    assert.equal(evaluateQueuePolicy(policy(allow({ Resource: resource })), request()), 'allow', resource);
  }
  assert.equal(
    evaluateQueuePolicy(policy(allow({ Resource: `arn:aws:sqs:us-west-2:${OWNER}:orders` })), request()),
    'implicit-deny',
  );
  assert.equal(evaluateQueuePolicy(policy(allow({ Resource: undefined })), request()), 'allow');
  assert.equal(
    evaluateQueuePolicy(policy({ ...allow(), Resource: undefined, NotResource: QUEUE_ARN }), request()),
    'implicit-deny',
  );
});

test('an explicit Deny wins over any Allow, whatever the order', () => {
  const deny = { Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: '*' };
  assert.equal(evaluateQueuePolicy(policy(allow(), deny), request()), 'explicit-deny');
  assert.equal(evaluateQueuePolicy(policy(deny, allow()), request()), 'explicit-deny');
  // A Deny whose condition does not hold does not apply.
  const denyPlain = { ...deny, Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
  assert.equal(evaluateQueuePolicy(policy(allow(), denyPlain), request()), 'explicit-deny');
  assert.equal(
    evaluateQueuePolicy(policy(allow(), denyPlain), request({}, { 'aws:securetransport': 'true' })),
    'allow',
  );
});

test('a single Statement object is a statement list of one; Version 2008-10-17 is accepted', () => {
  const single = parseQueuePolicy(JSON.stringify({ Version: '2008-10-17', Statement: allow() }));
  assert.equal(evaluateQueuePolicy(single, request()), 'allow');
});

test('conditions: aws:SourceArn and aws:SourceAccount with Arn and String operators', () => {
  const topic = 'arn:aws:sns:us-east-1:444455556666:events';
  const sourceArn = (operator: string, value: string) =>
    policy(allow({ Principal: '*', Condition: { [operator]: { 'aws:SourceArn': value } } }));
  const withSource = request({}, { 'aws:sourcearn': topic, 'aws:sourceaccount': '444455556666' });
  assert.equal(evaluateQueuePolicy(sourceArn('ArnEquals', topic), withSource), 'allow');
  assert.equal(
    evaluateQueuePolicy(sourceArn('ArnLike', 'arn:aws:sns:*:444455556666:*'), withSource),
    'allow',
  );
  assert.equal(
    evaluateQueuePolicy(sourceArn('ArnLike', 'arn:aws:sns:*:999999999999:*'), withSource),
    'implicit-deny',
  );
  assert.equal(evaluateQueuePolicy(sourceArn('StringLike', 'arn:aws:sns:*'), withSource), 'allow');
  // A direct call has no source: the condition is false, as on AWS (only IfExists admits it).
  assert.equal(evaluateQueuePolicy(sourceArn('ArnEquals', topic), request()), 'implicit-deny');
  assert.equal(evaluateQueuePolicy(sourceArn('ArnEqualsIfExists', topic), request()), 'allow');
  // A negated operator on a missing key holds.
  assert.equal(evaluateQueuePolicy(sourceArn('ArnNotEquals', topic), request()), 'allow');
  const account = policy(
    allow({ Principal: '*', Condition: { StringEquals: { 'aws:SourceAccount': ['1', '444455556666'] } } }),
  );
  assert.equal(evaluateQueuePolicy(account, withSource), 'allow');
  assert.equal(evaluateQueuePolicy(account, request()), 'implicit-deny');
});

test('conditions: keys are case-insensitive, several operators and keys must all hold', () => {
  const both = policy(
    allow({
      Condition: {
        Bool: { 'AWS:SECURETRANSPORT': 'true' },
        IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] },
      },
    }),
  );
  assert.equal(evaluateQueuePolicy(both, request({}, { 'aws:securetransport': 'true' })), 'allow');
  assert.equal(evaluateQueuePolicy(both, request()), 'implicit-deny');
  assert.equal(
    evaluateQueuePolicy(both, request({}, { 'aws:securetransport': 'true', 'aws:sourceip': '192.168.0.1' })),
    'implicit-deny',
  );
  assert.equal(
    evaluateQueuePolicy(both, request({}, { 'aws:securetransport': 'true', 'aws:sourceip': '2001:db8::7' })),
    'allow',
  );
  const notIp = policy(allow({ Condition: { NotIpAddress: { 'aws:SourceIp': '10.1.0.0/16' } } }));
  assert.equal(evaluateQueuePolicy(notIp, request()), 'implicit-deny');
  assert.equal(evaluateQueuePolicy(notIp, request({}, { 'aws:sourceip': '127.0.0.1' })), 'allow');
});

test('conditions: Date operators on aws:CurrentTime, Null, unknown keys', () => {
  const until = policy(allow({ Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } } }));
  assert.equal(
    evaluateQueuePolicy(until, request({}, { 'aws:currenttime': '2029-12-31T23:59:59.000Z' })),
    'allow',
  );
  assert.equal(
    evaluateQueuePolicy(until, request({}, { 'aws:currenttime': '2030-01-01T00:00:01.000Z' })),
    'implicit-deny',
  );
  const from = policy(allow({ Condition: { DateGreaterThan: { 'aws:CurrentTime': '2030-01-01' } } }));
  assert.equal(
    evaluateQueuePolicy(from, request({}, { 'aws:currenttime': '2030-06-01T00:00:00.000Z' })),
    'allow',
  );
  assert.equal(
    evaluateQueuePolicy(from, request({}, { 'aws:currenttime': '2029-06-01T00:00:00.000Z' })),
    'implicit-deny',
  );
  // An unknown key is a missing key.
  const unknown = policy(allow({ Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-123' } } }));
  assert.equal(evaluateQueuePolicy(unknown, request()), 'implicit-deny');
  const absent = policy(allow({ Condition: { Null: { 'aws:SourceArn': 'true' } } }));
  assert.equal(evaluateQueuePolicy(absent, request()), 'allow');
  assert.equal(
    evaluateQueuePolicy(absent, request({}, { 'aws:sourcearn': 'arn:aws:sns:x:1:t' })),
    'implicit-deny',
  );
});

test('a document that does not parse is refused whole, naming what is wrong', () => {
  const refused = (document: unknown, pattern: RegExp) =>
    assert.throws(
      () => parseQueuePolicy(typeof document === 'string' ? document : JSON.stringify(document)),
      (error: unknown) => error instanceof PolicyParseError && pattern.test(error.message),
      String(pattern),
    );
  refused('{"Statement": [', /not valid JSON/);
  refused([], /must be a JSON object/);
  refused({ Version: '2020-01-01', Statement: [allow()] }, /Version '2020-01-01'/);
  refused({ Statement: [], Extra: 1 }, /unknown policy element 'Extra'/);
  refused({ Version: '2012-10-17' }, /no Statement/);
  refused(
    { Statement: [allow(), { ...allow(), Effect: 'Permit' }] },
    /Statement\[1\]\.Effect must be Allow or Deny/,
  );
  refused(
    { Statement: [{ ...allow(), Principal: undefined }] },
    /Statement\[0\] has neither Principal nor NotPrincipal/,
  );
  refused({ Statement: [{ ...allow(), Action: undefined }] }, /neither Action nor NotAction/);
  refused({ Statement: [{ ...allow(), Action: 'SendMessage' }] }, /'SendMessage' is not an action/);
  refused({ Statement: [{ ...allow(), Resource: 'orders' }] }, /'orders' is not a resource ARN/);
  refused({ Statement: [{ ...allow(), Principal: { AWS: 'bob' } }] }, /Principal\.AWS: 'bob'/);
  refused({ Statement: [{ ...allow(), Principal: { Robot: 'x' } }] }, /unknown principal type 'Robot'/);
  refused(
    { Statement: [allow({ Condition: { StringEqualz: { 'aws:SourceArn': 'x' } } })] },
    /'StringEqualz' is not a condition operator/,
  );
  refused(
    { Statement: [allow({ Condition: { DateLessThan: { 'aws:CurrentTime': 'soon' } } })] },
    /'soon' is not a date/,
  );
  refused(
    { Statement: [allow({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } })] },
    /not an IP address/,
  );
  refused(
    { Statement: [allow({ Condition: { Bool: { 'aws:SecureTransport': 'yes' } } })] },
    /must be true or false/,
  );
  refused({ Statement: [{ ...allow(), Sid: 1 }] }, /Sid must be a string/);
  refused({ Statement: [{ ...allow(), Actions: 'sqs:*' }] }, /unknown element 'Actions'/);
});

test('wildcardMatch: * spans any run, ? one character, the rest literally', () => {
  assert.ok(wildcardMatch('a*c', 'abbbc'));
  assert.ok(wildcardMatch('a*', 'a'));
  assert.ok(wildcardMatch('*b*', 'abc'));
  assert.ok(wildcardMatch('a?c', 'abc'));
  assert.ok(!wildcardMatch('a?c', 'ac'));
  assert.ok(!wildcardMatch('a*c', 'abcd'));
  assert.ok(!wildcardMatch('a.c', 'abc'));
  assert.ok(wildcardMatch('*a*a*a*a*b', `${'a'.repeat(50)}b`));
});
