/** Scraping helpers for the metrics tests: fetch an endpoint, parse the exposition into samples. */
import assert from 'node:assert/strict';

export interface Scrape {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
  /** `name{a="x",b="y"}` (labels as written) → value. */
  readonly samples: ReadonlyMap<string, number>;
  /** name → its `# TYPE`. */
  readonly types: ReadonlyMap<string, string>;
}

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text, ...parse(text) };
}

export function parse(text: string): Pick<Scrape, 'samples' | 'types'> {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { samples, types };
}

/** The value of one sample, which must be there. */
export function value(s: Scrape, series: string): number {
  const found = s.samples.get(series);
  assert.notEqual(found, undefined, `no sample ${series} in:\n${s.text}`);
  return found!;
}
