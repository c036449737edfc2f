/**
 * SaslHandshake (v0-1) and SaslAuthenticate (v0-2): PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 against
 * the broker's users (the same as AMQP's). After SaslHandshake v0 (kafka-python) the tokens travel
 * as bare frames, handled by the connection; after v1 they come wrapped in SaslAuthenticate.
 */
import type { SaslHandshakeRequest } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaSession } from '../kafka-api.js';
import {
  SASL_MECHANISMS,
  SaslAuthenticator,
  SaslFailure,
  type SaslUsers,
} from '../sasl/sasl-authenticator.js';

export const SASL_HANDSHAKE_KEY = 17;
export const SASL_AUTHENTICATE_KEY = 36;
/** The requests allowed before authentication completes. */
export const SASL_API_KEYS: ReadonlySet<number> = new Set([18, SASL_HANDSHAKE_KEY, SASL_AUTHENTICATE_KEY]);

/** A connection's SASL progress (owned by the connection, driven by these handlers). */
export interface SaslSessionState {
  authenticator: SaslAuthenticator | undefined;
  /** SaslHandshake v0 was used: the next frames are bare tokens. */
  rawTokens: boolean;
  principal: string | undefined;
  /** Set when authentication failed: the connection closes once the answer is written. */
  failure?: string;
}

interface SaslSession extends KafkaSession {
  readonly sasl: SaslSessionState;
}

export interface SaslServices {
  /** Whether the listener authenticates clients; without it SaslHandshake gets ILLEGAL_SASL_STATE. */
  readonly enabled: boolean;
  readonly users: SaslUsers;
}

export function saslApis({ enabled, users }: SaslServices): KafkaApi[] {
  const mechanisms = enabled ? [...SASL_MECHANISMS] : [];
  return [
    {
      apiKey: SASL_HANDSHAKE_KEY,
      minVersion: 0,
      maxVersion: 1,
      handle({ header, body, session }) {
        const { mechanism } = body as SaslHandshakeRequest;
        const state = (session as SaslSession).sasl;
        if (!enabled || state.principal !== undefined || state.authenticator !== undefined)
          return { errorCode: KafkaError.ILLEGAL_SASL_STATE, mechanisms };
        if (!SaslAuthenticator.supports(mechanism))
          return { errorCode: KafkaError.UNSUPPORTED_SASL_MECHANISM, mechanisms };
        state.authenticator = new SaslAuthenticator(mechanism, users, session.remoteAddress);
        state.rawTokens = header.apiVersion === 0;
        return { errorCode: KafkaError.NONE, mechanisms };
      },
    },
    {
      apiKey: SASL_AUTHENTICATE_KEY,
      minVersion: 0,
      maxVersion: 2,
      handle({ body, session }) {
        const state = (session as SaslSession).sasl;
        const authenticator = state.authenticator;
        const authBytes = (body as { authBytes: Buffer }).authBytes;
        if (!authenticator || state.rawTokens || state.principal !== undefined) {
          return {
            errorCode: KafkaError.ILLEGAL_SASL_STATE,
            errorMessage:
              'SaslAuthenticate must follow a SaslHandshake v1 and come before authentication completes',
            authBytes: Buffer.alloc(0),
            sessionLifetimeMs: 0n,
          };
        }
        try {
          const reply = authenticator.step(authBytes);
          if (authenticator.authenticatedUser !== undefined)
            state.principal = authenticator.authenticatedUser;
          return { errorCode: KafkaError.NONE, errorMessage: null, authBytes: reply, sessionLifetimeMs: 0n };
        } catch (error) {
          if (!(error instanceof SaslFailure)) throw error;
          state.failure = `SASL ${authenticator.mechanism} authentication failed: ${error.message}`;
          return {
            errorCode: KafkaError.SASL_AUTHENTICATION_FAILED,
            errorMessage: error.toldToClient
              ? error.message
              : `Authentication failed during authentication due to invalid credentials with SASL mechanism ${authenticator.mechanism}`,
            authBytes: Buffer.alloc(0),
            sessionLifetimeMs: 0n,
          };
        }
      },
    },
  ];
}
