// Where Pier deliberately behaves differently from RabbitMQ 3.10, one line each: what RabbitMQ does,
// what Pier does, and why (the README lists the same). A scenario affected by one lists it with the
// normalisation that accounts for it, and its test prints the line. A Pier bug is not a deliberate
// difference: fix it instead.
import type { Observation } from './kit.js';

export interface Difference {
  /** RabbitMQ does ...; Pier does ...; because ... */
  readonly line: string;
}

export const DIFFERENCES = {
  serverIdentity: {
    line:
      "server-properties: both say product 'RabbitMQ' (Pier by default, with version 3.10.8, the semantics it " +
      'implements: clients such as kombu/Celery switch prefetch semantics on them); version, platform, ' +
      'copyright, information and cluster_name name each server, and Pier adds pier_version, its own version.',
  },
  unknownMethod: {
    line:
      'an unknown class/method id: RabbitMQ fails with an internal error; Pier closes the connection with ' +
      '540 NOT_IMPLEMENTED, which names the problem.',
  },
  maxConnections: {
    line:
      '--max-connections: RabbitMQ 3.10 leaves extra connections waiting in the listen backlog; Pier refuses ' +
      'them with 530 at connection.open, as RabbitMQ 3.11+ does.',
  },
  maxMessageSize: {
    line:
      'message size limit: RabbitMQ 3.10 allows 128 MiB and checks after reading the body; Pier defaults to ' +
      "16 MiB (RabbitMQ 4.0's default) and checks at the content header, before buffering the body.",
  },
  consumerTimeout: {
    line:
      'consumer timeout: RabbitMQ 3.10 checks unacked deliveries once a minute; Pier times the oldest one, so ' +
      'the channel closes at the timeout rather than up to a minute later.',
  },
} satisfies Record<string, Difference>;

/** A scenario's use of a difference: the line, and how both observations are normalised for it. */
export interface AccountedDifference {
  readonly difference: Difference;
  normalise(observation: Observation): Observation;
}
