/**
 * Routing: which queues a message published to an exchange reaches, following exchange-to-exchange
 * bindings and alternate exchanges, as RabbitMQ does. The vhost owns the exchange and queue tables
 * and enqueues; this file only walks them.
 */
import type { Arguments, Binding, Exchange } from './exchange.js';
import type { Queue } from './queue.js';

/** What routing reads: a vhost's exchanges and queues by name. */
export interface RoutingTables {
  readonly exchanges: ReadonlyMap<string, Exchange>;
  readonly queues: ReadonlyMap<string, Queue>;
}

export class Router {
  constructor(
    private readonly tables: RoutingTables,
    /** Delayed and deduplicating exchanges hold a message themselves instead of routing it on. */
    private readonly holdsMessages: (exchange: Exchange) => boolean,
  ) {}

  /**
   * Adds to `out` the queues a message published to `exchange` reaches, following
   * exchange-to-exchange bindings (each exchange visited once, so binding cycles terminate). The
   * default exchange routes to the queue named by the routing key. Exchanges met on the way that
   * hold messages themselves are added to `held` (when given) instead of being walked through.
   */
  route(
    exchange: Exchange,
    routingKey: string,
    headers: () => Arguments | undefined,
    out: Set<Queue>,
    /** Sender-selected routing keys (CC and BCC headers), routed as well as `routingKey`. */
    extraKeys?: readonly string[],
    held?: Exchange[],
  ): void {
    const { exchanges, queues } = this.tables;
    if (exchange.name === '') {
      const queue = queues.get(routingKey);
      if (queue) out.add(queue);
      for (const key of extraKeys ?? []) {
        const extra = queues.get(key);
        if (extra) out.add(extra);
      }
      return;
    }
    const visited = new Set([exchange.name]);
    this.collectRoutesForKeys(exchange, routingKey, extraKeys, headers, out, visited, held);
    // Unroutable: try the alternate exchange (and its alternate, each exchange at most once).
    let current = exchange;
    while (out.size === 0) {
      const alternate = current.alternateExchange;
      if (alternate === undefined || visited.has(alternate)) return;
      const next = exchanges.get(alternate);
      if (!next) return;
      visited.add(alternate);
      this.collectRoutesForKeys(next, routingKey, extraKeys, headers, out, visited, held);
      current = next;
    }
  }

  /** Adds the queues reached from `exchange` with one routing key; `visited` guards against cycles. */
  collectRoutes(
    exchange: Exchange,
    routingKey: string,
    headers: () => Arguments | undefined,
    out: Set<Queue>,
    visited: Set<string>,
    held?: Exchange[],
  ): void {
    const matched = new Set<Binding>();
    exchange.match(routingKey, headers, matched);
    for (const binding of matched) {
      const name = binding.destination.name;
      if (binding.destination.kind === 'queue') {
        const queue = this.tables.queues.get(name);
        if (queue) out.add(queue);
      } else if (!visited.has(name)) {
        visited.add(name);
        const next = this.tables.exchanges.get(name);
        if (next && held && this.holdsMessages(next)) {
          if (!held.includes(next)) held.push(next);
        } else if (next) this.collectRoutes(next, routingKey, headers, out, visited, held);
      }
    }
  }

  /** One key walks with `visited` itself (no copy on the common path); CC keys each walk afresh. */
  private collectRoutesForKeys(
    exchange: Exchange,
    routingKey: string,
    extraKeys: readonly string[] | undefined,
    headers: () => Arguments | undefined,
    out: Set<Queue>,
    visited: Set<string>,
    held: Exchange[] | undefined,
  ): void {
    if (extraKeys === undefined) {
      this.collectRoutes(exchange, routingKey, headers, out, visited, held);
      return;
    }
    for (const key of [routingKey, ...extraKeys])
      this.collectRoutes(exchange, key, headers, out, new Set(visited), held);
  }
}
