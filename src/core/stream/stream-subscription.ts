import type { Stream, StreamReader } from './stream.js';
import type { StreamEntry } from './stream-store.js';

/** Where a subscription sends entries: an AMQP stream consumer (prefetch window, socket room). */
export interface StreamSink {
  /** Whether it can take another entry now. */
  canAccept(): boolean;
  deliver(entry: StreamEntry): void;
}

/** Entries read from the store per read: bounds memory per consumer and per wake-up. */
const READ_BATCH_ENTRIES = 256;
const READ_BATCH_BYTES = 1024 * 1024;

/**
 * A push reader: keeps its own offset and hands entries to a sink while the sink has room,
 * resuming when the stream grows or when the sink frees room (pump()). Entries are read in
 * bounded batches, so a consumer far behind does not pull the stream into memory.
 */
export class StreamSubscription implements StreamReader {
  private pumpScheduled = false;
  private active = true;
  /** Entries read but not yet delivered (the sink ran out of room): pending[pendingIndex ..]. */
  private pending: StreamEntry[] = [];
  private pendingIndex = 0;

  constructor(
    readonly stream: Stream,
    /** The next offset to deliver. */
    public position: number,
    private readonly sink: StreamSink,
    /**
     * One past the last offset it may deliver: what is durable (a reader must never see an entry
     * a crash could take back and a later publish reuse the offset of). Default: the whole stream.
     */
    private readonly readableEnd: () => number = () => stream.nextOffset,
  ) {
    stream.addReader(this);
    this.schedulePump();
  }

  onAppend(): void {
    this.schedulePump();
  }

  /** Delivers after the current batch of protocol input (acks, publishes) has been handled. */
  schedulePump(): void {
    if (this.pumpScheduled || !this.active) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Hands entries to the sink until it is full or the reader has caught up. */
  pump(): void {
    const stream = this.stream;
    while (this.active && this.sink.canAccept()) {
      if (this.pendingIndex >= this.pending.length) {
        // Retention may have dropped what this reader had not read yet: go on at the first kept.
        if (this.position < stream.firstOffset) this.position = stream.firstOffset;
        const readableEnd = this.readableEnd();
        if (this.position >= readableEnd) return;
        this.pending = stream.readFrom(this.position, READ_BATCH_ENTRIES, READ_BATCH_BYTES);
        // Entries reaching past the readable end wait for the commit that makes them durable.
        let keep = this.pending.length;
        while (keep > 0 && this.pending[keep - 1]!.offset + this.pending[keep - 1]!.offsetCount > readableEnd)
          keep--;
        this.pending.length = keep;
        this.pendingIndex = 0;
        if (this.pending.length === 0) return;
      }
      const entry = this.pending[this.pendingIndex++]!;
      const end = entry.offset + entry.offsetCount;
      if (end <= this.position) continue;
      this.position = end;
      this.sink.deliver(entry);
    }
  }

  cancel(): void {
    this.active = false;
    this.pending = [];
    this.stream.removeReader(this);
  }
}
