/**
 * Policies, as `rabbitmqctl set_policy` defines them: a name, a regular expression matched against
 * queue and/or exchange names in one vhost, a priority and a definition of optional arguments
 * (message-ttl, max-length, dead-letter-exchange...). At most one policy applies to an entity: the
 * matching one with the highest priority. This module validates, stores and matches; what a
 * definition does is up to Queue and Exchange (they receive it through `applyPolicy`).
 */
import { preconditionFailed } from './errors.js';

export type PolicyApplyTo = 'queues' | 'exchanges' | 'all';
export const POLICY_APPLY_TO: readonly PolicyApplyTo[] = ['queues', 'exchanges', 'all'];

/** What a queue or exchange is told about the policy in effect. */
export interface AppliedPolicy {
  /** The (user) policy's name; '' when only an operator policy applies. */
  readonly name: string;
  readonly definition: Record<string, unknown>;
  /** The operator policy merged in (RabbitMQ's `operator_policy`), if any. */
  readonly operatorPolicy?: string;
}

export interface Policy extends AppliedPolicy {
  readonly vhost: string;
  readonly pattern: string;
  readonly applyTo: PolicyApplyTo;
  readonly priority: number;
}

/** A queue or exchange as policies see it. */
export interface PolicyTarget {
  readonly name: string;
  policy: AppliedPolicy | undefined;
  applyPolicy(policy: AppliedPolicy | undefined): void;
}

type Check = (value: unknown) => boolean;

const isInteger =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min;
const isString: Check = (v) => typeof v === 'string';
const oneOf =
  (...allowed: string[]): Check =>
  (v) =>
    typeof v === 'string' && allowed.includes(v);

/**
 * Every definition key Pier accepts, with RabbitMQ's validation and the noun of its error text
 * (`-1 is not a valid maximum length`). queue-mode is accepted and has no effect (Pier pages every
 * queue anyway); the deduplication keys follow LavinMQ and the RabbitMQ deduplication plugin.
 */
const DEFINITION_KEYS: Readonly<Record<string, readonly [Check, string]>> = {
  'message-ttl': [isInteger(0), 'message TTL'],
  expires: [isInteger(1), 'queue expiry'],
  'max-length': [isInteger(0), 'maximum length'],
  'max-length-bytes': [isInteger(0), 'maximum length in bytes'],
  overflow: [oneOf('drop-head', 'reject-publish', 'reject-publish-dlx'), 'overflow value'],
  'dead-letter-exchange': [isString, 'dead letter exchange name'],
  'dead-letter-routing-key': [isString, 'dead letter routing key'],
  'delivery-limit': [isInteger(0), 'delivery limit'],
  'alternate-exchange': [isString, 'alternate exchange name'],
  'max-age': [(v) => typeof v === 'string' && /^[0-9]+[YMDhms]$/.test(v), 'max age'],
  'stream-max-segment-size-bytes': [isInteger(0), 'segment size'],
  'queue-mode': [oneOf('default', 'lazy'), 'queue-mode value'],
  'message-deduplication': [(v) => typeof v === 'boolean', 'message deduplication flag'],
  'cache-size': [isInteger(0), 'deduplication cache size'],
  'cache-ttl': [isInteger(0), 'deduplication cache TTL'],
};

export const POLICY_DEFINITION_KEYS: readonly string[] = Object.keys(DEFINITION_KEYS);

/**
 * What an operator policy may set in RabbitMQ 3.10 (rabbit_policies' operator policy validators):
 * limits only, each merged with the user policy by taking the lower value.
 */
const OPERATOR_DEFINITION_KEYS: Readonly<Record<string, readonly [Check, string]>> = {
  expires: DEFINITION_KEYS.expires!,
  'message-ttl': DEFINITION_KEYS['message-ttl']!,
  'max-length': DEFINITION_KEYS['max-length']!,
  'max-length-bytes': DEFINITION_KEYS['max-length-bytes']!,
  'max-in-memory-length': [isInteger(0), 'maximum in-memory length'],
  'max-in-memory-bytes': [isInteger(0), 'maximum in-memory length in bytes'],
  'delivery-limit': DEFINITION_KEYS['delivery-limit']!,
};

export const OPERATOR_POLICY_DEFINITION_KEYS: readonly string[] = Object.keys(OPERATOR_DEFINITION_KEYS);

/** Checks a definition; throws 406-style errors naming the offending key. Returns a copy. */
export function validatePolicyDefinition(definition: unknown, operator = false): Record<string, unknown> {
  const rules = operator ? OPERATOR_DEFINITION_KEYS : DEFINITION_KEYS;
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) {
    throw preconditionFailed(`a policy definition must be a JSON object, e.g. {"max-length":1000}`);
  }
  const entries = Object.entries(definition as Record<string, unknown>);
  if (entries.length === 0) {
    throw preconditionFailed(
      `no policy provided: the definition must set at least one key, e.g. {"max-length":1000}`,
    );
  }
  if (operator) {
    const unknown = entries.filter(([key]) => !(key in rules));
    if (unknown.length > 0) {
      throw preconditionFailed(
        `${unknown.map(([key, value]) => `'${key}': ${JSON.stringify(value)}`).join(', ')} are not recognised operator policy settings; known keys: ${OPERATOR_POLICY_DEFINITION_KEYS.join(', ')}`,
      );
    }
  }
  for (const [key, value] of entries) {
    const rule = rules[key];
    if (!rule) {
      throw preconditionFailed(
        `'${key}' is not a recognised policy setting; known keys: ${POLICY_DEFINITION_KEYS.join(', ')}`,
      );
    }
    if (!rule[0](value)) {
      throw preconditionFailed(`policy key '${key}': ${JSON.stringify(value)} is not a valid ${rule[1]}`);
    }
  }
  return Object.fromEntries(entries);
}

