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

const escapeLabelValue = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
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
  private readonly chunks: string[] = [];
  private readonly written = new Set<string>();
  private current: string | undefined;

  /** Starts a family: its HELP and TYPE lines. A name may be started once per exposition. */
  family(name: string, type: MetricType, help: string): this {
    if (this.written.has(name)) throw new Error(`metric family ${name} written twice`);
    this.written.add(name);
    this.current = name;
    this.chunks.push(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
    return this;
  }

  /** A sample of the family last started. */
  sample(value: number, labels?: Labels): this {
    if (this.current === undefined) throw new Error('sample() before family()');
    this.chunks.push(`${this.current}${formatLabels(labels)} ${formatValue(value)}\n`);
    return this;
  }

  /** A family with a single unlabelled sample. */
  single(name: string, type: MetricType, help: string, value: number, labels?: Labels): this {
    return this.family(name, type, help).sample(value, labels);
  }

  text(): string {
    return this.chunks.join('');
  }
}
