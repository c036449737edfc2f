/**
 * SigV4 verification against botocore (Debian's python3-botocore, which speaks the SQS query
 * protocol and signs only content-type;host;x-amz-date): a real boto3 client's requests, captured
 * before sending, and a botocore presigned URL must verify; a wrong secret or a tampered body must not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SigV4Request, verifySigV4 } from '../../src/protocol/sqs/sigv4.js';
import { runPython } from './helpers.js';

const KEY_ID = 'AKIDBOTO';
const SECRET = 'botocore/secret+key';
const lookup = (id: string) => (id === KEY_ID ? SECRET : undefined);

interface WireRequest extends Omit<SigV4Request, 'body'> {
  body: string;
}

async function botocoreRequests(): Promise<SigV4Request[]> {
  const out = await runPython<{ requests: WireRequest[] }>('botocore_sigv4.py', [
    KEY_ID,
    SECRET,
    'us-west-2',
  ]);
  return out.requests.map((r) => ({ ...r, body: Buffer.from(r.body, 'base64') }));
}

test('boto3 SendMessage, ListQueues (form bodies) and a presigned GET verify', async () => {
  const requests = await botocoreRequests();
  assert.equal(requests.length, 3);
  assert.match(String(requests[0]!.headers.authorization), /SignedHeaders=content-type;host;x-amz-date,/);
  assert.match(requests[2]!.query, /X-Amz-Signature=/);
  for (const request of requests) {
    assert.deepEqual(verifySigV4(request, lookup, Date.now()), {
      ok: true,
      accessKeyId: KEY_ID,
      region: 'us-west-2',
      service: 'sqs',
    });
  }
});

test('boto3 requests with a wrong secret, a tampered body or query are refused', async () => {
  const [send, , presigned] = await botocoreRequests();
  const wrong = verifySigV4(send!, () => 'wrong', Date.now());
  assert.equal(!wrong.ok && wrong.code, 'SignatureDoesNotMatch');
  const body = Buffer.from(send!.body.toString().replace('MessageBody=', 'MessageBody=x'));
  const tampered = verifySigV4({ ...send!, body }, lookup, Date.now());
  assert.equal(!tampered.ok && tampered.code, 'SignatureDoesNotMatch');
  const query = presigned!.query.replace('ReceiveMessage', 'PurgeQueue');
  const tamperedQuery = verifySigV4({ ...presigned!, query }, lookup, Date.now());
  assert.equal(!tamperedQuery.ok && tamperedQuery.code, 'SignatureDoesNotMatch');
  const unknown = verifySigV4(send!, () => undefined, Date.now());
  assert.equal(!unknown.ok && unknown.code, 'InvalidClientTokenId');
});
