// Load generator built on the bench's own minimal AMQP client: pre-encoded
// publish frames written in large batches, multiple=true acks, one connection
// per publisher and per consumer.

import { OpenLoopSchedule } from './open-loop.js';
import { encodePublish, type MessageTemplate, RawConnection } from './raw-client.js';
import { LoadRunnerBase } from './runner-base.js';
import { nowNs, Pacer, type RunConfig, type RunStats } from './stats.js';

const CH = 1;
/** Target bytes per write. */
const BATCH_BYTES = 256 * 1024;
const MAX_BATCH_MSGS = 1000;

class RawPublisher {
  conn!: RawConnection;
  private template!: MessageTemplate;
  /** `batch` copies of the message template back to back. */
  private batchBytes!: Buffer;
  private batch = 1;
  private running = false;
  private waitingDrain = false;
  private scheduled = false;
  private blocked = false;
  // publisher confirms
  private seq = 0;
  private confirmedUpTo = 0;
  private confirmedSingles = new Set<number>();
  private pacer: Pacer;
  private readonly schedule: OpenLoopSchedule | null;

  constructor(
    private readonly cfg: RunConfig,
    private readonly stats: RunStats,
    private readonly index: number,
    private readonly onError: (err: Error) => void,
  ) {
    this.pacer = new Pacer(cfg.openLoop ? 0 : cfg.rate / cfg.publishers);
    this.schedule = cfg.openLoop && cfg.rate > 0 ? new OpenLoopSchedule(cfg.rate / cfg.publishers) : null;
  }

  async setup(): Promise<void> {
    this.conn = await RawConnection.connect(this.cfg.url, `pier-bench raw publisher ${this.index}`);
    this.conn.onClose((err) => {
      if (this.running && err) this.onError(err);
      this.running = false;
    });
    await this.conn.openChannel(CH);
    const persistent = this.cfg.workload === 'persistent';
    if (persistent) await this.conn.confirmSelect(CH);
    this.conn.handlers = {
      onConfirm: (tag, multiple, nack) => this.onConfirm(tag, multiple, nack),
      onBlocked: (b) => {
        this.blocked = b;
        this.stats.blocked = b;
        if (!b) this.pump();
      },
    };
    this.template = encodePublish(
      CH,
      this.cfg.exchange ?? '',
      this.cfg.queue,
      this.cfg.size,
      persistent ? 2 : 1,
      this.conn.frameMax,
    );
    const msgLen = this.template.bytes.length;
    let batch = Math.max(1, Math.min(MAX_BATCH_MSGS, Math.floor(BATCH_BYTES / msgLen)));
    if (persistent) batch = Math.max(1, Math.min(batch, Math.floor(this.cfg.confirmWindow / 4)));
    if (this.cfg.maxOutstanding > 0)
      batch = Math.max(1, Math.min(batch, Math.floor(this.cfg.maxOutstanding / 4)));
    this.batch = batch;
    this.batchBytes = Buffer.allocUnsafe(batch * msgLen);
    for (let i = 0; i < batch; i++) this.template.bytes.copy(this.batchBytes, i * msgLen);
  }

  start(): void {
    this.running = true;
    this.pacer.start();
    this.schedule?.start(nowNs());
    this.pump();
  }

  stop(): void {
    this.running = false;
  }

  private unconfirmed(): number {
    return this.seq - this.confirmedUpTo - this.confirmedSingles.size;
  }

  private onConfirm(tag: number, multiple: boolean, nack: boolean): void {
    let n: number;
    if (multiple) {
      if (tag <= this.confirmedUpTo) return;
      n = tag - this.confirmedUpTo;
      for (const t of this.confirmedSingles) {
        if (t <= tag) {
          this.confirmedSingles.delete(t);
          n--;
        }
      }
      this.confirmedUpTo = tag;
    } else {
      if (tag <= this.confirmedUpTo || this.confirmedSingles.has(tag)) return;
      n = 1;
      if (tag === this.confirmedUpTo + 1) {
        this.confirmedUpTo = tag;
        while (this.confirmedSingles.delete(this.confirmedUpTo + 1)) this.confirmedUpTo++;
      } else {
        this.confirmedSingles.add(tag);
      }
    }
    if (nack) this.stats.nacked += n;
    else this.stats.confirmed += n;
    this.pump();
  }

