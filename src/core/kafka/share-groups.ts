/**
 * Share groups (KIP-932): membership through ShareGroupHeartbeat, the group's configs, and its
 * share-partitions. Partitions are assigned by Kafka's SimpleAssignor rules (share-assignor.ts): balanced
 * over the members, a partition shared only when there are more members than partitions, sticky;
 * the share-partitions' acquisition locks keep a record with one member at a time.
 *
 * Member epochs follow Kafka's: 0 joins (the coordinator answers the group epoch, and a member id when
 * the client sent none), -1 leaves, any other epoch must be the member's current one
 * (FENCED_MEMBER_EPOCH otherwise); the group epoch moves when members join or leave, or the
 * subscribed topics or their partitions change. As in Kafka's coordinator, the next heartbeat after a
 * move computes the group's target assignment (assignment epoch = group epoch), and each member takes
 * its part and the new epoch at its next heartbeat (share groups have no revocation phase). A member
 * not heard from within the session timeout is removed.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import { assignShareGroup } from './share-assignor.js';
import { SharePartition, type SharePartitionSnapshot } from './share-partition.js';
import { parseSharePartitionKey, type ShareStateStore, sharePartitionKey } from './share-state.js';
import type { Topic } from './topic.js';

export type ShareGroupErrorName =
  | 'NONE'
  | 'INVALID_REQUEST'
  | 'UNKNOWN_MEMBER_ID'
  | 'FENCED_MEMBER_EPOCH'
  | 'GROUP_ID_NOT_FOUND'
  | 'INVALID_CONFIG';

/** Kafka's broker defaults for share groups (group.share.*), overridable per broker. */
export interface ShareGroupDefaults {
  /** group.share.record.lock.duration.ms */
  readonly recordLockDurationMs: number;
  /** group.share.min.record.lock.duration.ms / max: the range a group's share.record.lock.duration.ms may take. */
  readonly minRecordLockDurationMs: number;
  readonly maxRecordLockDurationMs: number;
  /** group.share.delivery.count.limit */
  readonly deliveryCountLimit: number;
  /** group.share.partition.max.record.locks */
  readonly partitionMaxRecordLocks: number;
  /** group.share.session.timeout.ms / group.share.heartbeat.interval.ms */
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

export const DEFAULT_SHARE_GROUP_SETTINGS: ShareGroupDefaults = {
  recordLockDurationMs: 30_000,
  minRecordLockDurationMs: 15_000,
  maxRecordLockDurationMs: 60_000,
  deliveryCountLimit: 5,
  partitionMaxRecordLocks: 2000,
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 5000,
};

/** What the coordinator needs of the topics: by name (subscriptions) and by id (fetches). */
export interface ShareTopics {
  get(name: string): Topic | undefined;
  getById(id: Buffer | string): Topic | undefined;
  /** True when a classic group of that id exists (its id cannot name a share group). */
  classicGroupExists(groupId: string): boolean;
}

export interface ShareHeartbeatRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly rackId: string | null;
  readonly subscribedTopicNames: readonly string[] | null;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface ShareAssignmentTopic {
  readonly topicId: Buffer;
  readonly topicName: string;
  readonly partitions: readonly number[];
}

export interface ShareHeartbeatResult {
  readonly error: ShareGroupErrorName;
  readonly errorMessage: string | null;
  readonly memberId: string | null;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  /** Sent when it changed since the member last saw it; null otherwise. */
  readonly assignment: readonly ShareAssignmentTopic[] | null;
}

interface ShareMember {
  readonly memberId: string;
  memberEpoch: number;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribed: string[];
  assignment: ShareAssignmentTopic[];
  /** The assignment as last sent, to send it again only when it changes. */
  sentAssignment: string;
  timer: TimerHandle | undefined;
}

interface ShareGroup {
  readonly groupId: string;
  groupEpoch: number;
  /** The group epoch the target assignment was computed for. */
  assignmentEpoch: number;
  /** Each member's part of the target assignment. */
  target: Map<string, ShareAssignmentTopic[]>;
  /** Subscribed topics with their ids and partition counts when the epoch last moved. */
  metadata: string;
  readonly members: Map<string, ShareMember>;
}

export interface ShareGroupDescription {
  readonly groupId: string;
  readonly error: ShareGroupErrorName;
  readonly errorMessage: string | null;
  readonly state: 'Empty' | 'Stable' | 'Dead';
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly members: ReadonlyArray<{
    memberId: string;
    rackId: string | null;
    memberEpoch: number;
    clientId: string;
    clientHost: string;
    subscribedTopicNames: readonly string[];
    assignment: readonly ShareAssignmentTopic[];
  }>;
}

/** Group configs a share group accepts (IncrementalAlterConfigs on a GROUP resource). */
export const SHARE_GROUP_CONFIGS = [
  'share.record.lock.duration.ms',
  'share.delivery.count.limit',
  'share.auto.offset.reset',
  'share.session.timeout.ms',
  'share.heartbeat.interval.ms',
] as const;

export class ShareGroupCoordinator {
  private readonly groups = new Map<string, ShareGroup>();
  private readonly partitions = new Map<string, SharePartition>();
  private readonly clock: Clock;
  private readonly store: ShareStateStore;
  private readonly topics: ShareTopics;
  readonly defaults: ShareGroupDefaults;

