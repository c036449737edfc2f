// The SQS queue engine on a ManualClock: leases and visibility timeouts, delays, retention, long
// polls, FIFO groups and deduplication, redrive to a dead-letter queue and move tasks back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DedupStore, StoredDedupId } from '../../../src/core/dedup-store.js';
import { discardDefinitions } from '../../../src/core/definitions.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { SqsCoreError } from '../../../src/core/sqs/errors.js';
import type { SqsReceivedMessage, SqsSendInput } from '../../../src/core/sqs/message.js';
import type { SqsQueue } from '../../../src/core/sqs/queue.js';
import { SqsQueueRegistry } from '../../../src/core/sqs/registry.js';
import { defaultQueueSettings, type SqsQueueSettings } from '../../../src/core/sqs/settings.js';
import type { SqsStorage } from '../../../src/core/sqs/store.js';

function settings(overrides: Partial<SqsQueueSettings> = {}): SqsQueueSettings {
  return { ...defaultQueueSettings(false), ...overrides };
}

/** A registry on `clock`, with queues in memory or on `storage`. */
function registryOn(clock: ManualClock, storage?: SqsStorage): SqsQueueRegistry {
  return new SqsQueueRegistry({
    clock,
    accountId: '000000000000',
    region: 'us-east-1',
    definitions: discardDefinitions,
    durability: { afterDurable: (callback) => callback() },
    ...(storage ? { storage } : {}),
  });
}

function setup() {
  const clock = new ManualClock();
  return { clock, registry: registryOn(clock) };
}

function input(body: string, extra: Partial<SqsSendInput> = {}): SqsSendInput {
  return { body, bodyMd5: 'md5', sizeBytes: body.length, senderId: 'me', ...extra };
}

function receiveNow(
  queue: SqsQueue,
  maxMessages = 10,
  visibilityTimeoutSeconds?: number,
): SqsReceivedMessage[] {
  let result: SqsReceivedMessage[] | undefined;
  queue.receive({ maxMessages, visibilityTimeoutSeconds }, 0, (received) => {
    result = received;
  });
  assert.ok(result, 'a receive without wait answers at once');
  return result;
}

const bodies = (received: SqsReceivedMessage[]) => received.map((r) => r.message.body);

test('standard queue: a lease hides the message until its visibility timeout, then it is redelivered', () => {
  const { clock, registry } = setup();
  const queue = registry.create('jobs', settings({ visibilityTimeoutSeconds: 10 }), {});
  queue.send(input('a'));
  queue.send(input('b'));
  const first = receiveNow(queue, 1);
  assert.deepEqual(bodies(first), ['a']);
  assert.deepEqual(queue.counts(), { visible: 1, inFlight: 1, delayed: 0 });
  assert.deepEqual(bodies(receiveNow(queue)), ['b']);
  assert.deepEqual(receiveNow(queue), []);
  clock.advance(9_999);
  assert.deepEqual(receiveNow(queue), []);
  clock.advance(1);
  const again = receiveNow(queue);
  assert.deepEqual(bodies(again).sort(), ['a', 'b']);
  const a = again.find((r) => r.message.body === 'a')!;
  assert.equal(a.message.receiveCount, 2);
  // On a standard queue the first receive's handle still works after the message was received again,
  // as on AWS: it changes the current lease and deletes the message.
  assert.equal(queue.changeVisibility(first[0]!.receiptHandle, 5), 'ok');
  assert.equal(queue.deleteMessage(first[0]!.receiptHandle), 'ok');
  assert.equal(queue.deleteMessage(a.receiptHandle), 'ok', 'deleting twice succeeds, as on AWS');
  assert.equal(queue.deleteMessage('not-a-handle'), 'invalid');
  assert.deepEqual(queue.counts(), { visible: 0, inFlight: 1, delayed: 0 });
});

