import type { Clock, TimerHandle } from '../../core/clock.js';

/**
 * A channel's consumer acknowledgement timeout (RabbitMQ's consumer_timeout): one timer per
 * channel, set for the deadline of its oldest unacked delivery. Acks leave the timer alone; when
 * it fires it looks at the oldest delivery still unacked and either times out or sets itself for
 * that delivery's deadline, so the cost is one timer per channel, not one per message.
 */
export class AckTimeout {
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    /** 0 disables the timeout. */
    readonly timeoutMs: number,
    /** When the oldest unacked delivery was made; undefined when nothing awaits an ack. */
    private readonly oldestDeliveredAtMs: () => number | undefined,
    private readonly onTimeout: () => void,
  ) {}

  /** Call after recording a delivery that awaits an ack. */
  delivered(): void {
    if (this.timeoutMs > 0 && this.timer === undefined) this.arm();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const oldestMs = this.oldestDeliveredAtMs();
    if (oldestMs === undefined) return;
    const delayMs = Math.max(0, oldestMs + this.timeoutMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, delayMs);
  }

  private fire(): void {
    const oldestMs = this.oldestDeliveredAtMs();
    if (oldestMs === undefined) return;
    if (this.clock.now() - oldestMs >= this.timeoutMs) this.onTimeout();
    else this.arm();
  }
}

/** RabbitMQ's reply text (after `PRECONDITION_FAILED - `) for a channel closed by the timeout. */
export function ackTimeoutText(channelId: number, timeoutMs: number): string {
  return `delivery acknowledgement on channel ${channelId} timed out. Timeout value used: ${timeoutMs} ms. This timeout value can be configured, see consumers doc guide to learn more`;
}
