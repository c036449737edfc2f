/**
 * Runtime parameters, as RabbitMQ 3.10 keeps them (rabbit_runtime_parameters): per-vhost values
 * named by (component, vhost, name), and global ones named by name alone. The components Pier
 * accepts are RabbitMQ's own with no plugin, `vhost-limits` (name `limits`: max-connections,
 * max-queues) and `operator_policy` (operator policies), plus `shovel`, whose definitions are kept
 * for the shovel feature: src/bridge validates (ParameterTable.validators) and runs them (watch).
 * Any other component is refused with RabbitMQ's text.
 * Changes are durable through the core's DefinitionWriter and take effect at once: vhost limits
 * on the next connection or queue.declare, operator policies on the matching queues.
 */
import type { BrokerCore } from '../broker-core.js';
import type { DefinitionEntry } from '../definitions.js';
import { notFound, preconditionFailed } from './errors.js';
import { type Policy, reapplyPolicies, validatePolicy } from './policies.js';
import type { VirtualHost } from './vhost.js';

export const VHOST_LIMITS_COMPONENT = 'vhost-limits';
export const VHOST_LIMITS_NAME = 'limits';
export const OPERATOR_POLICY_COMPONENT = 'operator_policy';
export const SHOVEL_COMPONENT = 'shovel';
export const PARAMETER_COMPONENTS: readonly string[] = [
  VHOST_LIMITS_COMPONENT,
  OPERATOR_POLICY_COMPONENT,
  SHOVEL_COMPONENT,
];
export const VHOST_LIMIT_NAMES: readonly string[] = ['max-connections', 'max-queues'];
export const USER_LIMIT_NAMES: readonly string[] = ['max-connections', 'max-channels'];

export interface Parameter {
  readonly component: string;
  readonly vhost: string;
  readonly name: string;
  readonly value: unknown;
}

export interface GlobalParameter {
  readonly name: string;
  readonly value: unknown;
}

const parameterKey = (component: string, vhost: string, name: string) => `${component}\0${vhost}\0${name}`;

/** A component's own check, run after the generic one; returns the value to keep or throws. */
export type ParameterValidator = (vhost: string, name: string, value: unknown) => unknown;
/** Told after a parameter was set (value) or cleared (value undefined). */
export type ParameterWatcher = (component: string, vhost: string, name: string, value: unknown) => void;

/** The stored parameters of a broker; set and cleared through the functions below. */
export class ParameterTable {
  private readonly byKey = new Map<string, Parameter>();
  readonly globals = new Map<string, GlobalParameter>();
  /** Checks registered by whoever runs a component (composition registers the shovel's). */
  readonly validators = new Map<string, ParameterValidator>();
  private readonly watchers = new Set<ParameterWatcher>();

