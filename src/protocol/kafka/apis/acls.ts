/**
 * The ACL APIs v0-3 (DescribeAcls 29, CreateAcls 30, DeleteAcls 31) over the authorizer of
 * core/kafka/acls.ts. Without one (`--kafka-acls off`) every answer is SECURITY_DISABLED, as Kafka
 * answers without an authorizer (MirrorMaker 2 reads that as "skip ACL sync"). Who may call them
 * (DESCRIBE / ALTER on the cluster) is checked in authorization.ts.
 */
import {
  type AclAuthorizer,
  type AclBinding,
  type AclBindingFilter,
  InvalidAclError,
  PatternType,
} from '../../../core/kafka/acls.js';
import type {
  CreateAclsRequest,
  CreateAclsResponse,
  DeleteAclsRequest,
  DeleteAclsResponse,
  DescribeAclsRequest,
  DescribeAclsResponse,
  DescribeAclsResponseDescribeAclsResource,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';

const DISABLED_MESSAGE = 'No Authorizer is configured: start Pier with --kafka-acls on.';

interface FilterFields {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}

/** Version 0 has no pattern type: it means LITERAL. */
function toFilter(f: FilterFields, version: number): AclBindingFilter {
  return {
    resourceType: f.resourceTypeFilter,
    resourceName: f.resourceNameFilter,
    patternType: version === 0 ? PatternType.LITERAL : f.patternTypeFilter,
    principal: f.principalFilter,
    host: f.hostFilter,
    operation: f.operation,
    permission: f.permissionType,
  };
}

/** Groups bindings by resource pattern, as DescribeAcls answers them. */
function byResource(bindings: readonly AclBinding[]): DescribeAclsResponseDescribeAclsResource[] {
  const resources = new Map<string, DescribeAclsResponseDescribeAclsResource>();
  for (const b of bindings) {
    const key = JSON.stringify([b.resourceType, b.resourceName, b.patternType]);
    let resource = resources.get(key);
    if (!resource) {
      resource = {
        resourceType: b.resourceType,
        resourceName: b.resourceName,
        patternType: b.patternType,
        acls: [],
      };
      resources.set(key, resource);
    }
    resource.acls.push({
      principal: b.principal,
      host: b.host,
      operation: b.operation,
      permissionType: b.permission,
    });
  }
  return [...resources.values()];
}

export function aclApis(authorizer: AclAuthorizer | undefined): KafkaApi[] {
  return [
    {
      apiKey: API_KEYS.DescribeAcls,
      minVersion: 0,
      maxVersion: 3,
      handle(call: KafkaCall<DescribeAclsRequest>): DescribeAclsResponse {
        if (!authorizer)
          return {
            throttleTimeMs: 0,
            errorCode: KafkaError.SECURITY_DISABLED,
            errorMessage: DISABLED_MESSAGE,
            resources: [],
          };
        try {
          const found = authorizer.describe(toFilter(call.body, call.header.apiVersion));
          return {
            throttleTimeMs: 0,
            errorCode: KafkaError.NONE,
            errorMessage: null,
            resources: byResource(found),
          };
        } catch (error) {
          if (!(error instanceof InvalidAclError)) throw error;
          return {
            throttleTimeMs: 0,
            errorCode: KafkaError.INVALID_REQUEST,
            errorMessage: error.message,
            resources: [],
          };
        }
      },
    },
    {
      apiKey: API_KEYS.CreateAcls,
      minVersion: 0,
      maxVersion: 3,
      handle(call: KafkaCall<CreateAclsRequest>): CreateAclsResponse {
        const version = call.header.apiVersion;
        return {
          throttleTimeMs: 0,
          results: call.body.creations.map((c) => {
            if (!authorizer)
              return { errorCode: KafkaError.SECURITY_DISABLED, errorMessage: DISABLED_MESSAGE };
            try {
              authorizer.add({
                resourceType: c.resourceType,
                resourceName: c.resourceName,
                patternType: version === 0 ? PatternType.LITERAL : c.resourcePatternType,
                principal: c.principal,
                host: c.host,
                operation: c.operation,
                permission: c.permissionType,
              });
              return { errorCode: KafkaError.NONE, errorMessage: null };
            } catch (error) {
              if (!(error instanceof InvalidAclError)) throw error;
              return { errorCode: KafkaError.INVALID_REQUEST, errorMessage: error.message };
            }
          }),
        };
      },
    },
    {
      apiKey: API_KEYS.DeleteAcls,
      minVersion: 0,
      maxVersion: 3,
      handle(call: KafkaCall<DeleteAclsRequest>): DeleteAclsResponse {
        return {
          throttleTimeMs: 0,
          filterResults: call.body.filters.map((f) => {
            if (!authorizer)
              return {
                errorCode: KafkaError.SECURITY_DISABLED,
                errorMessage: DISABLED_MESSAGE,
                matchingAcls: [],
              };
            try {
              const removed = authorizer.remove(toFilter(f, call.header.apiVersion));
              return {
                errorCode: KafkaError.NONE,
                errorMessage: null,
                matchingAcls: removed.map((b) => ({
                  errorCode: KafkaError.NONE,
                  errorMessage: null,
                  resourceType: b.resourceType,
                  resourceName: b.resourceName,
                  patternType: b.patternType,
                  principal: b.principal,
                  host: b.host,
                  operation: b.operation,
                  permissionType: b.permission,
                })),
              };
            } catch (error) {
              if (!(error instanceof InvalidAclError)) throw error;
              return { errorCode: KafkaError.INVALID_REQUEST, errorMessage: error.message, matchingAcls: [] };
            }
          }),
        };
      },
    },
  ];
}
