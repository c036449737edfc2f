/** The client side of SCRAM (RFC 5802) for tests: what kafkajs and librdkafka compute. */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export class ScramClient {
  private readonly clientNonce = randomBytes(12).toString('base64');
  private clientFirstBare = '';
  private serverSignature = '';

  constructor(
    private readonly digest: 'sha256' | 'sha512',
    private readonly user: string,
    private readonly password: string,
  ) {}

  first(): Buffer {
    this.clientFirstBare = `n=${this.user},r=${this.clientNonce}`;
    return Buffer.from(`n,,${this.clientFirstBare}`);
  }

  final(serverFirst: Buffer): Buffer {
    const text = serverFirst.toString();
    const attrs = new Map(text.split(',').map((p) => [p[0]!, p.slice(2)] as const));
    const nonce = attrs.get('r')!;
    if (!nonce.startsWith(this.clientNonce)) throw new Error('server nonce does not extend ours');
    const keyBytes = this.digest === 'sha256' ? 32 : 64;
    const salted = pbkdf2Sync(
      this.password,
      Buffer.from(attrs.get('s')!, 'base64'),
      Number(attrs.get('i')),
      keyBytes,
      this.digest,
    );
    const clientKey = createHmac(this.digest, salted).update('Client Key').digest();
    const storedKey = createHash(this.digest).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${text},${withoutProof}`;
    const signature = createHmac(this.digest, storedKey).update(authMessage).digest();
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    const serverKey = createHmac(this.digest, salted).update('Server Key').digest();
    this.serverSignature = createHmac(this.digest, serverKey).update(authMessage).digest('base64');
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** Whether the server's final message proves it knows the credential. */
  verify(serverFinal: Buffer): boolean {
    return serverFinal.toString() === `v=${this.serverSignature}`;
  }
}
