/**
 * Development certificates for the TLS tests, made by `pier tls dev-cert`'s code (openssl) in a
 * temporary directory, and the broker options that use them.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type PeerCertificate } from 'node:tls';
import type { TlsOptions } from '../../src/index.js';
import { makeDevCertificates } from '../../src/tls/dev-cert.js';
import { tempDir } from '../helpers/broker.js';

export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly ca: Buffer;
  /** The client certificate: CN=<clientCn>,O=Pier development. */
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  /** TLS options for startTestBroker: the server certificate, key and CA. */
  tls(extra?: TlsOptions): TlsOptions;
  /** Makes a new server certificate (new key) in place, signed by the same CA; returns its fingerprint. */
  renewServer(): string;
  remove(): void;
}

export function makeTestCertificates(clientCn = 'alice'): TestCertificates {
  const dir = tempDir('pier-tls-');
  const files = makeDevCertificates({ outDir: dir, clientCommonName: clientCn });
  return {
    dir,
    caFile: files.ca,
    certFile: files.server,
    keyFile: files.serverKey,
    ca: readFileSync(files.ca),
    clientCert: readFileSync(files.client),
    clientKey: readFileSync(files.clientKey),
    tls: (extra = {}) => ({ certFile: files.server, keyFile: files.serverKey, caFile: files.ca, ...extra }),
    renewServer() {
      makeDevCertificates({ outDir: dir, clientCommonName: clientCn });
      return fingerprintOfFile(files.server);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function fingerprintOfFile(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

/** The certificate a new TLS connection to `port` is shown (trusting `ca`). */
export function servedCertificate(port: number, ca: Buffer): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const certificate = socket.getPeerCertificate();
      socket.end();
      resolve(certificate);
    });
    socket.once('error', reject);
  });
}
