// Load generator using amqplib the way an ordinary application would:
// channel.sendToQueue per message (honouring its `false` / 'drain'
// backpressure), a ConfirmChannel with a window of unconfirmed publishes for
// the persistent workload, and channel.consume with prefetch and multiple acks.

import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { OpenLoopSchedule } from './open-loop.js';
import { LoadRunnerBase } from './runner-base.js';
import { nowNs, Pacer, type RunConfig, type RunStats, withTimeout } from './stats.js';

type Amqplib = typeof import('amqplib');

async function loadAmqplib(): Promise<Amqplib> {
  const mod = (await import('amqplib')) as Amqplib & { default?: Amqplib };
  return mod.default ?? mod;
}

/** Messages published per event-loop turn before yielding. */
const PUBLISH_BURST = 256;

class AmqplibPublisher {
  model!: ChannelModel;
  private ch!: Channel | ConfirmChannel;
  private running = false;
  private waitingDrain = false;
  private scheduled = false;
  private blocked = false;
  private unconfirmed = 0;
  private template: Buffer;
  private pacer: Pacer;
  private readonly schedule: OpenLoopSchedule | null;

  constructor(
    private readonly amqp: Amqplib,
    private readonly cfg: RunConfig,
    private readonly stats: RunStats,
    private readonly onError: (err: Error) => void,
  ) {
    this.template = Buffer.alloc(cfg.size, 0x61);
    this.pacer = new Pacer(cfg.openLoop ? 0 : cfg.rate / cfg.publishers);
    this.schedule = cfg.openLoop && cfg.rate > 0 ? new OpenLoopSchedule(cfg.rate / cfg.publishers) : null;
  }

  async setup(): Promise<void> {
    this.model = await this.amqp.connect(this.cfg.url);
    this.model.on('error', (err: Error) => this.onError(err));
    this.model.on('close', (err?: Error) => {
      if (this.running) this.onError(err ?? new Error('connection closed'));
      this.running = false;
    });
    this.model.on('blocked', () => {
      this.blocked = true;
      this.stats.blocked = true;
    });
    this.model.on('unblocked', () => {
      this.blocked = false;
      this.stats.blocked = false;
      this.pump();
    });
    this.ch =
      this.cfg.workload === 'persistent'
        ? await this.model.createConfirmChannel()
        : await this.model.createChannel();
    this.ch.on('error', (err: Error) => this.onError(err));
    this.ch.on('drain', () => {
      this.waitingDrain = false;
      this.pump();
    });
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

  pump(): void {
    if (!this.running || this.waitingDrain || this.blocked || this.scheduled) return;
    const cfg = this.cfg;
    const stats = this.stats;
    const persistent = cfg.workload === 'persistent';
    const ts = nowNs();
    const schedule = this.schedule;
    let burst = PUBLISH_BURST;
    if (this.pacer.enabled || schedule) {
      burst = Math.min(burst, schedule ? schedule.due(ts) : this.pacer.allowance());
      if (burst <= 0) {
        this.scheduled = true;
        setTimeout(() => {
          this.scheduled = false;
          this.pump();
        }, 1);
        return;
      }
    }
    for (let i = 0; i < burst; i++) {
      if (cfg.maxOutstanding > 0 && stats.outstanding >= cfg.maxOutstanding) return;
      if (persistent && this.unconfirmed >= cfg.confirmWindow) return;
      this.pacer.sentMessages(1);
      const body = Buffer.allocUnsafe(cfg.size);
      this.template.copy(body);
      // open loop: the time the message was due, not the time it went out
      body.writeDoubleBE(schedule ? schedule.take(1) : ts, 0);
      let ok: boolean;
      if (persistent) {
        this.unconfirmed++;
        ok = (this.ch as ConfirmChannel).sendToQueue(cfg.queue, body, { deliveryMode: 2 }, (err) => {
          this.unconfirmed--;
          if (err) stats.nacked++;
          else stats.confirmed++;
          this.pump();
        });
      } else {
        ok = this.ch.sendToQueue(cfg.queue, body, { deliveryMode: 1 });
      }
      stats.published++;
      stats.noteOutstanding();
      if (!ok) {
        this.waitingDrain = true;
        return;
      }
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  async close(): Promise<void> {
    await withTimeout(
      this.model.close().catch(() => undefined),
      3000,
    );
  }
}

class AmqplibConsumer {
  model!: ChannelModel;
  private ch!: Channel;
  private sinceAck = 0;
  private last: ConsumeMessage | null = null;
  private active = true;

  constructor(
    private readonly amqp: Amqplib,
    private readonly cfg: RunConfig,
    private readonly stats: RunStats,
    private readonly onProgress: () => void,
    private readonly onError: (err: Error) => void,
  ) {}

  async setup(): Promise<void> {
    this.model = await this.amqp.connect(this.cfg.url);
    this.model.on('error', (err: Error) => this.onError(err));
    this.model.on('close', (err?: Error) => {
      if (this.active) this.onError(err ?? new Error('connection closed'));
    });
    this.ch = await this.model.createChannel();
    this.ch.on('error', (err: Error) => this.onError(err));
    await this.ch.prefetch(this.cfg.prefetch);
    const ackEvery = this.cfg.ackEvery;
    await this.ch.consume(this.cfg.queue, (msg) => {
      if (msg === null) {
        if (this.active) this.onError(new Error('consumer cancelled by the server'));
        return;
      }
      const content = msg.content;
      this.stats.onConsumed(content.length >= 8 ? content.readDoubleBE(0) : 0, nowNs());
      this.last = msg;
      if (++this.sinceAck >= ackEvery) {
        this.ch.ack(msg, true);
        this.sinceAck = 0;
        this.last = null;
      }
      this.onProgress();
    });
  }

  stop(): void {
    this.active = false;
    if (this.last) {
      try {
        this.ch.ack(this.last, true);
      } catch {
        // channel already closed
      }
      this.last = null;
    }
  }

  async close(): Promise<void> {
    await withTimeout(
      this.model.close().catch(() => undefined),
      3000,
    );
  }
}

export class AmqplibRunner extends LoadRunnerBase<AmqplibPublisher, AmqplibConsumer> {
  private control: ChannelModel | null = null;
  private controlCh: Channel | null = null;

  async setup(): Promise<void> {
    const amqp = await loadAmqplib();
    this.control = await amqp.connect(this.cfg.url);
    this.control.on('error', () => undefined);
    this.controlCh = await this.control.createChannel();
    this.controlCh.on('error', () => undefined);
    await this.controlCh.assertQueue(this.cfg.queue, {
      durable: this.cfg.workload === 'persistent',
      autoDelete: false,
    });
    await this.addWorkers(
      () => new AmqplibConsumer(amqp, this.cfg, this.stats, this.wake, this.fail),
      () => new AmqplibPublisher(amqp, this.cfg, this.stats, this.fail),
    );
  }

  async teardown(): Promise<void> {
    await Promise.all([
      ...this.publishers.filter((p) => p.model).map((p) => p.close()),
      ...this.consumers.filter((c) => c.model).map((c) => c.close()),
    ]);
    const controlCh = this.controlCh;
    if (controlCh) await this.deleteQueueQuietly(() => controlCh.deleteQueue(this.cfg.queue));
    if (this.control)
      await withTimeout(
        this.control.close().catch(() => undefined),
        3000,
      );
  }
}
