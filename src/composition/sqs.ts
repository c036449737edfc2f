/**
 * Composes Pier's SQS side: the queue registry over storage (restored at start even when the
 * listener is off, so queues and their messages are kept) and the HTTP listener with its action
 * table and signature checking.
 */
import type { ResolvedBrokerOptions } from '../config/settings.js';
import type { Clock } from '../core/clock.js';
import { SqsQueueRegistry } from '../core/sqs/registry.js';
import { sqsActions } from '../protocol/sqs/actions/index.js';
import type { SqsPipelineOptions } from '../protocol/sqs/http-pipeline.js';
import { SqsServer } from '../protocol/sqs/server.js';
import type { WriteAvailability } from '../resources/resource-monitor.js';
import type { Storage } from '../storage/storage.js';
import {
  type BoundAddress,
  BrokerConfigError,
  bindListener,
  formatHost,
  isLoopbackHost,
  type ProtocolParts,
} from './listener.js';
import type { BoundTlsListener, TlsParts } from './tls.js';

export interface SqsAccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /**
   * The 12-digit account the key belongs to; absent: the queues' account (--sqs-account-id), whose
   * callers are allowed by identity. A key of another account acts only where a queue's Policy
   * allows it (AWS's cross-account model).
   */
  readonly accountId?: string;
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
  /** Message content of durable queues held in memory (core/sqs/memory-window.ts). */
  memoryWindowBytes?: number;
  /**
   * HTTP parsing, SigV4 hashing, decoding and answer formatting of the plain listener on a worker
   * thread, the queues and decisions on the main one (protocol/sqs/http-thread-host.ts).
   */
  httpThread?: boolean;
}

export interface SqsListenerAddress extends BoundAddress {
  /** For an SDK's `endpoint`, e.g. `http://127.0.0.1:9324`. */
  readonly endpoint: string;
}

export interface SqsParts extends ProtocolParts<SqsListenerAddress> {
  readonly registry: SqsQueueRegistry;
  /** Binds the HTTPS listener (call once): the same API; queue URLs given over it are https. */
  listenTls(host: string, port: number, tls: TlsParts): Promise<SqsListenerAddress>;
}

export interface SqsCompositionInput {
  readonly storage: Storage;
  readonly clock: Clock;
  /** With the defaults filled in (resolveBrokerOptions). */
  readonly options: ResolvedBrokerOptions['sqs'];
  readonly log: (line: string) => void;
  /** Failed signatures per address, shared with the other protocols' logins. */
  readonly loginThrottle?: SqsPipelineOptions['loginThrottle'];
  /** Users' access keys (core/access-keys.ts), beside those given by --sqs-access-key. */
  readonly userAccessKeys?: {
    get(id: string): { secretAccessKey: string; accountId?: string } | undefined;
    readonly size: number;
  };
  /** The disk alarm: sends are answered 503 ServiceUnavailable while it is raised. */
  readonly writes?: WriteAvailability;
}

export function composeSqs({
  storage,
  clock,
  options,
  log,
  loginThrottle,
  userAccessKeys,
  writes,
}: SqsCompositionInput): SqsParts {
  const { accountId } = options;
  if (!/^\d{12}$/.test(accountId)) {
    throw new Error(`sqs: account id '${accountId}' must be 12 digits (--sqs-account-id)`);
  }
  const flagKeys = new Map(options.accessKeys.map((k) => [k.accessKeyId, k.secretAccessKey]));
  const flagKeyAccounts = new Map(
    options.accessKeys.flatMap((k) => (k.accountId ? [[k.accessKeyId, k.accountId] as const] : [])),
  );
  // The keys of --sqs-access-key and those of users (`pier user access-key`), looked up live.
  // Once there has been a key, signatures stay checked: deleting the last key must not reopen
  // loopback mode (accept any signature), so `size` never drops back to 0.
  let keysSeen = false;
  const accessKeys = {
    get: (id: string) => flagKeys.get(id) ?? userAccessKeys?.get(id)?.secretAccessKey,
    get size() {
      const count = flagKeys.size + (userAccessKeys?.size ?? 0);
      if (count > 0) keysSeen = true;
      return keysSeen ? Math.max(count, 1) : 0;
    },
  };
  const keyAccounts = {
    get: (id: string) => flagKeyAccounts.get(id) ?? userAccessKeys?.get(id)?.accountId,
  };
  const registry = new SqsQueueRegistry({
    clock,
    accountId,
    region: options.region,
    storage: storage.sqs,
    definitions: storage.definitions,
    durability: storage.committer,
    memoryWindowBytes: options.memoryWindowBytes,
  });
  let server: SqsServer | undefined;
  let tlsListener: BoundTlsListener | undefined;
  const refuseOpenBeyondLoopback = (host: string) => {
    if (accessKeys.size === 0 && !isLoopbackHost(host)) {
      throw new BrokerConfigError(
        `sqs: the listener on ${host} is beyond loopback and would accept any signature; configure keys (--sqs-access-key <id>:<secret>) or bind 127.0.0.1`,
      );
    }
  };
  // One HTTP server answers both listeners (plain and TLS), made by whichever binds first.
  const ensureServer = (): SqsServer => {
    if (server) return server;
    server = new SqsServer({
      registry,
      actions: sqsActions,
      accessKeys,
      keyAccounts,
      maxRequestBytes: options.maxRequestBytes,
      maxConnections: options.maxConnections,
      httpThread: options.httpThread,
      log,
      ...(loginThrottle ? { loginThrottle } : {}),
      ...(writes ? { writes } : {}),
    });
    log(
      accessKeys.size > 0
        ? `sqs: SigV4 signatures checked against ${accessKeys.size} access key(s)`
        : 'sqs: loopback mode: any well-formed SigV4 signature accepted (--sqs-access-key to check them)',
    );
    return server;
  };
  return {
    registry,
    restore(storedDefinitions) {
      registry.restore(storedDefinitions);
      return [];
    },
    async listen(host, port) {
      refuseOpenBeyondLoopback(host);
      const listening = ensureServer();
      const bound = await bindListener('sqs', '--sqs-port', host, port, (h, p) => listening.listen(h, p));
      return { ...bound, endpoint: `http://${formatHost(bound.host)}:${bound.port}` };
    },
    async listenTls(host, port, tls) {
      refuseOpenBeyondLoopback(host);
      const listening = ensureServer();
      tlsListener = await tls.listen('sqs', '--sqs-tls-port', host, port, (socket) =>
        listening.accept(socket),
      );
      listening.tlsBound(tlsListener);
      return {
        host: tlsListener.host,
        port: tlsListener.port,
        endpoint: `https://${formatHost(tlsListener.host)}:${tlsListener.port}`,
      };
    },
    async stopListening() {
      // Long polls are answered (empty) before their connections close.
      registry.close();
      const tlsClosed = tlsListener?.close();
      await server?.close();
      await tlsClosed;
    },
    close() {
      registry.close();
    },
  };
}

/**
 * `--sqs-access-key <id>:<secret>[:<account-id>]`; undefined when malformed. A last part of 12
 * digits after a second colon is the key's account (AWS secret keys never contain ':').
 */
export function parseSqsAccessKey(text: string): SqsAccessKey | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) return undefined;
  const accessKeyId = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  const account = /^(.+):(\d{12})$/.exec(rest);
  if (account) return { accessKeyId, secretAccessKey: account[1]!, accountId: account[2]! };
  return { accessKeyId, secretAccessKey: rest };
}
