// What a differential scenario uses to talk to a broker and write down what it saw: a session with
// unique names and cleanup, message and error records, deliveries collected per consumer, confirms.
// Everything recorded here must be plain JSON, so the two brokers' records compare with deepStrictEqual.
import { randomBytes } from 'node:crypto';
import {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  connect,
  type Message,
  type Options,
} from 'amqplib';

/** A JSON-comparable record of what the client observed. */
export type Observation = { [key: string]: unknown };

/** Every run's names start with this and a random part; the harness replaces both with `<run>`. */
export const NAME_PREFIX = 'diff';
export const RUN_NAME_PATTERN = /diff-[0-9a-f]{12}/g;

/** Generous: long enough for a busy CI machine, short enough that a missing feature fails in seconds. */
export const WAIT_MS = 8000;

/** A channel or connection close as the client saw it. */
export interface CloseRecord {
  code: number;
  text: string;
  /** The method that caused a channel close (class, method), as the close frame names it. */
  method?: [number, number];
}

export function closeRecord(error: unknown): CloseRecord {
  const e = error as Error & { code?: number; classId?: number; methodId?: number };
  const text = /with message "(.*)"$/s.exec(e.message)?.[1] ?? e.message;
  const record: CloseRecord = { code: e.code ?? -1, text };
  if (e.classId !== undefined && e.methodId !== undefined) record.method = [e.classId, e.methodId];
  return record;
}

/** 'ok', or how the operation failed. */
export async function outcome(operation: Promise<unknown>): Promise<'ok' | CloseRecord> {
  try {
    await operation;
    return 'ok';
  } catch (error) {
    return closeRecord(error);
  }
}

export type TrackedChannel<C extends Channel = Channel> = C & { errors: CloseRecord[] };
export type TrackedConnection = ChannelModel & { errors: CloseRecord[] };

/** A message as the client saw it: body, delivery fields and every property that was set. */
export function messageRecord(message: Message | null): Observation {
  if (!message) return { cancelledByServer: true };
  const fields = message.fields as Message['fields'] & { replyCode?: number; replyText?: string };
  const record: Observation = { body: message.content.toString() };
  for (const key of [
    'replyCode',
    'replyText',
    'consumerTag',
    'deliveryTag',
    'redelivered',
    'exchange',
    'routingKey',
    'messageCount',
  ] as const) {
    if (fields[key] !== undefined) record[key] = fields[key];
  }
  const properties: Observation = {};
  for (const [key, value] of Object.entries(message.properties)) {
    if (value !== undefined) properties[key] = value;
  }
  record.properties = properties;
  return record;
}

/** Deliveries to one consumer, in arrival order; waits never throw, they note the shortfall. */
export class Inbox {
  readonly messages: Array<ConsumeMessage | null> = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly handler = (message: ConsumeMessage | null): void => {
    this.messages.push(message);
    this.waiters = this.waiters.filter((w) => {
      if (this.messages.length < w.count) return true;
      w.resolve();
      return false;
    });
  };

  /** Waits until `count` deliveries in total have arrived; false if they did not within WAIT_MS. */
  async waitFor(count: number, ms = WAIT_MS): Promise<boolean> {
    if (this.messages.length >= count) return true;
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<boolean>((resolve) => {
      this.waiters.push({ count, resolve: () => resolve(true) });
      timer = setTimeout(() => resolve(false), ms);
    });
    return arrived.finally(() => clearTimeout(timer));
  }

  records(): Observation[] {
    return this.messages.map(messageRecord);
  }

  bodies(): string[] {
    return this.messages.map((m) => (m ? m.content.toString() : '<cancelled>'));
  }
}

/**
 * One scenario run against one broker: a connection, unique names under a random prefix, and
 * cleanup of every queue and exchange it declared. `notes` collects what went wrong in a way the
 * client can see (a wait that timed out), and becomes part of the observation.
 */
export class Session {
  readonly prefix = `${NAME_PREFIX}-${randomBytes(6).toString('hex')}`;
  readonly notes: string[] = [];
  private readonly connections: ChannelModel[] = [];
  private readonly queues = new Set<string>();
  private readonly exchanges = new Set<string>();
  private adminChannel: Channel | undefined;

  constructor(readonly url: string) {}

  name(suffix: string): string {
    return `${this.prefix}-${suffix}`;
  }

  async connect(): Promise<TrackedConnection> {
    const conn = (await connect(this.url)) as TrackedConnection;
    conn.errors = [];
    conn.on('error', (error: unknown) => conn.errors.push(closeRecord(error)));
    this.connections.push(conn);
    return conn;
  }

  private mainConnection: Promise<TrackedConnection> | undefined;

  /** The session's first connection, opened on first use. */
  connection(): Promise<TrackedConnection> {
    this.mainConnection ??= this.connect();
    return this.mainConnection;
  }

  /** A channel whose server-side closes are recorded in `errors` instead of thrown. */
  async channel(conn?: ChannelModel): Promise<TrackedChannel> {
    const ch = (await (conn ?? (await this.connection())).createChannel()) as TrackedChannel;
    ch.errors = [];
    ch.on('error', (error: unknown) => ch.errors.push(closeRecord(error)));
    return ch;
  }

