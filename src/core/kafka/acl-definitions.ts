/**
 * Kafka ACLs in a definitions file: `pier definitions export` writes them under a Pier-specific
 * top-level key beside RabbitMQ's (RabbitMQ's import ignores keys it does not know), with the
 * names kafka-acls.sh prints; `pier definitions import` reads them back, all or none.
 */
import { type AclAuthorizer, type AclBinding, codeName, codeOf, validateAclBinding } from './acls.js';

/** The top-level key of a definitions file that holds the Kafka ACLs. */
export const KAFKA_ACLS_KEY = 'pier_kafka_acls';

/** One ACL as the definitions file holds it (snake_case like the rest of RabbitMQ's format). */
export interface AclDefinition {
  readonly resource_type: string;
  readonly resource_name: string;
  readonly pattern_type: string;
  readonly principal: string;
  readonly host: string;
  readonly operation: string;
  readonly permission_type: string;
}

export function exportAcls(acls: AclAuthorizer): AclDefinition[] {
  return acls
    .list()
    .map((b) => ({
      resource_type: codeName('resourceType', b.resourceType),
      resource_name: b.resourceName,
      pattern_type: codeName('patternType', b.patternType),
      principal: b.principal,
      host: b.host,
      operation: codeName('operation', b.operation),
      permission_type: codeName('permission', b.permission),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** A definitions file's ACLs that do not parse: the message names the entry and the field. */
export class AclDefinitionError extends Error {}

/** Parses and checks every ACL of the file's `pier_kafka_acls` list; throws before returning any. */
export function parseAclDefinitions(value: unknown): AclBinding[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new AclDefinitionError(`${KAFKA_ACLS_KEY} must be a list of ACLs`);
  return value.map((entry, index) => {
    const where = `${KAFKA_ACLS_KEY}[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      throw new AclDefinitionError(`${where} must be an object`);
    const e = entry as Record<string, unknown>;
    const text = (field: string, fallback?: string): string => {
      const v = e[field] ?? fallback;
      if (typeof v !== 'string') throw new AclDefinitionError(`${where}.${field} must be a string`);
      return v;
    };
    const code = (field: string, kind: Parameters<typeof codeOf>[0], fallback?: string): number => {
      const name = text(field, fallback);
      const found = codeOf(kind, name);
      if (found === undefined) throw new AclDefinitionError(`${where}.${field}: unknown value '${name}'`);
      return found;
    };
    const binding: AclBinding = {
      resourceType: code('resource_type', 'resourceType'),
      resourceName: text('resource_name'),
      patternType: code('pattern_type', 'patternType', 'Literal'),
      principal: text('principal'),
      host: text('host', '*'),
      operation: code('operation', 'operation'),
      permission: code('permission_type', 'permission', 'Allow'),
    };
    try {
      validateAclBinding(binding);
    } catch (error) {
      throw new AclDefinitionError(`${where}: ${(error as Error).message}`);
    }
    return binding;
  });
}
