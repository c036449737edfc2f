/**
 * What an API handler sees: the decoded request, the connection it came on, and how it answers.
 * Each file in apis/ exports a function taking the services it needs and returning KafkaApi
 * entries; api-table.ts collects them. A handler returns the response body (or a promise of it:
 * Produce waits for the disk, Fetch long-polls); the connection writes responses in request order.
 */
import type { KafkaRequestHeader, KafkaStruct } from './codec/index.js';

/** The state of one client connection that handlers may read. */
export interface KafkaSession {
  readonly id: number;
  readonly remoteAddress: string;
  /** The SASL-authenticated user name; undefined when the listener needs no authentication. */
  readonly principal: string | undefined;
  /** True once the connection is closed: a long poll stops waiting and its answer is dropped. */
  readonly closed: boolean;
  /** Called once when the connection closes (long polls, group members of this connection). */
  onClose(listener: () => void): void;
  /** Closes the connection where Kafka does instead of answering. */
  close(reason: string): void;
}

/** Returned by a handler for a request Kafka does not answer (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('no response');

export type KafkaAnswer = KafkaStruct | typeof NO_RESPONSE;

/**
 * An answer may carry, under this key, a function the connection calls once the answer's bytes
 * are in the socket's hands (written to the kernel) or will never be (the connection closed):
 * a Fetch answer holding a stream's recycled memory unpins it then (apis/fetch.ts).
 */
export const AFTER_WRITE: unique symbol = Symbol('after write');

/** The AFTER_WRITE function of an answer, if it has one. */
export function afterWriteOf(answer: KafkaAnswer): (() => void) | undefined {
  return typeof answer === 'object' ? (answer as { [AFTER_WRITE]?: () => void })[AFTER_WRITE] : undefined;
}

export interface KafkaCall<Body = KafkaStruct> {
  readonly header: KafkaRequestHeader;
  readonly body: Body;
  readonly session: KafkaSession;
}

export interface KafkaApi {
  readonly apiKey: number;
  /** The versions Pier answers (advertised in ApiVersions); only fully implemented ones. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * True when the handler keeps no reference to the request's bytes once handle() returns (Produce:
   * the stream copies each batch), so the connection may assemble the next such request in the
   * same memory instead of fresh memory, whose page faults are a large part of a produce's cost.
   */
  readonly releasesRequestBytes?: boolean;
  /**
   * Answers a request. Called in arrival order on a connection, so appends made synchronously keep
   * the client's order; the promise may settle later (disk, long poll). Throwing a KafkaCodecError
   * closes the connection; any other throw is logged and closes it too.
   */
  // biome-ignore lint/suspicious/noExplicitAny: each handler narrows the body to its generated type
  handle(call: KafkaCall<any>): KafkaAnswer | Promise<KafkaAnswer>;
}
