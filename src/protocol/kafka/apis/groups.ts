/**
 * The classic group membership APIs: JoinGroup v0-7, SyncGroup v0-5, Heartbeat v0-4 and
 * LeaveGroup v0-4, over the core GroupCoordinator. JoinGroup and SyncGroup answers may wait for
 * the rest of the group (the join phase, the leader's assignment).
 */
import type { GroupErrorName } from '../../../core/kafka/consumer-group.js';
import type { GroupCoordinator } from '../../../core/kafka/group-coordinator.js';
import type {
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall, KafkaSession } from '../kafka-api.js';

export interface GroupServices {
  readonly groups: GroupCoordinator;
  /** True for a share group's id: a classic member may not join it (INCONSISTENT_GROUP_PROTOCOL, as Kafka). */
  readonly isShareGroup?: (groupId: string) => boolean;
}

export function errorCode(name: GroupErrorName): number {
  return KafkaError[name];
}

/** Kafka shows the client's address as Java's InetAddress.toString() does: "/127.0.0.1". */
export function clientHost(session: KafkaSession): string {
  return `/${session.remoteAddress}`;
}

export function groupApis({ groups, isShareGroup }: GroupServices): KafkaApi[] {
  return [
    {
      apiKey: API_KEYS.JoinGroup,
      minVersion: 0,
      maxVersion: 7,
      async handle(call: KafkaCall<JoinGroupRequest>): Promise<JoinGroupResponse> {
        const { body, header } = call;
        const version = header.apiVersion;
        if (isShareGroup?.(body.groupId))
          return {
            throttleTimeMs: 0,
            errorCode: KafkaError.INCONSISTENT_GROUP_PROTOCOL,
            generationId: -1,
            protocolType: null,
            protocolName: version >= 7 ? null : '',
            leader: '',
            skipAssignment: false,
            memberId: '',
            members: [],
          };
        const result = await groups.join({
          groupId: body.groupId,
          memberId: body.memberId,
          groupInstanceId: version >= 5 ? body.groupInstanceId : null,
          clientId: header.clientId ?? '',
          clientHost: clientHost(call.session),
          sessionTimeoutMs: body.sessionTimeoutMs,
          // v0 has no rebalance timeout: the session timeout bounds the join phase.
          rebalanceTimeoutMs: version === 0 ? body.sessionTimeoutMs : body.rebalanceTimeoutMs,
          protocolType: body.protocolType,
          protocols: body.protocols,
          requireKnownMemberId: version >= 4,
        });
        return {
          throttleTimeMs: 0,
          errorCode: errorCode(result.error),
          generationId: result.generationId,
          protocolType: result.protocolType,
          // Nullable only from v7.
          protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ''),
          leader: result.leaderId,
          skipAssignment: false,
          memberId: result.memberId,
          members: result.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: m.metadata,
          })),
        };
      },
    },
    {
      apiKey: API_KEYS.SyncGroup,
      minVersion: 0,
      maxVersion: 5,
      async handle(call: KafkaCall<SyncGroupRequest>): Promise<SyncGroupResponse> {
        const { body, header } = call;
        const version = header.apiVersion;
        // From v5 the member must say which protocol it synchronises on.
        if (version >= 5 && (body.protocolType === null || body.protocolName === null)) {
          return syncResponse(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
        }
        const result = await groups.sync({
          groupId: body.groupId,
          generationId: body.generationId,
          memberId: body.memberId,
          groupInstanceId: version >= 3 ? body.groupInstanceId : null,
          protocolType: version >= 5 ? body.protocolType : null,
          protocolName: version >= 5 ? body.protocolName : null,
          assignments: body.assignments,
        });
        return {
          throttleTimeMs: 0,
          errorCode: errorCode(result.error),
          protocolType: result.protocolType,
          protocolName: result.protocolName,
          assignment: result.assignment,
        };
      },
    },
    {
      apiKey: API_KEYS.Heartbeat,
      minVersion: 0,
      maxVersion: 4,
      handle(call: KafkaCall<HeartbeatRequest>): HeartbeatResponse {
        const { body, header } = call;
        const error = groups.heartbeat(
          body.groupId,
          body.memberId,
          header.apiVersion >= 3 ? body.groupInstanceId : null,
          body.generationId,
        );
        return { throttleTimeMs: 0, errorCode: errorCode(error) };
      },
    },
    {
      apiKey: API_KEYS.LeaveGroup,
      minVersion: 0,
      maxVersion: 4,
      handle(call: KafkaCall<LeaveGroupRequest>): LeaveGroupResponse {
        const { body, header } = call;
        const version = header.apiVersion;
        // v0-2 name one member by id; v3+ a list, each by id or by group instance id.
        const leaving =
          version >= 3
            ? body.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
            : [{ memberId: body.memberId, groupInstanceId: null }];
        const result = groups.leave(body.groupId, leaving);
        if (version < 3) {
          // One member: its error is the response's error.
          const memberError = result.members[0]?.error ?? 'NONE';
          const error = result.error !== 'NONE' ? result.error : memberError;
          return { throttleTimeMs: 0, errorCode: errorCode(error), members: [] };
        }
        return {
          throttleTimeMs: 0,
          errorCode: errorCode(result.error),
          members: result.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            errorCode: errorCode(m.error),
          })),
        };
      },
    },
  ];
}

function syncResponse(code: number): SyncGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: code,
    protocolType: null,
    protocolName: null,
    assignment: Buffer.alloc(0),
  };
}
