/**
 * SigV4 verification against real signatures: requests signed by @smithy/signature-v4 (the JS SDK's
 * signer) and a request captured from @aws-sdk/client-sqs itself, then verified, and tampered with.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { test } from 'node:test';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SignatureV4 } from '@smithy/signature-v4';
import { type SigV4Request, verifySigV4 } from '../../../src/protocol/sqs/sigv4.js';

const KEY_ID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const lookup = (id: string) => (id === KEY_ID ? SECRET : undefined);
const NOW_MS = Date.UTC(2026, 10, 28, 12, 0, 0);

function signer(secret = SECRET): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: KEY_ID, secretAccessKey: secret },
    region: 'us-east-1',
    service: 'sqs',
    sha256: HmacSha256,
  });
}

// The signer's hash class: SHA-256, or HMAC-SHA256 when given a secret.
class HmacSha256 {
  private readonly impl: Hash | Hmac;
  constructor(secret?: unknown) {
    this.impl =
      secret === undefined ? createHash('sha256') : createHmac('sha256', secret as Uint8Array | string);
  }
  update(data: Uint8Array | string): void {
    this.impl.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.impl.digest();
  }
}

interface SmithyLike {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

function toWire(signed: SmithyLike, body: Buffer): SigV4Request {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v ?? '']]))
    .map(([k, v]) => `${encodeURIComponent(k!)}=${encodeURIComponent(v!)}`)
    .join('&');
  return { method: signed.method, path: signed.path, query, headers, body };
}

function jsonRequest(body: string, extraHeaders: Record<string, string> = {}): SmithyLike {
  return {
    method: 'POST',
    protocol: 'http:',
    hostname: 'localhost',
    port: 9324,
    path: '/',
    headers: {
      host: 'localhost:9324',
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AmazonSQS.SendMessage',
      ...extraHeaders,
    },
    body,
  };
}

async function signedJson(body = '{"QueueUrl":"http://localhost:9324/000000000000/q","MessageBody":"hi"}') {
  const signed = await signer().sign(jsonRequest(body) as never, { signingDate: new Date(NOW_MS) });
  return toWire(signed as unknown as SmithyLike, Buffer.from(body));
}

test('a request signed by @smithy/signature-v4 verifies and names its key, region and service', async () => {
  const result = verifySigV4(await signedJson(), lookup, NOW_MS);
  assert.deepEqual(result, { ok: true, accessKeyId: KEY_ID, region: 'us-east-1', service: 'sqs' });
});

test('a wrong secret gives SignatureDoesNotMatch', async () => {
  const body = '{}';
  const signed = await signer('not-the-secret').sign(jsonRequest(body) as never, {
    signingDate: new Date(NOW_MS),
  });
  const result = verifySigV4(toWire(signed as unknown as SmithyLike, Buffer.from(body)), lookup, NOW_MS);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.code, 'SignatureDoesNotMatch');
  assert.match(!result.ok ? result.message : '', /does not match the signature you provided/);
});

test('an unknown access key gives InvalidClientTokenId', async () => {
  const result = verifySigV4(await signedJson(), () => undefined, NOW_MS);
  assert.deepEqual(result, {
    ok: false,
    code: 'InvalidClientTokenId',
    message: 'The security token included in the request is invalid.',
  });
});

test('a tampered body, header or path gives SignatureDoesNotMatch', async () => {
  const good = await signedJson();
  const tamperedBody = { ...good, body: Buffer.from(good.body.toString().replace('hi', 'ho')) };
  const tamperedHeader = { ...good, headers: { ...good.headers, 'x-amz-target': 'AmazonSQS.DeleteQueue' } };
  const tamperedPath = { ...good, path: '/other' };
  const tamperedMethod = { ...good, method: 'PUT' };
  for (const request of [tamperedBody, tamperedHeader, tamperedPath, tamperedMethod]) {
    const result = verifySigV4(request, lookup, NOW_MS);
    assert.equal(!result.ok && result.code, 'SignatureDoesNotMatch');
  }
});

test('an unsigned header may change freely; signed header whitespace is normalized', async () => {
  const good = await signedJson();
  const extra = {
    ...good,
    headers: { ...good.headers, 'user-agent': 'changed', 'x-forwarded-for': '1.2.3.4' },
  };
  assert.equal(verifySigV4(extra, lookup, NOW_MS).ok, true);
  const spaced = { ...good, headers: { ...good.headers, 'x-amz-target': '  AmazonSQS.SendMessage ' } };
  assert.equal(verifySigV4(spaced, lookup, NOW_MS).ok, true);
});

test('a signed x-amz-content-sha256 that does not match the body is refused', async () => {
  const body = '{"a":1}';
  const hash = createHash('sha256').update(body).digest('hex');
  const signed = await signer().sign(jsonRequest(body, { 'x-amz-content-sha256': hash }) as never, {
    signingDate: new Date(NOW_MS),
  });
  const wire = toWire(signed as unknown as SmithyLike, Buffer.from(body));
  assert.equal(verifySigV4(wire, lookup, NOW_MS).ok, true);
  const tampered = { ...wire, body: Buffer.from('{"a":2}') };
  assert.equal(verifySigV4(tampered, lookup, NOW_MS).ok === false, true);
});

test('more than 15 minutes of clock skew either way gives RequestExpired, 15 minutes is fine', async () => {
  const wire = await signedJson();
  assert.equal(verifySigV4(wire, lookup, NOW_MS + 15 * 60_000).ok, true);
  assert.equal(verifySigV4(wire, lookup, NOW_MS - 15 * 60_000).ok, true);
  const late = verifySigV4(wire, lookup, NOW_MS + 15 * 60_000 + 1000);
  assert.equal(!late.ok && late.code, 'RequestExpired');
  assert.equal(
    !late.ok && late.message,
    'Signature expired: 20261128T120000Z is now earlier than 20261128T120001Z (20261128T121501Z - 15 min.)',
  );
  const early = verifySigV4(wire, lookup, NOW_MS - 16 * 60_000);
  assert.equal(!early.ok && early.code, 'RequestExpired');
  assert.match(
    !early.ok ? early.message : '',
    /^Signature not yet current: 20261128T120000Z is still later than/,
  );
});

test('no Authorization header and no presigned query gives MissingAuthenticationToken', () => {
  const result = verifySigV4(
    { method: 'POST', path: '/', query: '', headers: { host: 'localhost' }, body: Buffer.alloc(0) },
    lookup,
    NOW_MS,
  );
  assert.deepEqual(result, {
    ok: false,
    code: 'MissingAuthenticationToken',
    message: 'Request is missing Authentication Token',
  });
});

test('a malformed Authorization header gives IncompleteSignature', async () => {
  const good = await signedJson();
  const auth = good.headers.authorization as string;
  const cases = [
    auth.replace(/, Signature=[0-9a-f]+/, ''),
    auth.replace(/Credential=[^,]+,/, ''),
    auth.replace('/aws4_request', '/aws4'),
    auth.replace(/Signature=[0-9a-f]+/, 'Signature=xyz'),
    auth.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1'),
  ];
  for (const authorization of cases) {
    const result = verifySigV4({ ...good, headers: { ...good.headers, authorization } }, lookup, NOW_MS);
    assert.equal(!result.ok && result.code, 'IncompleteSignature', authorization);
  }
  const noSignatureMsg = verifySigV4(
    { ...good, headers: { ...good.headers, authorization: cases[0]! } },
    lookup,
    NOW_MS,
  );
  assert.match(!noSignatureMsg.ok ? noSignatureMsg.message : '', /requires 'Signature' parameter/);
  const noDate = { ...good.headers };
  delete noDate['x-amz-date'];
  const result = verifySigV4({ ...good, headers: noDate }, lookup, NOW_MS);
  assert.equal(!result.ok && result.code, 'IncompleteSignature');
  assert.match(!result.ok ? result.message : '', /either a 'X-Amz-Date' or a 'Date' header/);
});

test('acceptAnySignature takes any well-formed, current signature from any key', async () => {
  const body = '{}';
  const signed = await signer('whatever').sign(jsonRequest(body) as never, { signingDate: new Date(NOW_MS) });
  const wire = toWire(signed as unknown as SmithyLike, Buffer.from(body));
  assert.equal(verifySigV4(wire, () => undefined, NOW_MS, { acceptAnySignature: true }).ok, true);
  const expired = verifySigV4(wire, () => undefined, NOW_MS + 3600_000, { acceptAnySignature: true });
  assert.equal(!expired.ok && expired.code, 'RequestExpired');
  const bare = { ...wire, headers: { host: 'localhost:9324' } };
  const missing = verifySigV4(bare, () => undefined, NOW_MS, { acceptAnySignature: true });
  assert.equal(!missing.ok && missing.code, 'MissingAuthenticationToken');
});

test('query parameters and encoded paths are canonicalized as the signer does', async () => {
  const request: SmithyLike = {
    method: 'GET',
    protocol: 'http:',
    hostname: 'localhost',
    path: '/000000000000/my%20queue',
    query: { Action: 'SendMessage', MessageBody: "a b+c/d~e!*'()", Version: '2012-11-05', Empty: '' },
    headers: { host: 'localhost' },
  };
  const signed = await signer().sign(request as never, { signingDate: new Date(NOW_MS) });
  const wire = toWire(signed as unknown as SmithyLike, Buffer.alloc(0));
  assert.equal(verifySigV4(wire, lookup, NOW_MS).ok, true);
  // Parameter order on the wire does not matter.
  const reordered = { ...wire, query: wire.query.split('&').reverse().join('&') };
  assert.equal(verifySigV4(reordered, lookup, NOW_MS).ok, true);
  const changed = { ...wire, query: wire.query.replace('SendMessage', 'DeleteQueue') };
  assert.equal(verifySigV4(changed, lookup, NOW_MS).ok, false);
});

test('a presigned URL verifies until X-Amz-Expires runs out', async () => {
  const request: SmithyLike = {
    method: 'GET',
    protocol: 'http:',
    hostname: 'localhost',
    path: '/000000000000/q',
    query: { Action: 'ReceiveMessage' },
    headers: { host: 'localhost' },
  };
  const presigned = await signer().presign(request as never, {
    signingDate: new Date(NOW_MS),
    expiresIn: 300,
  });
  const wire = toWire(presigned as unknown as SmithyLike, Buffer.alloc(0));
  assert.equal(wire.headers.authorization, undefined);
  assert.deepEqual(verifySigV4(wire, lookup, NOW_MS + 299_000), {
    ok: true,
    accessKeyId: KEY_ID,
    region: 'us-east-1',
    service: 'sqs',
  });
  const expired = verifySigV4(wire, lookup, NOW_MS + 301_000);
  assert.equal(!expired.ok && expired.code, 'RequestExpired');
  const tampered = { ...wire, query: wire.query.replace('ReceiveMessage', 'PurgeQueue') };
  assert.equal(!verifySigV4(tampered, lookup, NOW_MS).ok && 'refused', 'refused');
  const wrongKey = verifySigV4(wire, () => 'other-secret', NOW_MS);
  assert.equal(!wrongKey.ok && wrongKey.code, 'SignatureDoesNotMatch');
});

test('a real @aws-sdk/client-sqs SendMessage request verifies; with a wrong key it does not', async () => {
  const captured: SigV4Request[] = [];
  const client = new SQSClient({
    region: 'eu-west-3',
    endpoint: 'http://127.0.0.1:9324',
    credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
    systemClockOffset: NOW_MS - Date.now(),
    requestHandler: {
      async handle(request: SmithyLike & { body?: string | Uint8Array }) {
        const body = Buffer.from(request.body ?? '');
        captured.push(toWire(request, body));
        throw new Error('captured, not sent');
      },
    } as never,
    maxAttempts: 1,
  });
  await assert.rejects(
    client.send(
      new SendMessageCommand({ QueueUrl: 'http://127.0.0.1:9324/000000000000/q', MessageBody: 'é 😀' }),
    ),
    /captured, not sent/,
  );
  assert.equal(captured.length, 1);
  const wire = captured[0]!;
  assert.equal(wire.headers['x-amz-target'], 'AmazonSQS.SendMessage');
  assert.match(String(wire.headers.authorization), /SignedHeaders=.*x-amz-target/);
  const result = verifySigV4(wire, lookup, NOW_MS);
  assert.deepEqual(result, { ok: true, accessKeyId: KEY_ID, region: 'eu-west-3', service: 'sqs' });
  const wrong = verifySigV4(wire, () => 'wrong', NOW_MS);
  assert.equal(!wrong.ok && wrong.code, 'SignatureDoesNotMatch');
});
