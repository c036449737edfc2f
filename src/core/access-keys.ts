/**
 * SQS access keys that belong to Pier users (`pier user access-key add|list|delete`): an id and a
 * secret for SigV4, made by the broker as AWS makes them for an IAM user, kept durably in the
 * definitions (kind `access-key`, never in the RabbitMQ-format export) and removed with their user.
 * A key may name another 12-digit account: its caller is then that account for SQS queue policies.
 */
import { randomBytes } from 'node:crypto';

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly user: string;
  /** The account its caller acts as; undefined = the queues' own account. */
  readonly accountId?: string;
  readonly createdMs: number;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `AKIA` and 16 characters of A-Z2-7, as AWS's long-term access key ids look. */
export function newAccessKeyId(): string {
  let id = 'AKIA';
  for (const byte of randomBytes(16)) id += ID_ALPHABET[byte % 32];
  return id;
}

/** 40 characters of base64, as AWS's secret access keys. */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64');
}

export class AccessKeyTable {
  private readonly byId = new Map<string, AccessKey>();

  get size(): number {
    return this.byId.size;
  }

  get(accessKeyId: string): AccessKey | undefined {
    return this.byId.get(accessKeyId);
  }

  set(key: AccessKey): void {
    this.byId.set(key.accessKeyId, key);
  }

  delete(accessKeyId: string): boolean {
    return this.byId.delete(accessKeyId);
  }

  list(user?: string): AccessKey[] {
    return [...this.byId.values()]
      .filter((k) => user === undefined || k.user === user)
      .sort((a, b) => a.user.localeCompare(b.user) || a.createdMs - b.createdMs);
  }
}
