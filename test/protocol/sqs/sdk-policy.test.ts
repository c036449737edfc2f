// SQS authorization as @aws-sdk/client-sqs sees it, with three accounts' access keys: the queues'
// owner is allowed by identity; another account is refused with AWS's AccessDenied until the
// queue's Policy (SetQueueAttributes or AddPermission) allows it; an explicit Deny beats any Allow,
// the owner's too; wildcard actions; conditions (aws:SourceArn, aws:SecureTransport over the TLS
// listener); the policy survives a restart; a policy that does not parse is refused whole.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { after, before, test } from 'node:test';
import * as sdk from '@aws-sdk/client-sqs';
import {
  AddPermissionCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  RemovePermissionCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';
import { makeTestCertificates, type TestCertificates } from '../../tls/certs.js';

const OWNER = '000000000000';
const OTHER = '111122223333';
const THIRD = '444455556666';
const keys = {
  owner: { accessKeyId: 'AKIDOWNER', secretAccessKey: 'owner-secret' },
  other: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other-secret' },
  third: { accessKeyId: 'AKIDTHIRD', secretAccessKey: 'third-secret' },
};

let certs: TestCertificates;
let broker: TestBroker;
const dataDir = tempDir('pier-sqs-policy-');
const clients: SQSClient[] = [];

async function start(): Promise<TestBroker> {
  return startTestBroker({
    amqpPort: false,
    sqsPort: 0,
    sqsTlsPort: 0,
    tls: certs.tls(),
    dataDir,
    sqs: {
      accessKeys: [keys.owner, { ...keys.other, accountId: OTHER }, { ...keys.third, accountId: THIRD }],
    },
  });
}

function client(who: keyof typeof keys, tls = false): SQSClient {
  const sqs = tls
    ? new SQSClient({
        endpoint: `https://localhost:${broker.sqsTls!.port}`,
        region: 'us-east-1',
        credentials: keys[who],
        requestHandler: { httpsAgent: new Agent({ ca: certs.ca }) },
      })
    : new SQSClient({ endpoint: broker.sqs!.endpoint, region: 'us-east-1', credentials: keys[who] });
  clients.push(sqs);
  return sqs;
}

before(async () => {
  certs = makeTestCertificates('alice');
  broker = await start();
});
after(async () => {
  for (const sqs of clients) sqs.destroy();
  await broker.stop();
  certs.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The error an SDK call rejects with. */
async function refusal(
  promise: Promise<unknown>,
): Promise<{ name: string; status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode ?? 0, message: e.message };
  }
  assert.fail('the call succeeded');
}

async function assertDenied(promise: Promise<unknown>, action: string, queue: string, why: RegExp) {
  const error = await refusal(promise);
  assert.equal(error.name, 'AccessDenied', error.message);
  assert.equal(error.status, 403);
  assert.ok(
    error.message.startsWith(
      `User: arn:aws:iam::${OTHER}:root is not authorized to perform: sqs:${action} on resource: arn:aws:sqs:us-east-1:${OWNER}:${queue} `,
    ),
    error.message,
  );
  assert.match(error.message, why);
}

const NO_ALLOW = /because no resource-based policy allows the sqs:\w+ action$/;

async function createQueue(name: string, Attributes?: Record<string, string>): Promise<string> {
  const { QueueUrl } = await client('owner').send(new CreateQueueCommand({ QueueName: name, Attributes }));
  return QueueUrl!;
}

const setPolicy = (QueueUrl: string, policy: object | string) =>
  client('owner').send(
    new SetQueueAttributesCommand({
      QueueUrl,
      Attributes: { Policy: typeof policy === 'string' ? policy : JSON.stringify(policy) },
    }),
  );

const arn = (queue: string) => `arn:aws:sqs:us-east-1:${OWNER}:${queue}`;

test('the owner is allowed by identity; another account is denied with AWS AccessDenied', async () => {
  const url = await createQueue('owned');
  await client('owner').send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'mine' }));
  const other = client('other');
  await assertDenied(
    other.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
    'sendmessage',
    'owned',
    NO_ALLOW,
  );
  await assertDenied(
    other.send(new ReceiveMessageCommand({ QueueUrl: url })),
    'receivemessage',
    'owned',
    NO_ALLOW,
  );
  // Account-level actions act on the caller's own account, which holds no queues here.
  const create = await refusal(other.send(new CreateQueueCommand({ QueueName: 'theirs' })));
  assert.equal(create.name, 'AccessDenied');
  assert.match(create.message, /holds no queues on this server/);
  assert.equal((await refusal(other.send(new ListQueuesCommand({})))).name, 'AccessDenied');
  // GetQueueUrl looks in the caller's account unless told the owner's.
  assert.equal(
    (await refusal(other.send(new GetQueueUrlCommand({ QueueName: 'owned' })))).name,
    'QueueDoesNotExist',
  );
  await assertDenied(
    other.send(new GetQueueUrlCommand({ QueueName: 'owned', QueueOwnerAWSAccountId: OWNER })),
    'getqueueurl',
    'owned',
    NO_ALLOW,
  );
});

