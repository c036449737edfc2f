/**
 * Message TTL in the AMQP Queue, on a manual clock: x-message-ttl and the per-message `expiration`
 * expire messages from the head as the clock advances (as RabbitMQ's classic queues do), dead-lettered
 * with reason `expired` when the queue has a dead-letter exchange.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodyOf, flush, QueueFixture, TestConsumer } from './queue-fixture.js';

describe('x-message-ttl', () => {
  test('each message expires its TTL after it was published, and is dead-lettered with reason expired', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work', { 'x-message-ttl': 1000 });
    f.publish('work', 'early');
    f.clock.advance(400);
    f.publish('work', 'late');
    f.clock.advance(599);
    assert.equal(queue.messageCount, 2);
    assert.equal(dlq.messageCount, 0);
    f.clock.advance(1); // 1000 ms after 'early'
    assert.equal(queue.messageCount, 1);
    assert.deepEqual(f.drainDeaths(dlq), [
      { body: 'early', reason: 'expired', queue: 'work', firstReason: 'expired' },
    ]);
    f.clock.advance(399);
    assert.equal(queue.messageCount, 1);
    f.clock.advance(1); // 1000 ms after 'late'
    assert.equal(queue.messageCount, 0);
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => [d.body, d.reason]),
      [['late', 'expired']],
    );
    assert.equal(f.clock.pendingTimers, 0, 'no expiry timer left once the queue is empty');
  });

  test('without a dead-letter exchange expired messages are dropped', () => {
    const f = new QueueFixture();
    const queue = f.declare('work', { 'x-message-ttl': 50 });
    const other = f.declare('other');
    f.publish('work', 'm1');
    f.publish('work', 'm2');
    f.clock.advance(50);
    assert.equal(queue.messageCount, 0);
    assert.equal(other.messageCount, 0);
    assert.equal(queue.get(), undefined);
  });

  test('a leased message does not expire; requeued after its TTL it expires at once', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work', { 'x-message-ttl': 1000 });
    f.publish('work', 'held');
    const held = queue.get()!;
    f.clock.advance(5000);
    assert.equal(queue.leasedCount, 1);
    assert.equal(dlq.messageCount, 0);
    queue.release(held);
    f.clock.advance(0);
    assert.equal(queue.messageCount, 0);
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => [d.body, d.reason]),
      [['held', 'expired']],
    );
  });

  test('x-message-ttl 0: delivered only to a consumer that can take it at once, expired otherwise', async () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work', { 'x-message-ttl': 0 });
    f.publish('work', 'nobody-waiting');
    assert.equal(queue.messageCount, 0);
    const consumer = new TestConsumer('c', 1);
    queue.addConsumer(consumer);
    await flush();
    f.publish('work', 'taken');
    assert.deepEqual(consumer.received, ['taken'], 'delivered in the same instant');
    f.publish('work', 'window-full');
    assert.equal(queue.messageCount, 0);
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => [d.body, d.reason]),
      [
        ['nobody-waiting', 'expired'],
        ['window-full', 'expired'],
      ],
    );
  });
});

describe('per-message expiration', () => {
  test('a message expires after its own expiration', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work');
    f.publish('work', 'short', { expirationMs: 200 });
    f.publish('work', 'forever');
    f.clock.advance(199);
    assert.equal(queue.messageCount, 2);
    f.clock.advance(1);
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => [d.body, d.reason]),
      [['short', 'expired']],
    );
    f.clock.advance(1_000_000);
    assert.deepEqual(f.drain(queue), ['forever']);
  });

  test('messages expire from the head only: a short expiration behind a long one waits for it', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work');
    f.publish('work', 'long', { expirationMs: 5000 });
    f.publish('work', 'short', { expirationMs: 1000 });
    f.clock.advance(1000);
    assert.equal(queue.messageCount, 2, "'short' stays behind an unexpired head");
    assert.equal(dlq.messageCount, 0);
    f.clock.advance(4000);
    assert.equal(queue.messageCount, 0);
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => d.body),
      ['long', 'short'],
    );
  });

  test('an expired message behind the head is not delivered: taking the head uncovers and drops it', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work');
    f.publish('work', 'long', { expirationMs: 5000 });
    f.publish('work', 'short', { expirationMs: 1000 });
    f.publish('work', 'forever');
    f.clock.advance(2000);
    assert.equal(bodyOf(queue.get()!), 'long');
    assert.equal(bodyOf(queue.get()!), 'forever');
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => [d.body, d.reason]),
      [['short', 'expired']],
    );
  });

  test('with x-message-ttl as well, the shorter of the two applies', () => {
    const f = new QueueFixture();
    const { queue, dlq } = f.declareWithDeadLetters('work', { 'x-message-ttl': 1000 });
    f.publish('work', 'own-300', { expirationMs: 300 });
    f.publish('work', 'own-5000', { expirationMs: 5000 });
    f.clock.advance(300);
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => d.body),
      ['own-300'],
    );
    f.clock.advance(699);
    assert.equal(queue.messageCount, 1);
    f.clock.advance(1);
    assert.equal(queue.messageCount, 0, 'the queue TTL caps the longer expiration');
    assert.deepEqual(
      f.drainDeaths(dlq).map((d) => d.body),
      ['own-5000'],
    );
  });
});
