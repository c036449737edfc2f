/**
 * The server side of a SCRAM exchange (RFC 5802/7677) as Kafka runs it: two client messages, two
 * server answers. Pure: the caller supplies the user's stored credential and a nonce.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type ScramCredential, type ScramMechanism, scramDigest } from '../../../core/users.js';

export class SaslFailure extends Error {
  override readonly name = 'SaslFailure';
  /**
   * Set when the client should be told why (a login throttle's lockout); otherwise clients get
   * Kafka's fixed "invalid credentials" text, which says nothing about which part was wrong.
   */
  constructor(
    message: string,
    readonly toldToClient = false,
  ) {
    super(message);
  }
}

export type CredentialLookup = (userName: string) => ScramCredential | undefined;

export class ScramServer {
  private state: 'client-first' | 'client-final' | 'done' = 'client-first';
  private userName = '';
  private credential: ScramCredential | undefined;
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: CredentialLookup,
    private readonly serverNonce: string,
  ) {}

  /** The authenticated user once the exchange succeeded. */
  get authenticatedUser(): string | undefined {
    return this.state === 'done' ? this.userName : undefined;
  }

  /** Takes the next client message and returns the server's answer; throws SaslFailure. */
  step(message: Buffer): Buffer {
    const text = message.toString('utf8');
    if (this.state === 'client-first') return Buffer.from(this.clientFirst(text), 'utf8');
    if (this.state === 'client-final') return Buffer.from(this.clientFinal(text), 'utf8');
    throw new SaslFailure('the SCRAM exchange is already complete');
  }

  private clientFirst(text: string): string {
    // gs2-header: "n,," or "y,," (no channel binding) optionally with "a=authzid"
    const match = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!match) throw new SaslFailure('invalid SCRAM client-first message');
    this.clientFirstBare = match[3]!;
    const attributes = parseAttributes(this.clientFirstBare);
    const name = attributes.get('n');
    const clientNonce = attributes.get('r');
    if (name === undefined || !clientNonce) throw new SaslFailure('invalid SCRAM client-first message');
    this.userName = name.replaceAll('=2C', ',').replaceAll('=3D', '=');
    this.credential = this.lookup(this.userName);
    if (!this.credential) throw new SaslFailure(`unknown user or no ${this.mechanism} credential`);
    this.nonce = clientNonce + this.serverNonce;
    this.serverFirst = `r=${this.nonce},s=${this.credential.salt},i=${this.credential.iterations}`;
    this.state = 'client-final';
    return this.serverFirst;
  }

  private clientFinal(text: string): string {
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) throw new SaslFailure('invalid SCRAM client-final message');
    const withoutProof = text.slice(0, proofAt);
    const attributes = parseAttributes(text);
    // librdkafka sends its client nonce again in front of the combined nonce; Kafka's server only
    // checks that the final nonce ends with the one it sent, and so does Pier.
    if (!(attributes.get('r') ?? '').endsWith(this.nonce)) throw new SaslFailure('SCRAM nonce mismatch');
    const credential = this.credential!;
    const digest = scramDigest(this.mechanism);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const storedKey = Buffer.from(credential.storedKey, 'base64');
    const clientSignature = createHmac(digest, storedKey).update(authMessage).digest();
    const proof = Buffer.from(attributes.get('p') ?? '', 'base64');
    if (proof.length !== clientSignature.length) throw new SaslFailure('invalid SCRAM proof');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const candidate = createHash(digest).update(clientKey).digest();
    if (!timingSafeEqual(candidate, storedKey)) throw new SaslFailure('invalid credentials');
    const serverKey = Buffer.from(credential.serverKey, 'base64');
    const serverSignature = createHmac(digest, serverKey).update(authMessage).digest('base64');
    this.state = 'done';
    return `v=${serverSignature}`;
  }
}

function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) attributes.set(part[0]!, part.slice(2));
  }
  return attributes;
}