test('AddPermission lets the named account do the named actions; RemovePermission takes it back', async () => {
  const url = await createQueue('shared');
  await client('owner').send(
    new AddPermissionCommand({
      QueueUrl: url,
      Label: 'other-sends',
      AWSAccountIds: [OTHER],
      Actions: ['SendMessage', 'GetQueueUrl'],
    }),
  );
  const other = client('other');
  await other.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'from other' }));
  // A batch is authorized as its single action.
  const batch = await other.send(
    new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'batched' }] }),
  );
  assert.equal(batch.Successful?.length, 1);
  const { QueueUrl } = await other.send(
    new GetQueueUrlCommand({ QueueName: 'shared', QueueOwnerAWSAccountId: OWNER }),
  );
  assert.equal(QueueUrl, url);
  await assertDenied(
    other.send(new ReceiveMessageCommand({ QueueUrl: url })),
    'receivemessage',
    'shared',
    NO_ALLOW,
  );
  assert.equal(
    (await refusal(client('third').send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })))).name,
    'AccessDenied',
  );
  // Only the owner edits permissions.
  assert.equal(
    (await refusal(other.send(new RemovePermissionCommand({ QueueUrl: url, Label: 'other-sends' })))).name,
    'AccessDenied',
  );
  const { Messages } = await client('owner').send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
  );
  assert.deepEqual(Messages?.map((m) => m.Body).sort(), ['batched', 'from other']);

  await client('owner').send(new RemovePermissionCommand({ QueueUrl: url, Label: 'other-sends' }));
  await assertDenied(
    other.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
    'sendmessage',
    'shared',
    NO_ALLOW,
  );
});

test('wildcard actions; an explicit Deny beats an Allow, the owner included', async () => {
  const url = await createQueue('guarded');
  await setPolicy(url, {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: [OTHER] }, Action: 'SQS:Receive*', Resource: arn('guarded') },
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
        Action: 'sqs:Send*',
        Resource: '*',
      },
    ],
  });
  const other = client('other');
  await other.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'hello' }));
  const { Messages } = await other.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
  assert.equal(Messages?.[0]?.Body, 'hello');
  await assertDenied(
    other.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })),
    'getqueueattributes',
    'guarded',
    NO_ALLOW,
  );

  // Deny everyone sending: the Allow above no longer helps, and the owner is refused too.
  await setPolicy(url, {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'all', Effect: 'Allow', Principal: '*', Action: 'sqs:*', Resource: arn('guarded') },
      { Sid: 'nosend', Effect: 'Deny', Principal: '*', Action: 'sqs:SendMessage', Resource: arn('guarded') },
    ],
  });
  await assertDenied(
    other.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
    'sendmessage',
    'guarded',
    /with an explicit deny in a resource-based policy$/,
  );
  const owner = await refusal(
    client('owner').send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
  );
  assert.equal(owner.name, 'AccessDenied');
  assert.match(owner.message, new RegExp(`^User: arn:aws:iam::${OWNER}:root .* explicit deny`));
  // Everything else stays allowed, so the owner can lift the Deny.
  await other.send(new ReceiveMessageCommand({ QueueUrl: url }));
  await setPolicy(url, '');
  await client('owner').send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }));
});

