// The same end-to-end workload as sqs-load.ts through @aws-sdk/client-sqs as an application uses it:
// one SQSClient with a keep-alive agent, N concurrent workers, one queue per worker. A worker sends a
// SendMessageBatch of 10, then receives and deletes (DeleteMessageBatch) until those 10 are gone. The
// SDK checks every MD5OfMessageBody itself. Against the stub every receive returns 10 canned messages.
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

export async function createQueues(client: SQSClient, prefix: string, count: number): Promise<string[]> {
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: `${prefix}-${i}` }));
    urls.push(QueueUrl!);
  }
  return urls;
}

/** Runs the workers for durationS (each finishes its current batch), counting deleted messages. */
export async function runSdkLoad(
  client: SQSClient,
  queueUrls: readonly string[],
  durationS: number,
  bodyBytes: number,
  onProgress?: (messages: number, calls: number) => void,
): Promise<SdkRunResult> {
  let messages = 0;
  let calls = 0;
  const started = process.hrtime.bigint();
  const endMs = Date.now() + durationS * 1000;
  const progress = onProgress ? setInterval(() => onProgress(messages, calls), 500) : null;
  const worker = async (index: number) => {
    const QueueUrl = queueUrls[index]!;
    for (let cycle = 0; Date.now() < endMs; cycle++) {
      const sent = await client.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: SDK_BATCH_SIZE }, (_, i) => ({
            Id: String(i),
            MessageBody: `worker-${index}-cycle-${cycle}-entry-${i}-`.padEnd(bodyBytes, 'x'),
          })),
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
