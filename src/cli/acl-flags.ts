/**
 * `pier acls add|list|remove` flags, as kafka-acls.sh takes them, turned into ACL bindings and
 * filters (core/kafka/acls.ts). Repeatable flags (--topic, --operation, --allow-principal...) arrive
 * as lists. The conveniences follow kafka-acls.sh: --producer is WRITE, DESCRIBE and CREATE on the
 * topics (WRITE and DESCRIBE on a --transactional-id, IDEMPOTENT_WRITE on the cluster with
 * --idempotent); --consumer is READ and DESCRIBE on the topics and READ on the --group.
 */
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermission,
  CLUSTER_RESOURCE_NAME,
  codeOf,
  PatternType,
  ResourceType,
} from '../core/kafka/acls.js';

export interface AclFlags {
  readonly topic: readonly string[];
  readonly group: readonly string[];
  readonly transactionalId: readonly string[];
  readonly cluster: boolean;
  readonly resourcePatternType: string | undefined;
  readonly allowPrincipal: readonly string[];
  readonly denyPrincipal: readonly string[];
  readonly allowHost: readonly string[];
  readonly denyHost: readonly string[];
  readonly operation: readonly string[];
  readonly producer: boolean;
  readonly consumer: boolean;
  readonly idempotent: boolean;
  /** `list`: only this principal's ACLs. */
  readonly principal: string | undefined;
}

export class AclFlagError extends Error {}

interface Resource {
  readonly resourceType: number;
  readonly resourceName: string;
}

function resources(flags: AclFlags): Resource[] {
  return [
    ...flags.topic.map((name) => ({ resourceType: ResourceType.TOPIC, resourceName: name })),
    ...flags.group.map((name) => ({ resourceType: ResourceType.GROUP, resourceName: name })),
    ...flags.transactionalId.map((name) => ({
      resourceType: ResourceType.TRANSACTIONAL_ID,
      resourceName: name,
    })),
    ...(flags.cluster ? [{ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_RESOURCE_NAME }] : []),
  ];
}

function patternType(flags: AclFlags, fallback: number): number {
  if (flags.resourcePatternType === undefined) return fallback;
  const code = codeOf('patternType', flags.resourcePatternType);
  if (code === undefined || code === PatternType.UNKNOWN)
    throw new AclFlagError(
      `--resource-pattern-type '${flags.resourcePatternType}' is not one of literal, prefixed, any, match`,
    );
  return code;
}

function operations(flags: AclFlags): number[] {
  return flags.operation.map((name) => {
    const code = codeOf('operation', name);
    if (code === undefined || code <= AclOperation.ANY)
      throw new AclFlagError(
        `--operation '${name}' is not one of Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All`,
      );
    return code;
  });
}

function checkPrincipal(principal: string): string {
  if (!/^[^:]+:.+$/.test(principal))
    throw new AclFlagError(`principal '${principal}' must be Type:name, e.g. User:alice or User:*`);
  return principal;
}

/** Operations per resource: --operation on every resource, plus --producer / --consumer. */
function operationsFor(resource: Resource, flags: AclFlags, explicit: readonly number[]): number[] {
  const ops = new Set(explicit);
  const { TOPIC, GROUP, TRANSACTIONAL_ID, CLUSTER } = ResourceType;
  const { READ, WRITE, CREATE, DESCRIBE, IDEMPOTENT_WRITE } = AclOperation;
  if (flags.producer) {
    if (resource.resourceType === TOPIC) for (const op of [WRITE, DESCRIBE, CREATE]) ops.add(op);
    if (resource.resourceType === TRANSACTIONAL_ID) for (const op of [WRITE, DESCRIBE]) ops.add(op);
    if (resource.resourceType === CLUSTER && flags.idempotent) ops.add(IDEMPOTENT_WRITE);
  }
  if (flags.consumer) {
    if (resource.resourceType === TOPIC) for (const op of [READ, DESCRIBE]) ops.add(op);
    if (resource.resourceType === GROUP) ops.add(READ);
  }
  return [...ops];
}

/** `pier acls add`: every principal × host × resource × operation. */
export function aclsToAdd(flags: AclFlags): AclBinding[] {
  if (flags.consumer && flags.group.length === 0)
    throw new AclFlagError('--consumer needs --group: a consumer reads through a consumer group');
  const withCluster =
    flags.producer && flags.idempotent && !flags.cluster ? { ...flags, cluster: true } : flags;
  const targets = resources(withCluster);
  if (targets.length === 0)
    throw new AclFlagError('name a resource: --topic, --group, --transactional-id or --cluster');
  if (flags.allowPrincipal.length + flags.denyPrincipal.length === 0)
    throw new AclFlagError('name who: --allow-principal User:NAME or --deny-principal User:NAME');
  const explicit = operations(flags);
  if (explicit.length === 0 && !flags.producer && !flags.consumer)
    throw new AclFlagError('name what: --operation OP, --producer or --consumer');
  const pattern = patternType(flags, PatternType.LITERAL);
  if (pattern !== PatternType.LITERAL && pattern !== PatternType.PREFIXED)
    throw new AclFlagError('--resource-pattern-type for add must be literal or prefixed');
  const bindings: AclBinding[] = [];
  const grants: Array<[readonly string[], readonly string[], number]> = [
    [flags.allowPrincipal, flags.allowHost, AclPermission.ALLOW],
    [flags.denyPrincipal, flags.denyHost, AclPermission.DENY],
  ];
  for (const [principals, hosts, permission] of grants) {
    for (const principal of principals.map(checkPrincipal)) {
      for (const host of hosts.length > 0 ? hosts : ['*']) {
        for (const resource of targets) {
          // The cluster resource is always literal (kafka-cluster).
          const resourcePattern =
            resource.resourceType === ResourceType.CLUSTER ? PatternType.LITERAL : pattern;
          for (const operation of operationsFor(resource, flags, explicit)) {
            bindings.push({
              ...resource,
              patternType: resourcePattern,
              principal,
              host,
              operation,
              permission,
            });
          }
        }
      }
    }
  }
  return bindings;
}

const MATCH_ALL: AclBindingFilter = {
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permission: AclPermission.ANY,
};

/** `pier acls list`: the named resources' ACLs (any pattern type unless given), else all. */
export function aclsToList(flags: AclFlags): AclBindingFilter[] {
  const principal = flags.principal === undefined ? null : checkPrincipal(flags.principal);
  const pattern = patternType(flags, PatternType.ANY);
  const targets = resources(flags);
  if (targets.length === 0) return [{ ...MATCH_ALL, patternType: pattern, principal }];
  return targets.map((r) => ({ ...MATCH_ALL, ...r, patternType: pattern, principal }));
}

/**
 * `pier acls remove`: with principals and operations, exactly those ACLs (as `add` would make
 * them); without, every ACL on the named resources, as kafka-acls.sh --remove does.
 */
export function aclsToRemove(flags: AclFlags): AclBindingFilter[] {
  if (resources(flags).length === 0)
    throw new AclFlagError('name a resource: --topic, --group, --transactional-id or --cluster');
  const specific =
    flags.allowPrincipal.length + flags.denyPrincipal.length > 0 &&
    (flags.operation.length > 0 || flags.producer || flags.consumer);
  if (specific) return aclsToAdd(flags);
  const pattern = patternType(flags, PatternType.LITERAL);
  return resources(flags).map((r) => ({ ...MATCH_ALL, ...r, patternType: pattern }));
}
