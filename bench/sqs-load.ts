// Pier's own SQS load generator: raw keep-alive HTTP/1.1 connections (one per lane, requests written
// as one prepared buffer, responses framed by Content-Length), AWS JSON 1.0, one queue per lane.
// A lane sends a SendMessageBatch of 10 whose body and SigV4 signature were prepared up front, then
// receives (prepared too) and deletes (DeleteMessageBatch built from the answer, signed on the spot)
// until those 10 are gone; lanes run concurrently. Counts are end to end: a message counts once it is
// deleted, and at the end every lane must have deleted exactly what it sent.
// FIFO queues: each lane sends in one message group (its own) and gives every message its own
// deduplication id, so its SendMessageBatch is built and signed per call, as a real producer's is;
// it checks that its messages come back in the order it sent them.
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { FifoSender } from './sqs-sdk-load.js';
import { JsonRequestSigner, type SignerConfig } from './sqs-sign.js';

export const BATCH_SIZE = 10;
/** Distinct prepared SendMessageBatch bodies per lane, cycled. */
const PREPARED_PER_LANE = 8;

export interface LoadOptions {
  signer: SignerConfig;
  queueUrls: readonly string[];
  durationS: number;
  bodyBytes: number;
  onProgress?: (messages: number, calls: number) => void;
  /** The queues are FIFO queues; checkOrder: fail when a lane's messages come back out of order. */
  fifo?: { checkOrder: boolean };
}

export interface LoadResult {
  messages: number;
  calls: number;
  seconds: number;
}

/** A whole HTTP/1.1 request (head and body) in one buffer, written with one socket write. */
function prepare(signer: JsonRequestSigner, action: string, input: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(input), 'utf8');
  let head = 'POST / HTTP/1.1\r\n';
  for (const [name, value] of Object.entries(signer.headers(action, body))) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}connection: keep-alive\r\n\r\n`, 'latin1'), body]);
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * One keep-alive connection, one request at a time: the response head is only searched for its
 * status and Content-Length (the listener never answers chunked to these calls).
 */
class Connection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: { resolve: (body: string) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  call(request: Buffer): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = this.buffered.indexOf(HEAD_END);
    if (headEnd === -1) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!lengthMatch) {
      this.fail(new Error(`response without Content-Length: ${head}`));
      return;
    }
    const bodyEnd = headEnd + 4 + Number(lengthMatch[1]);
    if (this.buffered.length < bodyEnd) return;
    const body = this.buffered.toString('utf8', headEnd + 4, bodyEnd);
    this.buffered = this.buffered.subarray(bodyEnd);
    const pending = this.pending;
    this.pending = null;
    if (!pending) return;
    const status = head.slice(9, 12);
    if (status === '200') pending.resolve(body);
    else pending.reject(new Error(`${head.split('\r\n')[0]}: ${body}`));
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const [host, portText] = options.signer.host.split(':') as [string, string];
  const port = Number(portText);
  const lanes = options.queueUrls.length;
  const connections = options.queueUrls.map(() => new Connection(host, port));
  const signer = new JsonRequestSigner(options.signer);
  const runId = randomUUID();
  const fifoSend = (lane: number, sender: FifoSender, cycle: number) =>
    prepare(signer, 'SendMessageBatch', {
      QueueUrl: options.queueUrls[lane],
      Entries: Array.from({ length: BATCH_SIZE }, (_, i) => ({
        Id: String(i),
        ...sender.entry(cycle * BATCH_SIZE + i, options.bodyBytes),
      })),
    });
  const sends = options.queueUrls.map((queueUrl, lane) =>
    Array.from({ length: options.fifo ? 0 : PREPARED_PER_LANE }, (_, k) =>
      prepare(signer, 'SendMessageBatch', {
        QueueUrl: queueUrl,
        Entries: Array.from({ length: BATCH_SIZE }, (_, i) => ({
          Id: String(i),
          MessageBody: `lane-${lane}-batch-${k}-entry-${i}-`.padEnd(options.bodyBytes, 'x'),
        })),
      }),
    ),
  );
  const receives = options.queueUrls.map((queueUrl) =>
    prepare(signer, 'ReceiveMessage', {
      QueueUrl: queueUrl,
      MaxNumberOfMessages: BATCH_SIZE,
      WaitTimeSeconds: 1,
    }),
  );

  let messages = 0;
  let calls = 0;
  const started = process.hrtime.bigint();
  const endMs = Date.now() + options.durationS * 1000;
  const progress = options.onProgress ? setInterval(() => options.onProgress!(messages, calls), 500) : null;

  const lane = async (index: number) => {
    const queueUrl = options.queueUrls[index]!;
    const sender = new FifoSender(`lane-${index}`, runId);
    for (let cycle = 0; Date.now() < endMs; cycle++) {
      const request = options.fifo
        ? fifoSend(index, sender, cycle)
        : sends[index]![cycle % PREPARED_PER_LANE]!;
      const sent = JSON.parse(await connections[index]!.call(request)) as { Successful?: unknown[] };
      calls++;
      let outstanding = sent.Successful?.length ?? 0;
      if (outstanding !== BATCH_SIZE)
        throw new Error(`SendMessageBatch stored ${outstanding} of ${BATCH_SIZE}`);
      while (outstanding > 0) {
        const received = JSON.parse(await connections[index]!.call(receives[index]!)) as {
          Messages?: { ReceiptHandle: string; Body: string }[];
        };
        calls++;
        const got = received.Messages ?? [];
        if (got.length === 0) continue;
        if (options.fifo?.checkOrder) sender.expectNext(got.map((m) => m.Body));
        const entries = got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
        const deleted = JSON.parse(
          await connections[index]!.call(
            prepare(signer, 'DeleteMessageBatch', { QueueUrl: queueUrl, Entries: entries }),
          ),
        ) as { Successful?: unknown[] };
        calls++;
        if ((deleted.Successful?.length ?? 0) !== got.length) {
          throw new Error(`DeleteMessageBatch deleted ${deleted.Successful?.length ?? 0} of ${got.length}`);
        }
        outstanding -= got.length;
        messages += got.length;
      }
      if (outstanding < 0)
        throw new Error(`lane ${index} received ${-outstanding} more messages than it sent`);
    }
  };
  try {
    await Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
  } finally {
    if (progress) clearInterval(progress);
    for (const connection of connections) connection.close();
  }
  return { messages, calls, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
