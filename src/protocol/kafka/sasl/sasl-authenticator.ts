/**
 * One connection's SASL state: which mechanism the client chose in SaslHandshake, and the tokens
 * exchanged after it (wrapped in SaslAuthenticate, or raw frames after SaslHandshake v0).
 */
import { randomBytes } from 'node:crypto';
import { lockedOutReason } from '../../../core/login-throttle.js';
import {
  GUEST_USER,
  isLoopbackAddress,
  SCRAM_MECHANISMS,
  type ScramMechanism,
  type User,
} from '../../../core/users.js';
import { SaslFailure, ScramServer } from './scram-server.js';

export const SASL_MECHANISMS = ['PLAIN', ...SCRAM_MECHANISMS] as const;

/** Checks a user name and password (the broker's users, shared with AMQP). */
export interface SaslUsers {
  authenticate(
    userName: string,
    password: string,
    remoteAddress: string,
  ): { ok: true; user: User } | { ok: false; reason: string };
  get(userName: string): User | undefined;
  /**
   * Failed logins per address (core/login-throttle.ts); PLAIN goes through `authenticate`, which
   * counts them itself, SCRAM is counted here.
   */
  readonly throttle?: {
    retryAfterMs(address: string): number;
    failed(address: string): number;
    succeeded(address: string): void;
  };
}

export class SaslAuthenticator {
  private scram: ScramServer | undefined;
  private user: string | undefined;

  constructor(
    readonly mechanism: string,
    private readonly users: SaslUsers,
    private readonly remoteAddress: string,
  ) {}

  static supports(mechanism: string): boolean {
    return (SASL_MECHANISMS as readonly string[]).includes(mechanism);
  }

  get authenticatedUser(): string | undefined {
    return this.user;
  }

  /** Takes a client token; returns the server's token. Throws SaslFailure when authentication fails. */
  step(token: Buffer): Buffer {
    if (this.mechanism === 'PLAIN') return this.plain(token);
    if (this.scram === undefined) {
      const retryAfterMs = this.users.throttle?.retryAfterMs(this.remoteAddress) ?? 0;
      if (retryAfterMs > 0) throw new SaslFailure(lockedOutReason(this.remoteAddress, retryAfterMs), true);
    }
    this.scram ??= new ScramServer(
      this.mechanism as ScramMechanism,
      // guest logs in from loopback only, whatever the mechanism (as over AMQP).
      (name) =>
        name === GUEST_USER && !isLoopbackAddress(this.remoteAddress)
          ? undefined
          : this.users.get(name)?.scram?.[this.mechanism as ScramMechanism],
      randomBytes(18).toString('base64'),
    );
    let answer: Buffer;
    try {
      answer = this.scram.step(token);
    } catch (error) {
      if (error instanceof SaslFailure) this.users.throttle?.failed(this.remoteAddress);
      throw error;
    }
    this.user = this.scram.authenticatedUser;
    if (this.user !== undefined) this.users.throttle?.succeeded(this.remoteAddress);
    return answer;
  }

  private plain(token: Buffer): Buffer {
    // authzid NUL authcid NUL password
    const parts = token.toString('utf8').split('\0');
    if (parts.length !== 3) throw new SaslFailure('invalid PLAIN token');
    const [authzid, userName, password] = parts as [string, string, string];
    if (authzid !== '' && authzid !== userName) throw new SaslFailure('authorization id must match the user');
    const retryAfterMs = this.users.throttle?.retryAfterMs(this.remoteAddress) ?? 0;
    if (retryAfterMs > 0) throw new SaslFailure(lockedOutReason(this.remoteAddress, retryAfterMs), true);
    const result = this.users.authenticate(userName, password, this.remoteAddress);
    if (!result.ok) throw new SaslFailure(result.reason);
    this.user = userName;
    return Buffer.alloc(0);
  }
}

export { SaslFailure };
