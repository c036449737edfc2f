/**
 * The AMQP Queue's length limits (x-max-length, x-max-length-bytes with the three x-overflow
 * modes) and priorities (x-max-priority), on the core API.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodyOf, flush, QueueFixture, TestConsumer } from './queue-fixture.js';

describe('max-length', () => {
  test('drop-head (the default): the oldest messages are dropped, dead-lettered with reason maxlen', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work', { 'x-max-length': 2 });
    for (const body of ['m1', 'm2', 'm3', 'm4']) {
      assert.deepEqual(f.publish('work', body), { routed: true, rejected: false, needsDisk: false });
    }
    assert.equal(queue.messageCount, 2);
    assert.deepEqual(f.drainDeaths(dlq), [
      { body: 'm1', reason: 'maxlen', queue: 'work', firstReason: 'maxlen' },
      { body: 'm2', reason: 'maxlen', queue: 'work', firstReason: 'maxlen' },
    ]);
    assert.deepEqual(f.drain(queue), ['m3', 'm4']);
  });

  test('x-max-length-bytes counts body bytes and drops from the head', () => {
    const f = new QueueFixture();
    const queue = f.declare('work', { 'x-max-length-bytes': 10 });
    f.publish('work', 'aaaa');
    f.publish('work', 'bbbb');
    assert.equal(queue.readyBytes, 8);
    f.publish('work', 'cccc'); // 12 bytes: 'aaaa' goes
    assert.equal(queue.readyBytes, 8);
    f.publish('work', 'dd'); // 10 bytes: fits
    assert.deepEqual(f.drain(queue), ['bbbb', 'cccc', 'dd']);
  });

  test('reject-publish: a message that does not fit is refused and not dead-lettered; the queue keeps the oldest', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work', {
      'x-max-length': 2,
      'x-overflow': 'reject-publish',
    });
    f.publish('work', 'm1');
    f.publish('work', 'm2');
    assert.deepEqual(f.publish('work', 'm3'), { routed: true, rejected: true, needsDisk: false });
    assert.equal(dlq.messageCount, 0);
    assert.equal(queue.messageCount, 2);
    assert.deepEqual(f.drain(queue), ['m1', 'm2']);
  });

  test('reject-publish-dlx: a message that does not fit is refused and dead-lettered with reason maxlen', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work', {
      'x-max-length': 1,
      'x-overflow': 'reject-publish-dlx',
    });
    f.publish('work', 'kept');
    assert.equal(f.publish('work', 'refused').rejected, true);
    assert.deepEqual(f.drainDeaths(dlq), [
      { body: 'refused', reason: 'maxlen', queue: 'work', firstReason: 'maxlen' },
    ]);
    assert.deepEqual(f.drain(queue), ['kept']);
  });

  test('only ready messages count: leased ones leave room', () => {
    const f = new QueueFixture();
    const queue = f.declare('work', { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    f.publish('work', 'm1');
    f.publish('work', 'm2');
    const leased = queue.get()!;
    assert.equal(f.publish('work', 'm3').rejected, false);
    assert.equal(f.publish('work', 'm4').rejected, true);
    queue.settle(leased);
    assert.deepEqual(f.drain(queue), ['m2', 'm3']);
  });

  test('drop-head applies to a requeue that takes the queue over the limit: the requeued head goes', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work', { 'x-max-length': 2 });
    f.publish('work', 'm1');
    f.publish('work', 'm2');
    const m1 = queue.get()!;
    f.publish('work', 'm3');
    assert.equal(dlq.messageCount, 0);
    queue.release(m1); // back at the head: three ready
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => [d.body, d.reason]),
      [['m1', 'maxlen']],
    );
    assert.deepEqual(f.drain(queue), ['m2', 'm3']);
  });
});

describe('priorities', () => {
  test('x-max-priority: higher priorities first, FIFO within a level, no priority is level 0', () => {
    const f = new QueueFixture();
    const queue = f.declare('work', { 'x-max-priority': 10 });
    for (const [body, priority] of [
      ['a0', 0],
      ['b5', 5],
      ['c5', 5],
      ['d9', 9],
      ['e-none', undefined],
      ['f1', 1],
      ['g9', 9],
    ] as const) {
      f.publish('work', body, priority === undefined ? {} : { priority });
    }
    assert.deepEqual(f.drain(queue), ['d9', 'g9', 'b5', 'c5', 'f1', 'a0', 'e-none']);
  });

  test('a priority above x-max-priority counts as the maximum', () => {
    const f = new QueueFixture();
    const queue = f.declare('work', { 'x-max-priority': 3 });
    f.publish('work', 'low', { priority: 2 });
    f.publish('work', 'x3', { priority: 3 });
    f.publish('work', 'y200', { priority: 200 });
    f.publish('work', 'z3', { priority: 3 });
    assert.deepEqual(f.drain(queue), ['x3', 'y200', 'z3', 'low']);
  });

  test('without x-max-priority the priority property does not reorder', () => {
    const f = new QueueFixture();
    const queue = f.declare('work');
    f.publish('work', 'first', { priority: 0 });
    f.publish('work', 'second', { priority: 9 });
    assert.deepEqual(f.drain(queue), ['first', 'second']);
  });

  test('a consumer gets the highest priority ready when it has room, even one published later', async () => {
    const f = new QueueFixture();
    const queue = f.declare('work', { 'x-max-priority': 9 });
    f.publish('work', 'a', { priority: 1 });
    f.publish('work', 'b', { priority: 1 });
    const consumer = new TestConsumer('c', 1);
    queue.addConsumer(consumer);
    await flush();
    f.publish('work', 'urgent', { priority: 9 });
    await flush();
    assert.deepEqual(consumer.received, ['a']);
    consumer.ack(queue, 'a');
    await flush();
    assert.deepEqual(consumer.received, ['a', 'urgent']);
  });

  test('a requeued message returns to its place within its level, behind higher levels', () => {
    const f = new QueueFixture();
    const queue = f.declare('work', { 'x-max-priority': 9 });
    f.publish('work', 'a5', { priority: 5 });
    f.publish('work', 'b5', { priority: 5 });
    f.publish('work', 'c1', { priority: 1 });
    const a5 = queue.get()!;
    const b5 = queue.get()!;
    f.publish('work', 'h9', { priority: 9 });
    f.publish('work', 'd5', { priority: 5 });
    queue.release(b5);
    queue.release(a5);
    assert.deepEqual(f.drain(queue), ['h9', 'a5', 'b5', 'd5', 'c1']);
  });

  test('requeued messages of several levels come back highest level first', () => {
    const f = new QueueFixture();
    const queue = f.declare('work', { 'x-max-priority': 9 });
    f.publish('work', 'x1', { priority: 1 });
    f.publish('work', 'h9a', { priority: 9 });
    f.publish('work', 'h9b', { priority: 9 });
    f.publish('work', 'y1', { priority: 1 });
    const taken = [queue.get()!, queue.get()!, queue.get()!];
    assert.deepEqual(taken.map(bodyOf), ['h9a', 'h9b', 'x1']);
    queue.release(taken[2]!);
    queue.release(taken[1]!);
    assert.deepEqual(f.drain(queue), ['h9b', 'x1', 'y1']);
    queue.settle(taken[0]!);
  });
});
