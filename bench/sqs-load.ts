// Pier's own SQS load generator: keep-alive HTTP/1.1 connections, AWS JSON 1.0, one queue per lane.
// A lane sends a SendMessageBatch of 10 whose body and SigV4 signature were prepared up front, then
// receives (prepared too) and deletes (DeleteMessageBatch built from the answer, signed on the spot)
// until those 10 are gone; lanes run concurrently. Counts are end to end: a message counts once it is
// deleted, and at the end every lane must have deleted exactly what it sent.
import { Agent, request } from 'node:http';
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
}

export interface LoadResult {
  messages: number;
  calls: number;
  seconds: number;
}

interface Prepared {
  body: Buffer;
  headers: Record<string, string>;
}

function prepare(signer: JsonRequestSigner, action: string, input: unknown): Prepared {
  const body = Buffer.from(JSON.stringify(input), 'utf8');
  return { body, headers: signer.headers(action, body) };
}

function post(agent: Agent, host: string, port: number, call: Prepared): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host, port, method: 'POST', path: '/', headers: call.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(text);
        else reject(new Error(`${call.headers['x-amz-target']} answered ${res.statusCode}: ${text}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(call.body);
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const [host, portText] = options.signer.host.split(':') as [string, string];
  const port = Number(portText);
  const lanes = options.queueUrls.length;
  const agent = new Agent({ keepAlive: true, maxSockets: lanes, maxFreeSockets: lanes });
  const signer = new JsonRequestSigner(options.signer);
  const sends = options.queueUrls.map((queueUrl, lane) =>
    Array.from({ length: PREPARED_PER_LANE }, (_, k) =>
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
    for (let cycle = 0; Date.now() < endMs; cycle++) {
      const sent = JSON.parse(await post(agent, host, port, sends[index]![cycle % PREPARED_PER_LANE]!)) as {
        Successful?: unknown[];
      };
      calls++;
      let outstanding = sent.Successful?.length ?? 0;
      if (outstanding !== BATCH_SIZE)
        throw new Error(`SendMessageBatch stored ${outstanding} of ${BATCH_SIZE}`);
      while (outstanding > 0) {
        const received = JSON.parse(await post(agent, host, port, receives[index]!)) as {
          Messages?: { ReceiptHandle: string }[];
        };
        calls++;
        const got = received.Messages ?? [];
        if (got.length === 0) continue;
        const entries = got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
        const deleted = JSON.parse(
          await post(
            agent,
            host,
            port,
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
    agent.destroy();
  }
  return { messages, calls, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
