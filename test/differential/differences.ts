// Where Pier deliberately behaves differently from RabbitMQ 3.10, one line each: what RabbitMQ does,
// what Pier does, and why. A scenario affected by one lists it with the normalisation that accounts
// for it, and its test prints the line. A Pier bug is not a deliberate difference: fix it instead.
import type { Observation } from './kit.js';

export interface Difference {
  /** RabbitMQ does ...; Pier does ...; because ... */
  readonly line: string;
}

export const DIFFERENCES = {} satisfies Record<string, Difference>;

/** A scenario's use of a difference: the line, and how both observations are normalised for it. */
export interface AccountedDifference {
  readonly difference: Difference;
  normalise(observation: Observation): Observation;
}
