/**
 * SQS shovel endpoints through the AWS SDK v3, for this Pier's SQS listener or any SQS endpoint
 * URL (https://KEY:SECRET@host/?region=eu-west-1; credentials from the SDK's usual chain when the
 * URI has none). A source receives (long poll), hands over, and deletes only what was confirmed
 * downstream; what it could not move it makes visible again. A destination sends in batches of
 * up to 10, one batch at a time so FIFO group order holds.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type Delivery, PermanentRefusal, type ShovelDestination, type ShovelSource } from './endpoint.js';
import { type BridgeMessage, fromSqs, type SqsInbound, type SqsOutbound, toSqs } from './message-mapping.js';

export interface SqsAddress {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function sqsAddressOf(uri: string): SqsAddress {
  const url = new URL(uri);
  const region =
    url.searchParams.get('region') ?? /sqs\.([a-z0-9-]+)\.amazonaws/.exec(url.hostname)?.[1] ?? 'us-east-1';
  const credentials = url.username
    ? { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) }
    : undefined;
  url.username = '';
  url.password = '';
  url.search = '';
  return { endpoint: url.toString().replace(/\/$/, ''), region, ...(credentials ? { credentials } : {}) };
}

function sqsClient(address: SqsAddress): SQSClient {
  return new SQSClient({
    endpoint: address.endpoint,
    region: address.region,
    maxAttempts: 2,
    ...(address.credentials ? { credentials: address.credentials } : {}),
  });
}

async function queueUrlOf(client: SQSClient, queue: string): Promise<string> {
  if (/^https?:\/\//.test(queue)) return queue;
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: queue }));
  if (!QueueUrl) throw new Error(`SQS queue '${queue}' has no URL`);
  return QueueUrl;
}

export class SqsSource implements ShovelSource {
  private client: SQSClient | undefined;
  private queueUrl = '';
  private running = false;
  private readonly abort = new AbortController();
  private readonly unsettled = new Set<(error: Error) => void>();
  private inFlight: string[] = [];

  constructor(
    private readonly address: SqsAddress,
    private readonly queue: string,
    private readonly deleteFirst: boolean,
  ) {}

  async open(deliver: (delivery: Delivery) => void, fail: (error: Error) => void): Promise<void> {
    this.client = sqsClient(this.address);
    this.queueUrl = await queueUrlOf(this.client, this.queue);
    this.running = true;
    void this.loop(deliver).catch((error: Error) => {
      if (this.running) fail(error);
    });
  }

  private async loop(deliver: (delivery: Delivery) => void): Promise<void> {
    const client = this.client!;
    while (this.running) {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 2,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
        { abortSignal: this.abort.signal },
      );
      if (Messages.length === 0) continue;
      const handles = Messages.map((m) => m.ReceiptHandle!);
      if (this.deleteFirst) await this.remove(handles);
      else this.inFlight = handles;
      const outcomes = await Promise.allSettled(
        Messages.map(
          (m) =>
            new Promise<void>((resolve, reject) => {
              this.unsettled.add(reject);
              deliver({
                message: fromSqs(m as SqsInbound),
                sourceId: `sqs/${m.MessageId}`,
                settle: async () => {
                  this.unsettled.delete(reject);
                  resolve();
                },
              });
            }),
        ),
      );
      if (!this.deleteFirst && outcomes.every((o) => o.status === 'fulfilled')) {
        await this.remove(handles);
        this.inFlight = [];
      }
    }
  }

  private async remove(handles: string[]): Promise<void> {
    const { Failed = [] } = await this.client!.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })),
      }),
    );
    if (Failed.length > 0)
      throw new Error(`SQS DeleteMessageBatch failed: ${Failed[0]?.Message ?? Failed[0]?.Code}`);
  }

  async depth(): Promise<number> {
    const { Attributes } = await this.client!.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  }

  async close(): Promise<void> {
    this.running = false;
    this.abort.abort();
    for (const reject of this.unsettled) reject(new Error('the shovel stopped'));
    this.unsettled.clear();
    if (this.client) await releaseSqsMessages(this.client, this.queueUrl, this.inFlight).catch(() => {});
    this.inFlight = [];
    this.client?.destroy();
    this.client = undefined;
  }
}

/** Makes received-but-unmoved messages visible again at once (best effort; the timeout does it otherwise). */
export async function releaseSqsMessages(
  client: SQSClient,
  queueUrl: string,
  handles: string[],
): Promise<void> {
  if (handles.length === 0) return;
  await client.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h, VisibilityTimeout: 0 })),
    }),
  );
}

