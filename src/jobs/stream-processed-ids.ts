/**
 * A ProcessedIdStore in a broker stream queue, shared by workers on any number of hosts, over
 * standard AMQP 0-9-1 as Pier and RabbitMQ (3.9+) have it: no plugin, no database.
 *
 * Every worker appends the ids it completed to one stream (`x-queue-type: stream`, `x-max-age` =
 * the TTL) with publisher confirms, and tails the stream from `now − TTL` into a local replica
 * (id → expiry). `add()` resolves once the broker confirmed the record, so the worker acks the job
 * only after its completion is durable. A first delivery is checked against the replica as it is;
 * a delivery that may have run before (redelivered, a lost or failed attempt, SQS receive count > 1)
 * is checked after a read barrier: the worker appends a marker to the stream and waits until its own
 * tail reads it. A stream is one ordered log, so every record confirmed before the marker was
 * appended (any host's completion acked before this redelivery existed) is in the replica by then.
 *
 * Records are small JSON bodies: `{"done":[ids],"atMs":n}` (adds made in the same tick share one
 * record) and `{"barrier":"<uuid>"}`. The expiry is taken from the record's `atMs`, not from the
 * broker's retention, which drops whole segments only. All workers sharing a stream must use the
 * same TTL: the broker refuses a redeclaration with another `x-max-age`.
 *
 * No claims: a stream has no compare-and-set, so two copies of one job delivered at once to two
 * hosts (added twice where the broker cannot deduplicate) can both run; docs/jobs.md says so.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { AmqpConnectionOption } from './amqp-connection.js';
import { DEFAULT_PROCESSED_TTL_MS, type HasOptions, type ProcessedIdStore } from './processed-ids.js';

export const DEFAULT_PROCESSED_IDS_STREAM = 'jobs.processed-ids';

export interface StreamProcessedIdsOptions {
  /** An AMQP URL (the store opens, reopens and closes its own connection) or an amqplib connection. */
  readonly connection: AmqpConnectionOption;
  /** The stream queue's name; every worker sharing the store uses the same one. */
  readonly stream?: string;
  /** How long a completed id is remembered (default 24 h); the stream's `x-max-age`. */
  readonly ttlMs?: number;
  /** The replica keeps at most this many ids (default 1,000,000: roughly 100 MB), oldest dropped first. */
  readonly maxEntries?: number;
  /** A read barrier not done after this long fails (default 30 s): the job is then given back. */
  readonly barrierTimeoutMs?: number;
  /** The tail's prefetch (records in flight to this worker; default 1,000). */
  readonly prefetch?: number;
  /** The clock (ms since the epoch) for expiry and the start of the tail; Date.now by default. */
  readonly now?: () => number;
}

/** The tail starts this much earlier than it needs: timestamp starts are placed at chunk level, and clocks differ. */
const START_SLACK_MS = 60_000;
/** At most this many ids in one completion record. */
const MAX_IDS_PER_RECORD = 500;

/** RabbitMQ's refusal of a consumer on a stream whose replica is still starting. */
const STREAM_STARTING = /does not have a replica on the local node/;
const STREAM_START_WAIT_MS = 10_000;

interface Session {
  readonly connection: ChannelModel;
  readonly owned: boolean;
  readonly publisher: ConfirmChannel;
  readonly tail: Channel;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface PendingAdd {
  readonly ids: string[];
  readonly done: Promise<void>;
}

/** amqplib is loaded on first use: piermq/jobs/sqs exports this store without requiring it. */
async function connectTo(
  option: AmqpConnectionOption,
  stream: string,
): Promise<{ connection: ChannelModel; owned: boolean }> {
  if (typeof option !== 'string') return { connection: option, owned: false };
  const amqplib = (await import('amqplib')).default;
  const connection = await amqplib.connect(option, {
    clientProperties: { connection_name: `jobs processed-ids ${stream}` },
  });
  connection.on('error', () => {}); // reported through 'close'
  return { connection, owned: true };
}

/** Publishes a record and resolves once the broker confirmed it. */
function appendConfirmed(channel: ConfirmChannel, stream: string, record: object): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish('', stream, Buffer.from(JSON.stringify(record)), { persistent: true }, (error) => {
      if (!error) resolve();
      else
        reject(
          new Error(
            `the record was not confirmed by stream '${stream}' (${/nack/.test(String(error)) ? 'the broker refused it' : 'the channel closed first'}); the job is given back and checked again`,
          ),
        );
    });
  });
}

/** RabbitMQ's `x-max-age` form: whole seconds (it takes Y, M, D, h, m or s). */
export function maxAgeOf(ttlMs: number): string {
  return `${Math.max(1, Math.ceil(ttlMs / 1000))}s`;
}