  /** Calls `watcher` after every set or clear; returns the function that stops it. */
  watch(watcher: ParameterWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  notify(component: string, vhost: string, name: string, value: unknown): void {
    for (const watcher of this.watchers) watcher(component, vhost, name, value);
  }

  get(component: string, vhost: string, name: string): Parameter | undefined {
    return this.byKey.get(parameterKey(component, vhost, name));
  }

  put(parameter: Parameter): void {
    this.byKey.set(parameterKey(parameter.component, parameter.vhost, parameter.name), parameter);
  }

  remove(component: string, vhost: string, name: string): boolean {
    return this.byKey.delete(parameterKey(component, vhost, name));
  }

  /** Ordered by vhost, component, name. */
  list(filter: { component?: string; vhost?: string } = {}): Parameter[] {
    return [...this.byKey.values()]
      .filter(
        (p) =>
          (filter.component === undefined || p.component === filter.component) &&
          (filter.vhost === undefined || p.vhost === filter.vhost),
      )
      .sort(
        (a, b) => compare(a.vhost, b.vhost) || compare(a.component, b.component) || compare(a.name, b.name),
      );
  }
}

// ---- validation --------------------------------------------------------------------------

/** RabbitMQ's "Validation failed" reasons are wrapped by the API; the core names what is wrong. */
function invalid(reason: string): never {
  throw preconditionFailed(reason);
}

/** A limits object: every key known, every value an integer (negative means no limit). */
export function validateLimits(
  value: unknown,
  known: readonly string[],
  what: string,
): Record<string, number> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid(`${what} must be a JSON object, e.g. {"${known[0]}":100}`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const unknown = entries.filter(([key]) => !known.includes(key));
  if (unknown.length > 0) {
    invalid(
      `Unrecognised terms ${unknown.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')} in ${what}; known: ${known.join(', ')}`,
    );
  }
  for (const [key, limit] of entries) {
    if (typeof limit !== 'number' || !Number.isInteger(limit)) {
      invalid(`${key} should be a number, actually was ${JSON.stringify(limit)}`);
    }
  }
  return Object.fromEntries(entries) as Record<string, number>;
}

/** An operator policy's parameter value: {pattern, definition, priority, apply-to}. */
function operatorPolicyOf(vhost: string, name: string, value: unknown): Policy {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid(`operator policy '${name}' must be a JSON object with pattern and definition`);
  }
  const v = value as Record<string, unknown>;
  for (const key of ['pattern', 'definition', 'priority']) {
    if (v[key] === undefined) invalid(`Key "${key}" not found in ${name}`);
  }
  if (typeof v.pattern !== 'string')
    invalid(`pattern should be a string, actually was ${JSON.stringify(v.pattern)}`);
  if (typeof v.priority !== 'number') {
    invalid(`priority should be a number, actually was ${JSON.stringify(v.priority)}`);
  }
  const applyTo = v['apply-to'] ?? 'all';
  if (typeof applyTo !== 'string') invalid(`apply-to should be a string`);
  return validatePolicy(
    { vhost, name, pattern: v.pattern, priority: v.priority, applyTo, definition: v.definition },
    true,
  );
}

/**
 * Checks a parameter before it is stored; returns the value as it will be kept. Throws a
 * precondition-failed BrokerError (400 in the API) naming what is wrong.
 */
export function validateParameter(component: string, vhost: string, name: string, value: unknown): unknown {
  if (component === 'policy') invalid('policies may not be set using this method');
  if (!PARAMETER_COMPONENTS.includes(component)) {
    invalid(`component ${component} not found (Pier knows ${PARAMETER_COMPONENTS.join(', ')})`);
  }
  if (name === '') invalid('a parameter needs a non-empty name');
  switch (component) {
    case VHOST_LIMITS_COMPONENT:
      if (name !== VHOST_LIMITS_NAME)
        invalid(`vhost limits must be named '${VHOST_LIMITS_NAME}', not '${name}'`);
      return validateLimits(value, VHOST_LIMIT_NAMES, 'limits');
    case OPERATOR_POLICY_COMPONENT: {
      const policy = operatorPolicyOf(vhost, name, value);
      return {
        pattern: policy.pattern,
        definition: policy.definition,
        priority: policy.priority,
        'apply-to': policy.applyTo,
      };
    }
    default:
      // shovel: kept as given for the shovel feature; RabbitMQ's shovel plugin needs an object.
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        invalid(`a ${component} parameter's value must be a JSON object`);
      }
      return value;
  }
}

// ---- changes -----------------------------------------------------------------------------

function requireVhost(core: BrokerCore, name: string): VirtualHost {
  const vhost = core.vhosts.get(name);
  if (!vhost) throw notFound(`vhost '${name}' does not exist; 'pier vhost list' shows the vhosts`);
  return vhost;
}

/** Makes a stored parameter take effect on its vhost (limits, operator policies). */
function applyToVhost(vhost: VirtualHost, component: string, name: string, value: unknown): void {
  if (component === VHOST_LIMITS_COMPONENT) {
    const limits = (value ?? {}) as Record<string, number>;
    vhost.limits = {
      ...(limits['max-connections'] === undefined ? {} : { maxConnections: limits['max-connections'] }),
      ...(limits['max-queues'] === undefined ? {} : { maxQueues: limits['max-queues'] }),
    };
  } else if (component === OPERATOR_POLICY_COMPONENT) {
    if (value === undefined) vhost.operatorPolicies.delete(name);
    else vhost.operatorPolicies.set(operatorPolicyOf(vhost.name, name, value));
    reapplyPolicies(vhost);
  }
}

