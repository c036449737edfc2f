/**
 * Group administration: DescribeGroups v0-5, ListGroups v0-5 (states filter from v4, types filter
 * and group type from v5, KIP-848) and DeleteGroups v0-2. An unknown group is described as Dead
 * with no error, as Kafka does before DescribeGroups v6. Share groups (KIP-932) are listed with
 * type "share" and deleted by DeleteGroups as Kafka does: refused with NON_EMPTY_GROUP while they
 * have members, else their share-partitions' state is deleted durably.
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
  readonly shares?: Pick<ShareGroupCoordinator, 'list' | 'isShareGroup' | 'deleteGroup'>;
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
      maxVersion: 5,
      handle(call: KafkaCall<ListGroupsRequest>): ListGroupsResponse {
        const statesFilter = call.header.apiVersion >= 4 ? call.body.statesFilter : [];
        const states = new Set(statesFilter.map((s) => s.toLowerCase()));
        // Kafka's group types (classic, consumer, share, streams), matched case-insensitively; an
        // empty filter lists every type. Pier's classic groups are all of type "classic".
        const typesFilter = call.header.apiVersion >= 5 ? call.body.typesFilter : [];
        const types = new Set(typesFilter.map((t) => t.toLowerCase()));
        const wanted = (type: string) => types.size === 0 || types.has(type);
        const shareGroups = (wanted('share') ? (shares?.list() ?? []) : [])
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
            ...(wanted('classic') ? groups.list(statesFilter) : []).map((g) => ({
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
        const names = [...new Set(call.body.groupsNames)];
        const shareNames = names.filter((g) => shares?.isShareGroup(g));
        const [classic, shared] = await Promise.all([
          groups.deleteGroups(names.filter((g) => !shareNames.includes(g))),
          Promise.all(
            shareNames.map(async (groupId) => ({ groupId, error: await shares!.deleteGroup(groupId) })),
          ),
        ]);
        const byId = new Map<string, number>();
        for (const r of classic) byId.set(r.groupId, errorCode(r.error));
        for (const r of shared) byId.set(r.groupId, KafkaError[r.error]);
        return {
          throttleTimeMs: 0,
          results: names.map((groupId) => ({ groupId, errorCode: byId.get(groupId)! })),
        };
      },
    },
  ];
}
