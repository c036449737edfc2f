import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  FetchResponse,
  MetadataRequest,
  ProduceRequest,
} from '../../../src/protocol/kafka/codec/body-types.js';
import { KafkaCodecError, KafkaUnsupportedError } from '../../../src/protocol/kafka/codec/errors.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  encodeResponseChunks,
} from '../../../src/protocol/kafka/codec/messages.js';
import { Writer } from '../../../src/protocol/kafka/codec/primitives.js';
import { inRange, type KafkaField } from '../../../src/protocol/kafka/codec/schema-types.js';
import { REQUESTS, RESPONSES } from '../../../src/protocol/kafka/codec/schemas.js';
import { prng } from '../../helpers/prng.js';
import { sampleStruct } from './kafka-samples.js';

// The APIs issue 4 names (incl. the transaction APIs the broker must refuse properly).
const REQUIRED_KEYS = [
  18, 3, 0, 1, 2, 10, 11, 14, 12, 13, 8, 9, 15, 16, 42, 19, 20, 37, 32, 33, 44, 21, 22, 17, 36, 24, 25, 26,
  28,
];

const versionsOf = ([min, max]: readonly [number, number]) =>
  Array.from({ length: max - min + 1 }, (_, i) => min + i);

test('schemas exist for every API the issue lists, with requests and responses agreeing on versions', () => {
  for (const key of REQUIRED_KEYS) {
    const request = REQUESTS.get(key);
    const response = RESPONSES.get(key);
    assert.ok(request && response, `API key ${key} missing`);
    assert.equal(request.apiKey, key);
    assert.deepEqual(request.validVersions, response.validVersions, request.name);
  }
  // The version ranges issue 4 asks for must all be decodable.
  const needed: Array<[number, number, number]> = [
    [18, 0, 3],
    [3, 0, 12],
    [0, 3, 9],
    [1, 4, 12],
    [2, 0, 7],
    [10, 0, 4],
    [11, 0, 7],
    [14, 0, 5],
    [12, 0, 4],
    [13, 0, 4],
    [8, 0, 8],
    [9, 0, 8],
    [19, 0, 7],
    [22, 0, 4],
    [17, 0, 1],
    [36, 0, 2],
  ];
  for (const [key, min, max] of needed) {
    const [lo, hi] = REQUESTS.get(key)!.validVersions;
    assert.ok(lo <= min && hi >= max, `${REQUESTS.get(key)!.name} ${lo}-${hi} does not cover ${min}-${max}`);
  }
});

test('every request and response round-trips at every valid version, tagged fields included', () => {
  const rand = prng(0x4b414641);
  let taggedSeen = 0;
  for (const [apiKey, schema] of REQUESTS) {
    const responseSchema = RESPONSES.get(apiKey)!;
    for (const apiVersion of versionsOf(schema.validVersions)) {
      for (let sample = 0; sample < 4; sample++) {
        const body = sampleStruct(schema.fields, apiVersion, rand);
        const header = {
          apiKey,
          apiVersion,
          correlationId: sample * 1000 - 1,
          clientId: sample ? 'client' : null,
        };
        const frame = encodeRequest(header, body);
        assert.equal(frame.readInt32BE(0), frame.length - 4);
        const decoded = decodeRequest(frame.subarray(4));
        assert.deepEqual(decoded.header, header, `${schema.name} v${apiVersion} header`);
        assert.deepEqual(decoded.body, body, `${schema.name} v${apiVersion} body`);

        const responseBody = sampleStruct(responseSchema.fields, apiVersion, rand);
        const response = encodeResponse(apiKey, apiVersion, 77, responseBody);
        assert.equal(response.readInt32BE(0), response.length - 4);
        const back = decodeResponse(apiKey, apiVersion, response.subarray(4));
        assert.equal(back.correlationId, 77);
        assert.deepEqual(back.body, responseBody, `${responseSchema.name} v${apiVersion} body`);
      }
      const tagged = (fields: readonly KafkaField[]): boolean =>
        fields.some((f) => (f.tag !== undefined && inRange(f.tagged, apiVersion)) || tagged(f.fields ?? []));
      if (tagged(schema.fields) || tagged(responseSchema.fields)) taggedSeen++;
    }
  }
  // Most flexible versions only carry an empty tag section; these are the ones with defined tags.
  assert.ok(taggedSeen >= 10, `only ${taggedSeen} versions with tagged fields exercised`);
});

