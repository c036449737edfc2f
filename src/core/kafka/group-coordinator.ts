/**
 * Kafka's group coordinator, classic rebalance protocol (JoinGroup / SyncGroup / Heartbeat /
 * LeaveGroup), and the group side of offset commits. Follows Apache Kafka's GroupCoordinator:
 *
 *   Empty ──join──▶ PreparingRebalance ──all rejoined or rebalance timeout──▶ CompletingRebalance
 *     ▲                  ▲   │                                                    │ leader's SyncGroup
 *     └── last member ───┘   └── no member left ──▶ Empty                         ▼
 *         leaves             ◀── join with new metadata, leave, expiry ──────── Stable
 *
 * JoinGroup and SyncGroup answers are held (promises) until the phase ends. Every timeout is a
 * timer on the injected clock: the join phase (rebalance timeout, or the initial rebalance delay
 * for an empty group), the sync phase, each member's session, each MEMBER_ID_REQUIRED id.
 * Group membership is not persisted (after a restart every client rejoins, as after a coordinator
 * move); committed offsets are, through the GroupOffsetStore.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { decodeConsumerSubscription } from './consumer-assignment.js';
import {
  ConsumerGroup,
  EMPTY_BYTES,
  type GroupErrorName,
  GroupMember,
  type GroupProtocol,
  type GroupState,
  type JoinResult,
  joinError,
  type SyncResult,
  syncError,
} from './consumer-group.js';
import type {
  CommittedOffset,
  GroupOffsetStore,
  OffsetCommitEntry,
  TopicPartitionRef,
} from './group-offsets.js';

export interface GroupCoordinatorConfig {
  /** group.min.session.timeout.ms */
  readonly minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms (Kafka's default since 2.3: 30 minutes) */
  readonly maxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms: how long an empty group waits for more members to join. */
  readonly initialRebalanceDelayMs: number;
  /** group.max.size */
  readonly maxGroupSize: number;
  /** offset.metadata.max.bytes (Kafka compares the string's length) */
  readonly offsetMetadataMaxBytes: number;
  /** offsets.retention.minutes, in ms: offsets of a group empty for this long are deleted. */
  readonly offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  readonly offsetsRetentionCheckIntervalMs: number;
}

export const DEFAULT_GROUP_COORDINATOR_CONFIG: GroupCoordinatorConfig = {
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3000,
  maxGroupSize: 2_147_483_647,
  offsetMetadataMaxBytes: 4096,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  offsetsRetentionCheckIntervalMs: 600_000,
};

/**
 * A new member's JoinGroup is answered within this time or the member is dropped: its client may
 * have given up and will retry with a fresh join (Kafka's NewMemberJoinTimeoutMs).
 */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export interface JoinRequest {
  readonly groupId: string;
  /** '' for a member joining for the first time. */
  readonly memberId: string;
  /** Static membership (KIP-345); null for dynamic members. */
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly GroupProtocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id. */
  readonly requireKnownMemberId: boolean;
}

export interface SyncRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** SyncGroup v5+: checked against the group's when given. */
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  /** From the leader: memberId → assignment. Followers send none. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[];
}

export interface MemberIdentity {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeaveResult {
  readonly error: GroupErrorName;
  readonly members: readonly (MemberIdentity & { readonly error: GroupErrorName })[];
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** -1 with memberId '' for a commit outside group management (a "simple" consumer or an admin). */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** A negative commitTimestampMs means "now" on the coordinator's clock. */
  readonly entries: readonly OffsetCommitEntry[];
}

export interface PartitionOffset {
  readonly partition: number;
  /** -1 when the group has committed nothing for the partition. */
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly metadata: Buffer;
  readonly assignment: Buffer;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly error: GroupErrorName;
  readonly state: GroupState;
  readonly protocolType: string;
  /** The chosen protocol while Stable, else ''. */
  readonly protocolName: string;
  readonly members: readonly GroupMemberDescription[];
}

export interface GroupOverview {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupState;
}

export interface GroupCoordinatorOptions {
  readonly clock: Clock;
  readonly offsets: GroupOffsetStore;
  readonly config?: Partial<GroupCoordinatorConfig>;
  /** Generates the random part of member ids (tests make them predictable). */
  readonly randomId?: () => string;
}

