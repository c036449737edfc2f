/**
 * Fuzzing the Kafka request decoder with pure noise and with valid requests that are truncated,
 * bit-flipped, overwritten or extended: it may only ever throw KafkaCodecError (which includes
 * KafkaUnsupportedError), never a RangeError, TypeError or anything else, and never hang.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaCodecError } from '../../../src/protocol/kafka/codec/errors.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../src/protocol/kafka/codec/messages.js';
import { REQUESTS, RESPONSES } from '../../../src/protocol/kafka/codec/schemas.js';
import { prng } from '../../helpers/prng.js';
import { sampleStruct } from './kafka-samples.js';

const ITERATIONS = Number(process.env.PIER_FUZZ_ITERATIONS ?? 4000);
const SEED = Number(process.env.PIER_FUZZ_SEED ?? 20261128);

function decodeOnlyCodecErrors(frame: Buffer, what: string): 'ok' | 'error' {
  try {
    decodeRequest(frame);
    return 'ok';
  } catch (error) {
    if (error instanceof KafkaCodecError) return 'error';
    assert.fail(`${what}: ${String(error)}\n${(error as Error).stack}\nframe: ${frame.toString('hex')}`);
  }
}

function validRequest(rand: () => number): Buffer {
  const schemas = [...REQUESTS.values()];
  const schema = schemas[Math.floor(rand() * schemas.length)]!;
  const [min, max] = schema.validVersions;
  const apiVersion = min + Math.floor(rand() * (max - min + 1));
  const body = sampleStruct(schema.fields, apiVersion, rand);
  const header = { apiKey: schema.apiKey!, apiVersion, correlationId: 1, clientId: 'fuzz' };
  return encodeRequest(header, body).subarray(4);
}

function mutate(frame: Buffer, rand: () => number): Buffer {
  const out = Buffer.from(frame);
  const pick = () => Math.floor(rand() * out.length);
  switch (Math.floor(rand() * 5)) {
    case 0:
      return out.subarray(0, pick());
    case 1:
      for (let i = 0; i < 1 + rand() * 4; i++) out[pick()]! ^= 1 << Math.floor(rand() * 8);
      return out;
    case 2:
      // Lengths and counts are where decoders go wrong: write extreme values at random places.
      for (let i = 0; i < 1 + rand() * 3; i++)
        out[pick()] = [0x00, 0x7f, 0x80, 0xff][Math.floor(rand() * 4)]!;
      return out;
    case 3:
      return Buffer.concat([out, Buffer.from(Array.from({ length: 1 + rand() * 16 }, () => rand() * 256))]);
    default: {
      const at = pick();
      return Buffer.concat([out.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), out.subarray(at)]);
    }
  }
}

test(`decodeRequest throws only KafkaCodecError on ${ITERATIONS} random and mutated frames (seed ${SEED})`, () => {
  const rand = prng(SEED);
  const outcomes = { ok: 0, error: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    let frame: Buffer;
    if (i % 4 === 0) {
      // Noise, with a known API key and version half the time so the body decoder is reached.
      frame = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => rand() * 256));
      if (frame.length >= 4 && rand() < 0.5) {
        const schema = [...REQUESTS.values()][Math.floor(rand() * REQUESTS.size)]!;
        frame.writeInt16BE(schema.apiKey!, 0);
        frame.writeInt16BE(schema.validVersions[0] + Math.floor(rand() * 4), 2);
      }
    } else {
      frame = mutate(validRequest(rand), rand);
    }
    outcomes[decodeOnlyCodecErrors(frame, `iteration ${i}`)]++;
  }
  // Both outcomes must occur, or the mutations are not exercising the decoder.
  assert.ok(outcomes.ok > ITERATIONS / 20, `only ${outcomes.ok} frames decoded`);
  assert.ok(outcomes.error > ITERATIONS / 4, `only ${outcomes.error} frames refused`);
});

test('decodeResponse throws only KafkaCodecError on mutated responses', () => {
  const rand = prng(SEED + 1);
  const schemas = [...RESPONSES.values()];
  for (let i = 0; i < ITERATIONS / 4; i++) {
    const schema = schemas[Math.floor(rand() * schemas.length)]!;
    const [min, max] = schema.validVersions;
    const apiVersion = min + Math.floor(rand() * (max - min + 1));
    const frame = encodeResponse(
      schema.apiKey!,
      apiVersion,
      i,
      sampleStruct(schema.fields, apiVersion, rand),
    );
    const mutated = mutate(frame.subarray(4), rand);
    try {
      decodeResponse(schema.apiKey!, apiVersion, mutated);
    } catch (error) {
      if (!(error instanceof KafkaCodecError)) {
        assert.fail(`${schema.name} v${apiVersion}: ${String(error)}\nframe: ${mutated.toString('hex')}`);
      }
    }
  }
});