test('aws:SourceArn: a statement conditioned on a source admits no direct caller', async () => {
  const url = await createQueue('from-topic');
  const topic = 'arn:aws:sns:us-east-1:444455556666:events';
  await setPolicy(url, {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 'sqs:SendMessage',
        Resource: arn('from-topic'),
        Condition: { ArnEquals: { 'aws:SourceArn': topic } },
      },
    ],
  });
  await assertDenied(
    client('other').send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
    'sendmessage',
    'from-topic',
    NO_ALLOW,
  );
  // ...IfExists treats the missing key as a match.
  await setPolicy(url, {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 'sqs:SendMessage',
        Condition: { ArnEqualsIfExists: { 'aws:SourceArn': topic } },
      },
    ],
  });
  await client('other').send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'ok' }));
});

test('aws:SecureTransport: a Deny on plaintext refuses http and lets https through', async () => {
  const url = await createQueue('tls-only');
  await setPolicy(url, {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sqs:*', Resource: arn('tls-only') },
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:*',
        Resource: arn('tls-only'),
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  });
  await assertDenied(
    client('other').send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'plain' })),
    'sendmessage',
    'tls-only',
    /explicit deny/,
  );
  const tlsUrl = `https://localhost:${broker.sqsTls!.port}/${OWNER}/tls-only`;
  await client('other', true).send(new SendMessageCommand({ QueueUrl: tlsUrl, MessageBody: 'secure' }));
});

/** Each action on a queue with its input (receipt handles are bogus: allowed means "not AccessDenied"). */
const MATRIX: Record<string, (url: string, name: string) => object> = {
  SendMessage: (QueueUrl) => ({ QueueUrl, MessageBody: 'm' }),
  SendMessageBatch: (QueueUrl) => ({ QueueUrl, Entries: [{ Id: 'a', MessageBody: 'm' }] }),
  ReceiveMessage: (QueueUrl) => ({ QueueUrl }),
  DeleteMessage: (QueueUrl) => ({ QueueUrl, ReceiptHandle: 'bogus' }),
  DeleteMessageBatch: (QueueUrl) => ({ QueueUrl, Entries: [{ Id: 'a', ReceiptHandle: 'bogus' }] }),
  ChangeMessageVisibility: (QueueUrl) => ({ QueueUrl, ReceiptHandle: 'bogus', VisibilityTimeout: 1 }),
  ChangeMessageVisibilityBatch: (QueueUrl) => ({
    QueueUrl,
    Entries: [{ Id: 'a', ReceiptHandle: 'bogus', VisibilityTimeout: 1 }],
  }),
  GetQueueAttributes: (QueueUrl) => ({ QueueUrl, AttributeNames: ['All'] }),
  SetQueueAttributes: (QueueUrl) => ({ QueueUrl, Attributes: { VisibilityTimeout: '31' } }),
  GetQueueUrl: (_url, QueueName) => ({ QueueName, QueueOwnerAWSAccountId: OWNER }),
  ListQueueTags: (QueueUrl) => ({ QueueUrl }),
  TagQueue: (QueueUrl) => ({ QueueUrl, Tags: { team: 'a' } }),
  UntagQueue: (QueueUrl) => ({ QueueUrl, TagKeys: ['team'] }),
  ListDeadLetterSourceQueues: (QueueUrl) => ({ QueueUrl }),
  PurgeQueue: (QueueUrl) => ({ QueueUrl }),
  DeleteQueue: (QueueUrl) => ({ QueueUrl }),
  AddPermission: (QueueUrl) => ({ QueueUrl, Label: 'x', AWSAccountIds: [THIRD], Actions: ['SendMessage'] }),
  RemovePermission: (QueueUrl) => ({ QueueUrl, Label: 'matrix' }),
};
/** Only the owner edits permissions, whatever the policy says. */
const OWNER_ONLY = new Set(['AddPermission', 'RemovePermission']);

