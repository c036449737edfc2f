/**
 * Brute-force protection shared by every protocol's login: after `maxFailures` failed logins from
 * one source address within `windowMs`, further logins from that address are refused without
 * looking at the credentials until `lockoutMs` has passed (each new lockout of the same address
 * twice as long, up to `maxLockoutMs`). A successful login clears the address's failures. Keyed by
 * address, not by user name, so a guessing client cannot lock a user out from everywhere; memory is
 * bounded by `maxTrackedAddresses` (the oldest entries go first). Loopback clients are exempt unless
 * `includeLoopback`: local tools and test suites that try wrong passwords on purpose are not slowed,
 * and a local process has easier ways in than guessing.
 */
import type { Clock } from './clock.js';
import { isLoopbackAddress } from './users.js';

export interface LoginThrottleOptions {
  /** Failed logins within the window that start a lockout; 0 turns the throttle off. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** The first lockout's length; repeated lockouts double it up to maxLockoutMs. */
  readonly lockoutMs: number;
  readonly maxLockoutMs: number;
  readonly maxTrackedAddresses: number;
  readonly includeLoopback: boolean;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  maxFailures: 10,
  windowMs: 60_000,
  lockoutMs: 10_000,
  maxLockoutMs: 300_000,
  maxTrackedAddresses: 100_000,
  includeLoopback: false,
};

interface AddressState {
  /** Times of the failures still inside the window, oldest first. */
  failuresMs: number[];
  lockedUntilMs: number;
  lockouts: number;
}

/** Why a login was refused by the throttle, for the protocol's error text. */
export function lockedOutReason(address: string, retryAfterMs: number): string {
  return `too many failed logins from ${address}; try again in ${Math.ceil(retryAfterMs / 1000)} s`;
}

export class LoginThrottle {
  private readonly addresses = new Map<string, AddressState>();

  private readonly options: LoginThrottleOptions;

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    options: Partial<LoginThrottleOptions> = {},
  ) {
    this.options = { ...DEFAULT_LOGIN_THROTTLE, ...options };
  }

  private exempt(address: string | undefined): address is undefined {
    return (
      address === undefined ||
      this.options.maxFailures <= 0 ||
      (!this.options.includeLoopback && isLoopbackAddress(address))
    );
  }

  /** Milliseconds until `address` may try again; 0 when it may try now. */
  retryAfterMs(address: string | undefined): number {
    if (this.exempt(address)) return 0;
    const state = this.addresses.get(address);
    if (!state) return 0;
    return Math.max(0, state.lockedUntilMs - this.clock.now());
  }

  /**
   * Counts a failed login; returns the lockout it started in milliseconds (0 when none started),
   * so the caller can log the start of a lockout once.
   */
  failed(address: string | undefined): number {
    if (this.exempt(address)) return 0;
    const now = this.clock.now();
    let state = this.addresses.get(address);
    if (state) {
      // Re-inserted so the map's order stays least-recently-failed first (the eviction order).
      this.addresses.delete(address);
    } else {
      state = { failuresMs: [], lockedUntilMs: 0, lockouts: 0 };
      if (this.addresses.size >= this.options.maxTrackedAddresses) {
        const oldest = this.addresses.keys().next().value;
        if (oldest !== undefined) this.addresses.delete(oldest);
      }
    }
    this.addresses.set(address, state);
    const windowStart = now - this.options.windowMs;
    while (state.failuresMs.length > 0 && state.failuresMs[0]! <= windowStart) state.failuresMs.shift();
    state.failuresMs.push(now);
    if (state.failuresMs.length < this.options.maxFailures) return 0;
    const lockoutMs = Math.min(this.options.maxLockoutMs, this.options.lockoutMs * 2 ** state.lockouts);
    state.lockouts++;
    state.lockedUntilMs = now + lockoutMs;
    state.failuresMs = [];
    return lockoutMs;
  }

  /** A successful login: the address starts afresh. */
  succeeded(address: string | undefined): void {
    if (address !== undefined) this.addresses.delete(address);
  }

  /** Addresses currently tracked (for tests and metrics). */
  get trackedAddresses(): number {
    return this.addresses.size;
  }
}
