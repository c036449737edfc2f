import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface User {
  readonly name: string;
  /** base64(salt ‖ SHA-256(salt ‖ password)), RabbitMQ's default password hash layout. */
  readonly passwordHash: string;
  readonly tags: readonly string[];
}

const SALT_BYTES = 4;

export function hashPassword(password: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

export function checkPassword(user: User, password: string): boolean {
  const stored = Buffer.from(user.passwordHash, 'base64');
  if (stored.length !== SALT_BYTES + 32) return false;
  const candidate = Buffer.from(hashPassword(password, stored.subarray(0, SALT_BYTES)), 'base64');
  return timingSafeEqual(stored, candidate);
}

/** The default user: guest/guest, accepted from loopback addresses only (as RabbitMQ). */
export const GUEST_USER = 'guest';

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
