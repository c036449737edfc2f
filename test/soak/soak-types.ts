import type { Ledger } from './ledger.js';

/** Where the soak's clients reach the broker of the current cycle. */
export interface SoakAddress {
  readonly amqpUrl: string;
  readonly kafkaBootstrap: string;
  readonly sqsEndpoint: string;
}

/** One protocol's clients in the soak. */
export interface ProtocolLoad {
  readonly name: string;
  /** Starts the clients; the returned promise settles once they are running (or failed to start). */
  run(address: SoakAddress, signal: AbortSignal): Promise<void>;
  /** Drops every client (after the broker was killed, or at the end of a steady run). */
  close(): Promise<void>;
  /** Reads everything left, finishing it, and settles what is still owed as lost. */
  drain(address: SoakAddress): Promise<void>;
  ledgers(): Ledger[];
}
