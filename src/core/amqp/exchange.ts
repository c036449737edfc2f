import { TopicTrie } from './topic-trie.js';

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers' | 'x-delayed-message';
export const EXCHANGE_TYPES: readonly ExchangeType[] = [
  'direct',
  'fanout',
  'topic',
  'headers',
  'x-delayed-message',
];
/** How bindings are matched: an exchange's own type, or a delayed exchange's `x-delayed-type`. */
export type RoutingType = Exclude<ExchangeType, 'x-delayed-message'>;

/** Arguments of queues, exchanges, bindings and consumers, as decoded from the protocol. */
export type Arguments = Record<string, unknown>;

/** Where a binding delivers: a queue or another exchange (exchange-to-exchange bindings). */
export interface BindingTarget {
  readonly kind: 'queue' | 'exchange';
  readonly name: string;
}

export interface Binding {
  readonly source: string;
  readonly destination: BindingTarget;
  readonly routingKey: string;
  readonly arguments: Arguments;
  /** Identity: same destination, key and arguments is the same binding. */
  readonly id: string;
}

export function bindingId(destination: BindingTarget, routingKey: string, args: Arguments): string {
  return `${destination.kind}\0${destination.name}\0${routingKey}\0${stableJson(args)}`;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

export interface ExchangeOptions {
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: Arguments;
}

/**
 * An exchange and its outgoing bindings, indexed for its type: direct by routing key, topic by a
 * word trie, fanout as a flat set, headers as a list tested against the message headers.
 */
export class Exchange {
  private readonly bindings = new Map<string, Binding>();
  private readonly byKey = new Map<string, Set<Binding>>();
  private readonly trie = new TopicTrie<Binding>();

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly type: ExchangeType,
    readonly options: ExchangeOptions,
  ) {
    // x-delayed-message routes as its x-delayed-type (validated at declare, see delayed-exchange.ts).
    this.routingType =
      type === 'x-delayed-message' ? (options.arguments['x-delayed-type'] as RoutingType) : type;
  }

  readonly routingType: RoutingType;

  /** The policy that applies to this exchange, if any (set by the vhost). */
  policy: { readonly name: string; readonly definition: Arguments } | undefined;

  /** Set by the vhost's exchange extensions: deduplication may follow the policy. */
  onPolicyChange: (() => void) | undefined;

  applyPolicy(policy: { readonly name: string; readonly definition: Arguments } | undefined): void {
    this.policy = policy;
    this.onPolicyChange?.();
  }

  /** Where unroutable messages go: the `alternate-exchange` argument, else the policy's. */
  get alternateExchange(): string | undefined {
    const fromArgs = this.options.arguments['alternate-exchange'];
    if (typeof fromArgs === 'string') return fromArgs;
    const fromPolicy = this.policy?.definition['alternate-exchange'];
    return typeof fromPolicy === 'string' ? fromPolicy : undefined;
  }

  get bindingCount(): number {
    return this.bindings.size;
  }

  allBindings(): IterableIterator<Binding> {
    return this.bindings.values();
  }

  hasBinding(id: string): boolean {
    return this.bindings.has(id);
  }

  /** Adds a binding; returns false when an identical one already exists. */
  addBinding(binding: Binding): boolean {
    if (this.bindings.has(binding.id)) return false;
    this.bindings.set(binding.id, binding);
    if (this.routingType === 'topic') this.trie.add(binding.routingKey, binding);
    else if (this.routingType === 'direct') {
      let set = this.byKey.get(binding.routingKey);
      if (!set) {
        set = new Set();
        this.byKey.set(binding.routingKey, set);
      }
      set.add(binding);
    }
    return true;
  }

  removeBinding(id: string): Binding | undefined {
    const binding = this.bindings.get(id);
    if (!binding) return undefined;
    this.bindings.delete(id);
    if (this.routingType === 'topic') this.trie.remove(binding.routingKey, binding);
    else if (this.routingType === 'direct') {
      const set = this.byKey.get(binding.routingKey);
      set?.delete(binding);
      if (set && set.size === 0) this.byKey.delete(binding.routingKey);
    }
    return binding;
  }

  /** Removes every binding to `destination`; returns the removed ones. */
  removeBindingsTo(destination: BindingTarget): Binding[] {
    const removed: Binding[] = [];
    for (const binding of [...this.bindings.values()]) {
      if (binding.destination.kind === destination.kind && binding.destination.name === destination.name) {
        this.removeBinding(binding.id);
        removed.push(binding);
      }
    }
    return removed;
  }

  /** Adds to `out` the bindings a message with this key and headers matches. */
  match(routingKey: string, headers: () => Arguments | undefined, out: Set<Binding>): void {
    switch (this.routingType) {
      case 'direct': {
        const set = this.byKey.get(routingKey);
        if (set) for (const binding of set) out.add(binding);
        return;
      }
      case 'fanout':
        for (const binding of this.bindings.values()) out.add(binding);
        return;
      case 'topic':
        this.trie.match(routingKey, out);
        return;
      case 'headers': {
        if (this.bindings.size === 0) return;
        const messageHeaders = headers() ?? {};
        for (const binding of this.bindings.values()) {
          if (headersMatch(binding.arguments, messageHeaders)) out.add(binding);
        }
        return;
      }
    }
  }
}

/**
 * The headers exchange rule as RabbitMQ applies it: `x-match` all (default) or any; keys starting
 * with `x-` are ignored unless x-match is all-with-x / any-with-x; a binding value of void (null)
 * matches on presence alone.
 */
export function headersMatch(bindingArgs: Arguments, messageHeaders: Arguments): boolean {
  const mode = String(bindingArgs['x-match'] ?? 'all');
  const any = mode === 'any' || mode === 'any-with-x';
  const withX = mode.endsWith('-with-x');
  for (const [key, expected] of Object.entries(bindingArgs)) {
    if (key === 'x-match') continue;
    if (!withX && key.startsWith('x-')) continue;
    const present = Object.hasOwn(messageHeaders, key);
    const ok =
      present && (expected === null || expected === undefined || valuesEqual(expected, messageHeaders[key]));
    if (any && ok) return true;
    if (!any && !ok) return false;
  }
  // all: every key matched; any: none did.
  return !any;
}

function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'bigint') return BigInt(a) === b;
  if (typeof a === 'bigint' && typeof b === 'number') return a === BigInt(b);
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Buffer.isBuffer(a) && typeof b === 'string') return a.toString() === b;
  if (typeof a === 'string' && Buffer.isBuffer(b)) return a === b.toString();
  if (a && b && typeof a === 'object' && typeof b === 'object') return stableJson(a) === stableJson(b);
  return false;
}