// Hand-built byte vectors, written the way the named clients send them.
function frameBody(build: (w: Writer) => void): Buffer {
  const w = new Writer();
  build(w);
  return Buffer.from(w.finish());
}

test('an ApiVersions v3 request as librdkafka sends it: header v2, compact strings, empty tag sections', () => {
  const bytes = frameBody((w) => {
    w.int16(18).int16(3).int32(1).string('rdkafka'); // header v2: client id keeps its int16 length
    w.uvarint(0); // header tagged fields
    w.uvarint('librdkafka'.length + 1).raw(Buffer.from('librdkafka'));
    w.uvarint('2.3.0'.length + 1).raw(Buffer.from('2.3.0'));
    w.uvarint(0); // body tagged fields
  });
  assert.equal(bytes.subarray(0, 12).toString('hex'), '001200030000000100077264');
  const { header, body } = decodeRequest(bytes);
  assert.deepEqual(header, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
  assert.deepEqual(body, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' });
});

test('an ApiVersions v3 response uses response header v0 (no tagged fields after the correlation id)', () => {
  const frame = encodeResponse(18, 3, 9, {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
    throttleTimeMs: 0,
  });
  const expected = frameBody((w) => {
    w.int32(9); // correlation id, then directly the body
    w.int16(0).uvarint(2).int16(18).int16(0).int16(3).uvarint(0); // error, compact array of one key
    w.int32(0).uvarint(0); // throttle, no tagged fields
  });
  assert.deepEqual(frame.subarray(4), expected);
});

// Frames captured from real clients (size prefix removed): kcat 1.7.1 with librdkafka 2.0.2 talking
// to a stub that answered with encodeResponse (kcat accepted the answers), and kafka-python 2.0.2's
// own request encoder.
const KCAT_API_VERSIONS_V3 = '0012000300000001000772646b61666b61000b6c696272646b61666b6106322e302e3200';
const KCAT_METADATA_V4 = '0003000400000002000772646b61666b610000000100066f726465727301';
const KCAT_PRODUCE_V7 =
  '0000000700000003000772646b61666b61ffffffff000075300000000100066f726465727300000001000000000000004b' +
  '00000000000000000000003f0000000002481861fe000000000000000001a22172d49f000001a22172d49fffffffffffffff' +
  'ffffffffffffff000000011a000000046b310a68656c6c6f00';
const KAFKA_PYTHON_METADATA_V1 =
  '000300010000000200126b61666b612d707974686f6e2d322e302e320000000200066f726465727300087061796d656e7473';
const KAFKA_PYTHON_METADATA_V1_ALL = '000300010000000300126b61666b612d707974686f6e2d322e302e32ffffffff';

test('captured kcat requests decode: ApiVersions v3, Metadata v4, Produce v7', () => {
  const versions = decodeRequest(Buffer.from(KCAT_API_VERSIONS_V3, 'hex'));
  assert.deepEqual(versions.header, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
  assert.deepEqual(versions.body, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });

  const metadata = decodeRequest(Buffer.from(KCAT_METADATA_V4, 'hex'));
  assert.deepEqual(metadata.body, {
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'orders' }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });

  const produce = decodeRequest(Buffer.from(KCAT_PRODUCE_V7, 'hex'));
  const body = produce.body as ProduceRequest;
  assert.deepEqual([body.transactionalId, body.acks, body.timeoutMs], [null, -1, 30000]);
  const records = body.topicData[0]!.partitionData[0]!.records!;
  assert.equal(body.topicData[0]!.name, 'orders');
  assert.equal(records.length, 75); // one record batch: 12-byte prefix + batch length 63
  assert.equal(records.readInt32BE(8), 63);
  assert.equal(records[16], 2, 'magic byte of a v2 record batch');
});

test('captured kafka-python Metadata v1 requests decode, with a null topic array for "all topics"', () => {
  const { header, body } = decodeRequest(Buffer.from(KAFKA_PYTHON_METADATA_V1, 'hex'));
  assert.deepEqual(header, { apiKey: 3, apiVersion: 1, correlationId: 2, clientId: 'kafka-python-2.0.2' });
  assert.deepEqual(
    (body as MetadataRequest).topics?.map((t) => t.name),
    ['orders', 'payments'],
  );
  assert.equal(decodeRequest(Buffer.from(KAFKA_PYTHON_METADATA_V1_ALL, 'hex')).body.topics, null);
});

test('a Metadata v1 request as kafka-python sends it: header v1, int16 strings, int32 array', () => {
  const bytes = frameBody((w) => {
    w.int16(3).int16(1).int32(2).string('kafka-python-2.0.2');
    w.int32(2).string('orders').string('payments');
  });
  const { header, body } = decodeRequest(bytes);
  assert.deepEqual(header, { apiKey: 3, apiVersion: 1, correlationId: 2, clientId: 'kafka-python-2.0.2' });
  // Fields that v1 lacks take their schema defaults. The generated type lists the same fields.
  const expected: MetadataRequest = {
    topics: [
      { topicId: '00000000-0000-0000-0000-000000000000', name: 'orders' },
      { topicId: '00000000-0000-0000-0000-000000000000', name: 'payments' },
    ],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };
  assert.deepEqual(body, expected);
  // All topics: kafka-python sends a null array (-1) from v1 on.
  const all = decodeRequest(frameBody((w) => w.int16(3).int16(1).int32(3).string('kp').int32(-1)));
  assert.equal(all.body.topics, null);
  // v0 has no null array: -1 there is malformed.
  assert.throws(
    () => decodeRequest(frameBody((w) => w.int16(3).int16(0).int32(3).string('kp').int32(-1))),
    /non-nullable field topics/,
  );
});

test('a Produce v3 request keeps its record batch as a slice of the frame', () => {
  const batch = Buffer.from('000000000000000000000031ffffffff02', 'hex');
  const frame = encodeRequest(
    { apiKey: 0, apiVersion: 3, correlationId: 5, clientId: 'p' },
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: batch }] }],
    },
  );
  const { body } = decodeRequest(frame.subarray(4));
  const records = (body.topicData as Array<{ partitionData: Array<{ records: Buffer }> }>)[0]!
    .partitionData[0]!.records;
  assert.deepEqual(records, batch);
  assert.equal(records.buffer, frame.buffer, 'records share memory with the request frame');
});

