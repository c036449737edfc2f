/**
 * The SQS HTTP pipeline over real sockets, with raw node:http requests signed by @smithy/signature-v4:
 * protocol choice (JSON 1.0 / query, POST / GET), protocol errors, the body limit, SigV4 in key and
 * loopback mode, keep-alive, request ids, queue URLs from the Host header and QueueUrl from the path.
 * The action table and registry are small fakes so the pipeline is tested on its own; the real
 * actions run in sdk-queues.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { SqsCoreError } from '../../../src/core/sqs/errors.js';
import type { SqsQueue } from '../../../src/core/sqs/queue.js';
import type { SqsQueueRegistry } from '../../../src/core/sqs/registry.js';
import type { SqsActionHandler } from '../../../src/protocol/sqs/action-context.js';
import type { SqsActionTable } from '../../../src/protocol/sqs/http-pipeline.js';
import { SqsServer } from '../../../src/protocol/sqs/server.js';
import { listenOnFreePort } from '../../helpers/broker.js';

const ACCOUNT = '000000000000';
const KEY_ID = 'AKIDPIERTEST';
const SECRET = 'pier-test-secret';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

class HmacSha256 {
  private readonly impl: Hash | Hmac;
  constructor(secret?: unknown) {
    this.impl = secret === undefined ? createHash('sha256') : createHmac('sha256', secret as string);
  }
  update(data: Uint8Array | string): void {
    this.impl.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.impl.digest();
  }
}

const fakeQueue = {
  name: 'orders',
  arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:orders`,
  settings: {},
} as unknown as SqsQueue;
const fakeRegistry = {
  accountId: ACCOUNT,
  region: 'us-east-1',
  get: (name: string) => (name === 'orders' ? fakeQueue : undefined),
} as unknown as SqsQueueRegistry;

const echo: SqsActionHandler = (context, params) => ({
  QueueUrl: `${context.queueUrl(String(params.QueueName))}#${context.callerId}`,
});
const actions: SqsActionTable = {
  GetQueueUrl: echo,
  // Resolves the queue (QueueUrl given, or the request path) and names it in the answer.
  ListQueueTags: (context, params) => ({ Tags: { queue: context.queueOf(params.QueueUrl).name } }),
  PurgeQueue: () => {
    throw new SqsCoreError(
      'PurgeQueueInProgress',
      'Only one PurgeQueue operation on orders is allowed every 60 seconds.',
    );
  },
  DeleteQueue: () => {
    throw new Error('a bug');
  },
  CreateQueue: async (context, params) => ({ QueueUrl: context.queueUrl(String(params.QueueName)) }),
  // A result no answer can be made of: JSON.stringify throws on a BigInt.
  GetQueueAttributes: () => ({ Attributes: { VisibilityTimeout: 30n } }),
};

/** What the listeners under test logged, and who waits for which line. */
const logged: string[] = [];
const logWaiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
function log(line: string): void {
  logged.push(line);
  for (const waiter of logWaiters.filter((w) => w.pattern.test(line))) {
    logWaiters.splice(logWaiters.indexOf(waiter), 1);
    waiter.resolve(line);
  }
}
/** Resolves with the first line logged (before or after the call) that matches; the HTTP thread logs a moment after it answers. */
function loggedLine(pattern: RegExp): Promise<string> {
  const line = logged.find((l) => pattern.test(l));
  return line !== undefined
    ? Promise.resolve(line)
    : new Promise((resolve) => logWaiters.push({ pattern, resolve }));
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reusedSocket: boolean;
}

interface Call {
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  /** Signing credentials; null sends no signature at all. */
  sign?: { keyId: string; secret: string } | null;
  agent?: Agent;
}

