/**
 * Moves one queue's messages from Pier to the same-named queue on another AMQP broker, the way an
 * on-confirm shovel does: consume with a prefetch window, publish each message to the target's
 * default exchange (routing key = the queue) on a confirm channel with `mandatory`, and ack it at
 * the source only once the target confirmed it. Properties are copied as they are (not through the
 * cross-protocol mapping: AMQP to AMQP loses nothing, priority and expiration included). A broken
 * connection leaves the unacknowledged messages at the source (requeued), so a crash or a kill of
 * the hand-over loses nothing; a message can arrive twice only if it was confirmed but its ack was
 * lost. It stops when the source queue is empty and nothing is in flight.
 */
import amqplib from 'amqplib';
import { redact } from '../amqp-endpoint.js';

type Connection = Awaited<ReturnType<typeof amqplib.connect>>;
type ConsumeMessage = NonNullable<Parameters<Parameters<amqplib.Channel['consume']>[1]>[0]>;

export interface MoveOptions {
  /** amqp://user:pass@host:port/vhost of Pier (the source). */
  readonly sourceUrl: string;
  /** amqp://user:pass@host:port/vhost of the target. */
  readonly targetUrl: string;
  readonly queue: string;
  readonly prefetchCount: number;
  /** Called after each confirmed and acknowledged message, with the running total. */
  readonly onMoved?: (moved: number) => void;
  /** Told of each broken attempt before the retry. */
  readonly onRetry?: (error: Error, attempt: number) => void;
  readonly retryDelayMs?: number;
  /** Attempts in a row that may fail before the move gives up. */
  readonly maxAttempts?: number;
  /** How often the source depth is checked for the end (ms). */
  readonly pollIntervalMs?: number;
}

export interface MoveResult {
  readonly moved: number;
  /** Messages at the source after the move ended (0 when drained). */
  readonly remaining: number;
}

export class MoveError extends Error {}

const CONNECTION_NAME = 'pier-handover';

export async function moveQueue(options: MoveOptions): Promise<MoveResult> {
  let moved = 0;
  let failures = 0;
  const maxAttempts = options.maxAttempts ?? 10;
  for (;;) {
    try {
      const drained = await moveOnce(options, () => {
        moved++;
        failures = 0;
        options.onMoved?.(moved);
      });
      if (drained) return { moved, remaining: 0 };
    } catch (error) {
      failures++;
      if (error instanceof MoveError || failures >= maxAttempts) throw error;
      options.onRetry?.(error as Error, failures);
      await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 1000));
    }
  }
}

/** Messages waiting in a queue now (ready, not counting those delivered and unacknowledged). */
export async function queueDepth(url: string, queue: string): Promise<number | undefined> {
  const connection = await amqplib.connect(url, { clientProperties: { connection_name: CONNECTION_NAME } });
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch {
      return undefined;
    }
  } finally {
    await connection.close().catch(() => {});
  }
}

/** One attempt: resolves true once the source is empty with nothing in flight. */
async function moveOnce(options: MoveOptions, confirmed: () => void): Promise<boolean> {
  const { queue } = options;
  const connect = (url: string) =>
    amqplib.connect(url, { clientProperties: { connection_name: CONNECTION_NAME } });
  let source: Connection | undefined;
  let target: Connection | undefined;
  let failure: ((error: Error) => void) | undefined;
  const broken = new Promise<never>((_, reject) => {
    failure = reject;
  });
  broken.catch(() => {});
  const fail = (error: Error) => failure?.(error);
  try {
    target = await connect(options.targetUrl);
    target.on('error', fail);
    target.on('close', () => fail(new Error(`the connection to ${redact(options.targetUrl)} closed`)));
    const out = await target.createConfirmChannel();
    out.on('error', fail);
    // An unroutable message would be confirmed and dropped: the queue must be there first.
    const probe = await target.createChannel();
    probe.on('error', () => {});
    await probe.checkQueue(queue).catch(() => {
      throw new MoveError(
        `queue '${queue}' does not exist on the target ${redact(options.targetUrl)}: the definitions import should have created it; check the import's output`,
      );
    });
    await probe.close().catch(() => {});
    let returned = false;
    out.on('return', () => {
      returned = true;
      fail(new MoveError(`the target returned a message for queue '${queue}' as unroutable`));
    });

    source = await connect(options.sourceUrl);
    source.on('error', fail);
    source.on('close', () => fail(new Error(`the connection to ${redact(options.sourceUrl)} closed`)));
    const input = await source.createChannel();
    input.on('error', fail);
    const depthChannel = await source.createChannel();
    depthChannel.on('error', fail);
    const depth = async () => (await depthChannel.checkQueue(queue)).messageCount;
    if ((await depth()) === 0) return true;

    let inFlight = 0;
    await input.prefetch(options.prefetchCount);
    const targetUser = decodeURIComponent(new URL(options.targetUrl).username);
    await input.consume(queue, (message) => {
      if (message === null) {
        fail(new Error(`the source queue '${queue}' was deleted or its consumer cancelled`));
        return;
      }
      inFlight++;
      // A channel closed under us throws synchronously: that is a broken attempt, not a crash.
      try {
        out.publish('', queue, message.content, publishOptions(message, targetUser), (error: unknown) => {
          if (error || returned) {
            fail(new Error(`the target refused a message for queue '${queue}' (basic.nack)`));
            return;
          }
          try {
            input.ack(message);
          } catch (ackError) {
            fail(ackError as Error);
            return;
          }
          inFlight--;
          confirmed();
        });
      } catch (publishError) {
        fail(publishError as Error);
      }
    });
    // The end: nothing ready at the source and nothing in flight, seen twice in a row.
    let emptyChecks = 0;
    const interval = options.pollIntervalMs ?? 200;
    while (emptyChecks < 2) {
      await Promise.race([broken, new Promise((resolve) => setTimeout(resolve, interval))]);
      const ready = await Promise.race([broken, depth()]);
      emptyChecks = ready === 0 && inFlight === 0 ? emptyChecks + 1 : 0;
    }
    // Acks are asynchronous: a channel close after them makes sure the source processed them.
    await input.close();
    return true;
  } finally {
    failure = undefined;
    for (const connection of [source, target]) {
      connection?.removeAllListeners('close');
      await connection?.close().catch(() => {});
    }
  }
}

/**
 * amqplib's publish options carrying the message's properties unchanged. user-id is kept only
 * when it names the target's user: RabbitMQ refuses a message whose user-id is someone else's.
 */
function publishOptions(message: ConsumeMessage, targetUser: string): amqplib.Options.Publish {
  const p = message.properties;
  const options: amqplib.Options.Publish = { mandatory: true };
  const copy = {
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    headers: p.headers,
    deliveryMode: p.deliveryMode,
    priority: p.priority,
    correlationId: p.correlationId,
    replyTo: p.replyTo,
    expiration: p.expiration,
    messageId: p.messageId,
    timestamp: p.timestamp,
    type: p.type,
    appId: p.appId,
    ...(p.userId === targetUser ? { userId: p.userId } : {}),
  };
  for (const [key, value] of Object.entries(copy)) {
    if (value !== undefined && value !== null) (options as Record<string, unknown>)[key] = value;
  }
  return options;
}