test("ChangeMessageVisibility extends or ends a lease; after the lease it hides a standard queue's message again", () => {
  const { clock, registry } = setup();
  const queue = registry.create('jobs', settings({ visibilityTimeoutSeconds: 10 }), {});
  queue.send(input('a'));
  const [lease] = receiveNow(queue);
  assert.equal(queue.changeVisibility(lease!.receiptHandle, 60), 'ok');
  clock.advance(30_000);
  assert.deepEqual(receiveNow(queue), []);
  assert.equal(queue.changeVisibility(lease!.receiptHandle, 0), 'ok');
  assert.deepEqual(queue.counts(), { visible: 1, inFlight: 0, delayed: 0 });
  // After the lease, the handle hides the message again on a standard queue, as AWS lets it.
  assert.equal(queue.changeVisibility(lease!.receiptHandle, 10), 'ok');
  assert.deepEqual(queue.counts(), { visible: 0, inFlight: 1, delayed: 0 });
  assert.deepEqual(receiveNow(queue), []);
  clock.advance(10_000);
  assert.deepEqual(queue.counts(), { visible: 1, inFlight: 0, delayed: 0 });
  // The latest handle still deletes a message that became visible again, as on AWS.
  assert.equal(queue.deleteMessage(lease!.receiptHandle), 'ok');
  assert.deepEqual(queue.counts(), { visible: 0, inFlight: 0, delayed: 0 });
  // A deleted message's handle: gone.
  assert.equal(queue.changeVisibility(lease!.receiptHandle, 10), 'gone');
});

test('delays: per message and per queue; ApproximateNumberOfMessagesDelayed counts them', () => {
  const { clock, registry } = setup();
  const queue = registry.create('later', settings({ delaySeconds: 5 }), {});
  queue.send(input('queue-delay'));
  queue.send(input('own-delay', { delaySeconds: 20 }));
  queue.send(input('no-delay', { delaySeconds: 0 }));
  assert.deepEqual(queue.counts(), { visible: 1, inFlight: 0, delayed: 2 });
  assert.deepEqual(bodies(receiveNow(queue)), ['no-delay']);
  clock.advance(5_000);
  assert.deepEqual(bodies(receiveNow(queue)), ['queue-delay']);
  clock.advance(15_000);
  assert.deepEqual(bodies(receiveNow(queue)), ['own-delay']);
});

test('retention deletes messages older than MessageRetentionPeriod, in flight or not', () => {
  const { clock, registry } = setup();
  const queue = registry.create('short', settings({ messageRetentionPeriodSeconds: 60 }), {});
  queue.send(input('old'));
  receiveNow(queue);
  clock.advance(30_000);
  queue.send(input('young'));
  clock.advance(30_000);
  assert.deepEqual(queue.counts(), { visible: 1, inFlight: 0, delayed: 0 });
  clock.advance(30_000);
  assert.deepEqual(queue.counts(), { visible: 0, inFlight: 0, delayed: 0 });
});

test('a long poll returns as soon as a message arrives, or empty when its wait ends', () => {
  const { clock, registry } = setup();
  const queue = registry.create('poll', settings(), {});
  const answers: string[][] = [];
  queue.receive({ maxMessages: 10 }, 20_000, (received) => answers.push(bodies(received)));
  clock.advance(5_000);
  assert.equal(answers.length, 0);
  queue.send(input('wake'));
  assert.deepEqual(answers, [['wake']]);
  queue.receive({ maxMessages: 10 }, 20_000, (received) => answers.push(bodies(received)));
  clock.advance(19_999);
  assert.equal(answers.length, 1);
  clock.advance(1);
  assert.deepEqual(answers, [['wake'], []]);
  // A cancelled poll (client gone) takes nothing.
  const pending = queue.receive({ maxMessages: 10 }, 20_000, () => assert.fail('cancelled poll answered'));
  pending.cancel();
  queue.send(input('kept'));
  assert.deepEqual(queue.counts().visible, 1);
});

