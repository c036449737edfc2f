/**
 * What a shovel reads from and writes to, whatever the protocol. A source hands over deliveries
 * (at most prefetch-count unsettled); `settle` removes a delivery from the source (AMQP ack, Kafka
 * offset commit, SQS DeleteMessage). A destination's `send` resolves only when the destination
 * confirmed the message (AMQP publisher confirm, Kafka acks=all, SQS SendMessageBatch answer).
 * Closing a source without settling leaves its messages there (requeued, uncommitted, or visible
 * again after the visibility timeout): that is what makes a shovel at-least-once.
 */
import type { BridgeMessage } from './message-mapping.js';

export interface Delivery {
  readonly message: BridgeMessage;
  /** Names the message at its source, stable across redeliveries (a Kafka offset, an SQS MessageId…). */
  readonly sourceId: string;
  /** Takes the message off the source. */
  settle(): Promise<void>;
}

export interface ShovelSource {
  /** Connects and starts delivering; `fail` reports a broken connection after open. */
  open(deliver: (delivery: Delivery) => void, fail: (error: Error) => void): Promise<void>;
  /** Messages waiting at a queue source now (for src-delete-after queue-length). */
  depth?(): Promise<number>;
  close(): Promise<void>;
}

export interface ShovelDestination {
  open(fail: (error: Error) => void): Promise<void>;
  /** Resolves when the destination confirmed; rejects when it refused. In order of calls. */
  send(message: BridgeMessage, stableId: string): Promise<void>;
  close(): Promise<void>;
}

/** How to reach this Pier's own listeners (local endpoints), filled in by composition. */
export interface LocalListeners {
  /** `amqp://user:pass@127.0.0.1:port/vhost`; undefined when the AMQP listener is off. */
  amqpUrl(vhost: string, user?: string, password?: string): string | undefined;
  /** `127.0.0.1:port`; undefined when the Kafka listener is off. */
  readonly kafkaBootstrap: string | undefined;
  readonly kafkaSasl?: { readonly username: string; readonly password: string };
  readonly sqs:
    | {
        readonly endpoint: string;
        readonly region: string;
        readonly accessKeyId: string;
        readonly secretAccessKey: string;
      }
    | undefined;
}

/** The header (Kafka header, SQS attribute) carrying a shovelled copy's stable id. */
export const STABLE_ID_HEADER = 'x-shovel-message-id';

export class EndpointUnavailable extends Error {
  constructor(what: string) {
    super(`${what}: its listener is switched off on this Pier; give a URI or switch the listener on`);
    this.name = 'EndpointUnavailable';
  }
}

/**
 * A destination refused this one message for good (too large, malformed, unroutable, nacked):
 * sending it again unchanged will not help. Everything else a destination rejects with (connection
 * refused, broker down, timeouts) is transient and retried with back-off for ever.
 */
export class PermanentRefusal extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'PermanentRefusal';
  }
}

/** Headers (Kafka headers, SQS attributes) saying why a dead-lettered copy is there. */
export const DEAD_LETTER_HEADERS = {
  reason: 'x-shovel-dead-letter-reason',
  shovel: 'x-shovel-dead-letter-shovel',
  source: 'x-shovel-dead-letter-source',
  destination: 'x-shovel-dead-letter-destination',
  attempts: 'x-shovel-dead-letter-attempts',
} as const;
