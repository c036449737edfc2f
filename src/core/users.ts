import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface User {
  readonly name: string;
  /** base64(salt ‖ SHA-256(salt ‖ password)), RabbitMQ's default password hash layout. */
  readonly passwordHash: string;
  readonly tags: readonly string[];
  /** RabbitMQ's user limits (max-connections, max-channels); absent or negative: no limit. */
  readonly limits?: Readonly<Record<string, number>>;
  /**
   * SCRAM credentials (RFC 5802) for Kafka's SCRAM-SHA-256/512, derived when the password is set.
   * Users stored before Pier had them lack them: they log in with PLAIN until the password is reset.
   */
  readonly scram?: Partial<Record<ScramMechanism, ScramCredential>>;
}

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** What a SCRAM server keeps: never the password, only keys derived from it (base64). */
export interface ScramCredential {
  readonly salt: string;
  readonly iterations: number;
  readonly storedKey: string;
  readonly serverKey: string;
}

/** Kafka's minimum (and kafka-configs' default) iteration count. */
export const SCRAM_ITERATIONS = 4096;

export function scramDigest(mechanism: ScramMechanism): 'sha256' | 'sha512' {
  return mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

export function scramCredential(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer = randomBytes(24),
  iterations = SCRAM_ITERATIONS,
): ScramCredential {
  const digest = scramDigest(mechanism);
  const keyBytes = digest === 'sha256' ? 32 : 64;
  const saltedPassword = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, keyBytes, digest);
  const clientKey = createHmac(digest, saltedPassword).update('Client Key').digest();
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: createHash(digest).update(clientKey).digest('base64'),
    serverKey: createHmac(digest, saltedPassword).update('Server Key').digest('base64'),
  };
}

/** Everything stored for a password: the PLAIN hash and the SCRAM credentials. */
export function passwordCredentials(password: string): Pick<User, 'passwordHash' | 'scram'> {
  return {
    passwordHash: hashPassword(password),
    scram: {
      'SCRAM-SHA-256': scramCredential('SCRAM-SHA-256', password),
      'SCRAM-SHA-512': scramCredential('SCRAM-SHA-512', password),
    },
  };
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
