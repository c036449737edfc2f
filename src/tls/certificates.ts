/**
 * Reading and checking PEM files before a TLS listener uses them (at start and on reload): a
 * certificate that does not parse, has expired, or does not match its key is refused with a
 * message naming the file, so a bad reload keeps the certificate in use.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { TlsFiles } from './options.js';

/** A PEM file that cannot be used; the message names the file and what is wrong with it. */
export class TlsMaterialError extends Error {
  override readonly name = 'TlsMaterialError';
}

/** A checked certificate, its key and the CA bundle, as bytes for node:tls. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  /** SHA-256 fingerprint of the leaf certificate (AA:BB:...), as openssl and node print it. */
  readonly fingerprint256: string;
  readonly subject: string;
  readonly validTo: string;
}

/** Reads and checks `files`; `what` names the listener in the error (e.g. `--tls-cert`). */
export function loadTlsMaterial(files: TlsFiles, what: string, nowMs = Date.now()): TlsMaterial {
  const read = (path: string, kind: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new TlsMaterialError(`${what}: cannot read the ${kind} '${path}': ${(error as Error).message}`);
    }
  };
  const cert = read(files.certFile, 'certificate');
  const key = read(files.keyFile, 'private key');
  const ca = files.caFile === undefined ? undefined : read(files.caFile, 'CA bundle');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new TlsMaterialError(
      `${what}: '${files.certFile}' holds no PEM certificate (${(error as Error).message})`,
    );
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsMaterialError(
      `${what}: '${files.keyFile}' holds no unencrypted PEM private key (${(error as Error).message})`,
    );
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsMaterialError(
      `${what}: the key in '${files.keyFile}' does not belong to the certificate in '${files.certFile}'`,
    );
  }
  if (Date.parse(leaf.validTo) <= nowMs) {
    throw new TlsMaterialError(`${what}: the certificate in '${files.certFile}' expired on ${leaf.validTo}`);
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (error) {
      throw new TlsMaterialError(
        `${what}: '${files.caFile}' holds no PEM CA certificate (${(error as Error).message})`,
      );
    }
  }
  try {
    // What node:tls itself will say about the chain and key, before any listener takes them.
    createSecureContext({ cert, key, ca });
  } catch (error) {
    throw new TlsMaterialError(`${what}: node:tls refuses these files: ${(error as Error).message}`);
  }
  return { cert, key, ca, fingerprint256: leaf.fingerprint256, subject: leaf.subject, validTo: leaf.validTo };
}
