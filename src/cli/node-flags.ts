/**
 * The Node.js (V8) flags a broker process should start with; `npm start` passes them, and so do the
 * benches when they start `pier serve`. They cannot be set from inside the process: V8 reads them
 * when it sets up its heap (v8.setFlagsFromString afterwards changes nothing here, measured), and
 * Node refuses this one in NODE_OPTIONS, so `pier serve` started any other way needs it on node's
 * command line (README, "Node flags").
 *
 * --min-semi-space-size=16 keeps the young generation at its full 16 MiB (the default maximum)
 * instead of starting at 1 MiB and growing under load and shrinking when idle. While it grows, V8
 * sets the old generation's limit with the smaller young generation, finds after the next scavenge
 * that less room is left below the limit than one young generation could promote, and starts a full
 * mark-compact: one after every scavenge, ~6 a second at 47,000 msgs/s, each stopping the event loop
 * for 5-15 ms, for as long as a run lasts (bench/README.md, "A mark-compact after every scavenge").
 * It costs at most 32 MiB of resident memory (two semi-spaces) on an idle broker.
 *
 * --no-allocation-site-pretenuring: while a backlog builds (100,000 messages queued), nearly every
 * message object survives, so V8 marks the places that allocate them to allocate straight into the
 * old generation from then on, and keeps that after the backlog is gone. A message allocated old
 * keeps its young parts (body, properties) alive through every scavenge until the next full
 * mark-compact: 1.4-2 MB promoted per scavenge instead of none, a mark-compact every ~130 ms, p99
 * 14-18 ms at a quarter of the maximum rate for as long as the broker runs. Without pretenuring the
 * same runs gave ~3 ms (4 of 5), and saturation and Kafka's produce rate did not move (bench/README.md).
 */
export const BROKER_NODE_FLAGS: readonly string[] = [
  '--min-semi-space-size=16',
  '--no-allocation-site-pretenuring',
];
