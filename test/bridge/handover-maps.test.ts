// The pure parts of `pier handover sqs` and `pier handover kafka`: which SQS queues are created in
// which order with which attributes (ARNs rewritten), and the Kafka offset map's translation of
// committed offsets across gaps in Pier's log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyProgress, recordCopied, translateOffset } from '../../src/bridge/handover/kafka-offsets.js';
import {
  arnAttributes,
  arnPrefix,
  compareSqsQueue,
  planSqsQueues,
} from '../../src/bridge/handover/sqs-plan.js';

const arn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;
const queue = (name: string, attributes: Record<string, string> = {}) => ({
  name,
  attributes: { QueueArn: arn(name), ...attributes },
  tags: {},
});

describe('hand-over plans and maps', () => {
  it('SQS: dead-letter queues come first and along, even when --queues leaves them out', () => {
    const all = [
      queue('orders', {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn('orders-dlq'), maxReceiveCount: 3 }),
      }),
      queue('orders-dlq', {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn('last-resort'), maxReceiveCount: 9 }),
      }),
      queue('last-resort'),
      queue('other'),
      queue('ghost-source', {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn('gone'), maxReceiveCount: 1 }),
      }),
    ];
    const plan = planSqsQueues(all, (name) => name === 'orders' || name === 'ghost-source');
    assert.deepEqual(
      plan.queues.map((q) => q.name),
      ['last-resort', 'orders-dlq', 'orders', 'ghost-source'],
    );
    assert.ok(
      plan.notes.some((n) => /'orders-dlq' included: it is the dead-letter queue of 'orders'/.test(n)),
    );
    assert.ok(
      plan.notes.some((n) => /'ghost-source' redrives into 'gone', which Pier does not have/.test(n)),
    );
    const known = new Set(plan.queues.map((q) => q.name));
    assert.deepEqual(
      arnAttributes(all[4]!, arnPrefix(arn('x')), 'arn:aws:sqs:eu-west-1:111111111111:', (n) => known.has(n)),
      {},
      'a RedrivePolicy into a missing queue is not copied',
    );
  });

  it('SQS: queue ARNs in RedrivePolicy, RedriveAllowPolicy and Policy become the target account and region', () => {
    const source = queue('orders-dlq', {
      RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [arn('orders')] }),
      Policy: JSON.stringify({
        Statement: [{ Effect: 'Allow', Resource: arn('orders-dlq'), Principal: '*' }],
      }),
    });
    const mapped = arnAttributes(
      source,
      arnPrefix(arn('orders-dlq')),
      'arn:aws:sqs:eu-west-1:111111111111:',
      () => true,
    );
    assert.deepEqual(JSON.parse(mapped.RedriveAllowPolicy!).sourceQueueArns, [
      'arn:aws:sqs:eu-west-1:111111111111:orders',
    ]);
    assert.equal(
      JSON.parse(mapped.Policy!).Statement[0].Resource,
      'arn:aws:sqs:eu-west-1:111111111111:orders-dlq',
    );
    // maxReceiveCount as a number or a string, key order: the same policy.
    assert.deepEqual(
      compareSqsQueue(
        'q',
        { RedrivePolicy: '{"deadLetterTargetArn":"a","maxReceiveCount":3}', VisibilityTimeout: '45' },
        { team: 'x' },
        { RedrivePolicy: '{"maxReceiveCount":"3","deadLetterTargetArn":"a"}', VisibilityTimeout: '30' },
        {},
      ),
      [
        `queue 'q': VisibilityTimeout is "30" on the target, "45" wanted`,
        `queue 'q': tag team is null on the target, "x" wanted`,
      ],
    );
  });

  it('Kafka: a committed offset maps to the first copied record at or after it, across gaps', () => {
    // Pier's partition: log starts at 100; offsets 103-104 compacted away; a marker at 108.
    const progress = emptyProgress(100, 0);
    for (const offset of [100, 101, 102, 105, 106, 107]) recordCopied(progress, offset, progress.targetNext);
    assert.deepEqual(progress.runs, [
      [100, 0, 3],
      [105, 3, 3],
    ]);
    assert.equal(translateOffset(progress, 0), 0, 'before the log start: the first record');
    assert.equal(translateOffset(progress, 101), 1);
    assert.equal(translateOffset(progress, 103), 3, 'in a gap: the next record copied');
    assert.equal(translateOffset(progress, 107), 5);
    assert.equal(translateOffset(progress, 108), 6, 'after the last record copied: the target end');
    assert.equal(translateOffset(progress, 109), undefined, 'ahead of the copy: not translatable');
    assert.equal(translateOffset(progress, 109, 109), 6, 'unless the copy reached the end of Pier’s log');
  });
});
