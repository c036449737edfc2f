// The management benchmark's HTTP client, run as its own process (forked by management-bench.ts)
// so that a request's latency is not stretched by the load generator's event loop, and a
// scraper's CPU is not taken from the load generator: as with a real Prometheus, only the broker
// is shared. Commands arrive over the IPC channel; answers go back the same way.

import { Agent, get } from 'node:http';
import { createGunzip } from 'node:zlib';

/**
 * How the prober reads an answer: `fetch` (undici, web streams, the body collected into one
 * ArrayBuffer: about 30 ms of the prober's CPU for a 9.4 MB list on the 2-core bench machine) or
 * `http` (node:http, keep-alive, the body's bytes counted and dropped: what the answer costs the
 * server and the socket, less the client's own reading).
 */
export type ProberClient = 'fetch' | 'http';

export type ProberCommand =
  | {
      type: 'latency';
      endpoints: [name: string, url: string][];
      seconds: number;
      authorization: string;
      client: ProberClient;
      /** Ask for gzip and decode it (else Accept-Encoding: identity); sizes are the decoded bytes. */
      gzip: boolean;
      /**
       * A round (every endpoint once, one after another) starts every `roundIntervalMs`, as a
       * dashboard and a scraper refresh on a timer; 0 starts the next round as soon as one ends
       * (a closed loop: the broker always has one of these answers in hand).
       */
      roundIntervalMs: number;
    }
  | { type: 'scrape'; urls: string[]; intervalMs: number; authorization: string }
  | { type: 'stop-scrape' };

export type ProberAnswer =
  | {
      type: 'latency-done';
      samplesMs: Record<string, number[]>;
      sizesBytes: Record<string, number>;
      /** Rounds that started late because the one before ran past its interval. */
      lateRounds: number;
      /** Each endpoint's first answer (caches cold, code not yet optimized), made before the timed rounds. */
      firstMs: Record<string, number>;
    }
  | { type: 'scrape-stopped'; scrapes: number; error?: string };

async function timedGet(
  url: string,
  authorization: string,
  gzip = false,
): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  // fetch decodes gzip itself; it asks for it unless told otherwise.
  const res = await fetch(url, { headers: { authorization, 'accept-encoding': gzip ? 'gzip' : 'identity' } });
  const body = await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return { ms: performance.now() - started, bytes: body.byteLength };
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function timedHttpGet(
  url: string,
  authorization: string,
  gzip: boolean,
): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers = { authorization, 'accept-encoding': gzip ? 'gzip' : 'identity' };
    get(url, { agent, headers }, (res) => {
      let bytes = 0;
      // A gzip'd answer is decoded as a client would (on the thread pool), its decoded bytes counted.
      const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
      body.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      body.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`));
        else resolve({ ms: performance.now() - started, bytes });
      });
      res.on('error', reject);
      body.on('error', reject);
    }).on('error', reject);
  });
}

const send = (answer: ProberAnswer) => process.send!(answer);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let scraping: Promise<void> | undefined;
let scrapingWanted = false;

async function measureLatency(command: Extract<ProberCommand, { type: 'latency' }>): Promise<void> {
  const samplesMs: Record<string, number[]> = {};
  const sizesBytes: Record<string, number> = {};
  for (const [name] of command.endpoints) samplesMs[name] = [];
  const get = (url: string) =>
    command.client === 'http'
      ? timedHttpGet(url, command.authorization, command.gzip)
      : timedGet(url, command.authorization, command.gzip);
  // One round first, not counted: the first answer of a list fills its caches (every row's JSON).
  const firstMs: Record<string, number> = {};
  for (const [name, url] of command.endpoints) firstMs[name] = (await get(url)).ms;
  const started = performance.now();
  let lateRounds = 0;
  for (let round = 0; performance.now() - started < command.seconds * 1000; round++) {
    if (command.roundIntervalMs > 0) {
      const dueMs = started + round * command.roundIntervalMs;
      const waitMs = dueMs - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      else if (round > 0) lateRounds++;
    }
    for (const [name, url] of command.endpoints) {
      const { ms, bytes } = await get(url);
      samplesMs[name]!.push(ms);
      sizesBytes[name] = bytes;
    }
  }
  send({ type: 'latency-done', samplesMs, sizesBytes, lateRounds, firstMs });
}

async function scrape(command: Extract<ProberCommand, { type: 'scrape' }>): Promise<number> {
  let scrapes = 0;
  while (scrapingWanted) {
    const next = performance.now() + command.intervalMs;
    for (const url of command.urls) await timedGet(url, command.authorization);
    scrapes++;
    while (scrapingWanted && performance.now() < next) await sleep(50);
  }
  return scrapes;
}

process.on('message', (command: ProberCommand) => {
  if (command.type === 'latency') {
    measureLatency(command).catch((error: unknown) => {
      process.stderr.write(`prober: ${String(error)}\n`);
      process.exit(1);
    });
  } else if (command.type === 'scrape') {
    scrapingWanted = true;
    scraping = scrape(command).then(
      (scrapes) => {
        send({ type: 'scrape-stopped', scrapes });
      },
      (error: unknown) => {
        send({ type: 'scrape-stopped', scrapes: 0, error: String(error) });
      },
    );
  } else if (command.type === 'stop-scrape') {
    scrapingWanted = false;
    if (!scraping) send({ type: 'scrape-stopped', scrapes: 0 });
    scraping = undefined;
  }
});
process.on('disconnect', () => process.exit(0));
