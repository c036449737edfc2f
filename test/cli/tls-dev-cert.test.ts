// `pier tls dev-cert --out DIR`: a CA, a server certificate for localhost, 127.0.0.1 and ::1, and a
// client certificate, keys private to the user; a second run reuses the CA; a missing openssl is
// reported with what to install.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runPier, tempDir } from '../helpers/broker.js';

test('writes a CA, a server certificate for localhost/127.0.0.1/::1 and a client certificate', async () => {
  const dir = tempDir('pier-dev-cert-');
  try {
    const out = join(dir, 'certs');
    const run = await runPier(['tls', 'dev-cert', '--out', out, '--client-cn', 'alice']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /pier serve --tls-cert .*server\.pem --tls-key .*server-key\.pem --tls-ca .*ca\.pem/,
    );
    const cert = (name: string) => new X509Certificate(readFileSync(join(out, name)));
    const ca = cert('ca.pem');
    const server = cert('server.pem');
    const client = cert('client.pem');
    assert.ok(ca.ca);
    assert.ok(server.verify(ca.publicKey), 'server.pem is not signed by ca.pem');
    assert.ok(client.verify(ca.publicKey), 'client.pem is not signed by ca.pem');
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkIP('::1'), '::1');
    assert.equal(client.subject, 'O=Pier development\nCN=alice');
    for (const key of ['ca-key.pem', 'server-key.pem', 'client-key.pem']) {
      assert.equal(statSync(join(out, key)).mode & 0o777, 0o600, key);
    }
    assert.equal(statSync(out).mode & 0o777, 0o700);
    const again = await runPier(['tls', 'dev-cert', '--out', out]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /reused the CA/);
    assert.equal(cert('ca.pem').fingerprint256, ca.fingerprint256);
    assert.notEqual(cert('server.pem').fingerprint256, server.fingerprint256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without openssl on PATH it says what to install', async () => {
  const dir = tempDir('pier-dev-cert-');
  try {
    const run = await runPier(['tls', 'dev-cert', '--out', join(dir, 'certs')], {
      env: { PATH: join(dir, 'no-bin') },
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /'openssl' was not found: .*apt-get install openssl/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without --out it prints the usage and fails', async () => {
  const run = await runPier(['tls', 'dev-cert']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Usage: pier tls dev-cert --out DIR/);
});
