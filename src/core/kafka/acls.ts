/**
 * Kafka's ACL model (KIP-11, KIP-290), pure: "principal P is allowed/denied operation O from host H
 * on resources matching pattern R". The numeric codes are the wire codes of Kafka's ResourceType,
 * AclOperation, PatternType and AclPermissionType, so the protocol layer passes them through.
 *
 * Decisions follow Kafka's StandardAuthorizer: a super user may do anything; otherwise a matching
 * DENY wins over any ALLOW; an ALLOW for the operation (or ALL, or one that implies DESCRIBE /
 * DESCRIBE_CONFIGS) grants it; with no ACL at all on the resource, `allowEveryoneIfNoAclFound`
 * decides; else denied. Storage goes through a DefinitionWriter (kind 'kafka-acl').
 */
import type { DefinitionEntry, DefinitionWriter } from '../definitions.js';

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The only name a CLUSTER resource has. */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';
/** A LITERAL resource name or principal/host that matches every one. */
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';
/** The principal of a client that did not authenticate. */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS';

export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  /** `Type:name`, e.g. `User:alice`; `User:*` for everyone. */
  readonly principal: string;
  /** An IP address, or `*`. */
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

/** Null strings and ANY codes match every value (DescribeAcls/DeleteAcls filters). */
export interface AclBindingFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

/** A binding or filter Kafka refuses (INVALID_REQUEST), with the reason. */
export class InvalidAclError extends Error {}

const NAMES = {
  resourceType: ResourceType,
  operation: AclOperation,
  patternType: PatternType,
  permission: AclPermission,
} as const;

/** `Topic`, `Read`, `Literal`, `Allow`: the names kafka-acls.sh prints. */
export function codeName(kind: keyof typeof NAMES, code: number): string {
  const entry = Object.entries(NAMES[kind]).find(([, value]) => value === code);
  if (!entry) return `UNKNOWN(${code})`;
  return entry[0]
    .toLowerCase()
    .split('_')
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');
}

/** The code for a name in any case, with or without underscores (`TransactionalId`, `IDEMPOTENT_WRITE`). */
export function codeOf(kind: keyof typeof NAMES, name: string): number | undefined {
  const wanted = name.replace(/[-_]/g, '').toLowerCase();
  const entry = Object.entries(NAMES[kind]).find(([key]) => key.replace(/_/g, '').toLowerCase() === wanted);
  return entry?.[1];
}

/** Throws InvalidAclError when Kafka's controller would refuse to store `binding`. */
export function validateAclBinding(binding: AclBinding): void {
  const { resourceType, patternType, operation, permission } = binding;
  if (resourceType <= ResourceType.ANY || resourceType > ResourceType.USER)
    throw new InvalidAclError(`Invalid resourceType ${codeName('resourceType', resourceType)}`);
  if (patternType !== PatternType.LITERAL && patternType !== PatternType.PREFIXED)
    throw new InvalidAclError(
      `Invalid patternType ${codeName('patternType', patternType)}: use LITERAL or PREFIXED`,
    );
  if (operation <= AclOperation.ANY || operation > AclOperation.DESCRIBE_TOKENS)
    throw new InvalidAclError(`Invalid operation ${codeName('operation', operation)}`);
  if (permission !== AclPermission.ALLOW && permission !== AclPermission.DENY)
    throw new InvalidAclError(`Invalid permissionType ${codeName('permission', permission)}`);
  if (binding.resourceName === '') throw new InvalidAclError('Resource name should not be empty');
  if (resourceType === ResourceType.CLUSTER && binding.resourceName !== CLUSTER_RESOURCE_NAME)
    throw new InvalidAclError(`The only valid name for the CLUSTER resource is ${CLUSTER_RESOURCE_NAME}`);
  const colon = binding.principal.indexOf(':');
  if (colon <= 0 || colon === binding.principal.length - 1)
    throw new InvalidAclError(
      `Invalid principal '${binding.principal}': expected Type:name, e.g. User:alice or User:*`,
    );
  if (binding.host === '') throw new InvalidAclError("Invalid host '': use an IP address or *");
}

/** Throws InvalidAclError for a filter with unknown elements (Kafka answers INVALID_REQUEST). */
export function validateAclFilter(filter: AclBindingFilter): void {
  if (filter.resourceType === ResourceType.UNKNOWN || filter.resourceType > ResourceType.USER)
    throw new InvalidAclError(`Invalid resourceType filter ${filter.resourceType}`);
  if (filter.patternType === PatternType.UNKNOWN || filter.patternType > PatternType.PREFIXED)
    throw new InvalidAclError(`Invalid patternType filter ${filter.patternType}`);
  if (filter.operation === AclOperation.UNKNOWN || filter.operation > AclOperation.DESCRIBE_TOKENS)
    throw new InvalidAclError(`Invalid operation filter ${filter.operation}`);
  if (filter.permission === AclPermission.UNKNOWN || filter.permission > AclPermission.ALLOW)
    throw new InvalidAclError(`Invalid permissionType filter ${filter.permission}`);
}

