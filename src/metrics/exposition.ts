/**
 * A small writer of Prometheus' text exposition format 0.0.4: `# HELP` and `# TYPE` lines, then
 * the family's samples, with label values escaped (backslash, double quote, newline) and numbers
 * written as Prometheus reads them (NaN, +Inf, -Inf). Families are written whole, one after
 * another, as the format requires.
 */

/** The Content-Type of a scrape's answer. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'untyped';

export type Labels = Readonly<Record<string, string | number>>;

const NEEDS_ESCAPE = /[\\"\n]/;
const escapeLabelValue = (value: string) =>
  NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

export function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  let text = '';
  for (const name in labels) {
    text += `${text === '' ? '' : ','}${name}="${escapeLabelValue(String(labels[name]))}"`;
  }
  return text === '' ? '' : `{${text}}`;
}

/** A number as the format writes it; integers (nearly every sample) take the short path. */
export function sampleValue(value: number): string {
  return Number.isInteger(value) ? `${value}` : formatValue(value);
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const MINUS = 0x2d;
const ZERO = 0x30;

/** Bytes of a segment the writer fills before starting the next (the exposition is a list of them). */
const SEGMENT_BYTES = 64 * 1024;

export class ExpositionWriter {
  /**
   * The exposition as UTF-8 pieces in order, never one megabyte string: segments this writer
   * filled, and pieces shared with earlier scrapes (shared(); queue-series.ts caches slices of
   * per-queue samples). A segment is never written again once a piece of it is handed out, so
   * pieces can be cached and written to sockets as they are. Per-object samples are copied from
   * cached label bytes and their values written as digits (sampleBytes): a sample allocates
   * nothing.
   */
  private readonly parts: Buffer[] = [];
  private partsBytes = 0;
  private buffer = Buffer.allocUnsafe(SEGMENT_BYTES);
  /** Start of the bytes written into `buffer` that are not yet in `parts`. */
  private start = 0;
  private length = 0;
  /** Inside beginPiece()/endPiece(): the pending bytes must stay contiguous. */
  private inPiece = false;
  private readonly families = new Set<string>();
  private current: string | undefined;
  private currentBytes: Uint8Array = new Uint8Array(0);

  /** Starts a family: its HELP and TYPE lines. A name may be started once per exposition. */
  family(name: string, type: MetricType, help: string): this {
    if (this.families.has(name)) throw new Error(`metric family ${name} written twice`);
    this.families.add(name);
    this.current = name;
    this.currentBytes = Buffer.from(name, 'utf8');
    this.writeString(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
    return this;
  }

  /** A sample of the family last started. */
  sample(value: number, labels?: Labels): this {
    return this.sampleLabelled(value, formatLabels(labels));
  }

  /**
   * A sample whose labels are already formatted (formatLabels): many families share one object's
   * labels, formatted once.
   */
  sampleLabelled(value: number, labelText: string): this {
    if (this.current === undefined) throw new Error('sample() before family()');
    this.writeString(`${this.current}${labelText} ${formatValue(value)}\n`);
    return this;
  }

  /** A sample whose formatted labels are cached as UTF-8 bytes (labelBytes()): the hot path. */
  sampleBytes(value: number, labels: Uint8Array): this {
    if (this.current === undefined) throw new Error('sample() before family()');
    const name = this.currentBytes;
    this.reserve(name.length + labels.length + 24);
    this.copy(name);
    this.copy(labels);
    this.buffer[this.length++] = SPACE;
    if (Number.isSafeInteger(value)) this.writeInteger(value);
    else this.writeString(formatValue(value));
    this.buffer[this.length++] = NEWLINE;
    return this;
  }

  /** A family with a single unlabelled sample. */
  single(name: string, type: MetricType, help: string, value: number, labels?: Labels): this {
    return this.family(name, type, help).sample(value, labels);
  }

  /**
   * Starts a piece: the bytes written until endPiece() come back as one Buffer that stays valid
   * (and unchanged) after this scrape, for a cache to share with the next one.
   */
  beginPiece(): void {
    this.flush();
    this.inPiece = true;
  }

  endPiece(): Buffer {
    this.inPiece = false;
    const piece = this.buffer.subarray(this.start, this.length);
    this.flush();
    return piece;
  }

  /** Appends a piece from an earlier scrape (endPiece()) without copying it. */
  shared(piece: Buffer): this {
    this.flush();
    this.parts.push(piece);
    this.partsBytes += piece.length;
    return this;
  }

  /** The exposition as UTF-8 pieces, in order, to be written one after another (no copy). */
  chunks(): Buffer[] {
    this.flush();
    return this.parts;
  }

  /** Bytes written so far. */
  get sizeBytes(): number {
    return this.partsBytes + this.length - this.start;
  }

  /** The exposition as UTF-8 in one buffer. */
  bytes(): Buffer {
    const parts = this.chunks();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.partsBytes);
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  /** Moves the pending bytes into `parts`. */
  private flush(): void {
    if (this.length === this.start) return;
    this.parts.push(this.buffer.subarray(this.start, this.length));
    this.partsBytes += this.length - this.start;
    this.start = this.length;
  }

  /**
   * Room for `bytes` more; a new segment when the current one is full (a piece in progress moves
   * to it whole, so it stays one Buffer).
   */
  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const pending = this.inPiece ? this.length - this.start : 0;
    if (!this.inPiece) this.flush();
    const next = Buffer.allocUnsafe(Math.max(SEGMENT_BYTES, 2 * (pending + bytes)));
    if (pending > 0) this.buffer.copy(next, 0, this.start, this.length);
    this.buffer = next;
    this.start = 0;
    this.length = pending;
  }

  private writeString(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** Short copies in a loop: cheaper than a native call for a few dozen bytes. */
  private copy(bytes: Uint8Array): void {
    const buffer = this.buffer;
    let at = this.length;
    if (bytes.length > 64) buffer.set(bytes, at);
    else for (let i = 0; i < bytes.length; i++) buffer[at + i] = bytes[i]!;
    at += bytes.length;
    this.length = at;
  }

  private writeInteger(value: number): void {
    const buffer = this.buffer;
    let n = value;
    if (n < 0) {
      buffer[this.length++] = MINUS;
      n = -n;
    }
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.length + digits - 1;
    do {
      buffer[at--] = ZERO + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
    this.length += digits;
  }
}

/** Formatted labels as UTF-8, for sampleBytes (cache them with the object they label). */
export function labelBytes(labels: Labels): Uint8Array {
  return Buffer.from(formatLabels(labels), 'utf8');
}
