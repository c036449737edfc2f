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

/** Size of the last exposition written: the next starts with room for it (no regrowth). */
let lastSizeBytes = 64 * 1024;

export class ExpositionWriter {
  /**
   * The exposition as UTF-8 in one buffer, pre-sized from the last scrape: a scrape of 10,000
   * queues is megabytes. Per-object samples are copied from cached label bytes and their values
   * written as digits (sampleBytes), so a sample allocates nothing.
   */
  private buffer = Buffer.allocUnsafe(lastSizeBytes);
  private length = 0;
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

  /** The exposition as UTF-8 (a view of the writer's buffer). */
  bytes(): Buffer {
    lastSizeBytes = Math.max(64 * 1024, Math.ceil(this.length * 1.1));
    return this.buffer.subarray(0, this.length);
  }

  text(): string {
    return this.buffer.toString('utf8', 0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
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