/** Sets (or replaces) a parameter after validating it. */
export function setParameter(
  core: BrokerCore,
  component: string,
  vhostName: string,
  name: string,
  value: unknown,
): void {
  const vhost = requireVhost(core, vhostName);
  const generic = validateParameter(component, vhostName, name, value);
  const own = core.parameters.validators.get(component);
  const kept = own ? own(vhostName, name, generic) : generic;
  const parameter: Parameter = { component, vhost: vhostName, name, value: kept };
  core.parameters.put(parameter);
  core.definitions.put('parameter', parameterKey(component, vhostName, name), parameter);
  applyToVhost(vhost, component, name, kept);
  core.parameters.notify(component, vhostName, name, kept);
}

export function clearParameter(core: BrokerCore, component: string, vhostName: string, name: string): void {
  const vhost = requireVhost(core, vhostName);
  if (!core.parameters.remove(component, vhostName, name)) {
    throw notFound(`no parameter '${name}' of component '${component}' in vhost '${vhostName}'`);
  }
  core.definitions.delete('parameter', parameterKey(component, vhostName, name));
  applyToVhost(vhost, component, name, undefined);
  core.parameters.notify(component, vhostName, name, undefined);
}

/** Removes every parameter of a deleted vhost. */
export function forgetVhostParameters(core: BrokerCore, vhostName: string): void {
  for (const p of core.parameters.list({ vhost: vhostName })) {
    core.parameters.remove(p.component, p.vhost, p.name);
    core.definitions.delete('parameter', parameterKey(p.component, p.vhost, p.name));
    core.parameters.notify(p.component, p.vhost, p.name, undefined);
  }
}

/** The vhost's limits as the API shows them ({} when none are set). */
export function vhostLimitsOf(core: BrokerCore, vhost: string): Record<string, number> {
  return (core.parameters.get(VHOST_LIMITS_COMPONENT, vhost, VHOST_LIMITS_NAME)?.value ?? {}) as Record<
    string,
    number
  >;
}

/** Sets one vhost limit (PUT /api/vhost-limits/{vhost}/{name}), keeping the others. */
export function setVhostLimit(core: BrokerCore, vhost: string, limit: string, value: unknown): void {
  setParameter(core, VHOST_LIMITS_COMPONENT, vhost, VHOST_LIMITS_NAME, {
    ...vhostLimitsOf(core, vhost),
    [limit]: value,
  });
}

/** Clears one vhost limit; the parameter goes when no limit is left. Clearing an absent one is fine. */
export function clearVhostLimit(core: BrokerCore, vhost: string, limit: string): void {
  requireVhost(core, vhost);
  const { [limit]: _removed, ...rest } = vhostLimitsOf(core, vhost);
  if (Object.keys(rest).length > 0)
    setParameter(core, VHOST_LIMITS_COMPONENT, vhost, VHOST_LIMITS_NAME, rest);
  else if (core.parameters.get(VHOST_LIMITS_COMPONENT, vhost, VHOST_LIMITS_NAME)) {
    clearParameter(core, VHOST_LIMITS_COMPONENT, vhost, VHOST_LIMITS_NAME);
  }
}

export function setGlobalParameter(core: BrokerCore, name: string, value: unknown): void {
  if (name === '') invalid('a global parameter needs a non-empty name');
  if (value === undefined) invalid('a global parameter needs a value');
  const parameter = { name, value };
  core.parameters.globals.set(name, parameter);
  core.definitions.put('global-parameter', name, parameter);
}

export function clearGlobalParameter(core: BrokerCore, name: string): void {
  if (!core.parameters.globals.delete(name)) throw notFound(`no global parameter '${name}'`);
  core.definitions.delete('global-parameter', name);
}

/** Restores parameters at start-up (after vhosts, before queues so they get their operator policy). */
export function restoreParameters(core: BrokerCore, entries: readonly DefinitionEntry[]): void {
  for (const e of entries) {
    if (e.kind === 'parameter') {
      const p = e.value as Parameter;
      const vhost = core.vhosts.get(p.vhost);
      if (!vhost) continue;
      core.parameters.put(p);
      applyToVhost(vhost, p.component, p.name, p.value);
    } else if (e.kind === 'global-parameter') {
      const p = e.value as GlobalParameter;
      core.parameters.globals.set(p.name, p);
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
