/**
 * One Kafka consumer group under the classic rebalance protocol: its state, members, generation and
 * chosen protocol. Pure data and bookkeeping; the flow (joins, syncs, timers) is in
 * group-coordinator.ts. Mirrors Kafka's GroupMetadata/MemberMetadata so that states, leader choice
 * and protocol votes come out as Kafka's do.
 */
import type { TimerHandle } from '../clock.js';

/** Kafka's group state names (DescribeGroups and ListGroups show them verbatim). */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** The Kafka error names the coordinator answers with; the protocol layer maps them to codes. */
export type GroupErrorName =
  | 'NONE'
  | 'UNKNOWN_MEMBER_ID'
  | 'ILLEGAL_GENERATION'
  | 'REBALANCE_IN_PROGRESS'
  | 'INCONSISTENT_GROUP_PROTOCOL'
  | 'INVALID_SESSION_TIMEOUT'
  | 'MEMBER_ID_REQUIRED'
  | 'FENCED_INSTANCE_ID'
  | 'GROUP_MAX_SIZE_REACHED'
  | 'COORDINATOR_NOT_AVAILABLE'
  | 'INVALID_GROUP_ID'
  | 'NON_EMPTY_GROUP'
  | 'GROUP_ID_NOT_FOUND'
  | 'OFFSET_METADATA_TOO_LARGE'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'GROUP_SUBSCRIBED_TO_TOPIC';

/** Which states each state may be entered from (Kafka's validPreviousStates). */
const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

/** A member as the leader sees it in its JoinGroup response. */
export interface JoinedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Buffer;
}

export interface JoinResult {
  readonly error: GroupErrorName;
  readonly memberId: string;
  /** -1 with an error. */
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  /** '' with an error. */
  readonly leaderId: string;
  /** Filled for the leader only. */
  readonly members: readonly JoinedMember[];
}

export interface SyncResult {
  readonly error: GroupErrorName;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export function joinError(memberId: string, error: GroupErrorName): JoinResult {
  return {
    error,
    memberId,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leaderId: '',
    members: [],
  };
}

export function syncError(error: GroupErrorName): SyncResult {
  return { error, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class GroupMember {
  assignment: Buffer = EMPTY_BYTES;
  /** Set while a JoinGroup from this member waits for the join phase to end. */
  joinWaiter: ((result: JoinResult) => void) | undefined;
  /** Set while a SyncGroup from this member waits for the leader's assignment. */
  syncWaiter: ((result: SyncResult) => void) | undefined;
  /** Joined in the current rebalance and not yet answered: expires after NEW_MEMBER_JOIN_TIMEOUT_MS. */
  isNew = false;
  /** A heartbeat (or other sign of life) arrived since the expiry timer was set. */
  heartbeatSatisfied = false;
  expiryTimer: TimerHandle | undefined;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: readonly GroupProtocol[],
  ) {}

  get isAwaitingJoin(): boolean {
    return this.joinWaiter !== undefined;
  }

  get isAwaitingSync(): boolean {
    return this.syncWaiter !== undefined;
  }

  /** Kafka's rule: members waiting in a rebalance count as alive, except new ones. */
  get hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return this.heartbeatSatisfied;
    if (this.isAwaitingJoin || this.isAwaitingSync) return true;
    return this.heartbeatSatisfied;
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      const a = protocols[i]!;
      const b = this.protocols[i]!;
      if (a.name !== b.name || !a.metadata.equals(b.metadata)) return false;
    }
    return true;
  }

  metadataFor(protocolName: string): Buffer {
    return this.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY_BYTES;
  }

  /** The member's most preferred protocol among the candidates (its list is in preference order). */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }
}

export class ConsumerGroup {
  state: GroupState = 'Empty';
  stateChangedAtMs: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** In join order: the first member becomes the leader. */
  readonly members = new Map<string, GroupMember>();
  /** groupInstanceId → memberId of static members. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, awaiting the member's second JoinGroup. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** Members that have not sent SyncGroup for the current generation. */
  readonly pendingSync = new Set<string>();
  /** Protocol name → number of members supporting it. */
  private readonly supportedProtocols = new Map<string, number>();
  awaitingJoinCount = 0;
  /** A member joined during the initial rebalance delay: the delay is extended (Kafka's InitialDelayedJoin). */
  newMemberAdded = false;
  joinTimer: TimerHandle | undefined;
  syncTimer: TimerHandle | undefined;

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.stateChangedAtMs = nowMs;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(state: GroupState, nowMs: number): void {
    if (!VALID_PREVIOUS[state].includes(this.state))
      throw new Error(`group ${this.groupId}: invalid transition ${this.state} → ${state}`);
    this.state = state;
    this.stateChangedAtMs = nowMs;
  }