  constructor(options: {
    clock: Clock;
    store: ShareStateStore;
    topics: ShareTopics;
    defaults?: Partial<ShareGroupDefaults>;
  }) {
    this.clock = options.clock;
    this.store = options.store;
    this.topics = options.topics;
    this.defaults = { ...DEFAULT_SHARE_GROUP_SETTINGS, ...options.defaults };
  }

  // ---- membership -------------------------------------------------------------------------------

  heartbeat(req: ShareHeartbeatRequest): ShareHeartbeatResult {
    const fail = (error: ShareGroupErrorName, message: string): ShareHeartbeatResult => ({
      error,
      errorMessage: message,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (req.groupId === '') return fail('INVALID_REQUEST', "GroupId can't be empty.");
    if (req.rackId === '') return fail('INVALID_REQUEST', "RackId can't be empty.");
    if (req.memberEpoch > 0 || req.memberEpoch === -1) {
      if (req.memberId === '') return fail('INVALID_REQUEST', "MemberId can't be empty.");
    } else if (req.memberEpoch === 0) {
      if (!req.subscribedTopicNames || req.subscribedTopicNames.length === 0)
        return fail('INVALID_REQUEST', 'SubscribedTopicNames must be set in first request.');
    } else {
      return fail('INVALID_REQUEST', 'MemberEpoch is invalid.');
    }
    if (this.topics.classicGroupExists(req.groupId))
      return fail('GROUP_ID_NOT_FOUND', `Group ${req.groupId} is not a share group.`);

    const interval = this.groupInt(
      req.groupId,
      'share.heartbeat.interval.ms',
      this.defaults.heartbeatIntervalMs,
    );
    let group = this.groups.get(req.groupId);
    if (req.memberEpoch === -1) {
      const member = group?.members.get(req.memberId);
      if (!group || !member)
        return fail('UNKNOWN_MEMBER_ID', `Member ${req.memberId} is not a member of group ${req.groupId}.`);
      this.removeMember(group, member);
      return { ...fail('NONE', ''), errorMessage: null, memberId: req.memberId, memberEpoch: -1 };
    }
    if (!group) {
      group = {
        groupId: req.groupId,
        groupEpoch: 0,
        assignmentEpoch: 0,
        target: new Map(),
        metadata: '',
        members: new Map(),
      };
      this.groups.set(req.groupId, group);
    }
    let member = group.members.get(req.memberId);
    if (req.memberEpoch === 0) {
      if (!member) {
        member = {
          memberId: req.memberId === '' ? randomUUID() : req.memberId,
          memberEpoch: 0,
          rackId: req.rackId,
          clientId: req.clientId,
          clientHost: req.clientHost,
          subscribed: [],
          assignment: [],
          sentAssignment: '',
          timer: undefined,
        };
        // The group epoch moves below, with the new member's subscription.
        group.members.set(member.memberId, member);
      }
      member.sentAssignment = ''; // a (re)joining member is always told its assignment
    } else {
      if (!member)
        return fail('UNKNOWN_MEMBER_ID', `Member ${req.memberId} is not a member of group ${req.groupId}.`);
      if (req.memberEpoch !== member.memberEpoch)
        return fail(
          'FENCED_MEMBER_EPOCH',
          `The share group member has a different epoch (${req.memberEpoch}) than the coordinator's (${member.memberEpoch}); it must rejoin with epoch 0.`,
        );
    }
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.subscribedTopicNames !== null) {
      const subscribed = [...new Set(req.subscribedTopicNames)].sort();
      if (subscribed.join('\0') !== member.subscribed.join('\0')) {
        member.subscribed = subscribed;
        group.groupEpoch++;
      }
    }
    this.refreshMetadata(group);
    this.updateTargetAssignment(group);
    if (member.memberEpoch !== group.assignmentEpoch) {
      member.memberEpoch = group.assignmentEpoch;
      member.assignment = group.target.get(member.memberId) ?? [];
    }
    this.touch(group, member);
    const signature = assignmentSignature(member.assignment);
    const changed = signature !== member.sentAssignment;
    member.sentAssignment = signature;
    return {
      error: 'NONE',
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: interval,
      assignment: changed ? member.assignment : null,
    };
  }

  /** True when `memberId` is a current member of the share group. */
  isMember(groupId: string, memberId: string): boolean {
    return this.groups.get(groupId)?.members.has(memberId) ?? false;
  }

  // ---- share-partitions ---------------------------------------------------------------------------

  /** The group's share-partition for `topic`'s partition, loaded or initialised on first use. */
  partition(groupId: string, topic: Topic, index: number): SharePartition {
    const key = sharePartitionKey(groupId, topic.id.toString('hex'), index);
    let found = this.partitions.get(key);
    if (found) return found;
    const log = topic.partitions[index]!;
    const stored = this.store.partitions.get(key);
    const reset = this.groupConfigs(groupId)['share.auto.offset.reset'] ?? 'latest';
    // share.auto.offset.reset: where a share-partition without state starts.
    const start = reset === 'earliest' ? log.logStartOffset : log.highWatermark;
    const initial: SharePartitionSnapshot = stored ?? { startOffset: start, endOffset: start, ranges: [] };
    found = new SharePartition(
      this.clock,
      {
        lockDurationMs: () => this.lockDurationMs(groupId),
        deliveryCountLimit: () =>
          this.groupInt(groupId, 'share.delivery.count.limit', this.defaults.deliveryCountLimit),
        maxInFlightRecords: () => this.defaults.partitionMaxRecordLocks,
      },
      initial,
      (snapshot, onDurable) => this.store.writePartition(key, snapshot, onDurable),
    );
    if (!stored) this.store.writePartition(key, found.snapshot(), () => {});
    this.partitions.set(key, found);
    return found;
  }

  /** The group's share-partitions already loaded, for a member's release (session closed). */
  loadedPartition(groupId: string, topicIdHex: string, index: number): SharePartition | undefined {
    return this.partitions.get(sharePartitionKey(groupId, topicIdHex, index));
  }

  // ---- configs -------------------------------------------------------------------------------------

  /** How long an acquisition locks records for the group (share.record.lock.duration.ms). */
  lockDurationMs(groupId: string): number {
    return this.groupInt(groupId, 'share.record.lock.duration.ms', this.defaults.recordLockDurationMs);
  }

  groupConfigs(groupId: string): Readonly<Record<string, string>> {
    return this.store.groupConfigs.get(groupId) ?? {};
  }

  /**
   * Sets the group's config overrides (IncrementalAlterConfigs already applied its operations):
   * checked against Kafka's ranges, stored durably. Returns an error message, or undefined.
   */
  validateGroupConfigs(configs: Readonly<Record<string, string>>): string | undefined {
    for (const [name, value] of Object.entries(configs)) {
      const range = this.configRange(name);
      if (!range) return `Unknown group config name: ${name}`;
      if (range === 'reset') {
        if (value !== 'latest' && value !== 'earliest')
          return `Invalid value ${value} for configuration ${name}: String must be one of: latest, earliest`;
        continue;
      }
      const n = Number(value);
      if (!/^-?\d+$/.test(value) || n < range[0] || n > range[1])
        return `Invalid value ${value} for configuration ${name}: Value must be in [${range[0]}, ${range[1]}]`;
    }
    return undefined;
  }

  setGroupConfigs(groupId: string, configs: Readonly<Record<string, string>>): Promise<void> {
    return new Promise((resolve) => this.store.writeGroupConfigs(groupId, configs, resolve));
  }

  // ---- admin -----------------------------------------------------------------------------------------

  /** Share groups: live ones, and those known only from stored state (Empty). */
  list(): Array<{ groupId: string; state: 'Empty' | 'Stable' }> {
    const ids = new Set(this.groups.keys());
    for (const key of this.store.partitions.keys()) ids.add(key.slice(0, key.indexOf('\0')));
    return [...ids].sort().map((groupId) => ({
      groupId,
      state: (this.groups.get(groupId)?.members.size ?? 0) > 0 ? 'Stable' : 'Empty',
    }));
  }

  isShareGroup(groupId: string): boolean {
    if (this.groups.has(groupId)) return true;
    const prefix = `${groupId}\0`;
    for (const key of this.store.partitions.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  describe(groupId: string): ShareGroupDescription {
    const group = this.groups.get(groupId);
    if (!this.isShareGroup(groupId)) {
      const classic = this.topics.classicGroupExists(groupId);
      return {
        groupId,
        error: 'GROUP_ID_NOT_FOUND',
        errorMessage: classic ? `Group ${groupId} is not a share group.` : `Group ${groupId} not found.`,
        state: 'Dead',
        groupEpoch: -1,
        assignmentEpoch: -1,
        members: [],
      };
    }
    const members = [...(group?.members.values() ?? [])].map((m) => ({
      memberId: m.memberId,
      rackId: m.rackId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribed,
      assignment: m.assignment,
    }));
    return {
      groupId,
      error: 'NONE',
      errorMessage: null,
      state: members.length > 0 ? 'Stable' : 'Empty',
      groupEpoch: group?.groupEpoch ?? 0,
      assignmentEpoch: group?.assignmentEpoch ?? 0,
      members,
    };
  }

  /** Members the share group has now (0 for an unknown group). */
  memberCount(groupId: string): number {
    return this.groups.get(groupId)?.members.size ?? 0;
  }

  /** True when a classic group owns the id (it cannot name a share group). */
  isClassicGroup(groupId: string): boolean {
    return this.topics.classicGroupExists(groupId);
  }

  // ---- share-partition start offsets (DescribeShareGroupOffsets, Alter…, Delete…) --------------------

  /**
   * The start offsets of the group's share-partitions with state: topic id (hex) → partition →
   * start offset (every record before it acknowledged or archived).
   */
  startOffsets(groupId: string): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    const prefix = `${groupId}\0`;
    for (const key of this.store.partitions.keys()) {
      if (!key.startsWith(prefix)) continue;
      const { topicIdHex, partition } = parseSharePartitionKey(key);
      const byPartition = out.get(topicIdHex) ?? new Map<number, number>();
      out.set(topicIdHex, byPartition);
      byPartition.set(partition, this.startOffsetOf(key)!);
    }
    return out;
  }

  /** A share-partition's start offset, or undefined when it has no state (Kafka answers -1). */
  startOffset(groupId: string, topicIdHex: string, partition: number): number | undefined {
    return this.startOffsetOf(sharePartitionKey(groupId, topicIdHex, partition));
  }

  /**
   * Sets share-partitions' start offsets (AlterShareGroupOffsets; the caller checked the group is
   * empty): each restarts at its offset with nothing in flight. Resolves once stored.
   */
  async alterStartOffsets(
    groupId: string,
    entries: ReadonlyArray<{ topic: Topic; partition: number; startOffset: number }>,
  ): Promise<void> {
    const durable: Promise<void>[] = [];
    for (const { topic, partition, startOffset } of entries) {
      const key = sharePartitionKey(groupId, topic.id.toString('hex'), partition);
      this.unload(key);
      const snapshot: SharePartitionSnapshot = { startOffset, endOffset: startOffset, ranges: [] };
      durable.push(new Promise((resolve) => this.store.writePartition(key, snapshot, resolve)));
    }
    await Promise.all(durable);
  }

  /** Forgets the group's state for a topic's partitions (DeleteShareGroupOffsets). Resolves once stored. */
  deleteTopicState(groupId: string, topicIdHex: string): Promise<void> {
    const prefix = `${groupId}\0${topicIdHex}\0`;
    return this.deleteState([...this.store.partitions.keys()].filter((k) => k.startsWith(prefix)));
  }

  /**
   * DeleteGroups for a share group: refused while it has members (NON_EMPTY_GROUP), else its
   * share-partitions' state is deleted in one durable record. Its config overrides stay, as Kafka
   * keeps a group's dynamic configs in the cluster metadata.
   */
  async deleteGroup(groupId: string): Promise<'NONE' | 'NON_EMPTY_GROUP' | 'GROUP_ID_NOT_FOUND'> {
    if (!this.isShareGroup(groupId)) return 'GROUP_ID_NOT_FOUND';
    if (this.memberCount(groupId) > 0) return 'NON_EMPTY_GROUP';
    this.groups.delete(groupId);
    const prefix = `${groupId}\0`;
    await this.deleteState([...this.store.partitions.keys()].filter((k) => k.startsWith(prefix)));
    return 'NONE';
  }

  close(): void {
    for (const group of this.groups.values())
      for (const member of group.members.values()) if (member.timer) this.clock.clearTimeout(member.timer);
    for (const partition of this.partitions.values()) partition.close();
  }

  // ---- internals ---------------------------------------------------------------------------------

  private startOffsetOf(key: string): number | undefined {
    return this.partitions.get(key)?.startOffset ?? this.store.partitions.get(key)?.startOffset;
  }

  /** Drops a loaded share-partition (its lock timers stop): the next use loads the stored state. */
  private unload(key: string): void {
    this.partitions.get(key)?.close();
    this.partitions.delete(key);
  }

  private deleteState(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.unload(key);
    if (keys.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.store.deletePartitions(keys, resolve));
  }

  private configRange(name: string): readonly [number, number] | 'reset' | undefined {
    switch (name) {
      case 'share.record.lock.duration.ms':
        return [this.defaults.minRecordLockDurationMs, this.defaults.maxRecordLockDurationMs];
      case 'share.delivery.count.limit':
        return [2, 10];
      case 'share.session.timeout.ms':
        return [1000, 3_600_000];
      case 'share.heartbeat.interval.ms':
        return [1000, 3_600_000];
      case 'share.auto.offset.reset':
        return 'reset';
      default:
        return undefined;
    }
  }

  private groupInt(groupId: string, name: string, fallback: number): number {
    const value = this.groupConfigs(groupId)[name];
    return value === undefined ? fallback : Number(value);
  }

  /** Moves the group epoch when a subscribed topic appears, goes, or gains partitions. */
  private refreshMetadata(group: ShareGroup): void {
    const names = new Set<string>();
    for (const m of group.members.values()) for (const t of m.subscribed) names.add(t);
    const metadata = [...names]
      .sort()
      .map((name) => {
        const topic = this.topics.get(name);
        return topic ? `${name}:${topic.id.toString('hex')}:${topic.partitions.length}` : `${name}:-`;
      })
      .join(',');
    if (metadata !== group.metadata) {
      if (group.metadata !== '') group.groupEpoch++;
      group.metadata = metadata;
    }
  }

  /** Computes the target assignment when the group epoch moved past it (Kafka: on the next heartbeat). */
  private updateTargetAssignment(group: ShareGroup): void {
    if (group.assignmentEpoch === group.groupEpoch) return;
    const byId = new Map<string, Topic>();
    for (const m of group.members.values())
      for (const name of m.subscribed) {
        const topic = this.topics.get(name);
        if (topic) byId.set(topic.id.toString('hex'), topic);
      }
    const members = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      subscribedTopicIds: m.subscribed.flatMap((name) => {
        const topic = this.topics.get(name);
        return topic ? [topic.id.toString('hex')] : [];
      }),
      current: new Map(
        (group.target.get(m.memberId) ?? []).map((t) => [t.topicId.toString('hex'), t.partitions] as const),
      ),
    }));
    const assignment = assignShareGroup(members, (id) => byId.get(id)?.partitions.length ?? 0);
    group.target = new Map(
      [...assignment].map(([memberId, topics]) => [
        memberId,
        [...topics]
          .filter(([, partitions]) => partitions.length > 0)
          .map(([id, partitions]) => ({
            topicId: byId.get(id)!.id,
            topicName: byId.get(id)!.name,
            partitions,
          })),
      ]),
    );
    group.assignmentEpoch = group.groupEpoch;
  }

  private touch(group: ShareGroup, member: ShareMember): void {
    if (member.timer) this.clock.clearTimeout(member.timer);
    const timeoutMs = this.groupInt(
      group.groupId,
      'share.session.timeout.ms',
      this.defaults.sessionTimeoutMs,
    );
    member.timer = this.clock.setTimeout(() => {
      member.timer = undefined;
      if (group.members.get(member.memberId) === member) this.removeMember(group, member);
    }, timeoutMs);
  }

  private removeMember(group: ShareGroup, member: ShareMember): void {
    if (member.timer) this.clock.clearTimeout(member.timer);
    group.members.delete(member.memberId);
    group.groupEpoch++;
    // Kafka leaves a departed member's locks to time out or to its closing share session.
  }
}

function assignmentSignature(assignment: readonly ShareAssignmentTopic[]): string {
  return assignment.map((t) => `${t.topicId.toString('hex')}:${t.partitions.join(',')}`).join(';');
}
