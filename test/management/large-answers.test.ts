// Large answers (the full list of 10,000 queues, ~9 MB; /metrics/per-object) to clients that read
// slowly or leave, and gzip as RabbitMQ 3.10 sends it: on the API port when Accept-Encoding names
// gzip and the body is at least 300 bytes (cowboy_compress_h), `vary` naming accept-encoding; on
// the Prometheus port whenever asked, `content-encoding: identity` otherwise (rabbitmq_prometheus).
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type IncomingMessage, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { exportDefinitions } from '../../src/core/amqp/rabbit-definitions.js';
import { ManualClock } from '../../src/index.js';
import { type BodyEvent, bodyPacing } from '../../src/util/http-body.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const QUEUES = 10_000;
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
/**
 * What a response may keep queued in user space while its client does not read: the broker's
 * limit, the piece written on top (with its chunk framing) and what gzip holds. The list is ~9 MB.
 */
// The broker's pacing, shrunk so that its waits show with answers (5–10 MB) the kernel's socket
// buffers could almost hold whole at the default limit.
bodyPacing.pieceBytes = 128 * 1024;
bodyPacing.queuedLimitBytes = 256 * 1024;
const QUEUED_LIMIT_BYTES = bodyPacing.queuedLimitBytes + 2 * bodyPacing.pieceBytes;

interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/** A GET over node:http (no automatic decompression: the bytes as sent). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { authorization: AUTH, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Body events of responses to `path`, as the broker publishes them (util/http-body.ts). */
function watchBodies(path: string): {
  events: BodyEvent[];
  next(kind: BodyEvent['kind']): Promise<BodyEvent>;
  stop(): void;
} {
  const events: BodyEvent[] = [];
  const waiting: { kind: BodyEvent['kind']; resolve: (e: BodyEvent) => void }[] = [];
  const listener = (message: unknown) => {
    const event = message as BodyEvent;
    if (event.response.req?.url !== path) return;
    events.push(event);
    for (const w of waiting.splice(0)) {
      if (w.kind === event.kind) w.resolve(event);
      else waiting.push(w);
    }
  };
  subscribe('pier:http-body', listener);
  return {
    events,
    next: (kind) => new Promise((resolve) => waiting.push({ kind, resolve })),
    stop: () => unsubscribe('pier:http-body', listener),
  };
}

/**
 * A client that stops reading as soon as the answer starts, until the broker has had to wait for
 * it (or has written everything: a gzip'd list fits the kernel's buffers), then reads to the end:
 * the whole body and the most the broker queued for it meanwhile.
 */