/** A policy as an operator gives it (`pier policy set`), before validation. */
export interface PolicyInput {
  vhost: string;
  name: string;
  pattern: string;
  applyTo?: string;
  priority?: number;
  definition: unknown;
}

/** Validates every field of a policy; throws with a text naming what is wrong. */
export function validatePolicy(input: PolicyInput, operator = false): Policy {
  if (input.name === '') throw preconditionFailed('a policy needs a non-empty name');
  compilePolicyPattern(input.pattern);
  const applyTo = input.applyTo ?? 'all';
  if (!POLICY_APPLY_TO.includes(applyTo as PolicyApplyTo)) {
    throw preconditionFailed(`apply-to '${applyTo}' unrecognised; should be 'queues', 'exchanges' or 'all'`);
  }
  const priority = input.priority ?? 0;
  if (!Number.isInteger(priority)) throw preconditionFailed(`priority '${priority}' must be an integer`);
  return {
    vhost: input.vhost,
    name: input.name,
    pattern: input.pattern,
    applyTo: applyTo as PolicyApplyTo,
    priority,
    definition: validatePolicyDefinition(input.definition, operator),
  };
}

/** Patterns are unanchored searches, as Erlang's re:run in RabbitMQ. */
function compilePolicyPattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw preconditionFailed(
      `pattern should be regular expression but is invalid: ${(error as Error).message}`,
    );
  }
}

interface CompiledPolicy {
  readonly policy: Policy;
  readonly regex: RegExp;
}

/** The policies of one vhost. */
export class PolicyTable {
  private readonly byName = new Map<string, CompiledPolicy>();
  /** Highest priority first; equal priorities by name (RabbitMQ leaves ties unspecified). */
  private ordered: CompiledPolicy[] = [];

  get size(): number {
    return this.byName.size;
  }

  set(policy: Policy): void {
    this.byName.set(policy.name, { policy, regex: compilePolicyPattern(policy.pattern) });
    this.reorder();
  }

  delete(name: string): boolean {
    const removed = this.byName.delete(name);
    if (removed) this.reorder();
    return removed;
  }

  get(name: string): Policy | undefined {
    return this.byName.get(name)?.policy;
  }

  /** Highest priority first. */
  list(): Policy[] {
    return this.ordered.map((c) => c.policy);
  }

  /** The policy in effect for a queue or exchange of this name, if any. */
  match(kind: 'queue' | 'exchange', name: string): Policy | undefined {
    const wanted = kind === 'queue' ? 'queues' : 'exchanges';
    for (const { policy, regex } of this.ordered) {
      if ((policy.applyTo === 'all' || policy.applyTo === wanted) && regex.test(name)) return policy;
    }
    return undefined;
  }

  private reorder(): void {
    this.ordered = [...this.byName.values()].sort(
      (a, b) =>
        b.policy.priority - a.policy.priority ||
        (a.policy.name < b.policy.name ? -1 : a.policy.name > b.policy.name ? 1 : 0),
    );
  }
}

/**
 * The policy a queue runs with: its user policy with the operator policy merged in, as RabbitMQ's
 * rabbit_policy merges them: for every key both set, the lower value wins (all operator keys are
 * limits); a key only one of them sets is taken from it.
 */
export function mergeOperatorPolicy(
  policy: Policy | undefined,
  operator: Policy | undefined,
): AppliedPolicy | undefined {
  if (operator === undefined) return policy;
  const definition: Record<string, unknown> = { ...(policy?.definition ?? {}) };
  for (const [key, value] of Object.entries(operator.definition)) {
    const own = definition[key];
    definition[key] = typeof own === 'number' && typeof value === 'number' ? Math.min(own, value) : value;
  }
  return {
    name: policy?.name ?? '',
    definition,
    operatorPolicy: operator.name,
    base: policy,
  } as AppliedPolicy;
}

/** Whether two applied policies are the same (merged ones are rebuilt on every lookup). */
function samePolicy(a: AppliedPolicy | undefined, b: AppliedPolicy | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const baseA = (a as { base?: unknown }).base;
  const baseB = (b as { base?: unknown }).base;
  return (
    a.operatorPolicy !== undefined &&
    a.operatorPolicy === b.operatorPolicy &&
    baseA === baseB &&
    JSON.stringify(a.definition) === JSON.stringify(b.definition)
  );
}

/**
 * Tells every queue and exchange of a vhost which policy now applies, after a policy or operator
 * policy was set or cleared. Only entities whose policy changed are told.
 */
export function reapplyPolicies(vhost: {
  readonly queues: ReadonlyMap<string, PolicyTarget>;
  readonly exchanges: ReadonlyMap<string, PolicyTarget>;
  policyFor(kind: 'queue' | 'exchange', name: string): AppliedPolicy | undefined;
}): void {
  for (const queue of vhost.queues.values()) {
    const policy = vhost.policyFor('queue', queue.name);
    if (!samePolicy(policy, queue.policy)) queue.applyPolicy(policy);
  }
  for (const exchange of vhost.exchanges.values()) {
    const policy = vhost.policyFor('exchange', exchange.name);
    if (!samePolicy(policy, exchange.policy)) exchange.applyPolicy(policy);
  }
}
