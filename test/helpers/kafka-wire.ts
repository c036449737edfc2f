/**
 * A minimal Kafka client over the project's own codec, for tests and benchmarks that need exact
 * control (no retries, no batching, every response seen): pipelined requests on one socket,
 * answered in order by correlation id. Versions are picked from the broker's ApiVersions answer.
 */
import { connect, type Socket } from 'node:net';
import type { RequestBodyByKey, ResponseBodyByKey } from '../../src/protocol/kafka/codec/body-types.js';
import {
  API_KEYS,
  decodeResponse,
  encodeRequest,
  type KafkaStruct,
} from '../../src/protocol/kafka/codec/index.js';
import { decodeRecords } from '../../src/protocol/kafka/record-decoder.js';

type ApiKey = keyof RequestBodyByKey & keyof ResponseBodyByKey;

interface Pending {
  readonly apiKey: number;
  readonly apiVersion: number;
  resolve(body: KafkaStruct): void;
  reject(error: Error): void;
}

export class KafkaWireClient {
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private buffered: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;
  /** Highest version the broker answers, by API key (from ApiVersions v0). */
  readonly brokerMax = new Map<number, number>();
  /** Resolves once the connection is closed (every pending request has been rejected by then). */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    private readonly clientId: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.fail(new Error('connection to the Kafka broker closed'));
        resolve();
      }),
    );
  }

  /** Connects and asks the broker which versions it speaks. */
  static async connect(host: string, port: number, clientId = 'pier-test'): Promise<KafkaWireClient> {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new KafkaWireClient(socket, clientId);
    const versions = await client.send(API_KEYS.ApiVersions, 0, {});
    if (versions.errorCode !== 0) throw new Error(`ApiVersions failed with error code ${versions.errorCode}`);
    for (const api of versions.apiKeys) client.brokerMax.set(api.apiKey, api.maxVersion);
    return client;
  }

  /** min(wanted, what the broker answers); throws naming the API when the broker lacks it. */
  version(apiKey: ApiKey, wanted: number): number {
    const max = this.brokerMax.get(apiKey);
    if (max === undefined) {
      const name = Object.entries(API_KEYS).find(([, key]) => key === apiKey)?.[0] ?? apiKey;
      throw new Error(`the broker does not advertise ${name} (API key ${apiKey}) in ApiVersions`);
    }
    return Math.min(max, wanted);
  }

  /** Sends a request at an explicit version; resolves with the decoded response body. */
  send<K extends ApiKey>(
    apiKey: K,
    apiVersion: number,
    body: Partial<RequestBodyByKey[K]>,
  ): Promise<ResponseBodyByKey[K]> {
    if (this.failure) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequest({ apiKey, apiVersion, correlationId, clientId: this.clientId }, body);
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, {
        apiKey,
        apiVersion,
        resolve: resolve as (body: KafkaStruct) => void,
        reject,
      });
      this.socket.write(frame);
    });
  }

  /** Sends at min(wanted, broker max). */
  request<K extends ApiKey>(
    apiKey: K,
    wantedVersion: number,
    body: Partial<RequestBodyByKey[K]>,
  ): Promise<ResponseBodyByKey[K]> {
    return this.send(apiKey, this.version(apiKey, wantedVersion), body);
  }

  /** Sends a request Kafka does not answer (Produce with acks=0). */
  sendOneWay<K extends ApiKey>(apiKey: K, apiVersion: number, body: Partial<RequestBodyByKey[K]>): void {
    const correlationId = this.nextCorrelationId++;
    this.socket.write(encodeRequest({ apiKey, apiVersion, correlationId, clientId: this.clientId }, body));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const pending = this.pending.get(correlationId);
      if (!pending) {
        this.fail(new Error(`response with unknown correlation id ${correlationId}`));
        return;
      }
      this.pending.delete(correlationId);
      try {
        pending.resolve(decodeResponse(pending.apiKey, pending.apiVersion, frame).body);
      } catch (error) {
        pending.reject(error as Error);
      }
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.socket.destroy();
  }
}

export interface FetchedRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  /** The stored batch's producer id and first sequence (-1 when not idempotent). */
  readonly producerId: bigint;
  readonly baseSequence: number;
}

/**
 * Reads a partition from `fromOffset` to its high watermark (as of the first answer) with Fetch,
 * decoding every record. Throws on a partition error code.
 */
export async function fetchPartition(
  client: KafkaWireClient,
  topic: string,
  partition: number,
  fromOffset = 0,
  maxBytesPerFetch = 8 * 1024 * 1024,
): Promise<{ records: FetchedRecord[]; highWatermark: number; logStartOffset: number }> {
  const records: FetchedRecord[] = [];
  let offset = fromOffset;
  let highWatermark = -1;
  let logStartOffset = -1;
  const version = client.version(API_KEYS.Fetch, 11);
  for (;;) {
    const response = await client.send(API_KEYS.Fetch, version, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: maxBytesPerFetch,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          topicId: '00000000-0000-0000-0000-000000000000',
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: BigInt(offset),
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: maxBytesPerFetch,
              replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    if (response.errorCode !== 0)
      throw new Error(`Fetch ${topic}/${partition}: error code ${response.errorCode}`);
    const data = response.responses[0]?.partitions[0];
    if (!data) throw new Error(`Fetch ${topic}/${partition}: no partition in the answer`);
    if (data.errorCode !== 0) {
      throw new Error(`Fetch ${topic}/${partition} at offset ${offset}: error code ${data.errorCode}`);
    }
    if (highWatermark < 0) {
      highWatermark = Number(data.highWatermark);
      logStartOffset = Number(data.logStartOffset);
    }
    if (offset >= highWatermark) break;
    const batches = data.records ?? Buffer.alloc(0);
    const before = offset;
    for (const batch of splitBatches(batches)) {
      const producerId = batch.readBigInt64BE(43);
      const baseSequence = batch.readInt32BE(53);
      for (const record of decodeRecords(batch)) {
        // A fetch may start inside a stored batch: skip the records before the asked offset.
        if (record.offset < offset) continue;
        records.push({
          offset: record.offset,
          key: record.key?.toString('utf8') ?? null,
          value: record.value?.toString('utf8') ?? null,
          producerId,
          baseSequence,
        });
        offset = record.offset + 1;
      }
    }
    if (offset === before) {
      throw new Error(
        `Fetch ${topic}/${partition} at offset ${offset} returned no records below ${highWatermark}`,
      );
    }
  }
  return { records, highWatermark, logStartOffset };
}

/** Whole batches in a Fetch answer's records field (a trailing partial batch is dropped, as clients do). */
export function* splitBatches(records: Buffer): Generator<Buffer> {
  let pos = 0;
  while (pos + 12 <= records.length) {
    const end = pos + 12 + records.readInt32BE(pos + 8);
    if (end > records.length) return;
    yield records.subarray(pos, end);
    pos = end;
  }
}