async function readSlowly(url: string, path: string, headers: Record<string, string> = {}) {
  const bodies = watchBodies(path);
  try {
    const firstWait = bodies.next('wait');
    const ended = bodies.next('end');
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = request(`${url}${path}`, { headers: { authorization: AUTH, ...headers } }, (res) => {
        res.pause();
        const chunks: Buffer[] = [];
        Promise.race([firstWait, ended]).then(() => {
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.resume();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    const end = await ended;
    const waits = bodies.events.filter((e) => e.kind === 'wait');
    return { answer, end, waits, maxQueuedBytes: Math.max(0, ...waits.map((e) => e.queuedBytes)) };
  } finally {
    bodies.stop();
  }
}

describe('large answers: backpressure and gzip', () => {
  let broker: TestBroker;
  let api: string;
  let metrics: string;
  before(async () => {
    // A manual clock: no rate sample moves between two listings, so they are byte for byte equal.
    broker = await startTestBroker({
      httpPort: 0,
      prometheusPort: 0,
      clock: new ManualClock(Date.UTC(2026, 0, 1)),
    });
    api = broker.http!.url;
    metrics = `http://127.0.0.1:${broker.prometheus!.port}`;
    const vhost = broker.core.vhosts.get('/')!;
    for (let i = 0; i < QUEUES; i++) {
      vhost.declareQueue({
        name: `large-${String(i).padStart(5, '0')}`,
        passive: false,
        durable: false,
        exclusive: false,
        autoDelete: false,
        arguments: {},
        owner: {},
      });
    }
  });
  after(async () => {
    await broker.stop();
  });

  test('a client that does not read holds the list back: a bounded amount queued, the whole list then arrives', async () => {
    const plain = await get(`${api}/api/queues`);
    const { answer, end, waits, maxQueuedBytes } = await readSlowly(api, '/api/queues');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-encoding'], undefined);
    assert.ok(waits.length > 0, 'the broker never waited for the client to read');
    assert.ok(
      maxQueuedBytes <= QUEUED_LIMIT_BYTES,
      `${maxQueuedBytes} bytes queued for a client that does not read (limit ${QUEUED_LIMIT_BYTES})`,
    );
    assert.equal(end.outcome, 'complete');
    assert.ok(answer.body.length > 8_000_000, `the list is ${answer.body.length} bytes`);
    assert.equal(answer.body.toString(), plain.body.toString());
    assert.equal((JSON.parse(answer.body.toString()) as unknown[]).length, QUEUES);
  });

  test('gzip to a slow client: bounded too, and it decodes to the plain list', async () => {
    const plain = await get(`${api}/api/queues`);
    const { answer, maxQueuedBytes } = await readSlowly(api, '/api/queues', {
      'accept-encoding': 'gzip',
    });
    assert.equal(answer.headers['content-encoding'], 'gzip');
    assert.match(String(answer.headers.vary), /accept-encoding/);
    // gzip'd, the list may fit the kernel's buffers and the broker never wait; whenever it did
    // (gzip or the socket behind), what it had queued stays bounded.
    assert.ok(maxQueuedBytes <= QUEUED_LIMIT_BYTES, `${maxQueuedBytes} bytes queued`);
    assert.ok(
      answer.body.length * 5 < plain.body.length,
      `gzip'd ${answer.body.length} of ${plain.body.length}`,
    );
    assert.equal(gunzipSync(answer.body).toString(), plain.body.toString());
  });

  test('a client that leaves mid-answer stops the writing; the broker answers the next request', async () => {
    const bodies = watchBodies('/api/queues');
    try {
      const firstWait = bodies.next('wait');
      const ended = bodies.next('end');
      const req = request(`${api}/api/queues`, { headers: { authorization: AUTH } }, (res) => res.pause());
      req.on('error', () => {});
      req.end();
      await firstWait;
      req.destroy();
      const end = await ended;
      assert.equal(end.outcome, 'aborted');
      assert.ok(end.writtenBytes < 8_000_000, `${end.writtenBytes} bytes handed over after the client left`);
    } finally {
      bodies.stop();
    }
    const overview = await get(`${api}/api/overview`);
    assert.equal(overview.status, 200);
  });

  test('API answers: gzip only when asked for and at least 300 bytes, as RabbitMQ', async () => {
    const gzip = { 'accept-encoding': 'gzip, deflate' };
    const overview = await get(`${api}/api/overview`, gzip);
    assert.equal(overview.headers['content-encoding'], 'gzip');
    assert.equal(overview.headers.vary, 'accept, accept-encoding, origin');
    assert.equal(overview.headers['content-type'], 'application/json');
    const overviewBody = JSON.parse(gunzipSync(overview.body).toString()) as Record<string, unknown>;
    assert.ok('object_totals' in overviewBody);

    const plainOverview = await get(`${api}/api/overview`);
    assert.equal(plainOverview.headers['content-encoding'], undefined);
    assert.equal(plainOverview.headers.vary, 'accept, accept-encoding, origin');
    assert.equal(Number(plainOverview.headers['content-length']), plainOverview.body.length);

    // whoami is ~40 bytes: plain with its length, as cowboy sends anything under 300 bytes.
    const whoami = await get(`${api}/api/whoami`, gzip);
    assert.equal(whoami.headers['content-encoding'], undefined);
    assert.equal(Number(whoami.headers['content-length']), whoami.body.length);
    assert.equal((JSON.parse(whoami.body.toString()) as { name: string }).name, 'guest');

    for (const refused of ['gzip;q=0', 'deflate', '*', 'identity']) {
      const answer = await get(`${api}/api/overview`, { 'accept-encoding': refused });
      assert.equal(answer.headers['content-encoding'], undefined, refused);
    }
    const upper = await get(`${api}/api/overview`, { 'accept-encoding': 'br, GZIP' });
    assert.equal(upper.headers['content-encoding'], 'gzip');

    const head = await get(`${api}/api/overview`, gzip, 'HEAD');
    assert.equal(head.headers['content-encoding'], undefined);

    // A page of the list is one body with a length: gzip'd the same way.
    const page = await get(`${api}/api/queues?page=2&page_size=500`, gzip);
    assert.equal(page.headers['content-encoding'], 'gzip');
    assert.equal((JSON.parse(gunzipSync(page.body).toString()) as { items: unknown[] }).items.length, 500);
  });

  test('Prometheus port: gzip when asked (as Prometheus does), identity otherwise; per-object to a slow client', async () => {
    const asPrometheus = { 'accept-encoding': 'gzip' };
    const gzipped = await get(`${metrics}/metrics`, asPrometheus);
    assert.equal(gzipped.status, 200);
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.match(gunzipSync(gzipped.body).toString(), /^rabbitmq_identity_info\{/m);
    const plain = await get(`${metrics}/metrics`);
    assert.equal(plain.headers['content-encoding'], 'identity');
    assert.equal(Number(plain.headers['content-length']), plain.body.length);

    // Plain, so that the answer (~10 MB) outgrows the kernel's buffers and the client's pace counts.
    const { answer, waits, maxQueuedBytes } = await readSlowly(metrics, '/metrics/per-object');
    assert.equal(answer.headers['content-encoding'], 'identity');
    assert.ok(waits.length > 0);
    assert.ok(maxQueuedBytes <= QUEUED_LIMIT_BYTES, `${maxQueuedBytes} bytes queued`);
    const depthSeries = (text: string) =>
      text.split('\n').filter((line) => line.startsWith('rabbitmq_queue_messages_ready{')).length;
    assert.equal(depthSeries(answer.body.toString()), QUEUES);
    const perObject = await get(`${metrics}/metrics/per-object`, asPrometheus);
    assert.equal(perObject.headers['content-encoding'], 'gzip');
    assert.equal(depthSeries(gunzipSync(perObject.body).toString()), QUEUES);
  });

  // Last: it adds queues the tests above count.
  test('the definitions export is streamed in slices (chunked, bounded for a slow client) and is the same JSON', async () => {
    const vhost = broker.core.vhosts.get('/')!;
    for (let i = 0; i < 3_000; i++) {
      vhost.declareQueue({
        name: `durable-${String(i).padStart(5, '0')}`,
        passive: false,
        durable: true,
        exclusive: false,
        autoDelete: false,
        arguments: { 'x-queue-type': 'classic', 'x-message-ttl': i },
        owner: {},
      });
    }
    const expected = JSON.stringify(exportDefinitions(broker.core));
    const { answer, end, maxQueuedBytes } = await readSlowly(api, '/api/definitions');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['transfer-encoding'], 'chunked');
    assert.equal(answer.headers['content-length'], undefined);
    assert.equal(end.outcome, 'complete');
    assert.ok(maxQueuedBytes <= QUEUED_LIMIT_BYTES, `${maxQueuedBytes} bytes queued`);
    assert.equal(answer.body.toString(), expected);
    assert.equal((JSON.parse(expected) as { queues: unknown[] }).queues.length, 3_000);
    // One vhost's export, and gzip'd: the same text.
    const perVhost = await get(`${api}/api/definitions/%2F`, { 'accept-encoding': 'gzip' });
    assert.equal(gunzipSync(perVhost.body).toString(), JSON.stringify(exportDefinitions(broker.core, '/')));
  });
});