test('unknown API keys and unsupported versions are KafkaUnsupportedError with the header', () => {
  const unknown = frameBody((w) => w.int16(999).int16(0).int32(42).string('c'));
  assert.throws(
    () => decodeRequest(unknown),
    (error: unknown) =>
      error instanceof KafkaUnsupportedError &&
      error.reason === 'unknown-api' &&
      error.header.correlationId === 42 &&
      /unknown Kafka API key 999/.test(error.message),
  );
  // ApiVersions v9 (newer than Pier knows): the header is still flexible, so it parses.
  const tooNew = frameBody((w) =>
    w.int16(18).int16(9).int32(43).string('c').uvarint(0).uvarint(1).uvarint(1).uvarint(0),
  );
  assert.throws(
    () => decodeRequest(tooNew),
    (error: unknown) =>
      error instanceof KafkaUnsupportedError &&
      error.reason === 'unsupported-version' &&
      error.header.apiKey === 18 &&
      error.header.apiVersion === 9 &&
      error.header.correlationId === 43,
  );
  // Only the first 8 bytes matter for the refusal: a newer client's header is not parsed.
  const bare = frameBody((w) => w.int16(18).int16(9).int32(45));
  assert.throws(
    () => decodeRequest(bare),
    (e: unknown) => e instanceof KafkaUnsupportedError && e.header.correlationId === 45,
  );
  const negative = frameBody((w) => w.int16(3).int16(-1).int32(44).string('c'));
  assert.throws(() => decodeRequest(negative), KafkaUnsupportedError);
  assert.throws(() => encodeResponse(3, 99, 1, {}), KafkaUnsupportedError);
});