test('FIFO: strict order within a group, a group blocked while any of its messages is in flight', () => {
  const { clock, registry } = setup();
  const queue = registry.create(
    'orders.fifo',
    settings({ fifoQueue: true, visibilityTimeoutSeconds: 10 }),
    {},
  );
  for (const [group, body] of [
    ['g1', 'g1-1'],
    ['g2', 'g2-1'],
    ['g1', 'g1-2'],
    ['g1', 'g1-3'],
    ['g2', 'g2-2'],
  ] as const) {
    queue.send(input(body, { messageGroupId: group, deduplicationId: body }));
  }
  // Messages of one group come together, in order; g2 follows.
  const first = receiveNow(queue, 2);
  assert.deepEqual(bodies(first), ['g1-1', 'g1-2']);
  const second = receiveNow(queue, 10);
  assert.deepEqual(bodies(second), ['g2-1', 'g2-2'], 'g1 is blocked while g1-1 and g1-2 are in flight');
  assert.deepEqual(receiveNow(queue), []);
  assert.equal(queue.deleteMessage(first[0]!.receiptHandle), 'ok');
  assert.deepEqual(receiveNow(queue), [], 'g1-2 is still in flight');
  for (const done of second) queue.deleteMessage(done.receiptHandle);
  // The lease of g1-2 runs out: it comes back before g1-3.
  clock.advance(10_000);
  const third = receiveNow(queue);
  assert.deepEqual(bodies(third), ['g1-2', 'g1-3']);
  const sequences = [...first, ...second, ...third].map((r) => BigInt(r.message.sequenceNumber!));
  assert.ok(sequences[0]! < sequences[1]!);
});

test('FIFO deduplication: a repeated id within 5 minutes is answered with the original and not stored', () => {
  const { clock, registry } = setup();
  const queue = registry.create('dedup.fifo', settings({ fifoQueue: true }), {});
  const original = queue.send(input('x', { messageGroupId: 'g', deduplicationId: 'id-1' }));
  clock.advance(299_999);
  const again = queue.send(input('x', { messageGroupId: 'other', deduplicationId: 'id-1' }));
  assert.equal(again.duplicate, true);
  assert.equal(again.message.messageId, original.message.messageId);
  assert.equal(again.message.sequenceNumber, original.message.sequenceNumber);
  assert.equal(queue.counts().visible, 1);
  clock.advance(1);
  assert.equal(queue.send(input('x', { messageGroupId: 'g', deduplicationId: 'id-1' })).duplicate, false);

  const scoped = registry.create(
    'scoped.fifo',
    settings({ fifoQueue: true, deduplicationScope: 'messageGroup' }),
    {},
  );
  scoped.send(input('y', { messageGroupId: 'a', deduplicationId: 'same' }));
  assert.equal(scoped.send(input('y', { messageGroupId: 'b', deduplicationId: 'same' })).duplicate, false);
  assert.equal(scoped.send(input('y', { messageGroupId: 'a', deduplicationId: 'same' })).duplicate, true);
});

test('FIFO ReceiveRequestAttemptId: a retry gets the same messages and handles while they are in flight', () => {
  const { registry } = setup();
  const queue = registry.create('retry.fifo', settings({ fifoQueue: true }), {});
  queue.send(input('m1', { messageGroupId: 'g', deduplicationId: '1' }));
  queue.send(input('m2', { messageGroupId: 'h', deduplicationId: '2' }));
  const receive = (attempt: string) => {
    let out: SqsReceivedMessage[] = [];
    queue.receive({ maxMessages: 1, receiveRequestAttemptId: attempt }, 0, (r) => {
      out = r;
    });
    return out;
  };
  const first = receive('attempt-1');
  const retry = receive('attempt-1');
  assert.deepEqual(
    retry.map((r) => r.receiptHandle),
    first.map((r) => r.receiptHandle),
  );
  assert.deepEqual(bodies(receive('attempt-2')), ['m2']);
  queue.deleteMessage(first[0]!.receiptHandle);
  assert.deepEqual(receive('attempt-1'), [], 'after a delete the attempt id starts a new receive');
});