export class StreamProcessedIds implements ProcessedIdStore {
  readonly stream: string;
  readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly barrierTimeoutMs: number;
  private readonly prefetch: number;
  private readonly now: () => number;
  /** The replica: id → expiry (ms). Insertion order ≈ record order, so the oldest come first. */
  private readonly expiry = new Map<string, number>();
  /** Barrier markers this store appended and waits to read back. */
  private readonly waiting = new Map<string, Waiter>();
  private session: Promise<Session> | undefined;
  private live: Session | undefined;
  /** When (this clock) the last record was read: a reconnect resumes a minute before it. */
  private lastReadAtMs: number | undefined;
  /** A barrier not yet published: callers arriving meanwhile share it. */
  private queuedBarrier: Promise<void> | undefined;
  /** Adds not yet published: those of one tick go out as one record. */
  private queuedAdd: PendingAdd | undefined;
  private unackedRecord: ConsumeMessage | undefined;
  private closed = false;
  /** Records read (for tests and metrics). */
  recordsRead = 0;

  constructor(private readonly options: StreamProcessedIdsOptions) {
    this.stream = options.stream ?? DEFAULT_PROCESSED_IDS_STREAM;
    this.ttlMs = options.ttlMs ?? DEFAULT_PROCESSED_TTL_MS;
    this.maxEntries = options.maxEntries ?? 1_000_000;
    this.barrierTimeoutMs = options.barrierTimeoutMs ?? 30_000;
    this.prefetch = options.prefetch ?? 1_000;
    this.now = options.now ?? Date.now;
    if (!(this.ttlMs > 0)) throw new RangeError(`ttlMs must be positive, not ${this.ttlMs}`);
  }

  /** Connects, declares the stream, and reads it up to now (workers call this through has/add). */
  async start(): Promise<void> {
    await this.ensure();
  }

  /** Ids in the replica (expired ones may still be counted until they are looked up or trimmed). */
  get size(): number {
    return this.expiry.size;
  }

  async has(jobId: string, options?: HasOptions): Promise<boolean> {
    await this.ensure();
    if (options?.mayHaveRun) await this.barrier();
    return this.known(jobId);
  }

