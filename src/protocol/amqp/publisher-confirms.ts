import type { DurabilityBarrier } from '../../core/durability.js';
import type { AmqpStats } from '../../core/stats.js';
import { encodeMethodFrame } from './codec/index.js';

/**
 * Publisher confirms for one channel in confirm mode. They are batched: every publish in one turn
 * of input is confirmed with one basic.ack (multiple=true), and a publish a queue refused
 * (overflow reject-publish) gets its own basic.nack. A batch that wrote persistent messages waits
 * for the durability barrier; batches after it wait too, so confirms never overtake each other.
 */
export class PublisherConfirms {
  private publishSequence = 0;
  /** Highest sequence number published in the batch being collected. */
  private batchUpTo = 0;
  private batchNeedsDisk = false;
  /** Publishes of the batch being collected that a queue refused. */
  private batchNacks: number[] = [];
  private flushScheduled = false;
  /** Highest sequence number acked or nacked so far. */
  private confirmedUpTo = 0;
  /** Batches waiting on the durability barrier; later batches queue behind them. */
  private awaitingDisk = 0;

  constructor(
    private readonly channelId: number,
    private readonly durability: DurabilityBarrier,
    private readonly send: (frame: Buffer) => void,
    /** False once the channel is closing: confirms still in flight are dropped. */
    private readonly isOpen: () => boolean,
    /** Counts the publishes confirmed with basic.ack (rabbitmq_global_messages_confirmed_total). */
    private readonly stats?: AmqpStats,
  ) {}

  /** Publishes not yet acked or nacked (the management API's messages_unconfirmed). */
  get unconfirmed(): number {
    return this.publishSequence - this.confirmedUpTo;
  }

  /** Records the outcome of the next publish. */
  published(needsDisk: boolean, rejected: boolean): void {
    const sequence = ++this.publishSequence;
    this.batchUpTo = sequence;
    if (needsDisk) this.batchNeedsDisk = true;
    if (rejected) this.batchNacks.push(sequence);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const upTo = this.batchUpTo;
    const nacks = this.batchNacks;
    this.batchNacks = [];
    const viaDisk = this.batchNeedsDisk || this.awaitingDisk > 0;
    this.batchNeedsDisk = false;
    if (!viaDisk) {
      this.sendConfirms(upTo, nacks);
      return;
    }
    this.awaitingDisk++;
    this.durability.afterDurable(() => {
      this.awaitingDisk--;
      this.sendConfirms(upTo, nacks);
    });
  }

  /** Confirms everything up to `upTo`: acks in runs (multiple=true), a nack for each refused one. */
  private sendConfirms(upTo: number, nacks: readonly number[]): void {
    if (!this.isOpen()) return;
    for (const nack of nacks) {
      if (nack - 1 > this.confirmedUpTo) this.ack(nack - 1);
      // The nack itself is not a confirm: ack() counts from confirmedUpTo.
      this.send(
        encodeMethodFrame(this.channelId, {
          method: 'basic.nack',
          deliveryTag: nack,
          multiple: false,
          requeue: false,
        }),
      );
      this.confirmedUpTo = nack;
    }
    if (upTo > this.confirmedUpTo) {
      this.ack(upTo);
      this.confirmedUpTo = upTo;
    }
  }

  private ack(upTo: number): void {
    if (this.stats) this.stats.messagesConfirmed += upTo - this.confirmedUpTo;
    this.send(encodeMethodFrame(this.channelId, { method: 'basic.ack', deliveryTag: upTo, multiple: true }));
  }
}
