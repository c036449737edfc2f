/**
 * The soak's checker for one stream of messages: what the broker acknowledged, what consumers
 * finished (acked, deleted, consumed past), and at the end what a drain still finds. A message the
 * broker acknowledged that is neither finished nor found by the drain is lost (never allowed);
 * a delivery of a finished message is a duplicate (allowed where the protocol is at-least-once, and
 * counted); where order is promised, `ordered` streams check that first deliveries come in send
 * order within each order key (a queue, a partition, a FIFO group).
 */
export interface LedgerSummary {
  readonly name: string;
  readonly acknowledged: number;
  readonly finished: number;
  readonly duplicates: number;
  readonly lost: number;
  readonly reordered: number;
  readonly problems: readonly string[];
}

const MAX_PROBLEMS = 20;

export class Ledger {
  /** Acknowledged by the broker, not yet finished by a consumer. */
  private readonly owed = new Set<string>();
  private acknowledgedCount = 0;
  private readonly finishedIds = new Set<string>();
  /** Delivered at least once: only a first delivery is checked for order (a redelivery of a message
   * whose lease expired, or that was nacked, comes back after later ones, as the protocols allow). */
  private readonly deliveredIds = new Set<string>();
  /** Per order key, the highest sequence number first-delivered so far. */
  private readonly highest = new Map<string, number>();
  duplicates = 0;
  lost = 0;
  reordered = 0;
  readonly problems: string[] = [];

  constructor(
    readonly name: string,
    /** Duplicates break this stream's promise (e.g. a FIFO send stored twice). */
    readonly duplicatesForbidden = false,
  ) {}

  acknowledged(id: string): void {
    this.acknowledgedCount++;
    if (!this.finishedIds.has(id)) this.owed.add(id);
  }

  /**
   * A consumer got `id`; `order` names its order key and sequence number where order is promised.
   * Returns false for a duplicate (already finished).
   */
  delivered(id: string, order?: { key: string; seq: number }): boolean {
    if (this.finishedIds.has(id)) {
      this.duplicates++;
      if (this.duplicatesForbidden) this.problem(`duplicate of ${id}`);
      return false;
    }
    const first = !this.deliveredIds.has(id);
    this.deliveredIds.add(id);
    if (order && first) {
      const highest = this.highest.get(order.key) ?? -1;
      if (order.seq < highest) {
        this.reordered++;
        this.problem(`reordered: ${id} (seq ${order.seq}) after seq ${highest} in ${order.key}`);
      } else this.highest.set(order.key, order.seq);
    }
    return true;
  }

  /** The consumer is done with `id` (acked, deleted, committed past). */
  finished(id: string): void {
    this.finishedIds.add(id);
    this.owed.delete(id);
  }

  /**
   * The consumer asked to finish `id` (an SQS delete, an AMQP ack) and got no answer: the broker may
   * have died after doing it. Not lost if the drain does not find it.
   */
  maybeFinished(id: string): void {
    if (this.owed.delete(id)) this.finishedInFlight++;
  }

  /** Finishes whose answer never came and whose message the drain did not find (allowed). */
  finishedInFlight = 0;

  /** Redelivery is expected for `id` again (nack/requeue, expired lease): not finished after all. */
  isFinished(id: string): boolean {
    return this.finishedIds.has(id);
  }

  get owedCount(): number {
    return this.owed.size;
  }

  /** After a drain that finished everything it found: whatever is still owed is lost. */
  settleLost(context: string): void {
    for (const id of this.owed) {
      this.lost++;
      this.problem(`lost: ${id} (acknowledged, never delivered; ${context})`);
    }
    this.owed.clear();
  }

  problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(`${this.name}: ${text}`);
  }

  summary(): LedgerSummary {
    return {
      name: this.name,
      acknowledged: this.acknowledgedCount,
      finished: this.finishedIds.size,
      duplicates: this.duplicates,
      lost: this.lost,
      reordered: this.reordered,
      problems: this.problems,
    };
  }
}

/** Waits `ms` or until `signal` aborts, whichever is first. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
