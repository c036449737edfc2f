/**
 * Kill -9 under SQS senders: a child-process broker takes pipelined SendMessage and
 * SendMessageBatch requests (raw JSON 1.0 over keep-alive HTTP) to a standard and a FIFO queue,
 * while a consumer receives and deletes most of the messages, and is SIGKILLed at a random moment,
 * 20 times (PIER_CRASH_ROUNDS, PIER_CRASH_SEED). Its log segments are small, so segments left
 * sparse by the deletions are relocated (rewritten at the log's head) while it runs and dies.
 * After each restart the test receives every message (deleting what it received, so each round
 * starts empty) and checks: every message whose send was answered 200 is there with the message id
 * and body it was answered with, unless the consumer deleted it (or asked to, and the broker died
 * before answering); nothing foreign appears, nothing twice; within each FIFO group what remains is
 * in send order; a FIFO resend with an answered message's deduplication id gets that message's id
 * and is not queued. Deleted messages may come back (DeleteMessage is answered before it is
 * durable): counted, allowed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { type ChildBroker, spawnBroker, tempDir } from '../helpers/broker.js';
import { prng } from '../helpers/prng.js';

const ROUNDS = Number(process.env.PIER_CRASH_ROUNDS ?? 20);
const STD_SENDERS = 4;
const FIFO_GROUPS = 4;
const MAX_SENDS_PER_ROUND = 600;
const BODY_RE = /^(std|fifo) r(\d+) s(\d+) g(\d+) i(\d+) ü✓ x+$/;
const PADDING = 'x'.repeat(80);
/** ~70 records per segment: one whose standard messages the consumer mostly deleted is sparse. */
const SEGMENT_BYTES = 16 * 1024;
/** Standard messages the consumer deletes: most, so that segments become sparse. */
const STD_DELETE_FRACTION = 0.95;

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** A minimal SQS JSON 1.0 client: no retries, so an answer is exactly what the broker promised. */
class SqsJsonClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: STD_SENDERS + FIFO_GROUPS + 2 });
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  call(action: string, params: Record<string, unknown>): Promise<Answer> {
    const body = JSON.stringify(params);
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      'x-amz-date': amzDate,
      authorization:
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${amzDate.slice(0, 8)}/us-east-1/sqs/aws4_request, ` +
        `SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      'content-length': String(Buffer.byteLength(body)),
    };
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: this.host, port: this.port, method: 'POST', path: '/', headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} });
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Like call(), but a non-200 answer is an error. */
  async ok(action: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = await this.call(action, params);
    if (answer.status !== 200)
      throw new Error(`${action}: HTTP ${answer.status} ${JSON.stringify(answer.json)}`);
    return answer.json;
  }

  close(): void {
    this.agent.destroy();
  }
}

interface SqsReceived {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  MD5OfBody: string;
}

/** What the broker has promised, over all rounds. */
interface Promised {
  /** body → message id, from sends answered 200 (bodies are unique). */
  readonly acked: Map<string, string>;
  /** Every body ever sent, answered or not. */
  readonly sent: Set<string>;
  /** Message ids whose DeleteMessageBatch entry succeeded (consumer or verification). */
  readonly deleted: Set<string>;
  /** Message ids in a DeleteMessageBatch the broker died before answering: they may be gone. */
  readonly deleteUnanswered: Set<string>;
  /** Per FIFO group, the index the next message gets (over all rounds: order is checked across them). */
  readonly nextGroupIndex: number[];
}

async function spawnSqsBroker(dataDir: string): Promise<ChildBroker & { sqsHost: string; sqsPort: number }> {
  // Small segments: the log rolls often, and sparse segments are relocated while the broker dies.
  const child = await spawnBroker(
    dataDir,
    ['--sqs-port', '0', '--queue-segment-bytes', String(SEGMENT_BYTES)],
    ['amqp', 'sqs'],
  );
  const { host, port } = child.listeners.get('sqs')!;
  const sqsHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return Object.assign(child, { sqsHost, sqsPort: port });
}

