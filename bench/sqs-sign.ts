// Minimal SigV4 signing for the load generator's AWS JSON 1.0 requests (POST /, four signed
// headers). The signing key is derived once per signer; a request then costs one SHA-256 of the
// body, one of the canonical request and one HMAC, so DeleteMessageBatch can be signed per call.
import { createHash, createHmac } from 'node:crypto';

const SIGNED_HEADERS = 'content-type;host;x-amz-date;x-amz-target';
export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

export interface SignerConfig {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** `host:port` exactly as sent in the Host header. */
  host: string;
}

/** `20261128T122000Z` for a time in ms. */
export function amzDate(timeMs: number): string {
  return new Date(timeMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export class JsonRequestSigner {
  private readonly dateStamp: string;
  private readonly scope: string;
  private readonly signingKey: Buffer;
  private readonly credentialPrefix: string;

  /** Signs with the X-Amz-Date of signedAtMs (SQS accepts it for 15 minutes either side). */
  constructor(
    private readonly config: SignerConfig,
    signedAtMs = Date.now(),
  ) {
    this.dateStamp = amzDate(signedAtMs);
    const day = this.dateStamp.slice(0, 8);
    this.scope = `${day}/${config.region}/sqs/aws4_request`;
    this.signingKey = hmac(
      hmac(hmac(hmac(`AWS4${config.secretAccessKey}`, day), config.region), 'sqs'),
      'aws4_request',
    );
    this.credentialPrefix = `AWS4-HMAC-SHA256 Credential=${config.accessKeyId}/${this.scope}, SignedHeaders=${SIGNED_HEADERS}, Signature=`;
  }

  /** The headers of a signed `POST /` calling AmazonSQS.<action> with this body. */
  headers(action: string, body: Buffer): Record<string, string> {
    const target = `AmazonSQS.${action}`;
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const canonical =
      `POST\n/\n\ncontent-type:${JSON_CONTENT_TYPE}\nhost:${this.config.host}\nx-amz-date:${this.dateStamp}\n` +
      `x-amz-target:${target}\n\n${SIGNED_HEADERS}\n${bodyHash}`;
    const stringToSign = `AWS4-HMAC-SHA256\n${this.dateStamp}\n${this.scope}\n${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
    return {
      'content-type': JSON_CONTENT_TYPE,
      host: this.config.host,
      'x-amz-date': this.dateStamp,
      'x-amz-target': target,
      'content-length': String(body.length),
      authorization:
        this.credentialPrefix + createHmac('sha256', this.signingKey).update(stringToSign).digest('hex'),
    };
  }
}