type Pending = { request: SqsOutbound; resolve: () => void; reject: (e: Error) => void };

/** SendMessageBatch's limits: 10 entries, 1 MiB of payload (bodies and attributes) in all. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_PAYLOAD_BYTES = 1_048_576;

function payloadBytes(request: SqsOutbound): number {
  let total = Buffer.byteLength(request.MessageBody, 'utf8');
  for (const [name, value] of Object.entries(request.MessageAttributes)) {
    total += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType ?? '', 'utf8');
    if (value.StringValue !== undefined) total += Buffer.byteLength(value.StringValue, 'utf8');
    if (value.BinaryValue !== undefined) total += value.BinaryValue.length;
  }
  return total;
}

/** In order, as few batches as the limits allow (a message too long on its own goes alone). */
function batchesOf(all: Pending[]): Pending[][] {
  const batches: Pending[][] = [];
  let current: Pending[] = [];
  let bytes = 0;
  for (const p of all) {
    const size = payloadBytes(p.request);
    if (
      current.length === MAX_BATCH_ENTRIES ||
      (current.length > 0 && bytes + size > MAX_BATCH_PAYLOAD_BYTES)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export class SqsDestination implements ShovelDestination {
  private client: SQSClient | undefined;
  private queueUrl = '';
  private fifo = false;
  private pending: Pending[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly address: SqsAddress,
    private readonly queue: string,
    private readonly defaultGroupId: string,
  ) {}

  async open(_fail: (error: Error) => void): Promise<void> {
    this.client = sqsClient(this.address);
    this.queueUrl = await queueUrlOf(this.client, this.queue);
    this.fifo = this.queueUrl.endsWith('.fifo');
  }

  send(message: BridgeMessage, stableId: string): Promise<void> {
    const { value } = toSqs(message, { fifo: this.fifo, stableId, defaultGroupId: this.defaultGroupId });
    return new Promise((resolve, reject) => {
      this.pending.push({ request: value, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          const all = this.pending;
          this.pending = [];
          for (const batch of batchesOf(all)) {
            this.flushing = this.flushing.then(() => this.sendBatch(batch));
          }
        });
      }
    });
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    try {
      const client = this.client;
      if (!client) throw new Error('the SQS destination is not connected');
      const { Failed = [] } = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((b, i) => ({ Id: String(i), ...b.request })),
        }),
      );
      const failed = new Map(Failed.map((f) => [Number(f.Id), f]));
      batch.forEach((b, i) => {
        const f = failed.get(i);
        if (!f) b.resolve();
        else if (f.SenderFault) {
          // The entry itself is at fault (too long, invalid characters, bad attributes).
          b.reject(new PermanentRefusal(`SQS refused the message: ${f.Code}: ${f.Message ?? ''}`));
        } else b.reject(new Error(`SQS could not take the message: ${f.Code}: ${f.Message ?? ''}`));
      });
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (!/BatchRequestTooLong/.test(name)) {
        for (const b of batch) b.reject(error as Error);
      } else if (batch.length === 1) {
        batch[0]!.reject(
          new PermanentRefusal(`SQS refused the message: ${name}: ${(error as Error).message}`),
        );
      } else {
        for (const b of batch) await this.sendBatch([b]);
      }
    }
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
  }
}