type JoinWaiter = (result: JoinResult) => void;

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig;
  private readonly clock: Clock;
  private readonly offsets: GroupOffsetStore;
  private readonly randomId: () => string;
  private readonly groups = new Map<string, ConsumerGroup>();
  /** Groups whose join timer is an initial rebalance delay (cannot complete early). */
  private readonly initialDelay = new Set<ConsumerGroup>();
  private cleanupTimer: ReturnType<Clock['setTimeout']> | undefined;
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    this.clock = options.clock;
    this.offsets = options.offsets;
    this.config = { ...DEFAULT_GROUP_COORDINATOR_CONFIG, ...options.config };
    this.randomId = options.randomId ?? randomUUID;
    // Groups with committed offsets exist (Empty) after a restart, as Kafka loads them.
    for (const groupId of this.offsets.groupIds())
      this.groups.set(groupId, new ConsumerGroup(groupId, this.clock.now()));
    this.scheduleCleanup();
  }

  // ---- JoinGroup -------------------------------------------------------------------------------

  join(request: JoinRequest): Promise<JoinResult> {
    return new Promise((resolve) => this.handleJoin(request, resolve));
  }

  private handleJoin(req: JoinRequest, respond: JoinWaiter): void {
    if (req.groupId === '') {
      respond(joinError(req.memberId, 'INVALID_GROUP_ID'));
      return;
    }
    if (this.closed) {
      respond(joinError(req.memberId, 'COORDINATOR_NOT_AVAILABLE'));
      return;
    }
    if (
      req.sessionTimeoutMs < this.config.minSessionTimeoutMs ||
      req.sessionTimeoutMs > this.config.maxSessionTimeoutMs
    ) {
      respond(joinError(req.memberId, 'INVALID_SESSION_TIMEOUT'));
      return;
    }
    const isUnknownMember = req.memberId === '';
    let group = this.groups.get(req.groupId);
    if (!group) {
      // A member id for a group that does not exist is stale: the member must join afresh.
      if (!isUnknownMember) {
        respond(joinError(req.memberId, 'UNKNOWN_MEMBER_ID'));
        return;
      }
      group = new ConsumerGroup(req.groupId, this.clock.now());
      this.groups.set(req.groupId, group);
    }
    if (!this.acceptJoiningMember(group, req.memberId)) {
      this.dropMember(group, req.memberId);
      respond(joinError('', 'GROUP_MAX_SIZE_REACHED'));
    } else if (isUnknownMember) {
      this.newMemberJoin(group, req, respond);
    } else {
      this.currentMemberJoin(group, req, respond);
    }
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  /** Kafka's acceptJoiningMember: counts awaiting members while preparing, all members after. */
  private acceptJoiningMember(group: ConsumerGroup, memberId: string): boolean {
    const max = this.config.maxGroupSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return group.members.get(memberId)?.isAwaitingJoin === true || group.awaitingJoinCount < max;
      default:
        return group.has(memberId) || group.size < max;
    }
  }

  private newMemberJoin(group: ConsumerGroup, req: JoinRequest, respond: JoinWaiter): void {
    if (group.is('Dead')) {
      respond(joinError('', 'COORDINATOR_NOT_AVAILABLE'));
      return;
    }
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      respond(joinError('', 'INCONSISTENT_GROUP_PROTOCOL'));
      return;
    }
    const newMemberId = `${req.groupInstanceId ?? req.clientId}-${this.randomId()}`;
    if (req.groupInstanceId !== null) {
      const oldMemberId = group.currentStaticMemberId(req.groupInstanceId);
      if (oldMemberId !== undefined)
        this.updateStaticMemberAndRebalance(group, oldMemberId, newMemberId, req, respond);
      else this.addMemberAndRebalance(group, newMemberId, req, respond);
    } else if (req.requireKnownMemberId) {
      // The member must come back with this id; until then the join phase waits for it.
      const timer = this.clock.setTimeout(
        () => this.expirePendingMember(group, newMemberId),
        req.sessionTimeoutMs,
      );
      group.pendingMembers.set(newMemberId, timer);
      respond(joinError(newMemberId, 'MEMBER_ID_REQUIRED'));
    } else {
      this.addMemberAndRebalance(group, newMemberId, req, respond);
    }
  }

  private currentMemberJoin(group: ConsumerGroup, req: JoinRequest, respond: JoinWaiter): void {
    if (group.is('Dead')) {
      respond(joinError(req.memberId, 'COORDINATOR_NOT_AVAILABLE'));
      return;
    }
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      respond(joinError(req.memberId, 'INCONSISTENT_GROUP_PROTOCOL'));
      return;
    }
    if (group.pendingMembers.has(req.memberId)) {
      // Pending ids are only handed to dynamic members.
      if (req.groupInstanceId !== null) {
        respond(joinError(req.memberId, 'UNKNOWN_MEMBER_ID'));
        return;
      }
      this.addMemberAndRebalance(group, req.memberId, req, respond);
      return;
    }
    const error = this.validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (error !== 'NONE') {
      respond(joinError(req.memberId, error));
      return;
    }
    const member = group.members.get(req.memberId)!;
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, req, respond);
        return;
      case 'CompletingRebalance':
        // Same metadata: the member probably lost our answer; give it the current generation again.
        if (member.matches(req.protocols)) respond(this.currentJoinResult(group, member.memberId, true));
        else this.updateMemberAndRebalance(group, member, req, respond);
        return;
      case 'Stable':
        // The leader rejoins to make the group reassign (e.g. its topics' partitions changed).
        if (group.isLeader(member.memberId) || !member.matches(req.protocols))
          this.updateMemberAndRebalance(group, member, req, respond);
        else respond(this.currentJoinResult(group, member.memberId, false));
        return;
      default:
        respond(joinError(req.memberId, 'UNKNOWN_MEMBER_ID'));
    }
  }

  private currentJoinResult(group: ConsumerGroup, memberId: string, membersForLeader: boolean): JoinResult {
    return {
      error: 'NONE',
      memberId,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId ?? '',
      members: membersForLeader && group.isLeader(memberId) ? group.currentMemberMetadata() : [],
    };
  }

  private addMemberAndRebalance(
    group: ConsumerGroup,
    memberId: string,
    req: JoinRequest,
    respond: JoinWaiter,
  ): void {
    const member = new GroupMember(
      memberId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      req.protocolType,
      req.protocols,
    );
    member.isNew = true;
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    this.clearPendingMember(group, memberId);
    group.add(member, respond);
    // A new member cannot heartbeat before its answer; it is dropped if it waits too long.
    this.scheduleExpiry(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(group);
  }

  private updateMemberAndRebalance(
    group: ConsumerGroup,
    member: GroupMember,
    req: JoinRequest,
    respond: JoinWaiter,
  ): void {
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, respond);
    this.maybePrepareRebalance(group);
  }

  /**
   * A static member rejoined without its member id (it restarted): it takes a new id and keeps its
   * place. In a Stable group whose protocol choice does not change, no rebalance happens: it gets
   * the current generation and, by SyncGroup, its old assignment (KIP-345).
   */
  private updateStaticMemberAndRebalance(
    group: ConsumerGroup,
    oldMemberId: string,
    newMemberId: string,
    req: JoinRequest,
    respond: JoinWaiter,
  ): void {
    const currentLeader = group.leaderId ?? '';
    const member = group.replaceStaticMember(req.groupInstanceId!, oldMemberId, newMemberId);
    this.scheduleExpiry(group, member, member.sessionTimeoutMs);
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, respond);
    switch (group.state) {
      case 'Stable':
        if (group.protocolName === group.selectProtocol()) {
          // The old leader id is returned so that a rejoining leader does not run an assignment
          // that a Stable group would never distribute (JoinGroup < v9 has no skipAssignment).
          group.invokeJoinWaiter(member, {
            error: 'NONE',
            memberId: newMemberId,
            generationId: group.generationId,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            leaderId: currentLeader,
            members: [],
          });
        } else {
          this.maybePrepareRebalance(group);
        }
        return;
      case 'CompletingRebalance':
        // The leader may be assigning to the old member id: start over.
        this.prepareRebalance(group);
        return;
      default:
      // PreparingRebalance: the member now waits for the join phase like the others.
    }
  }

  // ---- join phase ------------------------------------------------------------------------------

  private maybePrepareRebalance(group: ConsumerGroup): void {
    if (group.canRebalance) this.prepareRebalance(group);
  }

  private prepareRebalance(group: ConsumerGroup): void {
    if (group.is('CompletingRebalance')) this.propagateAssignmentError(group, 'REBALANCE_IN_PROGRESS');
    this.clearSyncPhase(group);
    this.clearJoinTimer(group);
    const wasEmpty = group.is('Empty');
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs;
    group.transitionTo('PreparingRebalance', this.clock.now());
    if (wasEmpty) {
      const delayMs = this.config.initialRebalanceDelayMs;
      this.scheduleInitialJoin(group, delayMs, Math.max(rebalanceTimeoutMs - delayMs, 0));
    } else {
      this.scheduleJoin(group, rebalanceTimeoutMs);
    }
  }

  /** The join phase ends when every member has rejoined, or at the rebalance timeout. */
  private scheduleJoin(group: ConsumerGroup, timeoutMs: number): void {
    group.joinTimer = this.clock.setTimeout(() => {
      group.joinTimer = undefined;
      this.completeJoin(group);
    }, timeoutMs);
    this.tryCompleteJoin(group);
  }

  /**
   * An empty group's first rebalance waits `delayMs` for more members, again while members keep
   * arriving, up to the rebalance timeout (Kafka's InitialDelayedJoin).
   */
  private scheduleInitialJoin(group: ConsumerGroup, delayMs: number, remainingMs: number): void {
    this.initialDelay.add(group);
    group.joinTimer = this.clock.setTimeout(() => {
      group.joinTimer = undefined;
      if (group.newMemberAdded && remainingMs !== 0) {
        group.newMemberAdded = false;
        const nextDelayMs = Math.min(this.config.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoin(group, nextDelayMs, Math.max(remainingMs - delayMs, 0));
        return;
      }
      this.initialDelay.delete(group);
      this.completeJoin(group);
    }, delayMs);
  }

  private tryCompleteJoin(group: ConsumerGroup): void {
    if (this.initialDelay.has(group) || group.joinTimer === undefined) return;
    if (!group.hasAllMembersJoined) return;
    this.clearJoinTimer(group);
    this.completeJoin(group);
  }

  private clearJoinTimer(group: ConsumerGroup): void {
    if (group.joinTimer !== undefined) this.clock.clearTimeout(group.joinTimer);
    group.joinTimer = undefined;
    this.initialDelay.delete(group);
  }

  private completeJoin(group: ConsumerGroup): void {
    if (!group.is('PreparingRebalance')) return;
    // Dynamic members that did not rejoin in time are gone; static ones keep their place.
    for (const member of [...group.members.values()]) {
      if (!member.isAwaitingJoin && member.groupInstanceId === null) this.removeMember(group, member);
    }
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Only static members remain and none rejoined: wait for them, or for their sessions to end.
      this.scheduleJoin(group, group.rebalanceTimeoutMs);
      return;
    }
    group.initNextGeneration(this.clock.now());
    if (group.is('Empty')) return;
    for (const member of group.members.values()) {
      group.invokeJoinWaiter(member, this.currentJoinResult(group, member.memberId, true));
      this.scheduleExpiry(group, member, member.sessionTimeoutMs);
      member.isNew = false;
      group.pendingSync.add(member.memberId);
    }
    const generationId = group.generationId;
    group.syncTimer = this.clock.setTimeout(() => {
      group.syncTimer = undefined;
      this.expirePendingSync(group, generationId);
    }, group.rebalanceTimeoutMs);
  }

  // ---- SyncGroup -------------------------------------------------------------------------------

  sync(request: SyncRequest): Promise<SyncResult> {
    return new Promise((resolve) => this.handleSync(request, resolve));
  }

  private handleSync(req: SyncRequest, respond: (result: SyncResult) => void): void {
    if (req.groupId === '') {
      respond(syncError('INVALID_GROUP_ID'));
      return;
    }
    if (this.closed) {
      respond(syncError('COORDINATOR_NOT_AVAILABLE'));
      return;
    }
    const group = this.groups.get(req.groupId);
    if (!group) {
      respond(syncError('UNKNOWN_MEMBER_ID'));
      return;
    }
    if (group.is('Dead')) {
      respond(syncError('COORDINATOR_NOT_AVAILABLE'));
      return;
    }
    let error = this.validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (error === 'NONE') {
      if (req.generationId !== group.generationId) error = 'ILLEGAL_GENERATION';
      else if (req.protocolType !== null && req.protocolType !== group.protocolType)
        error = 'INCONSISTENT_GROUP_PROTOCOL';
      else if (req.protocolName !== null && req.protocolName !== group.protocolName)
        error = 'INCONSISTENT_GROUP_PROTOCOL';
    }
    if (error !== 'NONE') {
      respond(syncError(error));
      return;
    }
    const member = group.members.get(req.memberId)!;
    switch (group.state) {
      case 'Empty': {
        respond(syncError('UNKNOWN_MEMBER_ID'));
        return;
      }
      case 'PreparingRebalance': {
        respond(syncError('REBALANCE_IN_PROGRESS'));
        return;
      }
      case 'CompletingRebalance': {
        // A repeated SyncGroup replaces the earlier one, whose answer tells the client to rejoin.
        group.invokeSyncWaiter(member, syncError('REBALANCE_IN_PROGRESS'));
        member.syncWaiter = respond;
        this.removePendingSync(group, member.memberId);
        if (group.isLeader(member.memberId)) {
          const assignments = new Map<string, Buffer>();
          for (const a of req.assignments) assignments.set(a.memberId, a.assignment);
          // Members the leader left out get an empty assignment.
          for (const m of group.members.values()) m.assignment = assignments.get(m.memberId) ?? EMPTY_BYTES;
          this.propagateAssignment(group);
          group.transitionTo('Stable', this.clock.now());
        }
        return;
      }
      case 'Stable':
        this.removePendingSync(group, member.memberId);
        respond({
          error: 'NONE',
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        });
        this.scheduleExpiry(group, member, member.sessionTimeoutMs);
        return;
      default:
        respond(syncError('COORDINATOR_NOT_AVAILABLE'));
    }
  }

  private propagateAssignment(group: ConsumerGroup): void {
    for (const member of group.members.values()) {
      const answered = group.invokeSyncWaiter(member, {
        error: 'NONE',
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        assignment: member.assignment,
      });
      // The session clock restarts with the answer (it was suspended while the member waited).
      if (answered) this.scheduleExpiry(group, member, member.sessionTimeoutMs);
    }
  }

  private propagateAssignmentError(group: ConsumerGroup, error: GroupErrorName): void {
    for (const member of group.members.values()) {
      member.assignment = EMPTY_BYTES;
      if (group.invokeSyncWaiter(member, syncError(error)))
        this.scheduleExpiry(group, member, member.sessionTimeoutMs);
    }
  }

  private removePendingSync(group: ConsumerGroup, memberId: string): void {
    group.pendingSync.delete(memberId);
    if (group.pendingSync.size === 0 && group.syncTimer !== undefined) {
      this.clock.clearTimeout(group.syncTimer);
      group.syncTimer = undefined;
    }
  }

  private clearSyncPhase(group: ConsumerGroup): void {
    group.pendingSync.clear();
    if (group.syncTimer !== undefined) this.clock.clearTimeout(group.syncTimer);
    group.syncTimer = undefined;
  }

  /** Members that got a generation but never sent SyncGroup within the rebalance timeout are dropped. */
  private expirePendingSync(group: ConsumerGroup, generationId: number): void {
    if (generationId !== group.generationId) return;
    if (!group.is('CompletingRebalance') && !group.is('Stable')) return;
    if (group.pendingSync.size === 0) return;
    for (const memberId of [...group.pendingSync]) {
      const member = group.members.get(memberId);
      if (member) this.removeMember(group, member);
    }
    this.prepareRebalance(group);
  }

  // ---- Heartbeat and LeaveGroup ----------------------------------------------------------------

  heartbeat(
    groupId: string,
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
  ): GroupErrorName {
    if (groupId === '') return 'INVALID_GROUP_ID';
    if (this.closed) return 'COORDINATOR_NOT_AVAILABLE';
    const group = this.groups.get(groupId);
    if (!group) return 'UNKNOWN_MEMBER_ID';
    if (group.is('Dead')) return 'COORDINATOR_NOT_AVAILABLE';
    const error = this.validateCurrentMember(group, memberId, groupInstanceId);
    if (error !== 'NONE') return error;
    if (generationId !== group.generationId) return 'ILLEGAL_GENERATION';
    if (group.is('Empty')) return 'UNKNOWN_MEMBER_ID';
    const member = group.members.get(memberId)!;
    this.scheduleExpiry(group, member, member.sessionTimeoutMs);
    return group.is('PreparingRebalance') ? 'REBALANCE_IN_PROGRESS' : 'NONE';
  }

  /** LeaveGroup: members by id, or (memberId '') by group instance id as an admin removes them. */
  leave(groupId: string, leaving: readonly MemberIdentity[]): LeaveResult {
    if (groupId === '') return { error: 'INVALID_GROUP_ID', members: [] };
    if (this.closed) return { error: 'COORDINATOR_NOT_AVAILABLE', members: [] };
    const group = this.groups.get(groupId);
    if (!group)
      return { error: 'NONE', members: leaving.map((m) => ({ ...m, error: 'UNKNOWN_MEMBER_ID' as const })) };
    if (group.is('Dead')) return { error: 'COORDINATOR_NOT_AVAILABLE', members: [] };
    const members = leaving.map((identity) => ({ ...identity, error: this.leaveOne(group, identity) }));
    return { error: 'NONE', members };
  }

  private leaveOne(group: ConsumerGroup, { memberId, groupInstanceId }: MemberIdentity): GroupErrorName {
    if (memberId === '') {
      const current = groupInstanceId === null ? undefined : group.currentStaticMemberId(groupInstanceId);
      if (current === undefined) return 'UNKNOWN_MEMBER_ID';
      this.removeMemberAndUpdateGroup(group, group.members.get(current)!);
      return 'NONE';
    }
    if (group.pendingMembers.has(memberId)) {
      this.expirePendingMember(group, memberId);
      return 'NONE';
    }
    const error = this.validateCurrentMember(group, memberId, groupInstanceId);
    if (error !== 'NONE') return error;
    this.removeMemberAndUpdateGroup(group, group.members.get(memberId)!);
    return 'NONE';
  }

  // ---- member liveness -------------------------------------------------------------------------

  /**
   * Restarts a member's session timer. A member waiting in a rebalance is alive by definition (its
   * session is suspended) unless it is new, so no timer is set for it (Kafka's DelayedHeartbeat).
   */
  private scheduleExpiry(group: ConsumerGroup, member: GroupMember, timeoutMs: number): void {
    if (member.expiryTimer !== undefined) this.clock.clearTimeout(member.expiryTimer);
    member.expiryTimer = undefined;
    member.heartbeatSatisfied = false;
    if (member.hasSatisfiedHeartbeat) return;
    member.expiryTimer = this.clock.setTimeout(() => {
      member.expiryTimer = undefined;
      if (group.members.get(member.memberId) !== member || member.hasSatisfiedHeartbeat) return;
      this.removeMemberAndUpdateGroup(group, member);
    }, timeoutMs);
  }

  private removeMemberAndUpdateGroup(group: ConsumerGroup, member: GroupMember): void {
    this.removeMember(group, member);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group);
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
      default:
    }
  }

  /** Removes a member, answering any request it has waiting so that its client rejoins. */
  private removeMember(group: ConsumerGroup, member: GroupMember): void {
    group.invokeJoinWaiter(member, joinError('', 'UNKNOWN_MEMBER_ID'));
    group.invokeSyncWaiter(member, syncError('UNKNOWN_MEMBER_ID'));
    if (member.expiryTimer !== undefined) this.clock.clearTimeout(member.expiryTimer);
    member.expiryTimer = undefined;
    group.remove(member.memberId);
  }

  /** Removes a member or pending member id without starting a rebalance (GROUP_MAX_SIZE_REACHED). */
  private dropMember(group: ConsumerGroup, memberId: string): void {
    this.clearPendingMember(group, memberId);
    const member = group.members.get(memberId);
    if (member) this.removeMember(group, member);
  }

  private clearPendingMember(group: ConsumerGroup, memberId: string): void {
    const timer = group.pendingMembers.get(memberId);
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    group.pendingMembers.delete(memberId);
  }

  private expirePendingMember(group: ConsumerGroup, memberId: string): void {
    if (!group.pendingMembers.has(memberId)) return;
    this.clearPendingMember(group, memberId);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  private validateCurrentMember(
    group: ConsumerGroup,
    memberId: string,
    groupInstanceId: string | null,
  ): GroupErrorName {
    if (groupInstanceId !== null) {
      const current = group.currentStaticMemberId(groupInstanceId);
      if (current === undefined) return 'UNKNOWN_MEMBER_ID';
      // Another process with the same group.instance.id took over: this one is a zombie.
      if (current !== memberId) return 'FENCED_INSTANCE_ID';
    }
    return group.has(memberId) ? 'NONE' : 'UNKNOWN_MEMBER_ID';
  }

  // ---- offsets ---------------------------------------------------------------------------------

  /**
   * Commits offsets (already checked to name existing partitions) once the group accepts the
   * committer; resolves with one error per entry after the change is durable.
   */
  commitOffsets(req: OffsetCommitRequest): Promise<GroupErrorName[]> {
    const all = (error: GroupErrorName) => Promise.resolve(req.entries.map(() => error));
    if (this.closed) return all('COORDINATOR_NOT_AVAILABLE');
    let group = this.groups.get(req.groupId);
    if (!group) {
      // Without group management (generation -1) committing creates the group; otherwise the
      // commit comes from a generation that no longer exists.
      if (req.generationId >= 0) return all('ILLEGAL_GENERATION');
      group = new ConsumerGroup(req.groupId, this.clock.now());
      this.groups.set(req.groupId, group);
    }
    const error = this.validateOffsetCommit(group, req);
    if (error !== 'NONE') return all(error);
    if (group.is('CompletingRebalance')) return all('REBALANCE_IN_PROGRESS');
    if (!group.is('Empty')) {
      // A commit is a sign of life (Stable, or PreparingRebalance: the heartbeat will say rejoin).
      const member = group.members.get(req.memberId)!;
      this.scheduleExpiry(group, member, member.sessionTimeoutMs);
    }
    const errors: GroupErrorName[] = [];
    const accepted: OffsetCommitEntry[] = [];
    const nowMs = this.clock.now();
    for (const entry of req.entries) {
      if (entry.metadata.length > this.config.offsetMetadataMaxBytes) {
        errors.push('OFFSET_METADATA_TOO_LARGE');
        continue;
      }
      errors.push('NONE');
      accepted.push(entry.commitTimestampMs < 0 ? { ...entry, commitTimestampMs: nowMs } : entry);
    }
    if (accepted.length === 0) return Promise.resolve(errors);
    return new Promise((resolve) => this.offsets.commit(req.groupId, accepted, () => resolve(errors)));
  }

  /**
   * TxnOffsetCommit's check of the committer (v3+ names its member and generation, KIP-447): the
   * same rules as OffsetCommit's; a group the coordinator does not know accepts generation -1.
   */
  checkTransactionalCommitter(
    req: Pick<OffsetCommitRequest, 'groupId' | 'generationId' | 'memberId' | 'groupInstanceId'>,
  ): GroupErrorName {
    if (this.closed) return 'COORDINATOR_NOT_AVAILABLE';
    const group = this.groups.get(req.groupId);
    if (!group) return req.generationId >= 0 ? 'ILLEGAL_GENERATION' : 'NONE';
    if (req.generationId < 0 && req.memberId === '' && req.groupInstanceId === null) return 'NONE';
    return this.validateOffsetCommit(group, { ...req, entries: [] });
  }

  /**
   * Writes the offsets of a committed transaction (checked at TxnOffsetCommit): staged at once, so
   * a durability barrier registered afterwards covers them; `onDurable` fires with it.
   */
  commitTransactionalOffsets(
    groupId: string,
    entries: readonly OffsetCommitEntry[],
    onDurable: () => void,
  ): void {
    const nowMs = this.clock.now();
    const stamped = entries.map((e) => (e.commitTimestampMs < 0 ? { ...e, commitTimestampMs: nowMs } : e));
    this.offsets.commit(groupId, stamped, onDurable);
  }

  private validateOffsetCommit(group: ConsumerGroup, req: OffsetCommitRequest): GroupErrorName {
    if (group.is('Dead')) return 'COORDINATOR_NOT_AVAILABLE';
    if (req.generationId < 0 && group.is('Empty')) return 'NONE';
    if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const error = this.validateCurrentMember(group, req.memberId, req.groupInstanceId);
      if (error !== 'NONE') return error;
      return req.generationId === group.generationId ? 'NONE' : 'ILLEGAL_GENERATION';
    }
    // A group with members accepts commits only from its members.
    return group.is('Empty') ? 'NONE' : 'UNKNOWN_MEMBER_ID';
  }

  /**
   * Committed offsets of a group, whatever its state (it may not use group management). `topics`
   * null asks for every committed offset; a partition without one answers offset -1.
   */
  fetchOffsets(
    groupId: string,
    topics: readonly { readonly topic: string; readonly partitions: readonly number[] }[] | null,
  ): { topic: string; partitions: PartitionOffset[] }[] {
    const committed = this.offsets.group(groupId);
    if (topics === null) {
      if (!committed) return [];
      return [...committed].map(([topic, partitions]) => ({
        topic,
        partitions: [...partitions].map(([partition, c]) => toPartitionOffset(partition, c)),
      }));
    }
    return topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((p) => toPartitionOffset(p, committed?.get(topic)?.get(p))),
    }));
  }

  /** Committed offsets of every group, for consumer-lag monitoring (lag = high watermark − offset). */
  committedOffsets(): { groupId: string; topic: string; partition: number; offset: number }[] {
    const rows: { groupId: string; topic: string; partition: number; offset: number }[] = [];
    for (const groupId of this.offsets.groupIds()) {
      for (const [topic, partitions] of this.offsets.group(groupId) ?? [])
        for (const [partition, c] of partitions) rows.push({ groupId, topic, partition, offset: c.offset });
    }
    return rows;
  }

  /** Drops every group's committed offsets of a deleted topic; resolves once durable. */
  deleteTopicOffsets(topic: string): Promise<void> {
    return new Promise((resolve) => this.offsets.deleteTopic(topic, resolve));
  }

  // ---- admin: DescribeGroups, ListGroups, DeleteGroups -----------------------------------------

  describe(groupId: string): GroupDescription {
    const group = this.groups.get(groupId);
    if (!group || group.is('Dead'))
      return { groupId, error: 'NONE', state: 'Dead', protocolType: '', protocolName: '', members: [] };
    const stable = group.is('Stable');
    const protocol = stable ? (group.protocolName ?? '') : '';
    const members = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      // Kafka shows metadata and assignments only once the group is Stable.
      metadata: stable ? m.metadataFor(protocol) : EMPTY_BYTES,
      assignment: stable ? m.assignment : EMPTY_BYTES,
    }));
    return {
      groupId,
      error: 'NONE',
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolName: protocol,
      members,
    };
  }

  /** Every group, optionally only those in the given states (case-insensitive, as Kafka). */
  list(statesFilter: readonly string[] = []): GroupOverview[] {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const result: GroupOverview[] = [];
    for (const group of this.groups.values()) {
      if (group.is('Dead')) continue;
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue;
      result.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', state: group.state });
    }
    return result;
  }

  /** DeleteGroups: only Empty groups go, with their committed offsets (durably, before the answer). */
  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; error: GroupErrorName }[]> {
    const results: { groupId: string; error: GroupErrorName }[] = [];
    const durable: Promise<void>[] = [];
    for (const groupId of new Set(groupIds)) {
      const group = this.groups.get(groupId);
      if (this.closed) {
        results.push({ groupId, error: 'COORDINATOR_NOT_AVAILABLE' });
      } else if (!group || group.is('Dead')) {
        results.push({ groupId, error: 'GROUP_ID_NOT_FOUND' });
      } else if (!group.is('Empty')) {
        results.push({ groupId, error: 'NON_EMPTY_GROUP' });
      } else {
        this.removeGroup(group);
        durable.push(new Promise((resolve) => this.offsets.deleteGroup(groupId, resolve)));
        results.push({ groupId, error: 'NONE' });
      }
    }
    await Promise.all(durable);
    return results;
  }

  /**
   * OffsetDelete as Kafka's coordinator answers it: an unknown group is GROUP_ID_NOT_FOUND; an Empty
   * group (or one that never used group management) loses the offsets asked for; a consumer group
   * with members keeps those of topics a member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC for each such
   * partition) and loses the others; another kind of group with members refuses as a whole
   * (NON_EMPTY_GROUP). Resolves, once the deletion is durable, with one error per partition.
   */
  async deleteOffsets(
    groupId: string,
    partitions: readonly TopicPartitionRef[],
  ): Promise<{ error: GroupErrorName; partitionErrors: GroupErrorName[] }> {
    const group = this.groups.get(groupId);
    const none = (error: GroupErrorName) => ({ error, partitionErrors: partitions.map(() => error) });
    if (this.closed) return none('COORDINATOR_NOT_AVAILABLE');
    if (!group || group.is('Dead')) {
      if (!this.offsets.group(groupId)) return none('GROUP_ID_NOT_FOUND');
    }
    let subscribed: ReadonlySet<string> = new Set();
    if (group && !group.is('Empty') && !group.is('Dead')) {
      if (group.protocolType !== 'consumer') return none('NON_EMPTY_GROUP');
      subscribed = this.subscribedTopics(group);
    }
    const partitionErrors: GroupErrorName[] = [];
    const deleted: TopicPartitionRef[] = [];
    for (const ref of partitions) {
      if (subscribed.has(ref.topic)) {
        partitionErrors.push('GROUP_SUBSCRIBED_TO_TOPIC');
      } else {
        partitionErrors.push('NONE');
        deleted.push(ref);
      }
    }
    if (deleted.length > 0) {
      await new Promise<void>((resolve) => this.offsets.deleteOffsets(groupId, deleted, resolve));
    }
    return { error: 'NONE', partitionErrors };
  }

  /** Topics the members of a consumer group subscribe to, from their JoinGroup metadata. */
  private subscribedTopics(group: ConsumerGroup): Set<string> {
    const topics = new Set<string>();
    const protocol = group.protocolName;
    for (const member of group.members.values()) {
      const metadata = protocol === null ? member.protocols[0]?.metadata : member.metadataFor(protocol);
      for (const topic of (metadata && decodeConsumerSubscription(metadata)) ?? []) topics.add(topic);
    }
    return topics;
  }

  private removeGroup(group: ConsumerGroup): void {
    this.clearJoinTimer(group);
    this.clearSyncPhase(group);
    for (const memberId of [...group.pendingMembers.keys()]) this.clearPendingMember(group, memberId);
    group.transitionTo('Dead', this.clock.now());
    this.groups.delete(group.groupId);
  }

  // ---- expiry of empty groups ------------------------------------------------------------------

  private scheduleCleanup(): void {
    this.cleanupTimer = this.clock.setTimeout(() => {
      this.cleanupTimer = undefined;
      this.cleanupEmptyGroups();
      if (!this.closed) this.scheduleCleanup();
    }, this.config.offsetsRetentionCheckIntervalMs);
  }

  /**
   * Kafka's offset expiration, simplified: an Empty group's offsets expire once the group has been
   * empty for the retention time (a group that never had members: once its newest commit is that
   * old); an Empty group without offsets is forgotten.
   */
  cleanupEmptyGroups(): void {
    const nowMs = this.clock.now();
    for (const group of [...this.groups.values()]) {
      // A member holding a MEMBER_ID_REQUIRED id is about to join.
      if (!group.is('Empty') || group.pendingMembers.size > 0) continue;
      const committed = this.offsets.group(group.groupId);
      if (committed) {
        let lastActivityMs = group.stateChangedAtMs;
        if (group.protocolType === null) {
          lastActivityMs = 0;
          for (const partitions of committed.values())
            for (const c of partitions.values())
              lastActivityMs = Math.max(lastActivityMs, c.commitTimestampMs);
        }
        if (nowMs - lastActivityMs < this.config.offsetsRetentionMs) continue;
        this.offsets.deleteGroup(group.groupId, () => {});
      }
      this.removeGroup(group);
    }
  }

  /** Stops every timer and answers waiting requests (broker shutdown). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.cleanupTimer !== undefined) this.clock.clearTimeout(this.cleanupTimer);
    for (const group of this.groups.values()) {
      this.clearJoinTimer(group);
      this.clearSyncPhase(group);
      for (const timer of group.pendingMembers.values()) this.clock.clearTimeout(timer);
      group.pendingMembers.clear();
      for (const member of group.members.values()) {
        group.invokeJoinWaiter(member, joinError(member.memberId, 'COORDINATOR_NOT_AVAILABLE'));
        group.invokeSyncWaiter(member, syncError('COORDINATOR_NOT_AVAILABLE'));
        if (member.expiryTimer !== undefined) this.clock.clearTimeout(member.expiryTimer);
        member.expiryTimer = undefined;
      }
    }
  }

  /** For tests and the admin API. */
  groupState(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  generationOf(groupId: string): number | undefined {
    return this.groups.get(groupId)?.generationId;
  }
}

function toPartitionOffset(partition: number, committed: CommittedOffset | undefined): PartitionOffset {
  if (!committed) return { partition, offset: -1, leaderEpoch: -1, metadata: '' };
  return {
    partition,
    offset: committed.offset,
    leaderEpoch: committed.leaderEpoch,
    metadata: committed.metadata,
  };
}