test('redrive: the receive after maxReceiveCount moves the message to the DLQ; a move task brings it back', () => {
  const { clock, registry } = setup();
  const dlq = registry.create('jobs-dlq', settings(), {});
  const source = registry.create(
    'jobs',
    settings({
      visibilityTimeoutSeconds: 1,
      redrivePolicy: { deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 },
    }),
    {},
  );
  const sent = source.send(input('poison')).message;
  assert.equal(receiveNow(source).length, 1);
  clock.advance(1_000);
  assert.equal(receiveNow(source).length, 1);
  clock.advance(1_000);
  assert.deepEqual(receiveNow(source), [], 'the third receive moves it instead of delivering it');
  assert.deepEqual(dlq.counts(), { visible: 1, inFlight: 0, delayed: 0 });
  assert.deepEqual(
    registry.deadLetterSourcesOf(dlq).map((q) => q.name),
    ['jobs'],
  );
  const [dead] = receiveNow(dlq, 10, 0);
  assert.equal(dead!.message.messageId, sent.messageId);
  assert.equal(dead!.message.deadLetterSourceArn, source.arn);
  assert.equal(dead!.message.sentAtMs, sent.sentAtMs);
  // The count carries over, as AWS counts it: two receives in the source, this is the third.
  assert.equal(dead!.message.receiveCount, 3);

  assert.throws(
    () => registry.startMoveTask(source.arn),
    (err: unknown) => err instanceof SqsCoreError && err.code === 'InvalidParameterValue',
  );
  const handle = registry.startMoveTask(dlq.arn);
  const [task] = registry.listMoveTasks(dlq.arn, 10);
  assert.equal(task!.taskHandle, handle);
  assert.equal(task!.status, 'COMPLETED');
  assert.equal(task!.approximateNumberOfMessagesMoved, 1);
  assert.deepEqual(dlq.counts().visible, 0);
  const [back] = receiveNow(source);
  assert.equal(back!.message.body, 'poison');
  assert.equal(back!.message.receiveCount, 1);
  assert.equal(back!.message.deadLetterSourceArn, undefined);
});

test('a rated move task moves at most N messages a second and can be cancelled', () => {
  const { clock, registry } = setup();
  const dlq = registry.create('dlq', settings(), {});
  const target = registry.create('target', settings(), {});
  registry.create(
    'src',
    settings({ redrivePolicy: { deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 } }),
    {},
  );
  for (let i = 0; i < 5; i++) dlq.send(input(`m${i}`));
  const handle = registry.startMoveTask(dlq.arn, target.arn, 2);
  assert.equal(target.counts().visible, 2);
  clock.advance(1_000);
  assert.equal(target.counts().visible, 4);
  assert.equal(registry.cancelMoveTask(handle), 4);
  clock.advance(5_000);
  assert.equal(target.counts().visible, 4);
  assert.equal(registry.listMoveTasks(dlq.arn, 1)[0]!.status, 'CANCELLED');
  // A task that is not running cannot be cancelled: not found, as AWS answers.
  assert.throws(
    () => registry.cancelMoveTask(handle),
    (err: unknown) =>
      err instanceof SqsCoreError &&
      err.code === 'ResourceNotFoundException' &&
      err.message === 'Task does not exist.',
  );
});

test('a move task gives moved messages new ids, and fails on a message with no known source', () => {
  const { registry } = setup();
  const dlq = registry.create('dlq', settings(), {});
  const target = registry.create('target', settings(), {});
  registry.create(
    'src',
    settings({ redrivePolicy: { deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 } }),
    {},
  );
  const { message: sent } = dlq.send(input('to-target'));
  registry.startMoveTask(dlq.arn, target.arn);
  const [moved] = receiveNow(target);
  assert.equal(moved!.message.body, 'to-target');
  assert.notEqual(moved!.message.messageId, sent.messageId);
  assert.equal(moved!.message.receiveCount, 1);
  // Sent to the DLQ directly: no source queue to return it to.
  dlq.send(input('direct'));
  registry.startMoveTask(dlq.arn);
  const [task] = registry.listMoveTasks(dlq.arn, 1);
  assert.equal(task!.status, 'FAILED');
  assert.equal(task!.failureReason, 'CouldNotDetermineMessageSource');
  assert.equal(task!.approximateNumberOfMessagesMoved, 0);
  assert.equal(dlq.counts().visible, 1);
});

