// The same end-to-end workload as sqs-load.ts through @aws-sdk/client-sqs as an application uses it:
// one SQSClient with a keep-alive agent, N concurrent workers, one queue per worker. A worker sends a
// SendMessageBatch of 10, then receives and deletes (DeleteMessageBatch) until those 10 are gone. The
// SDK checks every MD5OfMessageBody itself. Against the stub every receive returns 10 canned messages.
// FIFO queues: every worker sends in one message group (its own), each message with its own
// deduplication id, and checks that it receives its messages in the order it sent them.
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export const SDK_BATCH_SIZE = 10;

export type QueueType = 'standard' | 'fifo';

export interface SdkTarget {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface SdkRunResult {
  messages: number;
  calls: number;
  seconds: number;
}

export function sdkClient(target: SdkTarget, maxSockets: number): SQSClient {
  return new SQSClient({
    endpoint: target.endpoint,
    region: target.region,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets }) }),
  });
}

export async function createQueues(
  client: SQSClient,
  prefix: string,
  count: number,
  queueType: QueueType = 'standard',
): Promise<string[]> {
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    const { QueueUrl } = await client.send(
      queueType === 'fifo'
        ? new CreateQueueCommand({ QueueName: `${prefix}-${i}.fifo`, Attributes: { FifoQueue: 'true' } })
        : new CreateQueueCommand({ QueueName: `${prefix}-${i}` }),
    );
    urls.push(QueueUrl!);
  }
  return urls;
}

/** The place `${tag}-${n}-` at the start of a FIFO body says it was sent at, to check the order received. */
export function sentPlace(body: string, tag: string): number {
  if (!body.startsWith(tag))
    throw new Error(`received a message that was not sent by ${tag}: ${body.slice(0, 40)}`);
  return Number.parseInt(body.slice(tag.length + 1), 10);
}

/** Runs the workers for durationS (each finishes its current batch), counting deleted messages. */
export async function runSdkLoad(
  client: SQSClient,
  queueUrls: readonly string[],
  durationS: number,
  bodyBytes: number,
  onProgress?: (messages: number, calls: number) => void,
  fifo?: { checkOrder: boolean },
): Promise<SdkRunResult> {
  // A queue may be used again within its 5-minute deduplication window (the sdk part's rounds).
  const runId = randomUUID();
  let messages = 0;
  let calls = 0;
  const started = process.hrtime.bigint();
  const endMs = Date.now() + durationS * 1000;
  const progress = onProgress ? setInterval(() => onProgress(messages, calls), 500) : null;
  const worker = async (index: number) => {
    const QueueUrl = queueUrls[index]!;
    const tag = `worker-${index}`;
    let nextPlace = 0;
    for (let cycle = 0; Date.now() < endMs; cycle++) {
      const sent = await client.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: SDK_BATCH_SIZE }, (_, i) => {
            const place = cycle * SDK_BATCH_SIZE + i;
            const entry = { Id: String(i), MessageBody: `${tag}-${place}-`.padEnd(bodyBytes, 'x') };
            if (!fifo) return entry;
            return { ...entry, MessageGroupId: tag, MessageDeduplicationId: `${runId}-${tag}-${place}` };
          }),
        }),
      );
      calls++;
      let outstanding = sent.Successful?.length ?? 0;
      if (outstanding !== SDK_BATCH_SIZE) throw new Error(`SendMessageBatch stored ${outstanding} of 10`);
      while (outstanding > 0) {
        const received = await client.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: SDK_BATCH_SIZE, WaitTimeSeconds: 1 }),
        );
        calls++;
        const got = received.Messages ?? [];
        if (got.length === 0) continue;
        if (fifo?.checkOrder) {
          for (const message of got) {
            const place = sentPlace(message.Body ?? '', tag);
            if (place !== nextPlace)
              throw new Error(`${tag} received message ${place} where ${nextPlace} was next`);
            nextPlace++;
          }
        }
        const deleted = await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
        calls++;
        if ((deleted.Successful?.length ?? 0) !== got.length) {
          throw new Error(`DeleteMessageBatch deleted ${deleted.Successful?.length ?? 0} of ${got.length}`);
        }
        outstanding -= got.length;
        messages += got.length;
      }
      if (outstanding < 0)
        throw new Error(`worker ${index} received ${-outstanding} more messages than it sent`);
    }
  };
  try {
    await Promise.all(queueUrls.map((_, i) => worker(i)));
  } finally {
    if (progress) clearInterval(progress);
  }
  return { messages, calls, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