/** Whether a stored pattern applies to a resource of that type and name. */
function patternMatchesResource(binding: AclBinding, resourceType: number, name: string): boolean {
  if (binding.resourceType !== resourceType) return false;
  if (binding.patternType === PatternType.PREFIXED) return name.startsWith(binding.resourceName);
  return binding.resourceName === name || binding.resourceName === WILDCARD;
}

/** Kafka's AclBindingFilter.matches, used by DescribeAcls and DeleteAcls. */
export function filterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  switch (filter.patternType) {
    case PatternType.ANY:
      if (filter.resourceName !== null && filter.resourceName !== binding.resourceName) return false;
      break;
    case PatternType.MATCH:
      // Every stored pattern that would apply to a resource of this name.
      if (filter.resourceName !== null) {
        const applies =
          binding.patternType === PatternType.PREFIXED
            ? filter.resourceName.startsWith(binding.resourceName)
            : binding.resourceName === filter.resourceName || binding.resourceName === WILDCARD;
        if (!applies) return false;
      }
      break;
    default:
      if (filter.patternType !== binding.patternType) return false;
      if (filter.resourceName !== null && filter.resourceName !== binding.resourceName) return false;
  }
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  if (filter.permission !== AclPermission.ANY && filter.permission !== binding.permission) return false;
  return true;
}

/** Operations an ALLOW of the key grants besides itself (Kafka: DESCRIBE and DESCRIBE_CONFIGS are implied). */
const IMPLIED_BY: ReadonlyMap<number, readonly number[]> = new Map([
  [
    AclOperation.DESCRIBE,
    [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.ALL],
  ],
  [AclOperation.DESCRIBE_CONFIGS, [AclOperation.ALTER_CONFIGS, AclOperation.ALL]],
]);

/**
 * The operations each resource type supports (Kafka's AclEntry.supportedOperations): the bits an
 * "authorized operations" field may carry for a resource of that type.
 */
export const SUPPORTED_OPERATIONS: ReadonlyMap<number, readonly number[]> = new Map([
  [
    ResourceType.TOPIC,
    [
      AclOperation.READ,
      AclOperation.WRITE,
      AclOperation.CREATE,
      AclOperation.DESCRIBE,
      AclOperation.DELETE,
      AclOperation.ALTER,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
    ],
  ],
  [
    ResourceType.GROUP,
    [
      AclOperation.READ,
      AclOperation.DESCRIBE,
      AclOperation.DELETE,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
    ],
  ],
  [
    ResourceType.CLUSTER,
    [
      AclOperation.CREATE,
      AclOperation.CLUSTER_ACTION,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
      AclOperation.IDEMPOTENT_WRITE,
      AclOperation.ALTER,
      AclOperation.DESCRIBE,
    ],
  ],
  [ResourceType.TRANSACTIONAL_ID, [AclOperation.DESCRIBE, AclOperation.WRITE]],
  [ResourceType.DELEGATION_TOKEN, [AclOperation.DESCRIBE]],
  [ResourceType.USER, [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS]],
]);

/** One bit per operation code (Kafka's Utils.to32BitField), as "authorized operations" fields carry them. */
export function operationBits(operations: readonly number[]): number {
  return operations.reduce((bits, operation) => bits | (1 << operation), 0);
}

/** Every operation a resource type supports, as bits: what Kafka reports without an authorizer. */
export function supportedOperationBits(resourceType: number): number {
  return operationBits(SUPPORTED_OPERATIONS.get(resourceType) ?? []);
}

/** Kafka's value for "authorized operations" the client did not ask for (INT32_MIN). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** What the authorizer needs to decide: who asks, from where, for what. */
export interface AccessRequest {
  /** `User:alice`. */
  readonly principal: string;
  /** The client's IP address. */
  readonly host: string;
  readonly operation: number;
  readonly resourceType: number;
  readonly resourceName: string;
}

export interface AclAuthorizerOptions {
  /** Principals allowed everything (`User:admin`), as Kafka's super.users. */
  readonly superUsers?: readonly string[];
  /** Kafka's allow.everyone.if.no.acl.found. */
  readonly allowEveryoneIfNoAclFound?: boolean;
  readonly definitions?: DefinitionWriter;
}

export const ACL_DEFINITION_KIND = 'kafka-acl';

