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

export class ExpositionWriter {
  /**
   * The exposition so far, as UTF-8 in a buffer that doubles when full: a scrape of 10,000 queues
   * is megabytes, and one string per line would be garbage for the collector.
   */
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private length = 0;
  private readonly families = new Set<string>();
  private current: string | undefined;

  /** Starts a family: its HELP and TYPE lines. A name may be started once per exposition. */
  family(name: string, type: MetricType, help: string): this {
    if (this.families.has(name)) throw new Error(`metric family ${name} written twice`);
    this.families.add(name);
    this.current = name;
    this.write(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
    return this;
  }

  /** A sample of the family last started. */
  sample(value: number, labels?: Labels): this {
    return this.sampleLabelled(value, formatLabels(labels));
  }

  /**
   * A sample whose labels are already formatted (formatLabels): many families share one object's
   * labels, formatted once per scrape.
   */
  sampleLabelled(value: number, labelText: string): this {
    if (this.current === undefined) throw new Error('sample() before family()');
    this.write(this.current);
    if (labelText !== '') this.write(labelText);
    this.write(' ');
    this.write(formatValue(value));
    this.write('\n');
    return this;
  }

  private write(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.length + text.length * 3 > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + text.length * 3));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** A family with a single unlabelled sample. */
  single(name: string, type: MetricType, help: string, value: number, labels?: Labels): this {
    return this.family(name, type, help).sample(value, labels);
  }

  /** The exposition as UTF-8 (a view of the writer's buffer). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  text(): string {
    return this.buffer.toString('utf8', 0, this.length);
  }
}