async function call(port: number, c: Call): Promise<Answer> {
  const method = c.method ?? 'POST';
  const path = c.path ?? '/';
  const body = c.body ?? '';
  let headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...c.headers };
  const query = c.query ?? {};
  if (c.sign !== null) {
    const credentials = c.sign ?? { keyId: KEY_ID, secret: SECRET };
    const signer = new SignatureV4({
      credentials: { accessKeyId: credentials.keyId, secretAccessKey: credentials.secret },
      region: 'us-east-1',
      service: 'sqs',
      sha256: HmacSha256,
      applyChecksum: false,
    });
    const signed = await signer.sign({
      method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path,
      query,
      headers,
      body,
    });
    headers = signed.headers as Record<string, string>;
  }
  const search = new URLSearchParams(query).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path: search ? `${path}?${search}` : path, headers, agent: c.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const json = (action: string, body: unknown, extra: Partial<Call> = {}): Call => ({
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${action}` },
  body: typeof body === 'string' ? body : JSON.stringify(body),
  ...extra,
});
const form = (params: Record<string, string>, extra: Partial<Call> = {}): Call => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  body: new URLSearchParams({ Version: '2012-11-05', ...params }).toString(),
  ...extra,
});

/** The listener under test, over the fake registry and actions. */
function listener(accessKeys: Map<string, string>, httpThread: boolean): SqsServer {
  return new SqsServer({
    registry: fakeRegistry,
    actions,
    accessKeys,
    maxRequestBytes: 64 * 1024,
    log,
    httpThread,
  });
}

// Every case runs twice: HTTP on this thread, and on the SQS HTTP thread (--sqs-http-thread), whose
// answers must be the same bytes but for the request id.
for (const httpThread of [false, true]) {
  const mode = httpThread ? ' (HTTP on a worker thread)' : '';

  describe(`SQS listener in loopback mode (no keys)${mode}`, () => {
    let server: SqsServer;
    let port: number;
    before(async () => {
      server = listener(new Map(), httpThread);
      ({ port } = await listenOnFreePort(server));
    });
    after(() => server.close());

    test('JSON 1.0: X-Amz-Target picks the action; the answer is JSON with a request id', async () => {
      const answer = await call(port, json('GetQueueUrl', { QueueName: 'orders' }));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-type'], 'application/x-amz-json-1.0');
      assert.match(String(answer.headers['x-amzn-requestid']), UUID);
      // Any well-formed signature is accepted; the caller is the account.
      assert.deepEqual(JSON.parse(answer.body), {
        QueueUrl: `http://127.0.0.1:${port}/${ACCOUNT}/orders#${ACCOUNT}`,
      });
    });

    test('query: a form body is answered in XML with the request id', async () => {
      const answer = await call(port, form({ Action: 'GetQueueUrl', QueueName: 'orders' }));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-type'], 'text/xml');
      const requestId = String(answer.headers['x-amzn-requestid']);
      assert.match(requestId, UUID);
      assert.match(
        answer.body,
        /<GetQueueUrlResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/">/,
      );
      assert.match(answer.body, new RegExp(`<QueueUrl>http://127.0.0.1:${port}/${ACCOUNT}/orders#`));
      assert.match(answer.body, new RegExp(`<RequestId>${requestId}</RequestId>`));
    });

    test('query over GET: the parameters in the query string', async () => {
      const answer = await call(port, {
        method: 'GET',
        query: { Action: 'GetQueueUrl', QueueName: 'orders', Version: '2012-11-05' },
      });
      assert.equal(answer.status, 200);
      assert.match(answer.body, /<GetQueueUrlResult><QueueUrl>/);
    });

    test('queue URLs name the host the client used', async () => {
      const viaName = await call(
        port,
        json(
          'GetQueueUrl',
          { QueueName: 'orders' },
          {
            headers: {
              host: `localhost:${port}`,
              'content-type': 'application/x-amz-json-1.0',
              'x-amz-target': 'AmazonSQS.GetQueueUrl',
            },
          },
        ),
      );
      assert.match(
        JSON.parse(viaName.body).QueueUrl,
        new RegExp(`^http://localhost:${port}/${ACCOUNT}/orders#`),
      );
    });

    test('QueueUrl left out: the request path names the queue, as AWS allows', async () => {
      const byPath = await call(port, form({ Action: 'ListQueueTags' }, { path: `/${ACCOUNT}/orders` }));
      assert.equal(byPath.status, 200, byPath.body);
      assert.match(byPath.body, /<Tag><Key>queue<\/Key><Value>orders<\/Value><\/Tag>/);
      const jsonByPath = await call(port, json('ListQueueTags', {}, { path: `/${ACCOUNT}/orders` }));
      assert.deepEqual(JSON.parse(jsonByPath.body), { Tags: { queue: 'orders' } });
      const fullUrl = await call(
        port,
        json('ListQueueTags', { QueueUrl: `http://elsewhere:1/${ACCOUNT}/orders` }),
      );
      assert.deepEqual(JSON.parse(fullUrl.body), { Tags: { queue: 'orders' } });
      const missing = await call(port, json('ListQueueTags', { QueueUrl: `/${ACCOUNT}/nope` }));
      assert.equal(missing.status, 400);
      assert.equal(missing.headers['x-amzn-query-error'], 'AWS.SimpleQueueService.NonExistentQueue;Sender');
      assert.deepEqual(JSON.parse(missing.body), {
        __type: 'com.amazonaws.sqs#QueueDoesNotExist',
        message: 'The specified queue does not exist.',
      });
      const otherAccount = await call(port, json('ListQueueTags', { QueueUrl: '/123456789012/orders' }));
      assert.equal(otherAccount.status, 400);
      const noPath = await call(port, json('ListQueueTags', {}));
      assert.equal(noPath.status, 400);
      assert.equal(noPath.headers['x-amzn-query-error'], 'MissingParameter;Sender');
      assert.equal(JSON.parse(noPath.body).message, 'The request must contain the parameter QueueUrl.');
    });

    test('malformed JSON is a SerializationException', async () => {
      const answer = await call(port, json('GetQueueUrl', '{"QueueName": '));
      assert.equal(answer.status, 400);
      assert.equal(JSON.parse(answer.body).__type, 'com.amazon.coral.service#SerializationException');
    });

    test('an unknown X-Amz-Target is an UnknownOperationException', async () => {
      const answer = await call(port, json('Frobnicate', {}));
      assert.equal(answer.status, 400);
      assert.equal(JSON.parse(answer.body).__type, 'com.amazon.coral.service#UnknownOperationException');
    });

    test('query: an unknown Action is InvalidAction, a missing one MissingAction, both 400 XML', async () => {
      const unknown = await call(port, form({ Action: 'Frobnicate' }));
      assert.equal(unknown.status, 400);
      assert.match(unknown.body, /<Code>InvalidAction<\/Code>/);
      assert.match(unknown.body, /<Type>Sender<\/Type>/);
      const missing = await call(port, form({}));
      assert.equal(missing.status, 400);
      assert.match(missing.body, /<Code>MissingAction<\/Code>/);
    });

    test('a known action this server has no handler for is UnsupportedOperation', async () => {
      const answer = await call(port, json('ListQueues', {}));
      assert.equal(answer.status, 400);
      assert.equal(
        answer.headers['x-amzn-query-error'],
        'AWS.SimpleQueueService.UnsupportedOperation;Sender',
      );
    });

    test('core refusals become their SQS errors; a handler bug is a 500 InternalFailure', async () => {
      const purge = await call(port, form({ Action: 'PurgeQueue', QueueUrl: `/${ACCOUNT}/orders` }));
      assert.equal(purge.status, 403);
      assert.match(purge.body, /<Code>AWS.SimpleQueueService.PurgeQueueInProgress<\/Code>/);
      const bug = await call(port, json('DeleteQueue', { QueueUrl: `/${ACCOUNT}/orders` }));
      assert.equal(bug.status, 500);
      assert.equal(bug.headers['x-amzn-query-error'], 'InternalFailure;Receiver');
      assert.doesNotMatch(bug.body, /a bug/);
    });

    test('an answer that cannot be formatted is a logged 500 InternalFailure, and the port goes on', {
      timeout: 10_000,
    }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const broken = await call(
          port,
          json('GetQueueAttributes', { QueueUrl: `/${ACCOUNT}/orders` }, { agent }),
        );
        assert.equal(broken.status, 500);
        assert.equal(broken.headers['x-amzn-query-error'], 'InternalFailure;Receiver');
        assert.match(String(broken.headers['x-amzn-requestid']), UUID);
        const next = await call(port, json('GetQueueUrl', { QueueName: 'orders' }, { agent }));
        assert.equal(next.status, 200);
        assert.equal(next.reusedSocket, true, 'the same connection answers the next request');
      } finally {
        agent.destroy();
      }
      await loggedLine(/sqs: formatting an answer failed: TypeError.*BigInt/);
      logged.length = 0;
    });

    test('async handlers answer when their promise settles', async () => {
      const answer = await call(port, json('CreateQueue', { QueueName: 'later' }));
      assert.equal(answer.status, 200);
      assert.equal(JSON.parse(answer.body).QueueUrl, `http://127.0.0.1:${port}/${ACCOUNT}/later`);
    });

    test('an unsigned request is refused with MissingAuthenticationToken', async () => {
      const answer = await call(port, json('GetQueueUrl', { QueueName: 'orders' }, { sign: null }));
      assert.equal(answer.status, 403);
      assert.equal(answer.headers['x-amzn-query-error'], 'MissingAuthenticationToken;Sender');
    });

    test('a body over the limit is refused with 413 before it is read', async () => {
      const declared = await call(port, json('GetQueueUrl', { QueueName: 'x'.repeat(70 * 1024) }));
      assert.equal(declared.status, 413);
      assert.equal(declared.body, `HTTP content length exceeded ${64 * 1024} bytes.`);
      assert.match(String(declared.headers['x-amzn-requestid']), UUID);
      // Chunked: no Content-Length, counted as it arrives.
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'transfer-encoding': 'chunked' } },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 80; i++) req.write(Buffer.alloc(1024, 97));
        req.end();
      });
      assert.equal(chunked, 413);
      // The listener still serves.
      assert.equal((await call(port, json('GetQueueUrl', { QueueName: 'orders' }))).status, 200);
    });

    test('keep-alive: one connection serves several requests', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await call(port, json('GetQueueUrl', { QueueName: 'orders' }, { agent }));
        const second = await call(port, form({ Action: 'GetQueueUrl', QueueName: 'orders' }, { agent }));
        const third = await call(port, json('Frobnicate', {}, { agent }));
        const fourth = await call(port, json('GetQueueUrl', { QueueName: 'orders' }, { agent }));
        assert.deepEqual(
          [first, second, third, fourth].map((a) => [a.status, a.reusedSocket]),
          [
            [200, false],
            [200, true],
            [400, true],
            [200, true],
          ],
        );
        assert.notEqual(first.headers['x-amzn-requestid'], fourth.headers['x-amzn-requestid']);
      } finally {
        agent.destroy();
      }
    });
  });

  describe(`SQS listener with access keys${mode}`, () => {
    let server: SqsServer;
    let port: number;
    before(async () => {
      server = listener(new Map([[KEY_ID, SECRET]]), httpThread);
      ({ port } = await listenOnFreePort(server));
    });
    after(() => server.close());

    test('a request signed with a configured key is served; the caller is the key id', async () => {
      const answer = await call(port, json('GetQueueUrl', { QueueName: 'orders' }));
      assert.equal(answer.status, 200);
      assert.match(JSON.parse(answer.body).QueueUrl, new RegExp(`#${KEY_ID}$`));
      const query = await call(port, form({ Action: 'GetQueueUrl', QueueName: 'orders' }));
      assert.equal(query.status, 200);
    });

    test('a wrong secret is SignatureDoesNotMatch (403), in both protocols', async () => {
      const wrong = { keyId: KEY_ID, secret: 'not-the-secret' };
      const viaJson = await call(port, json('GetQueueUrl', { QueueName: 'orders' }, { sign: wrong }));
      assert.equal(viaJson.status, 403);
      assert.equal(viaJson.headers['x-amzn-query-error'], 'SignatureDoesNotMatch;Sender');
      const viaQuery = await call(
        port,
        form({ Action: 'GetQueueUrl', QueueName: 'orders' }, { sign: wrong }),
      );
      assert.equal(viaQuery.status, 403);
      assert.match(viaQuery.body, /<Code>SignatureDoesNotMatch<\/Code>/);
    });

    test('an unknown access key is InvalidClientTokenId (403)', async () => {
      const answer = await call(
        port,
        json('GetQueueUrl', { QueueName: 'orders' }, { sign: { keyId: 'AKIDWHO', secret: SECRET } }),
      );
      assert.equal(answer.status, 403);
      assert.equal(answer.headers['x-amzn-query-error'], 'InvalidClientTokenId;Sender');
      assert.equal(JSON.parse(answer.body).message, 'The security token included in the request is invalid.');
    });

    test('a body changed after signing is SignatureDoesNotMatch', async () => {
      const c = json('GetQueueUrl', { QueueName: 'orders' });
      const signer = new SignatureV4({
        credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
        region: 'us-east-1',
        service: 'sqs',
        sha256: HmacSha256,
        applyChecksum: false,
      });
      const signed = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port,
        path: '/',
        headers: { host: `127.0.0.1:${port}`, ...c.headers },
        body: c.body,
      });
      const answer = await call(port, {
        headers: signed.headers as Record<string, string>,
        body: JSON.stringify({ QueueName: 'other' }),
        sign: null,
      });
      assert.equal(answer.status, 403);
      assert.equal(answer.headers['x-amzn-query-error'], 'SignatureDoesNotMatch;Sender');
    });
  });
}