  /** Kafka's canRebalance: a rebalance may start from these states. */
  get canRebalance(): boolean {
    return VALID_PREVIOUS.PreparingRebalance.includes(this.state);
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  currentStaticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  add(member: GroupMember, joinWaiter: ((result: JoinResult) => void) | undefined): void {
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.countProtocols(member, 1);
    member.joinWaiter = joinWaiter;
    if (joinWaiter) this.awaitingJoinCount++;
  }

  /** Removes a member (its waiters must have been answered). The next member in join order leads. */
  remove(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      this.countProtocols(member, -1);
      if (member.isAwaitingJoin) this.awaitingJoinCount--;
      if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingSync.delete(memberId);
    return member;
  }

  updateMember(
    member: GroupMember,
    protocols: readonly GroupProtocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    joinWaiter: ((result: JoinResult) => void) | undefined,
  ): void {
    this.countProtocols(member, -1);
    member.protocols = protocols;
    this.countProtocols(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (joinWaiter && !member.isAwaitingJoin) this.awaitingJoinCount++;
    else if (!joinWaiter && member.isAwaitingJoin) this.awaitingJoinCount--;
    member.joinWaiter = joinWaiter;
  }

  /**
   * A static member rejoined with a new member id: the old id's waiters are fenced and the member
   * keeps everything else (assignment, leadership) under the new id (KIP-345).
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.members.get(oldMemberId);
    if (!member) throw new Error(`group ${this.groupId}: no member ${oldMemberId} to replace`);
    this.invokeJoinWaiter(member, joinError(oldMemberId, 'FENCED_INSTANCE_ID'));
    this.invokeSyncWaiter(member, syncError('FENCED_INSTANCE_ID'));
    // Re-inserting moves the member to the end of the join order, as Kafka's map does.
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSync.delete(oldMemberId)) this.pendingSync.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  invokeJoinWaiter(member: GroupMember, result: JoinResult): void {
    const waiter = member.joinWaiter;
    if (!waiter) return;
    member.joinWaiter = undefined;
    this.awaitingJoinCount--;
    waiter(result);
  }

  invokeSyncWaiter(member: GroupMember, result: SyncResult): boolean {
    const waiter = member.syncWaiter;
    if (!waiter) return false;
    member.syncWaiter = undefined;
    waiter(result);
    return true;
  }

  /** Every member has rejoined and no MEMBER_ID_REQUIRED id is still outstanding. */
  get hasAllMembersJoined(): boolean {
    return this.members.size === this.awaitingJoinCount && this.pendingMembers.size === 0;
  }

  /** The join phase may last as long as the most patient member allows. */
  get rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const member of this.members.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    return timeoutMs;
  }

  /** Keeps the leader if it rejoined, else picks a member that did; false when none rejoined. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader?.isAwaitingJoin) return true;
    for (const member of this.members.values()) {
      if (member.isAwaitingJoin) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  /** Whether a member with this protocol type and these protocols may join (Kafka's supportsProtocols). */
  supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.is('Empty')) return protocolType.length > 0 && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    return protocols.some((p) => this.supportedProtocols.get(p.name) === this.members.size);
  }

  /** The protocol every member supports that gets the most first-preference votes. */
  selectProtocol(): string {
    const candidates = new Set<string>();
    for (const [name, count] of this.supportedProtocols)
      if (count === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    let best: string | undefined;
    let bestVotes = 0;
    for (const member of this.members.values()) {
      const choice = member.vote(candidates);
      if (choice === undefined) continue;
      const n = (votes.get(choice) ?? 0) + 1;
      votes.set(choice, n);
      if (n > bestVotes) {
        best = choice;
        bestVotes = n;
      }
    }
    if (best === undefined) throw new Error(`group ${this.groupId}: no protocol common to all members`);
    return best;
  }

  /** Starts the next generation once the join phase is over. */
  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo('CompletingRebalance', nowMs);
    } else {
      this.protocolName = null;
      this.transitionTo('Empty', nowMs);
    }
    this.pendingSync.clear();
  }

  /** What the leader gets in its JoinGroup response: every member with its chosen-protocol metadata. */
  currentMemberMetadata(): JoinedMember[] {
    const protocol = this.protocolName ?? '';
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(protocol),
    }));
  }

  private countProtocols(member: GroupMember, delta: number): void {
    for (const p of member.protocols) {
      const n = (this.supportedProtocols.get(p.name) ?? 0) + delta;
      if (n === 0) this.supportedProtocols.delete(p.name);
      else this.supportedProtocols.set(p.name, n);
    }
  }
}