test('RedriveAllowPolicy and a missing dead-letter queue refuse a RedrivePolicy', () => {
  const { registry } = setup();
  const closed = registry.create(
    'closed-dlq',
    settings({ redriveAllowPolicy: { redrivePermission: 'denyAll' } }),
    {},
  );
  const byQueue = registry.create(
    'picky-dlq',
    settings({
      redriveAllowPolicy: { redrivePermission: 'byQueue', sourceQueueArns: [registry.arnOf('allowed')] },
    }),
    {},
  );
  const refuse = (name: string, arn: string) =>
    assert.throws(
      () =>
        registry.create(
          name,
          settings({ redrivePolicy: { deadLetterTargetArn: arn, maxReceiveCount: 3 } }),
          {},
        ),
      (err: unknown) => err instanceof SqsCoreError && err.code === 'InvalidParameterValue',
    );
  refuse('a', closed.arn);
  refuse('other', byQueue.arn);
  refuse('b', registry.arnOf('missing'));
  registry.create(
    'allowed',
    settings({ redrivePolicy: { deadLetterTargetArn: byQueue.arn, maxReceiveCount: 3 } }),
    {},
  );
});

test('PurgeQueue removes everything, once a minute', () => {
  const { clock, registry } = setup();
  const queue = registry.create('purge', settings(), {});
  queue.send(input('a'));
  queue.send(input('b'));
  receiveNow(queue, 1);
  queue.purge();
  assert.deepEqual(queue.counts(), { visible: 0, inFlight: 0, delayed: 0 });
  assert.throws(
    () => queue.purge(),
    (err: unknown) => err instanceof SqsCoreError && err.code === 'PurgeQueueInProgress',
  );
  clock.advance(60_000);
  queue.purge();
});

test('a lease can be extended to at most 12 hours after its receive', () => {
  const { clock, registry } = setup();
  const queue = registry.create('long', settings(), {});
  queue.send(input('a'));
  const [lease] = receiveNow(queue, 1, 7 * 3600);
  clock.advance(6 * 3600_000);
  assert.equal(queue.changeVisibility(lease!.receiptHandle, 6 * 3600), 'ok');
  assert.equal(queue.changeVisibility(lease!.receiptHandle, 6 * 3600 + 1), 'too-long');
});

test('FIFO ids recovered after a restart still count under the other DeduplicationScope', () => {
  const clock = new ManualClock();
  const scopes = [
    ['queue', 'messageGroup'],
    ['messageGroup', 'queue'],
  ] as const;
  for (const [recordedUnder, sentUnder] of scopes) {
    let storedIds: StoredDedupId[] = [];
    const dedupStore: DedupStore = {
      recover: () => storedIds,
      add: (id) => storedIds.push(id),
      get recordCount() {
        return storedIds.length;
      },
      rewrite: (live) => {
        storedIds = [...live];
      },
      destroy() {},
      close() {},
    };
    // A broker life: the queue opens (recovering the ids stored so far) with the scope given.
    const open = (deduplicationScope: 'queue' | 'messageGroup') =>
      registryOn(clock, {
        openMessageStore: () => ({
          recoverIndex() {},
          load: () => assert.fail('nothing is loaded back here'),
          append() {},
          recordReceive() {},
          remove() {},
          removeAfterDurable() {},
          destroy() {},
          close() {},
        }),
        openDedupStore: () => dedupStore,
        removeOrphans() {},
      }).create('scope.fifo', settings({ fifoQueue: true, deduplicationScope }), {});
    const send = { messageGroupId: 'g', deduplicationId: 'd' };
    const original = open(recordedUnder).send(input('x', send));
    const again = open(sentUnder).send(input('x', send));
    assert.equal(again.duplicate, true, `recorded under ${recordedUnder}, sent again under ${sentUnder}`);
    assert.equal(again.message.messageId, original.message.messageId);
  }
});

