/**
 * What every protocol's composition module shares: the shape of its parts, the errors a listener
 * start can end with, and host formatting for client URLs.
 */
import type { DefinitionEntry } from '../core/definitions.js';

/** Where a listener is bound. */
export interface BoundAddress {
  readonly host: string;
  readonly port: number;
}

/** A queue or stream directory, by vhost and name (Storage.queueDirName). */
export interface StoredQueueRef {
  readonly vhost: string;
  readonly queueName: string;
}

/**
 * One protocol wired to the core and storage. The broker restores every model even when its
 * listener is off (so its data is kept), starts the listeners it is asked for, and shuts down in
 * two steps: every listener first, then every model's stores.
 */
export interface ProtocolParts<Address> {
  /** Rebuilds the model from the stored definitions; returns the stream directories it uses. */
  restore(storedDefinitions: readonly DefinitionEntry[]): StoredQueueRef[];
  /** Binds the listener (call once); rejects with ListenerError or BrokerConfigError. */
  listen(host: string, port: number): Promise<Address>;
  /** Stops accepting and closes connections; a no-op when the listener never started. */
  stopListening(): Promise<void>;
  /** Releases the model's stores and timers (after every listener has stopped). */
  close(): void;
}

/** A listener's port is in use or otherwise cannot be bound: names the flag to change. */
export class ListenerError extends Error {
  constructor(
    readonly listener: string,
    readonly flag: string,
    readonly host: string,
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    const why =
      cause.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use`
        : cause.code === 'EACCES'
          ? `no permission to bind ${host}:${port}`
          : `cannot bind ${host}:${port} (${cause.message})`;
    super(`${listener}: ${why}; choose another with ${flag} (0 picks a free port)`);
    this.name = 'ListenerError';
  }
}

/** Options that cannot work together; the message says what to change. */
export class BrokerConfigError extends Error {
  override readonly name = 'BrokerConfigError';
}

/** Binds through `listen`, turning a bind failure into a ListenerError that names `flag`. */
export async function bindListener(
  listener: string,
  flag: string,
  host: string,
  port: number,
  listen: (host: string, port: number) => Promise<BoundAddress>,
): Promise<BoundAddress> {
  try {
    return await listen(host, port);
  } catch (error) {
    throw new ListenerError(listener, flag, host, port, error as NodeJS.ErrnoException);
  }
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** A host as it appears in a URL or a bootstrap address: IPv6 in brackets. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