function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** Sends and consumes until the broker dies; records what was promised. */
async function loadUntilKilled(
  broker: ChildBroker & { sqsHost: string; sqsPort: number },
  urls: { std: string; fifo: string },
  round: number,
  killAfterMs: number,
  random: () => number,
  promised: Promised,
) {
  const client = new SqsJsonClient(broker.sqsHost, broker.sqsPort);
  let dead = false;
  broker.exited.then(() => {
    dead = true;
  });
  let error: Error | undefined;
  let sends = 0;
  let acks = 0;
  let unanswered = 0;
  let consumerDeletes = 0;
  const killTimer = setTimeout(() => broker.process.kill('SIGKILL'), killAfterMs);

  const bodyOf = (queue: 'std' | 'fifo', seq: number, group: number): string =>
    `${queue} r${round} s${seq} g${group} i${queue === 'fifo' ? promised.nextGroupIndex[group]!++ : 0} ü✓ ${PADDING}`;

  const sendOne = (fifo: boolean, group: number): Promise<void> => {
    const seq = sends++;
    const batch = random() < 0.5;
    const count = batch ? 1 + Math.floor(random() * 10) : 1;
    const bodies = Array.from({ length: count }, (_, i) =>
      bodyOf(fifo ? 'fifo' : 'std', seq * 10 + i, group),
    );
    for (const body of bodies) promised.sent.add(body);
    const fifoFields = (body: string) =>
      fifo ? { MessageGroupId: `g${group}`, MessageDeduplicationId: md5Hex(body) } : {};
    const request = batch
      ? client.ok('SendMessageBatch', {
          QueueUrl: fifo ? urls.fifo : urls.std,
          Entries: bodies.map((body, i) => ({ Id: `e${i}`, MessageBody: body, ...fifoFields(body) })),
        })
      : client.ok('SendMessage', {
          QueueUrl: fifo ? urls.fifo : urls.std,
          MessageBody: bodies[0],
          ...fifoFields(bodies[0]!),
        });
    return request.then(
      (json) => {
        const answers = batch
          ? ((json.Successful as Array<{ Id: string; MessageId: string; MD5OfMessageBody: string }>) ?? [])
          : [
              {
                Id: 'e0',
                MessageId: json.MessageId as string,
                MD5OfMessageBody: json.MD5OfMessageBody as string,
              },
            ];
        if (batch && (json.Failed as unknown[] | undefined)?.length) {
          error ??= new Error(`SendMessageBatch failed entries: ${JSON.stringify(json.Failed)}`);
        }
        for (const answer of answers) {
          const body = bodies[Number(answer.Id.slice(1))]!;
          if (answer.MD5OfMessageBody !== md5Hex(body)) error ??= new Error(`MD5 mismatch for ${body}`);
          promised.acked.set(body, answer.MessageId);
          acks++;
        }
      },
      (err: Error) => {
        // A connection error: the broker died with this request in flight. Anything else is a bug.
        if (!/ECONNRESET|ECONNREFUSED|socket hang up|EPIPE/.test(err.message)) error ??= err;
        else unanswered++;
      },
    );
  };

  // FIFO: one sender per group, one request at a time, so the send order within a group is defined.
  const pumpSends = async (fifo: boolean, group: number): Promise<void> => {
    while (!dead && !error && sends < MAX_SENDS_PER_ROUND) await sendOne(fifo, group);
  };

  /** Receives from both queues and deletes most of the standard and all of the FIFO messages. */
  const consume = async (): Promise<void> => {
    while (!dead && !error) {
      for (const [queue, url] of [
        ['std', urls.std],
        ['fifo', urls.fifo],
      ] as const) {
        try {
          const json = await client.ok('ReceiveMessage', {
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 30,
            WaitTimeSeconds: 0,
          });
          const messages = (json.Messages as SqsReceived[] | undefined) ?? [];
          const doomed = queue === 'fifo' ? messages : messages.filter(() => random() < STD_DELETE_FRACTION);
          if (doomed.length === 0) continue;
          // Until it is answered, the delete may or may not take effect: if the broker dies first, the
          // messages may be gone (the deletion reached the log) or still there.
          for (const m of doomed) promised.deleteUnanswered.add(m.MessageId);
          const answer = await client.ok('DeleteMessageBatch', {
            QueueUrl: url,
            Entries: doomed.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
          });
          for (const m of doomed) promised.deleteUnanswered.delete(m.MessageId);
          for (const ok of (answer.Successful as Array<{ Id: string }>) ?? []) {
            promised.deleted.add(doomed[Number(ok.Id.slice(1))]!.MessageId);
            consumerDeletes++;
          }
        } catch (err) {
          if (!/ECONNRESET|ECONNREFUSED|socket hang up|EPIPE/.test((err as Error).message))
            error ??= err as Error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  const pumps = [
    ...Array.from({ length: STD_SENDERS }, (_, i) => pumpSends(false, i)),
    ...Array.from({ length: FIFO_GROUPS }, (_, group) => pumpSends(true, group)),
  ];
  await Promise.all([...pumps, consume(), broker.exited]);
  clearTimeout(killTimer);
  client.close();
  if (error) throw error;
  return { acks, killedUnderLoad: unanswered > 0, consumerDeletes };
}

/** Receives (and deletes) every message of both queues and checks them against the promises. */
async function verify(
  broker: ChildBroker & { sqsHost: string; sqsPort: number },
  urls: { std: string; fifo: string },
  promised: Promised,
): Promise<{ found: number; reappeared: number; goneAfterUnansweredDelete: number }> {
  const client = new SqsJsonClient(broker.sqsHost, broker.sqsPort);
  try {
    const seen = new Set<string>();
    let reappeared = 0;
    const problems: string[] = [];
    const lastIndexOfGroup = new Map<string, number>();
    for (const url of [urls.std, urls.fifo]) {
      let empties = 0;
      while (empties < 2) {
        const json = await client.ok('ReceiveMessage', {
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 600,
          WaitTimeSeconds: 0,
        });
        const messages = (json.Messages as SqsReceived[] | undefined) ?? [];
        if (messages.length === 0) {
          empties++;
          continue;
        }
        empties = 0;
        for (const m of messages) {
          const match = BODY_RE.exec(m.Body);
          if (!match || !promised.sent.has(m.Body)) {
            problems.push(`foreign or damaged body ${JSON.stringify(m.Body.slice(0, 40))}`);
            continue;
          }
          if (m.MD5OfBody !== md5Hex(m.Body)) problems.push(`MD5OfBody wrong for ${m.Body.slice(0, 30)}`);
          const ackedId = promised.acked.get(m.Body);
          if (ackedId !== undefined && ackedId !== m.MessageId) {
            problems.push(
              `${m.Body.slice(0, 30)}: message id ${m.MessageId}, the send was answered ${ackedId}`,
            );
          }
          if (seen.has(m.Body)) problems.push(`${m.Body.slice(0, 30)} received twice in one drain`);
          seen.add(m.Body);
          if (promised.deleted.has(m.MessageId)) reappeared++;
          if (match[1] === 'fifo') {
            const group = match[4]!;
            const index = Number(match[5]);
            const last = lastIndexOfGroup.get(group) ?? -1;
            if (index <= last) problems.push(`FIFO group g${group}: i${index} after i${last}`);
            lastIndexOfGroup.set(group, index);
          }
        }
        const answer = await client.ok('DeleteMessageBatch', {
          QueueUrl: url,
          Entries: messages.map((m, i) => ({ Id: `v${i}`, ReceiptHandle: m.ReceiptHandle })),
        });
        if ((answer.Failed as unknown[] | undefined)?.length) {
          problems.push(`verification delete failed: ${JSON.stringify(answer.Failed)}`);
        }
        for (const m of messages) promised.deleted.add(m.MessageId);
      }
    }
    const lost: string[] = [];
    let goneAfterUnansweredDelete = 0;
    for (const [body, messageId] of promised.acked) {
      if (seen.has(body) || promised.deleted.has(messageId)) continue;
      if (promised.deleteUnanswered.has(messageId)) goneAfterUnansweredDelete++;
      else lost.push(body.slice(0, 30));
    }
    // The consumer has one DeleteMessageBatch (≤ 10 entries) in flight at a time.
    assert.ok(
      goneAfterUnansweredDelete <= 10,
      `${goneAfterUnansweredDelete} gone after an unanswered delete`,
    );
    assert.deepEqual(problems.slice(0, 5), [], `${problems.length} problems`);
    assert.deepEqual(lost.slice(0, 5), [], `${lost.length} acknowledged messages lost`);
    // The FIFO deduplication window holds across the crash: a resend of an answered message is
    // answered with its original id and not queued again (even though it was deleted since).
    const fifoAcked = [...promised.acked].filter(([body]) => body.startsWith('fifo '));
    for (const [body, messageId] of fifoAcked.slice(-3)) {
      const group = BODY_RE.exec(body)![4];
      const json = await client.ok('SendMessage', {
        QueueUrl: urls.fifo,
        MessageBody: body,
        MessageGroupId: `g${group}`,
        MessageDeduplicationId: md5Hex(body),
      });
      assert.equal(
        json.MessageId,
        messageId,
        `resend of ${body.slice(0, 30)} within the deduplication window`,
      );
    }
    const again = await client.ok('ReceiveMessage', { QueueUrl: urls.fifo, MaxNumberOfMessages: 10 });
    assert.equal(
      (again.Messages as unknown[] | undefined)?.length ?? 0,
      0,
      'deduplicated resends not queued',
    );
    // Everything acked is now deleted (by the consumer or by this drain): the next round starts empty.
    promised.acked.clear();
    promised.deleteUnanswered.clear();
    return { found: seen.size, reappeared, goneAfterUnansweredDelete };
  } finally {
    client.close();
  }
}

test(`answered SQS sends survive ${ROUNDS} SIGKILLs under load, FIFO groups in order`, {
  timeout: 120_000,
}, async (t) => {
  const dataDir = tempDir('pier-sqs-crash-');
  const random = prng(Number(process.env.PIER_CRASH_SEED ?? 42));
  const promised: Promised = {
    acked: new Map(),
    sent: new Set(),
    deleted: new Set(),
    deleteUnanswered: new Set(),
    nextGroupIndex: Array.from({ length: FIFO_GROUPS }, () => 0),
  };
  let keepDataDir = false;
  let broker: (ChildBroker & { sqsHost: string; sqsPort: number }) | undefined;
  try {
    broker = await spawnSqsBroker(dataDir);
    const setup = new SqsJsonClient(broker.sqsHost, broker.sqsPort);
    // A redrive policy that never fires: receives are logged (receive records get relocated too).
    await setup.ok('CreateQueue', { QueueName: 'crash-dlq' });
    const std = (
      await setup.ok('CreateQueue', {
        QueueName: 'crash-std',
        Attributes: {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:crash-dlq',
            maxReceiveCount: 1000,
          }),
        },
      })
    ).QueueUrl as string;
    const fifo = (
      await setup.ok('CreateQueue', { QueueName: 'crash.fifo', Attributes: { FifoQueue: 'true' } })
    ).QueueUrl as string;
    setup.close();
    const urls = { std, fifo };

    let totalAcks = 0;
    let totalFound = 0;
    let totalReappeared = 0;
    let totalGoneAfterUnansweredDelete = 0;
    let consumerDeletes = 0;
    let killedUnderLoad = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfterMs = 100 + Math.floor(random() * 300);
      const outcome = await loadUntilKilled(broker, urls, round, killAfterMs, random, promised);
      totalAcks += outcome.acks;
      consumerDeletes += outcome.consumerDeletes;
      if (outcome.killedUnderLoad) killedUnderLoad++;
      broker = await spawnSqsBroker(dataDir);
      try {
        const { found, reappeared, goneAfterUnansweredDelete } = await verify(broker, urls, promised);
        totalFound += found;
        totalReappeared += reappeared;
        totalGoneAfterUnansweredDelete += goneAfterUnansweredDelete;
      } catch (error) {
        throw new Error(
          `round ${round} (killed ${killAfterMs} ms into the load): ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
    t.diagnostic(
      `acks ${totalAcks}, recovered ${totalFound}, consumer deletes ${consumerDeletes}, ` +
        `reappeared ${totalReappeared}, gone after an unanswered delete ${totalGoneAfterUnansweredDelete}, ` +
        `killed under load ${killedUnderLoad}/${ROUNDS}`,
    );
    assert.ok(totalAcks > ROUNDS * 20, `the senders should have had answers (got ${totalAcks})`);
    assert.ok(totalFound > ROUNDS * 5, `messages should have been left for recovery (found ${totalFound})`);
    assert.ok(consumerDeletes > 0, 'the consumer deleted messages');
    assert.ok(
      killedUnderLoad >= ROUNDS / 2,
      `the broker should mostly die with requests in flight (${killedUnderLoad} of ${ROUNDS} rounds)`,
    );
    // Deletes are answered before they are durable (as on AWS, at-least-once): a few may come back.
    assert.ok(totalReappeared <= consumerDeletes, `reappeared ${totalReappeared} of ${consumerDeletes}`);
  } catch (error) {
    keepDataDir = true;
    throw new Error(`${(error as Error).message}\n(data directory kept: ${dataDir})`, { cause: error });
  } finally {
    if (broker && broker.process.exitCode === null && broker.process.signalCode === null) {
      broker.process.kill('SIGKILL');
      await broker.exited;
    }
    if (!keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  }
});