/** The stored ACLs and the decisions over them. */
export class AclAuthorizer {
  private readonly bindings = new Map<string, AclBinding>();
  private readonly superUsers: ReadonlySet<string>;
  private readonly allowEveryoneIfNoAclFound: boolean;
  private readonly definitions: DefinitionWriter | undefined;

  constructor(options: AclAuthorizerOptions = {}) {
    this.superUsers = new Set(options.superUsers ?? []);
    this.allowEveryoneIfNoAclFound = options.allowEveryoneIfNoAclFound ?? false;
    this.definitions = options.definitions;
  }

  /** Loads the ACLs kept in the definitions (at start, before any client). */
  restore(entries: readonly DefinitionEntry[]): void {
    for (const entry of entries) {
      if (entry.kind !== ACL_DEFINITION_KIND) continue;
      const binding = entry.value as AclBinding;
      this.bindings.set(aclKey(binding), binding);
    }
  }

  list(): AclBinding[] {
    return [...this.bindings.values()];
  }

  /** Stores `binding` (validated first; adding an existing one changes nothing). */
  add(binding: AclBinding): void {
    validateAclBinding(binding);
    const stored: AclBinding = {
      resourceType: binding.resourceType,
      resourceName: binding.resourceName,
      patternType: binding.patternType,
      principal: binding.principal,
      host: binding.host,
      operation: binding.operation,
      permission: binding.permission,
    };
    const key = aclKey(stored);
    if (this.bindings.has(key)) return;
    this.definitions?.put(ACL_DEFINITION_KIND, key, stored);
    this.bindings.set(key, stored);
  }

  describe(filter: AclBindingFilter): AclBinding[] {
    validateAclFilter(filter);
    return this.list().filter((binding) => filterMatches(filter, binding));
  }

  /** Deletes and returns the ACLs matching `filter`. */
  remove(filter: AclBindingFilter): AclBinding[] {
    const matching = this.describe(filter);
    for (const binding of matching) {
      const key = aclKey(binding);
      this.definitions?.delete(ACL_DEFINITION_KIND, key);
      this.bindings.delete(key);
    }
    return matching;
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  authorize(request: AccessRequest): boolean {
    if (this.superUsers.has(request.principal)) return true;
    let anyAcl = false;
    let allowed = false;
    const implying = IMPLIED_BY.get(request.operation);
    for (const binding of this.bindings.values()) {
      if (!patternMatchesResource(binding, request.resourceType, request.resourceName)) continue;
      anyAcl = true;
      if (binding.principal !== request.principal && binding.principal !== WILDCARD_PRINCIPAL) continue;
      if (binding.host !== request.host && binding.host !== WILDCARD) continue;
      const sameOperation = binding.operation === request.operation || binding.operation === AclOperation.ALL;
      if (binding.permission === AclPermission.DENY) {
        if (sameOperation) return false;
      } else if (sameOperation || implying?.includes(binding.operation)) {
        allowed = true;
      }
    }
    return anyAcl ? allowed : this.allowEveryoneIfNoAclFound;
  }

  /**
   * The operations `principal` may do on the resource, as the bit set Metadata, DescribeGroups and
   * DescribeCluster report (Kafka's AuthHelper.authorizedOperations): each operation the type
   * supports, asked of authorize() on that resource (so implied DESCRIBE counts, DENY removes).
   */
  authorizedOperations(principal: string, host: string, resourceType: number, resourceName: string): number {
    const operations = SUPPORTED_OPERATIONS.get(resourceType) ?? [];
    return operationBits(
      operations.filter((operation) =>
        this.authorize({ principal, host, operation, resourceType, resourceName }),
      ),
    );
  }

  /**
   * Whether some resource of the type grants the operation (Kafka's authorizeByResourceType, which
   * lets an idempotent producer in with WRITE on any topic): an ALLOW for it on any pattern, unless
   * a DENY on every resource of the type (LITERAL `*`) takes it away.
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.superUsers.has(principal)) return true;
    let allowed = false;
    for (const binding of this.bindings.values()) {
      if (binding.resourceType !== resourceType) continue;
      if (binding.principal !== principal && binding.principal !== WILDCARD_PRINCIPAL) continue;
      if (binding.host !== host && binding.host !== WILDCARD) continue;
      if (binding.operation !== operation && binding.operation !== AclOperation.ALL) continue;
      if (binding.permission === AclPermission.ALLOW) allowed = true;
      else if (binding.patternType === PatternType.LITERAL && binding.resourceName === WILDCARD) return false;
    }
    return allowed;
  }
}

function aclKey(binding: AclBinding): string {
  return JSON.stringify([
    binding.resourceType,
    binding.patternType,
    binding.resourceName,
    binding.principal,
    binding.host,
    binding.operation,
    binding.permission,
  ]);
}
