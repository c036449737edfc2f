import { type LoadRunner, type RunConfig, type RunStats, withTimeout } from './stats.js';

interface Publisher {
  setup(): Promise<void>;
  start(): void;
  stop(): void;
  pump(): void;
}

interface Consumer {
  setup(): Promise<void>;
  stop(): void;
}

/**
 * What the raw and amqplib runners share: their publishers and consumers, the first error of the
 * run, coalesced wake-ups of blocked publishers, and a queue delete that warns instead of failing.
 */
export abstract class LoadRunnerBase<P extends Publisher, C extends Consumer> implements LoadRunner {
  error: Error | null = null;
  protected readonly publishers: P[] = [];
  protected readonly consumers: C[] = [];
  private pumpScheduled = false;

  constructor(
    protected readonly cfg: RunConfig,
    protected readonly stats: RunStats,
  ) {}

  abstract setup(): Promise<void>;
  abstract teardown(): Promise<void>;

  protected readonly fail = (err: Error): void => {
    if (!this.error) this.error = err;
  };

  /** Consumers made progress: let blocked publishers continue (coalesced). */
  protected readonly wake = (): void => {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      for (const p of this.publishers) p.pump();
    });
  };

  /** Sets up the consumers first, so the queue drains from the first publish. */
  protected async addWorkers(
    newConsumer: (index: number) => C,
    newPublisher: (index: number) => P,
  ): Promise<void> {
    for (let i = 0; i < this.cfg.consumers; i++) {
      const c = newConsumer(i);
      this.consumers.push(c);
      await c.setup();
    }
    for (let i = 0; i < this.cfg.publishers; i++) {
      const p = newPublisher(i);
      this.publishers.push(p);
      await p.setup();
    }
  }

  start(): void {
    for (const p of this.publishers) p.start();
  }

  async stop(): Promise<void> {
    for (const p of this.publishers) p.stop();
    for (const c of this.consumers) c.stop();
  }

  protected async deleteQueueQuietly(deleteQueue: () => Promise<unknown>): Promise<void> {
    try {
      await withTimeout(deleteQueue(), 10_000);
    } catch (err) {
      process.stderr.write(`warning: could not delete queue ${this.cfg.queue}: ${(err as Error).message}\n`);
    }
  }
}