async function outcome(who: keyof typeof keys, action: string, input: object): Promise<string> {
  const Command = (sdk as unknown as Record<string, new (input: object) => sdk.SetQueueAttributesCommand>)[
    `${action}Command`
  ]!;
  try {
    await client(who).send(new Command(input));
    return 'ok';
  } catch (error) {
    return (error as Error).name === 'AccessDenied' ? 'denied' : 'ok';
  }
}

test('authorization matrix: every queue action × owner / other account without and with an Allow', async () => {
  const table: string[] = [];
  for (const [action, input] of Object.entries(MATRIX)) {
    const name = `matrix-${action.toLowerCase()}`;
    const url = await createQueue(name);
    const withoutPolicy = await outcome('other', action, input(url, name));
    // Allowed exactly this action (batches as their single action), plus a label to remove.
    const iamAction = action.endsWith('Batch') ? action.slice(0, -'Batch'.length) : action;
    await setPolicy(url, {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'matrix',
          Effect: 'Allow',
          Principal: { AWS: OTHER },
          Action: `sqs:${iamAction}`,
          Resource: arn(name),
        },
      ],
    });
    const third = await outcome('third', action, input(url, name));
    const withPolicy = await outcome('other', action, input(url, name));
    const owner = await outcome('owner', action, input(url, name));
    table.push(`${action}: other=${withoutPolicy} third=${third} other+allow=${withPolicy} owner=${owner}`);
  }
  const expected = Object.keys(MATRIX).map(
    (action) =>
      `${action}: other=denied third=denied other+allow=${OWNER_ONLY.has(action) ? 'denied' : 'ok'} owner=ok`,
  );
  assert.deepEqual(table, expected);
});

test('a Policy that does not parse is refused whole, naming what is wrong; the old one is kept', async () => {
  const url = await createQueue('strict');
  const good = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sqs:SendMessage', Resource: arn('strict') },
    ],
  };
  await setPolicy(url, good);
  const bad = await refusal(
    setPolicy(url, { ...good, Statement: [...good.Statement, { ...good.Statement[0], Effect: 'Permit' }] }),
  );
  assert.equal(bad.name, 'InvalidAttributeValue');
  assert.equal(bad.status, 400);
  assert.match(
    bad.message,
    /^Invalid value for the parameter Policy\. Reason: Statement\[1\]\.Effect must be Allow or Deny/,
  );
  const created = await refusal(
    client('owner').send(
      new CreateQueueCommand({
        QueueName: 'strict-2',
        Attributes: { Policy: '{"Statement":[{"Effect":"Allow"}]}' },
      }),
    ),
  );
  assert.equal(created.name, 'InvalidAttributeValue');
  assert.match(created.message, /Statement\[0\] has neither Principal nor NotPrincipal/);
  const { Attributes } = await client('owner').send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Policy'] }),
  );
  assert.deepEqual(JSON.parse(Attributes!.Policy!), good);
  await client('other').send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'still allowed' }));
});

test('a policy survives a restart', async () => {
  const url = await createQueue('durable-policy');
  await client('owner').send(
    new AddPermissionCommand({
      QueueUrl: url,
      Label: 'keep',
      AWSAccountIds: [OTHER],
      Actions: ['SendMessage'],
    }),
  );
  for (const sqs of clients.splice(0)) sqs.destroy();
  await broker.stop();
  broker = await start();
  const after = (await client('owner').send(new GetQueueUrlCommand({ QueueName: 'durable-policy' })))
    .QueueUrl!;
  await client('other').send(new SendMessageCommand({ QueueUrl: after, MessageBody: 'after restart' }));
  await assertDenied(
    client('other').send(new ReceiveMessageCommand({ QueueUrl: after })),
    'receivemessage',
    'durable-policy',
    NO_ALLOW,
  );
});