  /** Write as many batches as the outstanding / confirm caps allow. */
  pump(): void {
    if (!this.running || this.waitingDrain || this.blocked || this.scheduled) return;
    const persistent = this.cfg.workload === 'persistent';
    const msgLen = this.template.bytes.length;
    const tsOff = this.template.bodyOffset;
    const stats = this.stats;
    // Bound the work per turn so consumers sharing the event loop get to run.
    for (let turn = 0; turn < 8; turn++) {
      let n = this.batch;
      if (this.cfg.maxOutstanding > 0) n = Math.min(n, this.cfg.maxOutstanding - stats.outstanding);
      if (persistent) n = Math.min(n, this.cfg.confirmWindow - this.unconfirmed());
      // Capped: wait (for deliveries / confirms, which call pump) until a
      // reasonably sized batch fits rather than dribbling single messages.
      if (n <= 0 || (n < this.batch && n < this.batch / 4)) return;
      const schedule = this.schedule;
      if (this.pacer.enabled || schedule) {
        n = Math.min(n, schedule ? schedule.due(nowNs()) : this.pacer.allowance());
        if (n <= 0) {
          this.scheduled = true;
          setTimeout(() => {
            this.scheduled = false;
            this.pump();
          }, 1);
          return;
        }
        this.pacer.sentMessages(n);
      }
      const out = Buffer.allocUnsafe(n * msgLen);
      this.batchBytes.copy(out, 0, 0, n * msgLen);
      if (schedule) {
        // open loop: each message carries the time it was due, not the time it went out
        const first = schedule.take(n);
        const step = schedule.intervalNs;
        for (let i = 0, o = tsOff; i < n; i++, o += msgLen) out.writeDoubleBE(first + i * step, o);
      } else {
        const ts = nowNs();
        for (let i = 0, o = tsOff; i < n; i++, o += msgLen) out.writeDoubleBE(ts, o);
      }
      this.seq += n;
      stats.published += n;
      stats.noteOutstanding();
      if (!this.conn.send(out)) {
        this.waitingDrain = true;
        this.conn.socket.once('drain', () => {
          this.waitingDrain = false;
          this.pump();
        });
        return;
      }
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }
}

class RawConsumer {
  conn!: RawConnection;
  private lastAcked = 0;
  private lastTag = 0;
  private now = 0;
  private active = true;

  constructor(
    private readonly cfg: RunConfig,
    private readonly stats: RunStats,
    private readonly index: number,
    private readonly onProgress: () => void,
    private readonly onError: (err: Error) => void,
  ) {}

  async setup(): Promise<void> {
    this.conn = await RawConnection.connect(this.cfg.url, `pier-bench raw consumer ${this.index}`);
    this.conn.onClose((err) => {
      if (this.active && err) this.onError(err);
    });
    await this.conn.openChannel(CH);
    await this.conn.qos(CH, this.cfg.prefetch);
    const ackEvery = this.cfg.ackEvery;
    this.conn.handlers = {
      onDelivery: (_ch, tag, sendTs) => {
        if (this.now === 0) this.now = nowNs();
        this.stats.onConsumed(sendTs, this.now);
        this.lastTag = tag;
        if (tag - this.lastAcked >= ackEvery) {
          this.conn.ack(CH, tag, true);
          this.lastAcked = tag;
        }
      },
      onChunkDone: () => {
        // every message in one socket read shares one receive timestamp
        this.now = 0;
        this.onProgress();
      },
    };
    const queues = this.cfg.consumeQueues;
    const queue = queues && queues.length > 0 ? queues[this.index % queues.length] : this.cfg.queue;
    await this.conn.consume(CH, queue, `bench-${this.index}`);
  }

  stop(): void {
    this.active = false;
    if (!this.conn.closed && this.lastTag > this.lastAcked) {
      this.conn.ack(CH, this.lastTag, true);
      this.lastAcked = this.lastTag;
    }
  }
}

export class RawRunner extends LoadRunnerBase<RawPublisher, RawConsumer> {
  private control: RawConnection | null = null;

  async setup(): Promise<void> {
    this.control = await RawConnection.connect(this.cfg.url, 'pier-bench raw control');
    await this.control.openChannel(CH);
    if (!this.cfg.topologyDeclared)
      await this.control.declareQueue(CH, this.cfg.queue, this.cfg.workload === 'persistent');
    await this.addWorkers(
      (i) => new RawConsumer(this.cfg, this.stats, i, this.wake, this.fail),
      (i) => new RawPublisher(this.cfg, this.stats, i, this.fail),
    );
  }

  async teardown(): Promise<void> {
    const conns = [...this.publishers.map((p) => p.conn), ...this.consumers.map((c) => c.conn)].filter(
      (c) => c !== undefined,
    );
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    const control = this.control;
    if (control && !control.closed && !this.cfg.topologyDeclared) {
      await this.deleteQueueQuietly(() => control.deleteQueue(CH, this.cfg.queue));
    }
    if (control && !control.closed) await control.close().catch(() => undefined);
  }
}