  /** Resolves once the broker confirmed the completion record (and the replica has the id). */
  async add(jobId: string): Promise<void> {
    await this.ensure();
    if (this.closed) throw new Error(`the processed-id store on stream '${this.stream}' is closed`);
    if (!this.queuedAdd || this.queuedAdd.ids.length >= MAX_IDS_PER_RECORD) {
      const ids: string[] = [];
      const done = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          if (this.queuedAdd?.ids === ids) this.queuedAdd = undefined;
          this.publishCompleted(ids).then(resolve, reject);
        });
      });
      this.queuedAdd = { ids, done };
    }
    this.queuedAdd.ids.push(jobId);
    await this.queuedAdd.done;
  }

  private async publishCompleted(ids: string[]): Promise<void> {
    const session = await this.ensure();
    const atMs = this.now();
    await appendConfirmed(session.publisher, this.stream, { done: ids, atMs });
    for (const id of ids) this.remember(id, atMs + this.ttlMs);
  }

  /**
   * Makes the replica current: appends a marker and waits until the tail reads it, so every record
   * confirmed before this call (by any worker) has been read. Concurrent callers share a marker.
   */
  barrier(): Promise<void> {
    if (this.queuedBarrier) return this.queuedBarrier;
    const barrier = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.queuedBarrier = undefined;
        this.ensure()
          .then((session) => this.sendBarrier(session))
          .then(resolve, reject);
      });
    });
    this.queuedBarrier = barrier;
    return barrier;
  }

  private async sendBarrier(session: Session): Promise<void> {
    const marker = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const read = new Promise<void>((resolve, reject) => {
      this.waiting.set(marker, { resolve, reject });
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `the processed-id store did not read its barrier back from stream '${this.stream}' within ${this.barrierTimeoutMs} ms: the broker is slow or the stream's consumer stopped; the job is given back and checked again`,
            ),
          ),
        this.barrierTimeoutMs,
      );
    });
    try {
      await appendConfirmed(session.publisher, this.stream, { barrier: marker });
      await read;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(marker);
    }
  }

  private known(jobId: string): boolean {
    const until = this.expiry.get(jobId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.expiry.delete(jobId);
    return false;
  }

  private remember(jobId: string, untilMs: number): void {
    const nowMs = this.now();
    if (untilMs <= nowMs) return;
    this.expiry.delete(jobId);
    this.expiry.set(jobId, untilMs);
    // Trim from the oldest end: expired ids, then any over maxEntries.
    for (const [oldest, oldestUntil] of this.expiry) {
      if (oldestUntil > nowMs && this.expiry.size <= this.maxEntries) break;
      this.expiry.delete(oldest);
    }
  }

  private ensure(): Promise<Session> {
    if (this.closed)
      return Promise.reject(new Error(`the processed-id store on stream '${this.stream}' is closed`));
    if (!this.session) {
      const session = this.connect();
      this.session = session;
      session.catch(() => {
        if (this.session === session) this.session = undefined;
      });
    }
    return this.session;
  }

  private async connect(): Promise<Session> {
    const { connection, owned } = await connectTo(this.options.connection, this.stream);
    try {
      await this.declare(connection);
      const publisher = await connection.createConfirmChannel();
      publisher.on('error', () => {});
      const session = await this.subscribe(connection, owned, publisher);
      const lost = () => this.lose(session);
      connection.once('close', lost);
      publisher.once('close', lost);
      session.tail.once('close', lost);
      await this.sendBarrier(session); // caught up with everything recorded before now
      return session;
    } catch (error) {
      if (this.live?.connection === connection) this.lose(this.live);
      // Not awaited: amqplib's close() of a connection already closing never settles.
      else if (owned) connection.close().catch(() => {});
      throw error;
    }
  }

  /**
   * Starts the tail. RabbitMQ refuses a consumer on a stream declared a moment ago with 406 "does
   * not have a replica on the local node" until the stream's replica has started (a channel
   * error): then a new channel tries again, for up to STREAM_START_WAIT_MS.
   */
  private async subscribe(
    connection: ChannelModel,
    owned: boolean,
    publisher: ConfirmChannel,
  ): Promise<Session> {
    const deadline = Date.now() + STREAM_START_WAIT_MS;
    for (;;) {
      const tail = await connection.createChannel();
      tail.on('error', () => {});
      const session: Session = { connection, owned, publisher, tail };
      this.live = session; // deliveries may arrive before consume's answer is handled
      try {
        // Stream consumers must set a prefetch (acks move the window; they remove nothing).
        await tail.prefetch(this.prefetch);
        await tail.consume(
          this.stream,
          (message) => {
            if (message) this.read(session, message);
            else this.lose(session); // the broker cancelled the consumer (the stream was deleted)
          },
          { noAck: false, arguments: { 'x-stream-offset': this.startOffset() } },
        );
        return session;
      } catch (error) {
        if (this.live === session) this.live = undefined;
        if (!STREAM_STARTING.test((error as Error).message) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  private async declare(connection: ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      await channel.assertQueue(this.stream, {
        durable: true,
        arguments: { 'x-queue-type': 'stream', 'x-max-age': maxAgeOf(this.ttlMs) },
      });
    } catch (error) {
      throw new Error(
        `could not declare the processed-id stream '${this.stream}' (x-max-age ${maxAgeOf(this.ttlMs)}): ${(error as Error).message}. If it exists with other arguments, every worker must use the same ttlMs (or another stream name); the broker must support stream queues (Pier, RabbitMQ 3.9+)`,
      );
    }
    await channel.close().catch(() => {});
  }

  /**
   * Where the tail starts: at now − TTL, or after a lost connection a minute before the last record
   * read (records read twice are harmless). Not at the next offset: a broker that crashed may have
   * lost the newest entries a reader already saw, and then gives their offsets to new records.
   * Both use the broker's timestamps, hence the slack for clocks that differ (up to a minute).
   */
  private startOffset(): unknown {
    const fromMs =
      this.lastReadAtMs !== undefined
        ? Math.max(this.lastReadAtMs, this.now() - this.ttlMs) - START_SLACK_MS
        : this.now() - this.ttlMs - START_SLACK_MS;
    if (fromMs <= 0) return 'first';
    return { '!': 'timestamp', value: Math.floor(fromMs / 1000) };
  }

  private read(session: Session, message: ConsumeMessage): void {
    if (this.live !== session) return;
    this.lastReadAtMs = this.now();
    this.recordsRead++;
    try {
      const record = JSON.parse(message.content.toString('utf8')) as {
        done?: unknown;
        atMs?: unknown;
        barrier?: unknown;
      };
      if (Array.isArray(record.done) && typeof record.atMs === 'number') {
        for (const id of record.done) if (typeof id === 'string') this.remember(id, record.atMs + this.ttlMs);
      } else if (typeof record.barrier === 'string') this.waiting.get(record.barrier)?.resolve();
    } catch {
      // Not a record of this store (someone else published here): skipped.
    }
    this.acknowledge(session, message);
  }

  /** Acks the records read in one tick with one `multiple` ack. */
  private acknowledge(session: Session, message: ConsumeMessage): void {
    const scheduled = this.unackedRecord !== undefined;
    this.unackedRecord = message;
    if (scheduled) return;
    setImmediate(() => {
      const last = this.unackedRecord;
      this.unackedRecord = undefined;
      if (last && this.live === session) {
        try {
          session.tail.ack(last, true);
        } catch {}
      }
    });
  }

  /** The connection or a channel went away: barriers waiting on it fail; the next call reconnects. */
  private lose(session: Session): void {
    if (this.live !== session) return;
    this.live = undefined;
    this.session = undefined;
    this.unackedRecord = undefined;
    const error = new Error(
      `the processed-id store lost its connection to stream '${this.stream}'; it reconnects on the next job`,
    );
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    if (session.owned) session.connection.close().catch(() => {});
    else {
      session.publisher.close().catch(() => {});
      session.tail.close().catch(() => {});
    }
  }

  /** Stops the tail and closes the connection it opened (the replica is kept, no longer updated). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = this.session;
    this.session = undefined;
    const session = this.live ?? (await pending?.catch(() => undefined));
    if (session) this.lose(session);
  }
}
