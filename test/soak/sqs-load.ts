/**
 * The soak's SQS part (@aws-sdk/client-sqs, no SDK retries so an answer is exactly the broker's
 * promise): senders to a standard and a FIFO queue (four message groups, a deduplication id per
 * message); receivers that delete, that let the visibility timeout expire, and one that "crashes"
 * (receives and is destroyed without deleting). FIFO: first deliveries in send order per group, and
 * a message stored twice from one acknowledged send is a duplicate beyond the promise.
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Ledger, pause } from './ledger.js';
import type { ProtocolLoad, SoakAddress } from './soak-types.js';

const STANDARD = 'soak-standard';
const FIFO = 'soak-fifo.fifo';
const GROUPS = 4;

export class SqsLoad implements ProtocolLoad {
  readonly name = 'sqs';
  private readonly standard = new Ledger('sqs standard queue (at least once)');
  private readonly fifo = new Ledger('sqs fifo queue (order per group)');
  /** FIFO body id → the MessageId its acknowledged send was given: another id for it is a second copy. */
  private readonly fifoMessageIds = new Map<string, string>();
  private clients: SQSClient[] = [];
  private sequence = 0;
  private readonly groupSeq = Array.from({ length: GROUPS }, () => 0);

  constructor(
    private readonly random: () => number,
    private readonly ratePerSecond: number,
  ) {}

  ledgers(): Ledger[] {
    return [this.standard, this.fifo];
  }

  private client(address: SoakAddress): SQSClient {
    const client = new SQSClient({
      endpoint: address.sqsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDSOAK', secretAccessKey: 'soak' },
      maxAttempts: 1,
    });
    this.clients.push(client);
    return client;
  }

  private async urls(client: SQSClient): Promise<[string, string]> {
    const standard = await client.send(
      new CreateQueueCommand({ QueueName: STANDARD, Attributes: { VisibilityTimeout: '1' } }),
    );
    const fifo = await client.send(
      new CreateQueueCommand({ QueueName: FIFO, Attributes: { FifoQueue: 'true', VisibilityTimeout: '1' } }),
    );
    return [standard.QueueUrl!, fifo.QueueUrl!];
  }

  async run(address: SoakAddress, signal: AbortSignal): Promise<void> {
    const client = this.client(address);
    const [standardUrl, fifoUrl] = await this.urls(client);
    void this.send(client, standardUrl, fifoUrl, signal);
    void this.receive(this.client(address), standardUrl, this.standard, signal, 0.8);
    void this.receive(this.client(address), fifoUrl, this.fifo, signal, 0.8);
    void this.crashingReceiver(address, standardUrl, signal);
  }

  private async send(client: SQSClient, standardUrl: string, fifoUrl: string, signal: AbortSignal) {
    const perBatch = 5;
    const gapMs = (1000 * perBatch) / this.ratePerSecond;
    while (!signal.aborted) {
      const toFifo = this.random() < 0.5;
      const group = Math.floor(this.random() * GROUPS);
      const ids = Array.from({ length: perBatch }, () =>
        toFifo ? `f${group}:${this.groupSeq[group]!++}` : `s${this.sequence++}`,
      );
      try {
        const answer = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: toFifo ? fifoUrl : standardUrl,
            Entries: ids.map((id, n) => ({
              Id: String(n),
              MessageBody: id,
              ...(toFifo
                ? { MessageGroupId: `g${group}`, MessageDeduplicationId: id.replace(':', '-') }
                : {}),
            })),
          }),
          { abortSignal: signal },
        );
        for (const ok of answer.Successful ?? []) {
          const id = ids[Number(ok.Id)]!;
          (toFifo ? this.fifo : this.standard).acknowledged(id);
          if (toFifo) this.fifoMessageIds.set(id, ok.MessageId!);
        }
      } catch {
        if (signal.aborted) return;
        await pause(50, signal);
      }
      await pause(gapMs, signal);
    }
  }

  private orderOf(ledger: Ledger, body: string) {
    if (ledger !== this.fifo) return undefined;
    const [group, seq] = body.slice(1).split(':');
    return { key: `group ${group}`, seq: Number(seq) };
  }

  /** Receives; deletes `deleteShare` of what it gets and lets the rest's visibility expire. */
  private async receive(
    client: SQSClient,
    url: string,
    ledger: Ledger,
    signal: AbortSignal,
    deleteShare: number,
  ) {
    let pendingDeletes: { body: string }[] = [];
    while (!signal.aborted) {
      try {
        const answer = await client.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          { abortSignal: signal },
        );
        const toDelete = [];
        for (const message of answer.Messages ?? []) {
          const body = message.Body ?? '';
          this.checkCopy(ledger, body, message.MessageId);
          ledger.delivered(body, this.orderOf(ledger, body));
          // FIFO: a message left to expire blocks its group until it is visible again (order kept).
          if (this.random() < deleteShare) toDelete.push({ body, handle: message.ReceiptHandle! });
        }
        if (toDelete.length > 0) {
          // A delete the broker took but died before answering is gone: not lost (see maybeFinished).
          pendingDeletes = toDelete;
          await client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: url,
              Entries: toDelete.map((m, n) => ({ Id: String(n), ReceiptHandle: m.handle })),
            }),
            { abortSignal: signal },
          );
          for (const m of toDelete) ledger.finished(m.body);
          pendingDeletes = [];
        }
      } catch {
        for (const m of pendingDeletes) ledger.maybeFinished(m.body);
        pendingDeletes = [];
        if (signal.aborted) return;
        await pause(50, signal);
      }
    }
  }

  private checkCopy(ledger: Ledger, body: string, messageId: string | undefined): void {
    if (ledger !== this.fifo) return;
    const acknowledged = this.fifoMessageIds.get(body);
    if (acknowledged !== undefined && messageId !== acknowledged) {
      ledger.duplicates++;
      ledger.problem(`${body} stored twice: message ids ${acknowledged} and ${messageId}`);
    }
  }

  /** Receives once and is destroyed without deleting: its messages come back after the timeout. */
  private async crashingReceiver(address: SoakAddress, url: string, signal: AbortSignal): Promise<void> {
    await pause(this.random() * 300, signal);
    const client = this.client(address);
    try {
      const answer = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 5 }));
      for (const message of answer.Messages ?? []) this.standard.delivered(message.Body ?? '');
    } catch {}
    client.destroy();
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) client.destroy();
  }

  /** Receives both queues until empty, deleting everything, then settles what is still owed as lost. */
  async drain(address: SoakAddress): Promise<void> {
    const client = this.client(address);
    const [standardUrl, fifoUrl] = await this.urls(client);
    for (const [url, ledger] of [
      [standardUrl, this.standard],
      [fifoUrl, this.fifo],
    ] as const) {
      // Empty twice in a row, a visibility timeout apart: messages left invisible by the load are back.
      let emptyInARow = 0;
      while (emptyInARow < 2) {
        const answer = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 2,
            VisibilityTimeout: 60,
          }),
        );
        const messages = answer.Messages ?? [];
        if (messages.length === 0) {
          emptyInARow++;
          continue;
        }
        emptyInARow = 0;
        for (const message of messages) {
          const body = message.Body ?? '';
          this.checkCopy(ledger, body, message.MessageId);
          ledger.delivered(body, this.orderOf(ledger, body));
          ledger.finished(body);
        }
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
      ledger.settleLost('drained the queue after the last restart');
    }
    client.destroy();
  }
}
