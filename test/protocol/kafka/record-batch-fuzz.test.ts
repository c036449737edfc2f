import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BatchOffset,
  KafkaRecordError,
  RecordBatchError,
  validateRecordBatches,
} from '../../../src/protocol/kafka/record-batch.js';
import { encodeRecordBatch, refreshBatchCrc } from '../../../src/protocol/kafka/record-batch-encoder.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { crc32c } from '../../../src/util/crc32c.js';
import { prng } from '../../helpers/prng.js';

const SEED = Number(process.env.PIER_FUZZ_SEED ?? 0x4b0a7c4);
const ITERATIONS = 4000;
const CODES = new Set<number>(Object.values(KafkaRecordError));
const LIMIT = { maxMessageBytes: 4096 };

/** Validates and checks the invariants every answer must hold; returns whether it was accepted. */
function check(records: Buffer, context: string): boolean {
  let result: ReturnType<typeof validateRecordBatches>;
  try {
    result = validateRecordBatches(records, LIMIT);
  } catch (err) {
    assert.fail(`${context}: validator threw ${(err as Error).stack}`);
  }
  if (!result.ok) {
    assert.ok(result.error instanceof RecordBatchError, context);
    assert.ok(CODES.has(result.error.errorCode), `${context}: code ${result.error.errorCode}`);
    return false;
  }
  let pos = 0;
  for (const v of result.batches) {
    assert.equal(v.start, pos, `${context}: batches are contiguous`);
    assert.equal(
      crc32c(records, 0, v.start + 21, v.end),
      records.readUInt32BE(v.start + BatchOffset.crc),
      context,
    );
    assert.ok(v.end - v.start <= LIMIT.maxMessageBytes, context);
    pos = v.end;
    if (v.compression === 'none') {
      const decoded = [...decodeRecords(records.subarray(v.start, v.end))];
      assert.equal(decoded.length, v.recordCount, `${context}: an accepted batch decodes fully`);
    }
  }
  assert.equal(pos, records.length, `${context}: the whole field is batches`);
  return true;
}

function randomBatch(rand: () => number): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const records = Array.from({ length: 1 + int(5) }, () => ({
    key: rand() < 0.3 ? null : bytes(int(20)),
    value: rand() < 0.2 ? null : bytes(int(rand() < 0.1 ? 600 : 40)),
    headers: Array.from({ length: int(3) }, () => ({
      key: bytes(int(6)),
      value: rand() < 0.3 ? null : bytes(int(8)),
    })),
    timestampMs: 1_700_000_000_000 + int(1e6) - 5e5,
  }));
  return encodeRecordBatch({ records, producerId: int(3) - 1 });
}

interface Mutation {
  bytes: Buffer;
  crcRefreshed: boolean;
  /** Bytes whose bits were flipped (kind 0). */
  flipped: number[];
}

function mutate(rand: () => number, input: Buffer): Mutation {
  const int = (n: number) => Math.floor(rand() * n);
  let b = Buffer.from(input);
  const kind = int(7);
  const flipped: number[] = [];
  if (kind === 0) {
    for (let n = 1 + int(4); n > 0; n--) {
      const at = int(b.length);
      flipped.push(at);
      b[at]! ^= 1 << int(8);
    }
  } else if (kind === 1) {
    b = b.subarray(0, int(b.length));
  } else if (kind === 2) {
    b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(70) }, () => int(256)))]);
  } else if (kind === 3) {
    const field = [BatchOffset.batchLength, BatchOffset.recordCount, BatchOffset.lastOffsetDelta][int(3)]!;
    if (b.length >= field + 4) b.writeInt32BE(rand() < 0.5 ? int(200) - 20 : int(2 ** 32) | 0, field);
  } else {
    // Edit a byte the CRC covers and recompute the CRC, so the change reaches the record walk.
    const firstBatchEnd = 12 + b.readInt32BE(BatchOffset.batchLength);
    b[21 + int(firstBatchEnd - 21)] = kind === 4 ? int(256) : b[21 + int(firstBatchEnd - 21)]! ^ 0x80;
    if (kind === 6 && b.length > 62) b[61] = int(256); // the first record's length varint
    refreshBatchCrc(b);
    return { bytes: b, crcRefreshed: true, flipped };
  }
  return { bytes: b, crcRefreshed: false, flipped };
}

test(`fuzz: random bytes get a typed refusal, never a crash (seed ${SEED})`, () => {
  const rand = prng(SEED);
  for (let i = 0; i < ITERATIONS; i++) {
    const bytes = Buffer.from(
      Array.from({ length: Math.floor(rand() * 120) }, () => Math.floor(rand() * 256)),
    );
    if (rand() < 0.5 && bytes.length > 17) {
      bytes.writeInt32BE(bytes.length - 12, BatchOffset.batchLength);
      bytes[BatchOffset.magic] = 2;
    }
    assert.equal(check(bytes, `random ${i}`), false, `random ${i} accepted`);
  }
});

test(`fuzz: mutated valid batches are refused or still valid, never crash (seed ${SEED})`, () => {
  const rand = prng(SEED + 1);
  let refused = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const parts = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomBatch(rand));
    const original = Buffer.concat(parts);
    assert.equal(check(original, `valid ${i}`), true, `valid ${i} refused`);
    const { bytes, crcRefreshed, flipped } = mutate(rand, original);
    const ok = check(bytes, `mutation ${i}`);
    if (!ok) refused++;
    // Flips the CRC covers, without a new CRC, are never accepted; only baseOffset (bytes 0-7) and
    // partitionLeaderEpoch (12-15) lie outside it, and the broker overwrites or ignores them.
    if (ok && !crcRefreshed) {
      const starts = parts.map((_, k) => parts.slice(0, k).reduce((n, p) => n + p.length, 0));
      for (const at of flipped) {
        const within = at - starts.filter((s) => s <= at).at(-1)!;
        assert.ok(within < 8 || (within >= 12 && within < 16), `mutation ${i}: flip at ${within} accepted`);
      }
    }
  }
  assert.ok(refused > ITERATIONS / 2, `most mutations are refused (${refused})`);
});