  async confirmChannel(conn?: ChannelModel): Promise<TrackedChannel<ConfirmChannel>> {
    const ch = (await (
      conn ?? (await this.connection())
    ).createConfirmChannel()) as TrackedChannel<ConfirmChannel>;
    ch.errors = [];
    ch.on('error', (error: unknown) => ch.errors.push(closeRecord(error)));
    return ch;
  }

  /** The channel declarations go through; reopened if a scenario got it closed. */
  async admin(): Promise<Channel> {
    if (!this.adminChannel) {
      const ch = await this.channel();
      ch.on('close', () => {
        if (this.adminChannel === ch) this.adminChannel = undefined;
      });
      this.adminChannel = ch;
    }
    return this.adminChannel;
  }

  /** Declares `<prefix>-<suffix>` and deletes it at the end. */
  async queue(suffix: string, options: Options.AssertQueue = {}): Promise<string> {
    const name = this.name(suffix);
    this.queues.add(name);
    await (await this.admin()).assertQueue(name, options);
    return name;
  }

  async exchange(suffix: string, type: string, options: Options.AssertExchange = {}): Promise<string> {
    const name = this.name(suffix);
    this.exchanges.add(name);
    await (await this.admin()).assertExchange(name, type, options);
    return name;
  }

  /** Remembers a name a scenario declares itself (perhaps expecting an error), for cleanup. */
  track(kind: 'queue' | 'exchange', name: string): string {
    (kind === 'queue' ? this.queues : this.exchanges).add(name);
    return name;
  }

  async bind(queue: string, exchange: string, key = '', args?: Record<string, unknown>): Promise<void> {
    await (await this.admin()).bindQueue(queue, exchange, key, args);
  }

  /** Starts a consumer and returns its inbox; the consumer tag is given so both brokers match. */
  async consume(ch: Channel, queue: string, tag: string, options: Options.Consume = {}): Promise<Inbox> {
    const inbox = new Inbox();
    await ch.consume(queue, inbox.handler, { consumerTag: tag, ...options });
    return inbox;
  }

  /** Waits for `count` deliveries; a shortfall becomes a note in the observation. */
  async waitFor(inbox: Inbox, count: number, what: string, ms = WAIT_MS): Promise<boolean> {
    const ok = await inbox.waitFor(count, ms);
    if (!ok)
      this.notes.push(`timed out waiting for ${count} deliveries ${what} (have ${inbox.messages.length})`);
    return ok;
  }

  /** Polls `check` until it returns true, for state with no event to wait on (a queue expiring). */
  async until(check: () => Promise<boolean>, what: string, ms = WAIT_MS): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.notes.push(`timed out waiting for ${what}`);
    return false;
  }

  /** Closes every connection, then deletes every queue and exchange the session declared. */
  async close(): Promise<void> {
    for (const conn of this.connections) await conn.close().catch(() => {});
    if (this.queues.size === 0 && this.exchanges.size === 0) return;
    const conn = await connect(this.url);
    conn.on('error', () => {});
    let ch: Channel | undefined;
    const fresh = async (): Promise<Channel> => {
      if (!ch) {
        const opened = await conn.createChannel();
        opened.on('error', () => {});
        opened.on('close', () => {
          if (ch === opened) ch = undefined;
        });
        ch = opened;
      }
      return ch;
    };
    for (const queue of this.queues) await (await fresh()).deleteQueue(queue).catch(() => {});
    for (const exchange of this.exchanges) await (await fresh()).deleteExchange(exchange).catch(() => {});
    await conn.close().catch(() => {});
  }
}

/** Runs `body` in a fresh session and always cleans up; notes (timeouts) join the observation. */
export async function withSession(
  url: string,
  body: (session: Session) => Promise<Observation>,
): Promise<Observation> {
  const session = new Session(url);
  try {
    const observation = await body(session);
    if (session.notes.length > 0) observation.notes = session.notes;
    return observation;
  } finally {
    await session.close();
  }
}

/** Every ready message of `queue`, taken with basic.get (no-ack), as records in order. */
export async function drain(ch: Channel, queue: string): Promise<Observation[]> {
  const records: Observation[] = [];
  for (let i = 0; i < 1000; i++) {
    const message = await ch.get(queue, { noAck: true });
    if (message === false) return records;
    records.push(messageRecord(message));
  }
  throw new Error(`queue ${queue} did not run dry after 1000 messages`);
}

/** The bodies of every ready message of `queue`, in order. */
export async function drainBodies(ch: Channel, queue: string): Promise<string[]> {
  return (await drain(ch, queue)).map((r) => r.body as string);
}

/** Publishes on a confirm channel; resolves with how the broker confirmed it. */
export function publishConfirmed(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: string,
  options: Options.Publish = {},
): Promise<'ack' | 'nack'> {
  return new Promise((resolve) => {
    ch.publish(exchange, routingKey, Buffer.from(body), options, (error) => resolve(error ? 'nack' : 'ack'));
  });
}

/** Two RPCs on the channel: every delivery the broker sent before answering the first has arrived. */
export async function settle(ch: Channel, queue: string): Promise<void> {
  await ch.checkQueue(queue);
  await ch.checkQueue(queue);
}

/** message-count and consumer-count from a passive declare. */
export async function counts(ch: Channel, queue: string): Promise<{ messages: number; consumers: number }> {
  const ok = await ch.checkQueue(queue);
  return { messages: ok.messageCount, consumers: ok.consumerCount };
}
