/** Queue names and CreateQueue/SetQueueAttributes attribute maps: AWS's ranges, defaults and errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applySetQueueAttributes,
  checkCreateQueueAgainstExisting,
  parseCreateQueueAttributes,
  type QueueSettings,
  queueSettingsToAttributes,
  validateQueueName,
} from '../../../src/protocol/sqs/queue-attributes.js';

const DLQ_ARN = 'arn:aws:sqs:us-east-1:000000000000:dlq';

function created(name: string, attributes: Record<string, string> = {}): QueueSettings {
  const result = parseCreateQueueAttributes(name, attributes);
  assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.message}`);
  return result.settings;
}

function refused(result: ReturnType<typeof parseCreateQueueAttributes>) {
  assert.equal(result.ok, false, 'expected a refusal');
  return result.ok ? { code: '', message: '' } : { code: result.code, message: result.message };
}

test('queue names: 1-80 of [A-Za-z0-9_-]; FIFO names end in .fifo within the 80', () => {
  for (const name of ['q', 'a-B_9', 'x'.repeat(80)]) assert.equal(validateQueueName(name, false), undefined);
  for (const name of ['', 'x'.repeat(81), 'a.b', 'a b', 'q.fifo', 'é']) {
    assert.deepEqual(validateQueueName(name, false), {
      code: 'InvalidParameterValue',
      message: 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
    });
  }
  assert.equal(validateQueueName('q.fifo', true), undefined);
  assert.equal(validateQueueName(`${'x'.repeat(75)}.fifo`, true), undefined);
  for (const name of ['q', '.fifo', `${'x'.repeat(76)}.fifo`, 'q.FIFO']) {
    assert.equal(validateQueueName(name, true)?.code, 'InvalidParameterValue', name);
  }
  assert.match(validateQueueName('q', true)!.message, /must end with \.fifo suffix/);
});

test('CreateQueue defaults are AWS defaults', () => {
  assert.deepEqual(queueSettingsToAttributes(created('q')), {
    DelaySeconds: '0',
    MaximumMessageSize: '1048576',
    MessageRetentionPeriod: '345600',
    ReceiveMessageWaitTimeSeconds: '0',
    VisibilityTimeout: '30',
    SqsManagedSseEnabled: 'true',
  });
  const fifo = queueSettingsToAttributes(created('q.fifo', { FifoQueue: 'true' }));
  assert.equal(fifo.FifoQueue, 'true');
  assert.equal(fifo.ContentBasedDeduplication, 'false');
  assert.equal(fifo.DeduplicationScope, 'queue');
  assert.equal(fifo.FifoThroughputLimit, 'perQueue');
});

test('integer attributes accept their range ends and refuse one past them', () => {
  const ranges: [string, number, number][] = [
    ['DelaySeconds', 0, 900],
    ['MaximumMessageSize', 1024, 1_048_576],
    ['MessageRetentionPeriod', 60, 1_209_600],
    ['ReceiveMessageWaitTimeSeconds', 0, 20],
    ['VisibilityTimeout', 0, 43_200],
    ['KmsDataKeyReusePeriodSeconds', 60, 86_400],
  ];
  for (const [name, min, max] of ranges) {
    for (const ok of [min, max]) {
      const extra: Record<string, string> =
        name === 'KmsDataKeyReusePeriodSeconds' ? { KmsMasterKeyId: 'k' } : {};
      assert.equal(
        queueSettingsToAttributes(created('q', { [name]: String(ok), ...extra }))[name],
        String(ok),
      );
    }
    for (const bad of [String(min - 1), String(max + 1), '1.5', 'ten', '']) {
      assert.deepEqual(refused(parseCreateQueueAttributes('q', { [name]: bad })), {
        code: 'InvalidAttributeValue',
        message: `Invalid value for the parameter ${name}.`,
      });
    }
  }
});

test('unknown and read-only attributes are refused with InvalidAttributeName', () => {
  for (const name of ['Nope', 'QueueArn', 'ApproximateNumberOfMessages', 'CreatedTimestamp', 'All']) {
    assert.deepEqual(refused(parseCreateQueueAttributes('q', { [name]: '1' })), {
      code: 'InvalidAttributeName',
      message: `Unknown Attribute ${name}.`,
    });
    const set = applySetQueueAttributes(created('q'), { [name]: '1' });
    assert.equal(!set.ok && set.code, 'InvalidAttributeName');
  }
});

test('FifoQueue: only at creation, must agree with the name; FIFO-only attributes refused on standard queues', () => {
  assert.equal(refused(parseCreateQueueAttributes('q', { FifoQueue: 'true' })).code, 'InvalidParameterValue');
  assert.equal(refused(parseCreateQueueAttributes('q.fifo')).code, 'InvalidParameterValue');
  assert.equal(
    refused(parseCreateQueueAttributes('q.fifo', { FifoQueue: 'false' })).code,
    'InvalidParameterValue',
  );
  assert.equal(refused(parseCreateQueueAttributes('q', { FifoQueue: 'yes' })).code, 'InvalidAttributeValue');
  // A standard queue has no FifoQueue attribute: FifoQueue=false is refused as AWS refuses it.
  assert.deepEqual(refused(parseCreateQueueAttributes('q', { FifoQueue: 'false' })), {
    code: 'InvalidAttributeName',
    message: 'Unknown Attribute FifoQueue.',
  });
  // FifoQueue=true on a FIFO queue changes nothing and is accepted; false is refused.
  const fifo = created('q.fifo', { FifoQueue: 'true' });
  const same = applySetQueueAttributes(fifo, { FifoQueue: 'true' });
  assert.ok(same.ok && same.settings.fifoQueue);
  const set = applySetQueueAttributes(fifo, { FifoQueue: 'false' });
  assert.equal(!set.ok && set.code, 'InvalidAttributeValue');
  const onStandard = applySetQueueAttributes(created('q'), { FifoQueue: 'true' });
  assert.equal(!onStandard.ok && onStandard.code, 'InvalidAttributeName');
  for (const name of ['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']) {
    assert.equal(refused(parseCreateQueueAttributes('q', { [name]: 'true' })).code, 'InvalidAttributeName');
  }
});

test('FIFO attributes: values, and perMessageGroupId throughput needs messageGroup deduplication', () => {
  const fifo = created('q.fifo', {
    FifoQueue: 'TRUE',
    ContentBasedDeduplication: 'true',
    DeduplicationScope: 'messageGroup',
    FifoThroughputLimit: 'perMessageGroupId',
  });
  assert.equal(fifo.contentBasedDeduplication, true);
  assert.equal(fifo.fifoThroughputLimit, 'perMessageGroupId');
  assert.equal(
    refused(parseCreateQueueAttributes('q.fifo', { FifoQueue: 'true', DeduplicationScope: 'group' })).code,
    'InvalidAttributeValue',
  );
  const mismatch = refused(
    parseCreateQueueAttributes('q.fifo', { FifoQueue: 'true', FifoThroughputLimit: 'perMessageGroupId' }),
  );
  assert.equal(mismatch.code, 'InvalidAttributeValue');
  assert.match(mismatch.message, /FifoThroughputLimit/);
  // Reverting the scope while the limit stays per group is refused too.
  const back = applySetQueueAttributes(fifo, { DeduplicationScope: 'queue' });
  assert.equal(!back.ok && back.code, 'InvalidAttributeValue');
  const both = applySetQueueAttributes(fifo, {
    DeduplicationScope: 'queue',
    FifoThroughputLimit: 'perQueue',
  });
  assert.ok(both.ok);
});

test('RedrivePolicy: JSON map with a queue ARN and maxReceiveCount 1-1000 (number or string); "" removes it', () => {
  const settings = created('q', {
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: '5' }),
  });
  assert.deepEqual(settings.redrivePolicy, { deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 5 });
  assert.equal(
    queueSettingsToAttributes(settings).RedrivePolicy,
    `{"deadLetterTargetArn":"${DLQ_ARN}","maxReceiveCount":5}`,
  );
  const removed = applySetQueueAttributes(settings, { RedrivePolicy: '' });
  assert.ok(removed.ok);
  assert.equal(removed.settings.redrivePolicy, undefined);
  assert.equal(settings.redrivePolicy?.maxReceiveCount, 5, 'the current settings are not modified');

  const cases: [string, RegExp][] = [
    ['not json', /Redrive policy is not a valid JSON map\.$/],
    ['[1]', /Redrive policy is not a valid JSON map\.$/],
    [
      JSON.stringify({ deadLetterTargetArn: DLQ_ARN }),
      /does not contain mandatory attribute: maxReceiveCount\.$/,
    ],
    [JSON.stringify({ maxReceiveCount: 1 }), /does not contain mandatory attribute: deadLetterTargetArn\.$/],
    [JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 0 }), /valid values are from 1 to 1000/],
    [
      JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 1001 }),
      /valid values are from 1 to 1000/,
    ],
    [
      JSON.stringify({ deadLetterTargetArn: 'dlq', maxReceiveCount: 3 }),
      /Invalid value for deadLetterTargetArn/,
    ],
    [
      JSON.stringify({ deadLetterTargetArn: `${DLQ_ARN}.fifo`, maxReceiveCount: 3 }),
      /same type as the source/,
    ],
    [JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 3, x: 1 }), /Only following attributes/],
  ];
  for (const [text, message] of cases) {
    const error = refused(parseCreateQueueAttributes('q', { RedrivePolicy: text }));
    assert.equal(error.code, 'InvalidAttributeValue', text);
    assert.match(error.message, message, text);
  }
  assert.equal(
    created('q', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 1000 }) })
      .redrivePolicy?.maxReceiveCount,
    1000,
  );
});

test('RedriveAllowPolicy: allowAll | denyAll | byQueue with 1-10 source ARNs', () => {
  assert.deepEqual(
    created('q', { RedriveAllowPolicy: '{"redrivePermission":"denyAll"}' }).redriveAllowPolicy,
    {
      redrivePermission: 'denyAll',
    },
  );
  const ten = Array.from({ length: 10 }, (_, i) => `arn:aws:sqs:us-east-1:000000000000:src${i}`);
  const byQueue = created('q', {
    RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: ten }),
  });
  assert.equal(byQueue.redriveAllowPolicy?.sourceQueueArns?.length, 10);
  const bad = [
    JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [...ten, DLQ_ARN] }),
    JSON.stringify({ redrivePermission: 'byQueue' }),
    JSON.stringify({ redrivePermission: 'allowAll', sourceQueueArns: [DLQ_ARN] }),
    JSON.stringify({ redrivePermission: 'sometimes' }),
    JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: ['nope'] }),
    'nope',
  ];
  for (const text of bad) {
    const error = refused(parseCreateQueueAttributes('q', { RedriveAllowPolicy: text }));
    assert.equal(error.code, 'InvalidAttributeValue', text);
    assert.match(error.message, /^Value .* for parameter RedriveAllowPolicy is invalid\. Reason: /, text);
  }
});

test('Policy must be a policy document; KMS and SQS-managed SSE exclude each other', () => {
  const policy = '{"Version":"2012-10-17","Statement":[]}';
  assert.equal(created('q', { Policy: policy }).policy, policy);
  assert.deepEqual(refused(parseCreateQueueAttributes('q', { Policy: '{' })), {
    code: 'InvalidAttributeValue',
    message: 'Invalid value for the parameter Policy. Reason: the policy is not valid JSON.',
  });
  const kms = created('q', { KmsMasterKeyId: 'alias/aws/sqs' });
  assert.equal(kms.sqsManagedSseEnabled, false);
  assert.equal(queueSettingsToAttributes(kms).KmsDataKeyReusePeriodSeconds, '300');
  const both = refused(
    parseCreateQueueAttributes('q', { KmsMasterKeyId: 'k', SqsManagedSseEnabled: 'true' }),
  );
  assert.match(both.message, /one type of server-side encryption/);
  assert.equal(
    refused(parseCreateQueueAttributes('q', { SqsManagedSseEnabled: 'maybe' })).code,
    'InvalidAttributeValue',
  );
});

test('SetQueueAttributes changes only what it names and leaves the current settings alone', () => {
  const current = created('q', { VisibilityTimeout: '60' });
  const result = applySetQueueAttributes(current, { DelaySeconds: '5' });
  assert.ok(result.ok);
  assert.equal(result.settings.delaySeconds, 5);
  assert.equal(result.settings.visibilityTimeoutSeconds, 60);
  assert.equal(current.delaySeconds, 0);
  const refusedSet = applySetQueueAttributes(current, { DelaySeconds: '5', VisibilityTimeout: '99999' });
  assert.equal(!refusedSet.ok && refusedSet.message, 'Invalid value for the parameter VisibilityTimeout.');
});

test('CreateQueue of an existing name: same named values return it, a different one is QueueNameExists', () => {
  const existing = created('q', { VisibilityTimeout: '60' });
  assert.equal(checkCreateQueueAgainstExisting(existing, 'q'), undefined);
  assert.equal(checkCreateQueueAgainstExisting(existing, 'q', { VisibilityTimeout: '060' }), undefined);
  assert.equal(checkCreateQueueAgainstExisting(existing, 'q', { DelaySeconds: '0' }), undefined);
  assert.deepEqual(checkCreateQueueAgainstExisting(existing, 'q', { VisibilityTimeout: '30' }), {
    code: 'QueueNameExists',
    message:
      'A queue already exists with the same name and a different value for attribute VisibilityTimeout',
  });
  assert.equal(
    checkCreateQueueAgainstExisting(existing, 'q', { DelaySeconds: '1' })?.code,
    'QueueNameExists',
  );
  assert.equal(
    checkCreateQueueAgainstExisting(existing, 'q', { VisibilityTimeout: '-1' })?.code,
    'InvalidAttributeValue',
  );
});
