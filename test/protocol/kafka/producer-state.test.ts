// Idempotent producer sequence rules (Kafka's ProducerAppendInfo / ProducerStateManager), unit by unit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import {
  lastSequence,
  PartitionProducerState,
  type ProducerBatchHeader,
} from '../../../src/protocol/kafka/producer-state.js';

const NOW = 1_000_000;
const batch = (
  producerId: number,
  producerEpoch: number,
  baseSequence: number,
  count = 1,
): ProducerBatchHeader => ({
  producerId,
  producerEpoch,
  baseSequence,
  lastOffsetDelta: count - 1,
});

/** Appends like the Produce path: check, then record at the next offset. */
function append(state: PartitionProducerState, b: ProducerBatchHeader, offset: number, nowMs = NOW) {
  const check = state.check(b, nowMs);
  if (check.kind === 'append') state.record(b, offset, 0, nowMs);
  return check;
}

describe('PartitionProducerState', () => {
  it('accepts an unknown producer at any sequence (KIP-360), then requires the next one', () => {
    const state = new PartitionProducerState();
    assert.equal(append(state, batch(7, 0, 42, 3), 0).kind, 'append');
    assert.equal(append(state, batch(7, 0, 45, 2), 3).kind, 'append');
    const gap = append(state, batch(7, 0, 48), 5);
    assert.equal(gap.kind, 'error');
    assert.equal(gap.kind === 'error' && gap.errorCode, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.match(gap.kind === 'error' ? gap.message : '', /sequence 48, expected 47/);
  });

  it('answers a retry of one of the last five batches with its original offsets', () => {
    const state = new PartitionProducerState();
    let offset = 100;
    for (let seq = 0; seq < 12; seq += 2) {
      assert.equal(append(state, batch(1, 0, seq, 2), offset).kind, 'append');
      offset += 2;
    }
    // Batches (seq 2..11) at offsets 102..111 are the last five; seq 0-1 is forgotten.
    const dup = state.check(batch(1, 0, 4, 2), NOW);
    assert.deepEqual(dup.kind === 'duplicate' && [dup.batch.baseOffset, dup.batch.lastOffset], [104, 105]);
    const newest = state.check(batch(1, 0, 10, 2), NOW);
    assert.equal(newest.kind === 'duplicate' && newest.batch.baseOffset, 110);
    const tooOld = state.check(batch(1, 0, 0, 2), NOW);
    assert.equal(tooOld.kind === 'error' && tooOld.errorCode, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // Same first sequence but another length is not the same batch.
    const other = state.check(batch(1, 0, 4, 3), NOW);
    assert.equal(other.kind, 'error');
  });

  it('fences an older epoch with INVALID_PRODUCER_EPOCH', () => {
    const state = new PartitionProducerState();
    append(state, batch(3, 2, 0), 0);
    const old = state.check(batch(3, 1, 1), NOW);
    assert.equal(old.kind === 'error' && old.errorCode, KafkaError.INVALID_PRODUCER_EPOCH);
    // Even a retry of a batch of the old epoch.
    const oldDup = state.check(batch(3, 1, 0), NOW);
    assert.equal(oldDup.kind === 'error' && oldDup.errorCode, KafkaError.INVALID_PRODUCER_EPOCH);
  });

  it('requires a new epoch to start at sequence 0, and forgets the old epoch batches', () => {
    const state = new PartitionProducerState();
    append(state, batch(3, 0, 0, 5), 0);
    const bad = state.check(batch(3, 1, 5), NOW);
    assert.equal(bad.kind === 'error' && bad.errorCode, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(append(state, batch(3, 1, 0, 2), 5).kind, 'append');
    assert.deepEqual(state.describe(3)?.epoch, 1);
    assert.equal(state.describe(3)?.batches.length, 1);
    assert.equal(append(state, batch(3, 1, 2), 7).kind, 'append');
  });

  it('wraps sequences from 2^31-1 to 0', () => {
    assert.equal(lastSequence(0x7fff_fffe, 3), 1);
    assert.equal(lastSequence(0x7fff_ffff, 0), 0x7fff_ffff);
    const state = new PartitionProducerState();
    append(state, batch(9, 0, 0x7fff_fffd, 3), 0); // seq ..fffd, ..fffe, ..ffff
    assert.equal(append(state, batch(9, 0, 0, 2), 3).kind, 'append');
    const crossing = batch(9, 0, 2, 1);
    assert.equal(append(state, crossing, 5).kind, 'append');
    // A batch that itself wraps is recognised as a duplicate by its wrapped last sequence.
    const wrapping = new PartitionProducerState();
    append(wrapping, batch(1, 0, 0x7fff_fffe, 4), 0);
    assert.equal(wrapping.check(batch(1, 0, 0x7fff_fffe, 4), NOW).kind, 'duplicate');
    assert.equal(wrapping.check(batch(1, 0, 2), NOW).kind, 'append');
  });

  it('keeps producers apart', () => {
    const state = new PartitionProducerState();
    append(state, batch(1, 0, 0), 0);
    append(state, batch(2, 0, 0), 1);
    assert.equal(state.check(batch(1, 0, 1), NOW).kind, 'append');
    assert.equal(state.check(batch(2, 0, 0), NOW).kind, 'duplicate');
  });

  it('forgets a producer idle for expirationMs, then accepts any sequence', () => {
    const state = new PartitionProducerState({ expirationMs: 1000 });
    append(state, batch(1, 0, 0), 0, NOW);
    assert.equal(state.check(batch(1, 0, 9), NOW + 999).kind, 'error');
    assert.equal(state.check(batch(1, 0, 9), NOW + 1000).kind, 'append');
    assert.equal(state.producerCount, 0);
  });

  it('evicts the least recently appended producers beyond maxProducers', () => {
    const state = new PartitionProducerState({ maxProducers: 2 });
    append(state, batch(1, 0, 0), 0);
    append(state, batch(2, 0, 0), 1);
    append(state, batch(1, 0, 1), 2); // 1 is now the most recent
    append(state, batch(3, 0, 0), 3);
    assert.equal(state.producerCount, 2);
    assert.equal(state.describe(2), undefined);
    assert.ok(state.describe(1) && state.describe(3));
  });

  it('forgets producers whose batches all lie below a raised log start offset', () => {
    const state = new PartitionProducerState();
    append(state, batch(1, 0, 0, 10), 0); // offsets 0-9
    append(state, batch(2, 0, 0, 10), 10); // offsets 10-19
    state.evictBefore(10);
    assert.equal(state.describe(1), undefined);
    assert.ok(state.describe(2));
    state.evictBefore(19);
    assert.ok(state.describe(2), 'its last offset 19 is still in the log');
  });
});
