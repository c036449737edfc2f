/**
 * One-shot hex digests for the request hot paths (SQS: MD5 of every message body, SHA-256 of every
 * signed request). node:crypto's hash() (Node 20.12+) digests in one native call; createHash()
 * builds a Hash stream object per call, which cost SQS requests ~3x as much CPU and garbage.
 */
import * as crypto from 'node:crypto';

type OneShot = (algorithm: string, data: string | Buffer, outputEncoding: 'hex') => string;

const oneShot: OneShot | undefined = (crypto as unknown as { hash?: OneShot }).hash;

/** Hex digest of `data` (strings as UTF-8). */
export function hexDigest(algorithm: 'md5' | 'sha256', data: string | Buffer): string {
  if (oneShot !== undefined) return oneShot(algorithm, data, 'hex');
  return crypto.createHash(algorithm).update(data).digest('hex');
}
