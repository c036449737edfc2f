// The cost of evaluating a queue Policy per request (core/sqs/policy.ts), without the HTTP path:
// a typical AddPermission-style policy and one with conditions (SecureTransport, SourceIp, a
// wildcard Deny that does not apply), per evaluation; and parsing a policy (done once per change).
//   npx tsc -p . && node dist/bench/sqs-policy-bench.js
import { evaluateQueuePolicy, type PolicyRequest, parseQueuePolicy } from '../src/core/sqs/policy.js';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:orders';
const addPermission = JSON.stringify({
  Version: '2008-10-17',
  Id: `${QUEUE_ARN}/SQSDefaultPolicy`,
  Statement: [
    {
      Sid: 'partner',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: ['SQS:SendMessage', 'SQS:GetQueueUrl'],
      Resource: QUEUE_ARN,
    },
  ],
});
const conditions = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: ['444455556666', '111122223333'] },
      Action: 'sqs:Send*',
      Resource: 'arn:aws:sqs:*:000000000000:ord*',
    },
    {
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:*',
      Resource: QUEUE_ARN,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    { Effect: 'Deny', Principal: '*', Action: 'sqs:Purge*', Resource: '*' },
    {
      Effect: 'Allow',
      Principal: '*',
      Action: 'sqs:ReceiveMessage',
      Condition: {
        IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] },
        DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' },
      },
    },
  ],
});
const request: PolicyRequest = {
  account: '111122223333',
  principalArn: 'arn:aws:iam::111122223333:root',
  action: 'SendMessage',
  resource: QUEUE_ARN,
  context: new Map([
    ['aws:securetransport', 'true'],
    ['aws:sourceip', '10.1.2.3'],
    ['aws:currenttime', new Date().toISOString()],
  ]),
};

function measure(label: string, run: () => unknown, iterations: number): void {
  for (let i = 0; i < iterations / 10; i++) run(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(
    `${label.padEnd(46)} ${ns.toFixed(0).padStart(6)} ns/op  ${(1e9 / ns).toFixed(0).padStart(9)} ops/s`,
  );
}

const simple = parseQueuePolicy(addPermission);
const rich = parseQueuePolicy(conditions);
measure(
  'evaluate: AddPermission policy (1 statement)',
  () => evaluateQueuePolicy(simple, request),
  1_000_000,
);
measure('evaluate: 4 statements, conditions', () => evaluateQueuePolicy(rich, request), 1_000_000);
measure(
  'evaluate: 4 statements, ReceiveMessage + IP/date',
  () => evaluateQueuePolicy(rich, { ...request, action: 'ReceiveMessage' }),
  300_000,
);
measure('parse: 4 statements (once per SetQueueAttributes)', () => parseQueuePolicy(conditions), 100_000);
