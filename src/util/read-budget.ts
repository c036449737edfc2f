/**
 * A per-socket read budget that makes a busy connection yield the event loop.
 *
 * libuv reads a readable socket up to 32 times (64 KiB each) in one poll before it looks at any
 * other, and Node hands each read to JavaScript at once: a publisher with 2 MiB waiting made the
 * broker spend 10-30 ms on that one connection while consumers' acks, other clients and the HTTP
 * API waited behind it (their latency, and a consumer starved of acks ping-ponged with the broker
 * at two-thirds of the rate either side could do). Past `bytesPerTurn` in one turn, the socket is
 * paused and resumed from the check phase (setImmediate) of the same loop iteration, after every
 * other ready socket had its turn; what the kernel holds stays there (TCP backpressure, nothing is
 * dropped). Node reads one more chunk into the paused stream before it stops the handle: that
 * chunk is handed over on resume.
 */
export interface PausableSocket {
  pause(): unknown;
  resume(): unknown;
}

/** Event-loop turns, counted only while some budget is spent (one setImmediate per busy turn). */
let turn = 0;
let turnEndScheduled = false;

function currentTurn(): number {
  if (!turnEndScheduled) {
    turnEndScheduled = true;
    setImmediate(() => {
      turn++;
      turnEndScheduled = false;
    });
  }
  return turn;
}

export class ReadBudget {
  private leftBytes: number;
  private yielding = false;
  private turn = -1;

  constructor(
    private readonly socket: PausableSocket,
    private readonly bytesPerTurn: number,
    /** False while something else holds the socket paused (a blocked publisher) or it closed. */
    private readonly mayResume: () => boolean,
  ) {
    this.leftBytes = bytesPerTurn;
  }

  /** Counts a chunk just handled; past the budget, stops reading until the loop's check phase. */
  spent(bytes: number): void {
    const now = currentTurn();
    if (now !== this.turn) {
      this.turn = now;
      this.leftBytes = this.bytesPerTurn;
    }
    this.leftBytes -= bytes;
    if (this.leftBytes > 0 || this.yielding) return;
    this.yielding = true;
    this.socket.pause();
    setImmediate(() => {
      this.yielding = false;
      if (this.mayResume()) this.socket.resume();
    });
  }
}
