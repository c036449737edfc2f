/**
 * Group administration: DescribeGroups v0-5, ListGroups v0-4 (states filter from v4) and
 * DeleteGroups v0-2. An unknown group is described as Dead with no error, as Kafka does before
 * DescribeGroups v6.
 */
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  ResourceType,
  supportedOperationBits,
} from '../../../core/kafka/acls.js';
import type { GroupCoordinator } from '../../../core/kafka/group-coordinator.js';
import type { ShareGroupCoordinator } from '../../../core/kafka/share-groups.js';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  ListGroupsRequest,
  ListGroupsResponse,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { errorCode } from './groups.js';

/** Without ACLs Kafka reports every operation a GROUP resource supports. */
const GROUP_OPERATIONS = supportedOperationBits(ResourceType.GROUP);

export interface GroupAdminServices {
  readonly groups: GroupCoordinator;
  /** Share groups, listed with type "share" (and protocol type "share", as Kafka's ShareGroup). */
  readonly shares?: Pick<ShareGroupCoordinator, 'list'>;
}

export function groupAdminApis({ groups, shares }: GroupAdminServices): KafkaApi[] {
  return [
    {
      apiKey: API_KEYS.DescribeGroups,
      minVersion: 0,
      maxVersion: 5,
      handle(call: KafkaCall<DescribeGroupsRequest>): DescribeGroupsResponse {
        // Kafka fills them in from v3 when asked, for the groups it could describe.
        const operationsAsked = call.header.apiVersion >= 3 && call.body.includeAuthorizedOperations;
        return {
          throttleTimeMs: 0,
          groups: call.body.groups.map((groupId) => {
            const d = groups.describe(groupId);
            const code = errorCode(d.error);
            return {
              errorCode: code,
              groupId: d.groupId,
              groupState: d.state,
              protocolType: d.protocolType,
              protocolData: d.protocolName,
              members: d.members.map((m) => ({
                memberId: m.memberId,
                groupInstanceId: m.groupInstanceId,
                clientId: m.clientId,
                clientHost: m.clientHost,
                memberMetadata: m.metadata,
                memberAssignment: m.assignment,
              })),
              authorizedOperations:
                operationsAsked && code === KafkaError.NONE
                  ? GROUP_OPERATIONS
                  : AUTHORIZED_OPERATIONS_OMITTED,
            };
          }),
        };
      },
    },
    {
      apiKey: API_KEYS.ListGroups,
      minVersion: 0,
      maxVersion: 4,
      handle(call: KafkaCall<ListGroupsRequest>): ListGroupsResponse {
        const statesFilter = call.header.apiVersion >= 4 ? call.body.statesFilter : [];
        const states = new Set(statesFilter.map((s) => s.toLowerCase()));
        const shareGroups = (shares?.list() ?? [])
          .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
          .map((g) => ({
            groupId: g.groupId,
            protocolType: 'share',
            groupState: g.state,
            groupType: 'share',
          }));
        return {
          throttleTimeMs: 0,
          errorCode: KafkaError.NONE,
          groups: [
            ...groups.list(statesFilter).map((g) => ({
              groupId: g.groupId,
              protocolType: g.protocolType,
              groupState: g.state,
              groupType: 'classic',
            })),
            ...shareGroups,
          ],
        };
      },
    },
    {
      apiKey: API_KEYS.DeleteGroups,
      minVersion: 0,
      maxVersion: 2,
      async handle(call: KafkaCall<DeleteGroupsRequest>): Promise<DeleteGroupsResponse> {
        const results = await groups.deleteGroups(call.body.groupsNames);
        return {
          throttleTimeMs: 0,
          results: results.map((r) => ({ groupId: r.groupId, errorCode: errorCode(r.error) })),
        };
      },
    },
  ];
}
