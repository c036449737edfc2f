// Kafka's ssl.principal.mapping.rules (KIP-371): DEFAULT, RULE:pattern/replacement/[LU], the first
// applying rule wins, none applying refuses; and the RFC 4514 subject DN both EXTERNAL and Kafka use.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { subjectOf } from '../../src/tls/client-identity.js';
import { mapPrincipal, parsePrincipalRules } from '../../src/tls/principal-mapping.js';
import { makeTestCertificates } from './certs.js';

describe('ssl.principal.mapping.rules', () => {
  const dn = 'CN=kafka1,OU=ServiceUsers,O=Example,C=US';

  test('DEFAULT (and an empty list) keep the DN', () => {
    assert.equal(mapPrincipal(parsePrincipalRules('DEFAULT'), dn), dn);
    assert.equal(mapPrincipal(parsePrincipalRules(''), dn), dn);
  });

  test("Kafka's documented examples", () => {
    const rules = parsePrincipalRules(
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT',
    );
    assert.equal(mapPrincipal(rules, dn), 'kafka1');
    assert.equal(
      mapPrincipal(rules, 'CN=Adminuser,OU=Admin,O=Example,L=Dublin,ST=Leinster,C=IE'),
      'adminuser@admin',
    );
    assert.equal(mapPrincipal(rules, 'O=x,cn=Mixed.Case'), 'mixed.case');
  });

  test('U upper-cases; whitespace after commas is allowed', () => {
    assert.equal(mapPrincipal(parsePrincipalRules('RULE:^CN=([^,]*).*$/$1/U, DEFAULT'), dn), 'KAFKA1');
  });

  test('a pattern must match the whole name; no rule applying gives no principal', () => {
    const rules = parsePrincipalRules('RULE:CN=kafka1/x/');
    assert.equal(mapPrincipal(rules, dn), undefined);
  });

  test('malformed lists are refused with where they stop parsing', () => {
    assert.throws(() => parsePrincipalRules('RULE:^CN=(.*)$'), /cannot parse 'RULE:\^CN=\(\.\*\)\$'/);
    assert.throws(() => parsePrincipalRules('NONSENSE'), /cannot parse 'NONSENSE'/);
    assert.throws(() => parsePrincipalRules('RULE:(/x/'), /bad pattern/);
  });
});

describe('the subject DN of a certificate', () => {
  test('last RDN first, comma-separated (RFC 4514), and the CN', () => {
    const certs = makeTestCertificates('alice');
    try {
      const subject = subjectOf(new X509Certificate(readFileSync(`${certs.dir}/client.pem`)));
      assert.deepEqual(subject, { distinguishedName: 'CN=alice,O=Pier development', commonName: 'alice' });
    } finally {
      certs.remove();
    }
  });
});
