// A Fetch answer sends the batches it reads from a partition's tail cache without copying them: the
// cache's memory stays pinned until the connection has handed the answer to the kernel, and the
// cache takes fresh memory meanwhile rather than write over it. A consumer that stops reading
// halfway through a large answer while producers wrap every cache several times must still get
// every record as produced.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, it } from 'node:test';
import type { FetchResponse } from '../../../src/protocol/kafka/codec/index.js';
import { API_KEYS, decodeResponse, encodeRequest } from '../../../src/protocol/kafka/codec/index.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { type KafkaTestBroker, startKafkaTestBroker } from '../../helpers/kafka.js';
import { KafkaWireClient, splitBatches } from '../../helpers/kafka-wire.js';
import { batchOf, fetchBody, produceBody } from './data-path-helpers.js';

const TOPIC = 'recycled-tail';
const PARTITIONS = 12;
const RECORDS_PER_BATCH = 100;
const VALUE_BYTES = 1000;
/** ~1.7 MB per partition: inside the first half of its 4 MiB tail cache, so all of it is cached. */
const FIRST_BATCHES = 17;
/** ~4.5 MB more per partition: each cache starts both halves again at least once. */
const LATER_BATCHES = 45;

let broker: KafkaTestBroker;
let producer: KafkaWireClient;

before(async () => {
  broker = await startKafkaTestBroker();
  producer = await KafkaWireClient.connect(broker.host, broker.port);
  const created = await producer.send(API_KEYS.CreateTopics, 4, {
    topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  assert.equal(created.topics[0]?.errorCode, 0);
});
after(async () => {
  producer.close();
  await broker.stop();
});

/** The value of the record at `offset` of partition `p`: it says where it belongs, padded to VALUE_BYTES. */
const expectedValue = (p: number, offset: number) =>
  `p${p}-o${offset}-`.padEnd(VALUE_BYTES, String(offset % 10));

async function produceBatches(from: number, count: number): Promise<void> {
  for (let b = from; b < from + count; b++) {
    await Promise.all(
      Array.from({ length: PARTITIONS }, async (_, p) => {
        const batch = batchOf(RECORDS_PER_BATCH, 'x', {
          records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
            key: null,
            value: expectedValue(p, b * RECORDS_PER_BATCH + i),
          })),
        });
        const answer = await producer.send(
          API_KEYS.Produce,
          9,
          produceBody(TOPIC, p, batch, { acks: 1 }) as never,
        );
        assert.equal(answer.responses[0]?.partitionResponses[0]?.errorCode, 0);
      }),
    );
  }
}

it('a consumer that stops reading mid-answer gets every record intact while producers wrap the caches', async () => {
  await produceBatches(0, FIRST_BATCHES);

  // One Fetch of every partition from offset 0: ~20 MB, all from the tail caches, more than the
  // kernel's socket buffers hold. The consumer pauses at its first bytes and reads nothing more.
  const socket: Socket = connect({ host: broker.host, port: broker.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const body = fetchBody(TOPIC, 0, 0, { maxBytes: 64 * 1024 * 1024, partitionMaxBytes: 8 * 1024 * 1024 });
  const topics = body.topics as Array<{ partitions: Array<Record<string, unknown>> }>;
  const template = topics[0]!.partitions[0]!;
  topics[0]!.partitions = Array.from({ length: PARTITIONS }, (_, p) => ({ ...template, partition: p }));
  const chunks: Buffer[] = [];
  const firstBytes = new Promise<void>((resolve) => {
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      chunks.push(chunk);
      resolve();
    });
  });
  socket.write(
    encodeRequest({ apiKey: API_KEYS.Fetch, apiVersion: 12, correlationId: 7, clientId: 'paused' }, body),
  );
  await firstBytes; // the answer was read from the caches; most of it waits in the broker

  await produceBatches(FIRST_BATCHES, LATER_BATCHES);

  const whole = new Promise<Buffer>((resolve, reject) => {
    let total = chunks[0]!.length;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      const size = Buffer.concat(chunks.slice(0, 1)).readInt32BE(0);
      if (total >= 4 + size) resolve(Buffer.concat(chunks).subarray(4, 4 + size));
    });
    socket.once('error', reject);
  });
  socket.resume();
  const frame = await whole;
  socket.destroy();
  const answer = decodeResponse(API_KEYS.Fetch, 12, frame).body as FetchResponse;
  const partitions = answer.responses[0]!.partitions;
  assert.equal(partitions.length, PARTITIONS);
  let records = 0;
  for (const data of partitions) {
    assert.equal(data.errorCode, 0);
    let expectedOffset = 0;
    for (const batch of splitBatches(data.records ?? Buffer.alloc(0))) {
      for (const record of decodeRecords(batch)) {
        assert.equal(record.offset, expectedOffset, `partition ${data.partitionIndex}: offsets in order`);
        assert.equal(record.value?.toString(), expectedValue(data.partitionIndex, record.offset));
        expectedOffset++;
        records++;
      }
    }
    assert.equal(
      expectedOffset,
      FIRST_BATCHES * RECORDS_PER_BATCH,
      `partition ${data.partitionIndex}: all of it`,
    );
  }
  assert.equal(records, PARTITIONS * FIRST_BATCHES * RECORDS_PER_BATCH);
});
