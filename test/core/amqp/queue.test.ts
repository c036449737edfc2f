/**
 * The AMQP Queue's leases and requeue order, on the core API (a vhost, in-memory stores, consumers
 * driven as a channel drives them). The amqplib tests in test/protocol/amqp cover the same rules
 * end to end; these pin them down without a socket. TTL: queue-ttl.test.ts; max-length and
 * priorities: queue-limits.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodyOf, flush, QueueFixture, TestConsumer } from './queue-fixture.js';

describe('leases', () => {
  test('a consumer with prefetch 2 holds two leases; each ack lets the next message through', async () => {
    const f = new QueueFixture();
    const queue = f.declare('work');
    for (const body of ['m1', 'm2', 'm3', 'm4', 'm5']) f.publish('work', body);
    const consumer = new TestConsumer('c', 2);
    queue.addConsumer(consumer);
    await flush();
    assert.deepEqual(consumer.received, ['m1', 'm2']);
    assert.equal(queue.messageCount, 3, 'ready messages do not count the leased ones');
    assert.equal(queue.leasedCount, 2);

    consumer.ack(queue, 'm2');
    await flush();
    assert.deepEqual(consumer.received, ['m1', 'm2', 'm3']);
    assert.equal(queue.leasedCount, 2);
    for (const body of ['m1', 'm3', 'm4']) {
      consumer.ack(queue, body);
      await flush();
    }
    assert.deepEqual(consumer.received, ['m1', 'm2', 'm3', 'm4', 'm5']);
    consumer.ack(queue, 'm5');
    assert.equal(queue.messageCount, 0);
    assert.equal(queue.leasedCount, 0);
  });

  test('consumers take turns; one whose prefetch window is full is skipped', async () => {
    const f = new QueueFixture();
    const queue = f.declare('work');
    const small = new TestConsumer('small', 1);
    const large = new TestConsumer('large', 3);
    queue.addConsumer(small);
    queue.addConsumer(large);
    for (const body of ['m1', 'm2', 'm3', 'm4', 'm5']) f.publish('work', body);
    await flush();
    assert.deepEqual(small.received, ['m1']);
    assert.deepEqual(large.received, ['m2', 'm3', 'm4']);
    assert.equal(queue.messageCount, 1);
    small.ack(queue, 'm1');
    await flush();
    assert.deepEqual(small.received, ['m1', 'm5']);
  });

  test('basic.get leases a message too: it counts as leased until acked', () => {
    const f = new QueueFixture();
    const queue = f.declare('work');
    f.publish('work', 'm1');
    f.publish('work', 'm2');
    const got = queue.get()!;
    assert.equal(bodyOf(got), 'm1');
    assert.equal(got.deliveryCount, 1);
    assert.equal(queue.messageCount, 1);
    assert.equal(queue.leasedCount, 1);
    queue.settle(got);
    assert.equal(queue.leasedCount, 0);
    assert.deepEqual(f.drain(queue), ['m2']);
  });

  test('nack with requeue: the message is delivered again, flagged as a redelivery', async () => {
    const f = new QueueFixture();
    const queue = f.declare('work');
    for (const body of ['m1', 'm2']) f.publish('work', body);
    const consumer = new TestConsumer('c', 1);
    queue.addConsumer(consumer);
    await flush();
    consumer.nack(queue, 'm1', true);
    await flush();
    assert.deepEqual(consumer.received, ['m1', 'm1 (redelivered)']);
    assert.equal(consumer.leases[0]!.deliveryCount, 2);
    consumer.ack(queue, 'm1');
    await flush();
    assert.deepEqual(consumer.received, ['m1', 'm1 (redelivered)', 'm2']);
  });

  test('nack without requeue drops the message, or dead-letters it with reason rejected', async () => {
    const f = new QueueFixture();
    const plain = f.declare('plain');
    f.publish('plain', 'p1');
    const taken = plain.get()!;
    plain.reject(taken);
    assert.equal(plain.leasedCount, 0);
    assert.equal(plain.messageCount, 0);

    const { queue, dlq } = f.declareWithDeadLetters('work');
    for (const body of ['m1', 'm2']) f.publish('work', body);
    const consumer = new TestConsumer('c', 1);
    queue.addConsumer(consumer);
    await flush();
    consumer.nack(queue, 'm1', false);
    await flush();
    assert.deepEqual(consumer.received, ['m1', 'm2'], 'a rejected message is not redelivered');
    assert.equal(queue.leasedCount, 1);
    assert.deepEqual(f.drainDeaths(dlq), [
      { body: 'm1', reason: 'rejected', queue: 'work', firstReason: 'rejected' },
    ]);
  });

  test('cancelling a consumer keeps its leases; released (channel close), they go to another consumer in their places', async () => {
    const f = new QueueFixture();
    const queue = f.declare('work');
    for (const body of ['m1', 'm2', 'm3', 'm4']) f.publish('work', body);
    const first = new TestConsumer('first', 2);
    queue.addConsumer(first);
    await flush();
    assert.deepEqual(first.received, ['m1', 'm2']);

    queue.removeConsumer(first); // basic.cancel: unacked deliveries stay with the channel
    assert.equal(queue.consumerCount, 0);
    assert.equal(queue.leasedCount, 2);
    assert.equal(queue.messageCount, 2);
    const second = new TestConsumer('second', 3);
    queue.addConsumer(second);
    await flush();
    assert.deepEqual(second.received, ['m3', 'm4']);

    first.releaseAll(queue); // the channel closes
    await flush();
    assert.equal(queue.leasedCount, 3);
    assert.deepEqual(second.received, ['m3', 'm4', 'm1 (redelivered)']);
    second.ack(queue, 'm3');
    await flush();
    assert.deepEqual(second.received, ['m3', 'm4', 'm1 (redelivered)', 'm2 (redelivered)']);
  });

  test('an auto-delete queue is deleted when its last consumer is cancelled', async () => {
    const f = new QueueFixture();
    const queue = f.declare('temp', {}, { autoDelete: true });
    const a = new TestConsumer('a');
    const b = new TestConsumer('b');
    queue.addConsumer(a);
    queue.addConsumer(b);
    queue.removeConsumer(a);
    assert.equal(f.vhost.queues.get('temp'), queue);
    queue.removeConsumer(b);
    assert.equal(f.vhost.queues.has('temp'), false);
    assert.equal(queue.deleted, true);
  });
});

describe('requeue position', () => {
  test('a requeued message goes back to its original position, ahead of newer messages', () => {
    const f = new QueueFixture();
    const queue = f.declare('work');
    for (const body of ['m1', 'm2', 'm3', 'm4', 'm5']) f.publish('work', body);
    const m1 = queue.get()!;
    const m2 = queue.get()!;
    const m3 = queue.get()!;
    // Released out of order: they still come back in publish order, before m4.
    queue.release(m3);
    queue.release(m1);
    const again = [queue.get()!, queue.get()!, queue.get()!];
    assert.deepEqual(
      again.map((q) => [bodyOf(q), q.deliveryCount]),
      [
        ['m1', 2],
        ['m3', 2],
        ['m4', 1],
      ],
    );
    queue.release(m2);
    for (const queued of again) queue.release(queued);
    assert.deepEqual(f.drain(queue), ['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  test('a message requeued while a consumer is delivering comes back before the rest', async () => {
    const f = new QueueFixture();
    const queue = f.declare('work');
    for (const body of ['m1', 'm2', 'm3', 'm4']) f.publish('work', body);
    const consumer = new TestConsumer('c', 2);
    queue.addConsumer(consumer);
    await flush();
    consumer.nack(queue, 'm2', true);
    consumer.nack(queue, 'm1', true);
    await flush();
    assert.deepEqual(consumer.received, ['m1', 'm2', 'm1 (redelivered)', 'm2 (redelivered)']);
    consumer.ack(queue, 'm1');
    consumer.ack(queue, 'm2');
    await flush();
    assert.deepEqual(consumer.received.slice(4), ['m3', 'm4']);
  });
});
