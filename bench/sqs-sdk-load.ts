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

/**
 * One worker's messages on a FIFO queue: the n-th is `${tag}-${n}-` padded to the body size, sent
 * in the worker's own message group with a deduplication id unique to the run (a queue may be used
 * again within its 5-minute window), and must come back in that order.
 */
export class FifoSender {
  private nextPlace = 0;

  constructor(
    readonly tag: string,
    private readonly runId: string,
  ) {}

  /** The n-th message's body (standard queues use it too) and FIFO ids. */
  entry(place: number, bodyBytes: number) {
    return {
      MessageBody: `${this.tag}-${place}-`.padEnd(bodyBytes, 'x'),
      MessageGroupId: this.tag,
      MessageDeduplicationId: `${this.runId}-${this.tag}-${place}`,
    };
  }

  /** Throws unless these bodies are the next ones sent, in order. */
  expectNext(bodies: Iterable<string>): void {
    for (const body of bodies) {
      if (!body.startsWith(this.tag))
        throw new Error(`received a message that was not sent by ${this.tag}: ${body.slice(0, 40)}`);
      const place = Number.parseInt(body.slice(this.tag.length + 1), 10);
      if (place !== this.nextPlace)
        throw new Error(`${this.tag} received message ${place} where ${this.nextPlace} was next`);
      this.nextPlace++;
    }
  }
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
  const runId = randomUUID();
  let messages = 0;
  let calls = 0;
  const started = process.hrtime.bigint();
  const endMs = Date.now() + durationS * 1000;
  const progress = onProgress ? setInterval(() => onProgress(messages, calls), 500) : null;
  const worker = async (index: number) => {
    const QueueUrl = queueUrls[index]!;
    const sender = new FifoSender(`worker-${index}`, runId);
    for (let cycle = 0; Date.now() < endMs; cycle++) {
      const sent = await client.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: SDK_BATCH_SIZE }, (_, i) => {
            const { MessageBody, ...fifoIds } = sender.entry(cycle * SDK_BATCH_SIZE + i, bodyBytes);
            return fifo ? { Id: String(i), MessageBody, ...fifoIds } : { Id: String(i), MessageBody };
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
        if (fifo?.checkOrder) sender.expectNext(got.map((m) => m.Body ?? ''));
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
