/**
 * Composes Pier's SQS side: the queue registry over storage (restored at start even when the
 * listener is off, so queues and their messages are kept) and the HTTP listener with its action
 * table and signature checking.
 */
import type { ResolvedBrokerOptions } from '../config/settings.js';
import type { Clock } from '../core/clock.js';
import { SqsQueueRegistry } from '../core/sqs/registry.js';
import { sqsActions } from '../protocol/sqs/actions/index.js';
import { SqsServer } from '../protocol/sqs/server.js';
import type { Storage } from '../storage/storage.js';
import {
  type BoundAddress,
  BrokerConfigError,
  bindListener,
  formatHost,
  isLoopbackHost,
  type ProtocolParts,
} from './listener.js';

export interface SqsAccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** SQS settings; the defaults are those of the `--sqs-*` settings (config/settings.ts). */
export interface SqsOptions {
  /** The 12-digit account id in queue URLs and ARNs. */
  accountId?: string;
  /** The region in ARNs. */
  region?: string;
  /**
   * Keys whose SigV4 signatures are checked. None: any well-formed signature is accepted, which is
   * allowed only when the listener is on loopback.
   */
  accessKeys?: readonly SqsAccessKey[];
  /** Larger HTTP request bodies are refused with 413 (the default holds a 1 MiB message, encoded). */
  maxRequestBytes?: number;
  /** More connections are closed at once (node:http's maxConnections); Infinity: no limit. */
  maxConnections?: number;
}

export interface SqsListenerAddress extends BoundAddress {
  /** For an SDK's `endpoint`, e.g. `http://127.0.0.1:9324`. */
  readonly endpoint: string;
}

export interface SqsParts extends ProtocolParts<SqsListenerAddress> {
  readonly registry: SqsQueueRegistry;
}

export interface SqsCompositionInput {
  readonly storage: Storage;
  readonly clock: Clock;
  /** With the defaults filled in (resolveBrokerOptions). */
  readonly options: ResolvedBrokerOptions['sqs'];
  readonly log: (line: string) => void;
}

export function composeSqs({ storage, clock, options, log }: SqsCompositionInput): SqsParts {
  const { accountId } = options;
  if (!/^\d{12}$/.test(accountId)) {
    throw new Error(`sqs: account id '${accountId}' must be 12 digits (--sqs-account-id)`);
  }
  const accessKeys = new Map(options.accessKeys.map((k) => [k.accessKeyId, k.secretAccessKey]));
  const registry = new SqsQueueRegistry({
    clock,
    accountId,
    region: options.region,
    storage: storage.sqs,
    definitions: storage.definitions,
    durability: storage.committer,
  });
  let server: SqsServer | undefined;
  return {
    registry,
    restore(storedDefinitions) {
      registry.restore(storedDefinitions);
      return [];
    },
    async listen(host, port) {
      if (accessKeys.size === 0 && !isLoopbackHost(host)) {
        throw new BrokerConfigError(
          `sqs: the listener on ${host} is beyond loopback and would accept any signature; configure keys (--sqs-access-key <id>:<secret>) or bind 127.0.0.1`,
        );
      }
      server = new SqsServer({
        registry,
        actions: sqsActions,
        accessKeys,
        maxRequestBytes: options.maxRequestBytes,
        maxConnections: options.maxConnections,
        log,
      });
      const listening = server;
      const bound = await bindListener('sqs', '--sqs-port', host, port, (h, p) => listening.listen(h, p));
      log(
        accessKeys.size > 0
          ? `sqs: SigV4 signatures checked against ${accessKeys.size} access key(s)`
          : 'sqs: loopback mode: any well-formed SigV4 signature accepted (--sqs-access-key to check them)',
      );
      return { ...bound, endpoint: `http://${formatHost(bound.host)}:${bound.port}` };
    },
    async stopListening() {
      // Long polls are answered (empty) before their connections close.
      registry.close();
      await server?.close();
    },
    close() {
      registry.close();
    },
  };
}

/** `--sqs-access-key <id>:<secret>`; undefined when malformed. */
export function parseSqsAccessKey(text: string): SqsAccessKey | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) return undefined;
  return { accessKeyId: text.slice(0, colon), secretAccessKey: text.slice(colon + 1) };
}