test('receives are logged to the store only for queues with a redrive policy', () => {
  const clock = new ManualClock();
  const logged: string[] = [];
  const store = (queueId: string) => ({
    recoverIndex: () => [],
    load: () => assert.fail('each message is received once here: its content is in memory'),
    append() {},
    recordReceive: () => logged.push(queueId),
    remove() {},
    removeAfterDurable() {},
    destroy() {},
    close() {},
  });
  const registry = registryOn(clock, {
    openMessageStore: store,
    openDedupStore: () => assert.fail('no FIFO queue here'),
    removeOrphans() {},
  });
  const dlq = registry.create('dlq', settings(), {});
  const plain = registry.create('plain', settings(), {});
  const redriven = registry.create(
    'redriven',
    settings({ redrivePolicy: { deadLetterTargetArn: dlq.arn, maxReceiveCount: 3 } }),
    {},
  );
  plain.send(input('a'));
  redriven.send(input('b'));
  assert.equal(receiveNow(plain).length, 1);
  assert.equal(receiveNow(redriven).length, 1);
  assert.deepEqual(logged, [redriven.id]);
});

test("a deleted message's slot is reused: its old receipt handles never touch the message now there", () => {
  const { clock, registry } = setup();
  const standard = registry.create('reuse', settings({ visibilityTimeoutSeconds: 10 }), {});
  standard.send(input('a'));
  const [a] = receiveNow(standard, 1);
  assert.equal(standard.deleteMessage(a!.receiptHandle), 'ok');
  standard.send(input('b'));
  const [b] = receiveNow(standard, 1);
  assert.equal(b!.message.body, 'b');
  // a's handle names the slot b now holds: deleting a again succeeds (idempotent) and leaves b.
  assert.equal(standard.deleteMessage(a!.receiptHandle), 'ok');
  assert.equal(standard.changeVisibility(a!.receiptHandle, 0), 'gone');
  assert.deepEqual(standard.counts(), { visible: 0, inFlight: 1, delayed: 0 });
  clock.advance(10_000);
  assert.deepEqual(bodies(receiveNow(standard)), ['b']);

  const fifo = registry.create('reuse.fifo', settings({ fifoQueue: true, visibilityTimeoutSeconds: 10 }), {});
  fifo.send(input('x', { messageGroupId: 'g', deduplicationId: 'x' }));
  const [x] = receiveNow(fifo, 1);
  assert.equal(fifo.deleteMessage(x!.receiptHandle), 'ok');
  fifo.send(input('y', { messageGroupId: 'g', deduplicationId: 'y' }));
  const [y] = receiveNow(fifo, 1);
  assert.equal(y!.message.body, 'y');
  assert.equal(fifo.deleteMessage(x!.receiptHandle), 'ok');
  assert.deepEqual(fifo.counts(), { visible: 0, inFlight: 1, delayed: 0 });
  assert.equal(fifo.deleteMessage(y!.receiptHandle), 'ok');
  assert.deepEqual(fifo.counts(), { visible: 0, inFlight: 0, delayed: 0 });
});

test('messages made visible at the same millisecond keep their send order, however their slots were reused', () => {
  const { clock, registry } = setup();
  const queue = registry.create('order', settings({ visibilityTimeoutSeconds: 10 }), {});
  // Free slots 0..4 in an order unlike the send order of the messages that reuse them.
  for (const body of ['0', '1', '2', '3', '4']) queue.send(input(body));
  const taken = receiveNow(queue, 5);
  for (const r of [...taken].reverse()) queue.deleteMessage(r.receiptHandle);
  for (const body of ['a', 'b', 'c', 'd', 'e']) queue.send(input(body, { delaySeconds: 5 }));
  assert.deepEqual(queue.counts(), { visible: 0, inFlight: 0, delayed: 5 });
  clock.advance(5_000);
  assert.deepEqual(bodies(receiveNow(queue)), ['a', 'b', 'c', 'd', 'e']);
});