test('a truncated body is a KafkaCodecError that still carries the correlation id', () => {
  const frame = encodeRequest(
    { apiKey: 3, apiVersion: 1, correlationId: 7, clientId: 'c' },
    { topics: ['a'].map((name) => ({ name })) },
  );
  for (let cut = 0; cut < frame.length - 4; cut++) {
    assert.throws(
      () => decodeRequest(frame.subarray(4, 4 + cut)),
      (error: unknown) =>
        error instanceof KafkaCodecError &&
        !(error instanceof KafkaUnsupportedError) &&
        (cut < 8 || error.header?.correlationId === 7),
      `cut at ${cut}`,
    );
  }
});

test('encoding a body with a wrong or missing value names the field', () => {
  const header = { apiKey: 12, apiVersion: 0, correlationId: 1, clientId: null };
  assert.throws(
    () => encodeRequest(header, { groupId: 'g', generationId: 'one', memberId: 'm' }),
    /field generationId/,
  );
  assert.throws(
    () => encodeRequest(header, { groupId: null, generationId: 1, memberId: 'm' }),
    /non-nullable field groupId/,
  );
  // Missing fields take their defaults.
  const { body } = decodeRequest(encodeRequest(header, {}).subarray(4));
  assert.deepEqual(body, { groupId: '', generationId: 0, memberId: '', groupInstanceId: null });
});

test('unknown tagged fields in a flexible request are skipped', () => {
  const bytes = frameBody((w) => {
    w.int16(18).int16(3).int32(1).string('c');
    w.uvarint(1).uvarint(5).uvarint(2).int16(0); // header: unknown tag 5
    w.uvarint(2).raw(Buffer.from('n')).uvarint(2).raw(Buffer.from('v'));
    w.uvarint(1).uvarint(40).uvarint(3).raw(Buffer.from('xyz')); // body: unknown tag 40
  });
  assert.deepEqual(decodeRequest(bytes).body, { clientSoftwareName: 'n', clientSoftwareVersion: 'v' });
});

test('tagged fields are written only when not default, in tag order, with their size', () => {
  const frame = encodeResponse(18, 3, 1, {
    errorCode: 0,
    apiKeys: [],
    throttleTimeMs: 0,
    zkMigrationReady: true, // tag 3
    finalizedFeaturesEpoch: 5n, // tag 1
    supportedFeatures: [], // tag 0, default: left out
  });
  const expected = frameBody((w) => {
    w.int32(1).int16(0).uvarint(1).int32(0);
    w.uvarint(2).uvarint(1).uvarint(8).int64(5n).uvarint(3).uvarint(1).bool(true);
  });
  assert.deepEqual(frame.subarray(4), expected);
  const back = decodeResponse(18, 3, frame.subarray(4)).body;
  assert.equal(back.finalizedFeaturesEpoch, 5n);
  assert.equal(back.zkMigrationReady, true);
  assert.deepEqual(back.finalizedFeatures, []);
});

test('a Fetch response can reference its record batches instead of copying them', () => {
  const batch = Buffer.alloc(4096, 0xab);
  const body = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 't',
        partitions: [
          {
            partitionIndex: 0,
            errorCode: 0,
            highWatermark: 1n,
            lastStableOffset: 1n,
            logStartOffset: 0n,
            records: batch,
          },
        ],
      },
    ],
  };
  for (const version of [4, 11, 12]) {
    const chunks = encodeResponseChunks(1, version, 9, body);
    assert.ok(chunks.includes(batch), `v${version}: batch referenced`);
    const frame = Buffer.concat(chunks);
    assert.deepEqual(frame, encodeResponse(1, version, 9, body));
    assert.equal(frame.readInt32BE(0), frame.length - 4);
    const back = decodeResponse(1, version, frame.subarray(4)).body as FetchResponse;
    assert.deepEqual(back.responses[0]!.partitions[0]!.records, batch);
  }
});
