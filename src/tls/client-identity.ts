/**
 * Who a client certificate names: the subject's distinguished name in RFC 4514 (2253) form, as
 * RabbitMQ's EXTERNAL and Kafka's X500Principal.getName() write it (last RDN first, `CN=alice,O=x`),
 * and its common name. Only a certificate the TLS layer verified counts.
 */
import { X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';

export interface CertificateSubject {
  /** `CN=alice,OU=ops,O=example` */
  readonly distinguishedName: string;
  /** The (last) CN, undefined when the subject has none. */
  readonly commonName: string | undefined;
}

/** The verified client certificate's subject, or undefined (not TLS, no certificate, not verified). */
export function verifiedPeerSubject(socket: unknown): CertificateSubject | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer?.raw || peer.raw.length === 0) return undefined;
  return subjectOf(new X509Certificate(peer.raw));
}

export function subjectOf(certificate: X509Certificate): CertificateSubject {
  // node prints the subject one RDN per line, first RDN first, values escaped per RFC 2253.
  const rdns = certificate.subject.split('\n').filter((line) => line !== '');
  const commonNames = rdns.filter((rdn) => rdn.startsWith('CN=')).map((rdn) => unescapeValue(rdn.slice(3)));
  return {
    distinguishedName: rdns.reverse().join(','),
    commonName: commonNames.at(-1),
  };
}

function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}
