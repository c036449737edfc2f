/**
 * `pier handover kafka`: hands Pier's Kafka topics and consumer group positions over to a Kafka
 * cluster (or anything speaking Kafka). Each step is safe to repeat:
 *   1. plan: Pier's topics (partitions, configs set on the topic) and groups;
 *   2. create: each topic at the target with the same partitions and configs (a missing partition
 *      added to an existing topic);
 *   3. copy: each partition's records to the same partition at the target, in order, with keys,
 *      headers and timestamps (acks=all); after each acknowledged batch the offset map
 *      (kafka-offsets.ts) is saved to the state file, so a rerun resumes there, and records the
 *      target holds beyond the saved state (acknowledged just before a kill) are not written again;
 *   4. groups: each group's committed offsets translated through the map and committed at the
 *      target, only when the group has no live members at Pier (else refused);
 *   5. verify: per partition the target's end against the map, per group the target's offsets.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Admin, ConfigResourceTypes, IHeaders, Kafka, Producer } from 'kafkajs';
import { inParallel } from './in-parallel.js';
import { emptyProgress, type PartitionProgress, recordCopied, translateOffset } from './kafka-offsets.js';

/** ConfigResourceTypes.TOPIC (kafkajs is CommonJS: its enums are not named ESM exports). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

export interface KafkaHandoverOptions {
  readonly source: Kafka;
  readonly target: Kafka;
  /** Where the offset maps are kept between runs (JSON). */
  readonly statePath: string;
  /** Only topics whose name matches (default: all but internal ones). */
  readonly topics?: RegExp;
  /** Only groups whose id matches (default: all). */
  readonly groups?: RegExp;
  readonly replicationFactor?: number;
  readonly dryRun?: boolean;
  /** The copy ends when no record arrives for this long although some are left (ms). */
  readonly idleMs?: number;
  readonly progress: (line: string) => void;
  /** Time between two progress lines while copying (default 1 s; 0: after every batch). */
  readonly progressIntervalMs?: number;
}

export interface TopicAccount {
  readonly topic: string;
  readonly partitions: number;
  /** Records (offsets) left to copy when this run began. */
  readonly atStart: number;
  /** Records copied in this run. */
  readonly copied: number;
  /** Offsets at Pier not yet copied after this run. */
  readonly remaining: number;
  /** Records at the target that the copy wrote (all runs). */
  readonly onTarget: number;
  readonly problems: readonly string[];
  readonly error?: string;
}

export interface GroupAccount {
  readonly groupId: string;
  /** topic/partition: Pier's committed offset → the target's. */
  readonly offsets: readonly { topic: string; partition: number; pier: number; target: number | undefined }[];
  readonly error?: string;
}

export interface KafkaHandoverReport {
  readonly dryRun: boolean;
  readonly topics: readonly TopicAccount[];
  readonly groups: readonly GroupAccount[];
  readonly complete: boolean;
}

export class KafkaHandoverError extends Error {
  override name = 'KafkaHandoverError';
}

interface State {
  version: 1;
  partitions: Record<string, PartitionProgress>;
}

interface TopicPlan {
  readonly topic: string;
  readonly partitions: number;
  readonly configs: Record<string, string>;
  /** Per partition: [log start, end] at Pier. */
  readonly offsets: Map<number, { low: number; high: number }>;
}

const COPY_GROUP_PREFIX = 'pier-handover-';
const PROGRESS_INTERVAL_MS = 1000;
const key = (topic: string, partition: number) => `${topic}/${partition}`;

export async function handoverToKafka(options: KafkaHandoverOptions): Promise<KafkaHandoverReport> {
  const say = options.progress;
  const sourceAdmin = options.source.admin();
  const targetAdmin = options.target.admin();
  await sourceAdmin.connect().catch((error: Error) => {
    throw new KafkaHandoverError(
      `cannot reach Pier's Kafka listener: ${error.message}; is Pier running with --kafka-port there (--from)?`,
    );
  });
  try {
    await targetAdmin.connect().catch((error: Error) => {
      throw new KafkaHandoverError(`cannot reach the target at --bootstrap: ${error.message}`);
    });
    try {
      return await run(options, sourceAdmin, targetAdmin, say);
    } finally {
      await targetAdmin.disconnect().catch(() => {});
    }
  } finally {
    await sourceAdmin.disconnect().catch(() => {});
  }
}

async function run(
  options: KafkaHandoverOptions,
  sourceAdmin: Admin,
  targetAdmin: Admin,
  say: (line: string) => void,
): Promise<KafkaHandoverReport> {
  const plans = await planTopics(sourceAdmin, options.topics);
  say(`plan: ${plans.length} topic(s), ${plans.reduce((n, p) => n + p.partitions, 0)} partition(s)`);
  const groupIds = (await sourceAdmin.listGroups()).groups
    .map((g) => g.groupId)
    .filter((id) => !id.startsWith(COPY_GROUP_PREFIX))
    .filter((id) => options.groups === undefined || options.groups.test(id))
    .sort();
  const state = loadState(options.statePath);

  if (options.dryRun) {
    const targetTopics = new Set(await targetAdmin.listTopics());
    const topics = plans.map((plan) => {
      const atStart = leftToCopy(plan, state);
      say(
        `would ${targetTopics.has(plan.topic) ? 'use the existing' : 'create'} topic '${plan.topic}' (${plan.partitions} partition(s)${describeConfigs(plan.configs)}) and copy ${atStart} record(s)`,
      );
      return account(plan, atStart, 0, atStart, 0, []);
    });
    const described = groupIds.length === 0 ? [] : (await sourceAdmin.describeGroups(groupIds)).groups;
    const groups = described.map((g) => {
      const live = g.members.length;
      say(
        `group '${g.groupId}': ${live === 0 ? 'no live members: its offsets would be translated' : `${live} live member(s) at Pier: would be refused`}`,
      );
      return {
        groupId: g.groupId,
        offsets: [],
        ...(live === 0 ? {} : { error: liveError(g.groupId, live) }),
      };
    });
    return { dryRun: true, topics, groups, complete: false };
  }

  const created = new Map<string, string | undefined>();
  for (const plan of plans) {
    created.set(
      plan.topic,
      await createTopic(plan, targetAdmin, options.replicationFactor, say).catch((e: Error) => e.message),
    );
  }
  const copyable = plans.filter((p) => created.get(p.topic) === undefined);
  for (const plan of copyable) await prepareProgress(plan, targetAdmin, state);
  saveState(options.statePath, state);

  const atStart = new Map(plans.map((p) => [p.topic, leftToCopy(p, state)]));
  const copied = await copyRecords(copyable, options, state, say).catch((error: Error) => {
    say(`copy stopped: ${error.message}`);
    return { perTopic: new Map<string, number>(), error: error.message };
  });

  // Verify the copy: per partition, the target's end is where the map says.
  const topics: TopicAccount[] = [];
  for (const plan of plans) {
    const createError = created.get(plan.topic);
    const problems: string[] = [];
    let onTarget = 0;
    if (createError === undefined) {
      const ends = new Map(
        (await targetAdmin.fetchTopicOffsets(plan.topic)).map((o) => [o.partition, Number(o.high)]),
      );
      for (const [partition] of plan.offsets) {
        const progress = state.partitions[key(plan.topic, partition)]!;
        const first = progress.runs[0]?.[1] ?? progress.targetNext;
        onTarget += progress.targetNext - first;
        const end = ends.get(partition);
        if (end !== progress.targetNext) {
          problems.push(
            `partition ${partition}: the target ends at offset ${end}, the copy at ${progress.targetNext} (another producer writes there?)`,
          );
        }
      }
      problems.push(...(await compareConfigs(plan, targetAdmin)));
    }
    for (const problem of problems) say(`topic '${plan.topic}': ${problem}`);
    const error = createError ?? ('error' in copied ? copied.error : undefined);
    topics.push(
      account(
        plan,
        atStart.get(plan.topic)!,
        copied.perTopic.get(plan.topic) ?? 0,
        leftToCopy(plan, state),
        onTarget,
        problems,
        error,
      ),
    );
  }

  const groups = await translateGroups(groupIds, plans, state, sourceAdmin, targetAdmin, say);
  const complete =
    topics.every((t) => t.error === undefined && t.remaining === 0 && t.problems.length === 0) &&
    groups.every((g) => g.error === undefined);
  return { dryRun: false, topics, groups, complete };
}

function account(
  plan: TopicPlan,
  atStart: number,
  copied: number,
  remaining: number,
  onTarget: number,
  problems: readonly string[],
  error?: string,
): TopicAccount {
  return {
    topic: plan.topic,
    partitions: plan.partitions,
    atStart,
    copied,
    remaining,
    onTarget,
    problems,
    ...(error === undefined ? {} : { error }),
  };
}

function liveError(groupId: string, members: number): string {
  return `group '${groupId}' has ${members} live member(s) at Pier: its offsets are still moving; stop its consumers (or wait for their session timeout) and run again`;
}

function describeConfigs(configs: Record<string, string>): string {
  const entries = Object.entries(configs);
  return entries.length === 0 ? '' : `, ${entries.map(([k, v]) => `${k}=${v}`).join(', ')}`;
}

/** Offsets at Pier not yet copied, per the saved state (everything from log start without one). */
function leftToCopy(plan: TopicPlan, state: State): number {
  let left = 0;
  for (const [partition, { low, high }] of plan.offsets) {
    const next = state.partitions[key(plan.topic, partition)]?.sourceNext ?? low;
    left += Math.max(0, high - Math.max(next, low));
  }
  return left;
}

async function planTopics(admin: Admin, filter: RegExp | undefined): Promise<TopicPlan[]> {
  const names = (await admin.listTopics())
    .filter((t) => !t.startsWith('__'))
    .filter((t) => filter === undefined || filter.test(t))
    .sort();
  if (names.length === 0) return [];
  const metadata = await admin.fetchTopicMetadata({ topics: names });
  const described = await admin.describeConfigs({
    resources: names.map((name) => ({ type: TOPIC_RESOURCE, name })),
    includeSynonyms: false,
  });
  const configsOf = new Map(
    described.resources.map((r) => [
      r.resourceName,
      Object.fromEntries(
        r.configEntries
          // Set on the topic (DYNAMIC_TOPIC_CONFIG): the broker's defaults stay the target's own.
          .filter((c) => c.configSource === 1 && !c.readOnly)
          .map((c) => [c.configName, c.configValue]),
      ),
    ]),
  );
  const plans: TopicPlan[] = [];
  for (const topic of metadata.topics) {
    const offsets = new Map(
      (await admin.fetchTopicOffsets(topic.name)).map((o) => [
        o.partition,
        { low: Number(o.low), high: Number(o.high) },
      ]),
    );
    plans.push({
      topic: topic.name,
      partitions: topic.partitions.length,
      configs: configsOf.get(topic.name) ?? {},
      offsets,
    });
  }
  return plans;
}

/** Creates the topic, or checks the existing one; resolves with undefined, or rejects with why not. */
async function createTopic(
  plan: TopicPlan,
  admin: Admin,
  replicationFactor: number | undefined,
  say: (line: string) => void,
): Promise<undefined> {
  const existing = (await admin.listTopics()).includes(plan.topic);
  if (!existing) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: plan.topic,
          numPartitions: plan.partitions,
          ...(replicationFactor === undefined ? {} : { replicationFactor }),
          configEntries: Object.entries(plan.configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    say(
      `topic '${plan.topic}': created at the target with ${plan.partitions} partition(s)${describeConfigs(plan.configs)}`,
    );
    return undefined;
  }
  const [there] = (await admin.fetchTopicMetadata({ topics: [plan.topic] })).topics;
  const count = there?.partitions.length ?? 0;
  if (count < plan.partitions) {
    await admin.createPartitions({ topicPartitions: [{ topic: plan.topic, count: plan.partitions }] });
    say(`topic '${plan.topic}': exists at the target; partitions raised from ${count} to ${plan.partitions}`);
  } else if (count > plan.partitions) {
    say(
      `topic '${plan.topic}': exists at the target with ${count} partitions (${plan.partitions} at Pier): records go to the same partition numbers, keys of new records may hash elsewhere`,
    );
  } else {
    say(`topic '${plan.topic}': exists at the target`);
  }
  return undefined;
}

async function compareConfigs(plan: TopicPlan, admin: Admin): Promise<string[]> {
  if (Object.keys(plan.configs).length === 0) return [];
  const described = await admin.describeConfigs({
    resources: [{ type: TOPIC_RESOURCE, name: plan.topic, configNames: Object.keys(plan.configs) }],
    includeSynonyms: false,
  });
  const there = new Map(described.resources[0]?.configEntries.map((c) => [c.configName, c.configValue]));
  return Object.entries(plan.configs)
    .filter(([name, value]) => there.get(name) !== value)
    .map(
      ([name, value]) =>
        `config ${name} is ${JSON.stringify(there.get(name) ?? null)} on the target, ${JSON.stringify(value)} at Pier`,
    );
}

/**
 * Starts or resumes each partition's map. Records at the target beyond the saved map were written
 * by a run killed after the target acknowledged them and before the map was saved: they are the
 * next source records in order, so the copy skips that many (see copyRecords).
 */
async function prepareProgress(plan: TopicPlan, admin: Admin, state: State): Promise<void> {
  const ends = new Map(
    (await admin.fetchTopicOffsets(plan.topic)).map((o) => [
      o.partition,
      { low: Number(o.low), high: Number(o.high) },
    ]),
  );
  for (const [partition, { low }] of plan.offsets) {
    const k = key(plan.topic, partition);
    const target = ends.get(partition) ?? { low: 0, high: 0 };
    if (state.partitions[k] === undefined) {
      if (target.high > target.low) {
        throw new KafkaHandoverError(
          `partition ${k} at the target already holds ${target.high - target.low} record(s) and the state file knows nothing of them: pass the --state file of the earlier run, or delete the topic at the target`,
        );
      }
      state.partitions[k] = emptyProgress(low, target.high);
    }
  }
}

async function copyRecords(
  plans: readonly TopicPlan[],
  options: KafkaHandoverOptions,
  state: State,
  say: (line: string) => void,
): Promise<{ perTopic: Map<string, number> }> {
  const perTopic = new Map<string, number>();
  const pending = new Set<string>();
  for (const plan of plans) {
    for (const [partition, { high }] of plan.offsets) {
      if (state.partitions[key(plan.topic, partition)]!.sourceNext < high)
        pending.add(key(plan.topic, partition));
    }
  }
  if (pending.size === 0) return { perTopic };
  const ends = new Map(
    plans.flatMap((p) => [...p.offsets].map(([partition, o]) => [key(p.topic, partition), o.high])),
  );
  // Records the target holds beyond the saved map, per partition: skipped, only mapped.
  const targetAdmin = options.target.admin();
  await targetAdmin.connect();
  const ahead = new Map<string, number>();
  for (const plan of plans) {
    for (const o of await targetAdmin.fetchTopicOffsets(plan.topic)) {
      const progress = state.partitions[key(plan.topic, o.partition)];
      if (progress && Number(o.high) > progress.targetNext)
        ahead.set(key(plan.topic, o.partition), Number(o.high) - progress.targetNext);
    }
  }
  await targetAdmin.disconnect();

  const producer = options.target.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const groupId = `${COPY_GROUP_PREFIX}${process.pid}-${Date.now()}`;
  const consumer = options.source.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 1024 * 1024,
  });
  await consumer.connect();
  let lastReportMs = Date.now();
  let copiedTotal = 0;
  try {
    await consumer.subscribe({ topics: plans.map((p) => p.topic), fromBeginning: true });
    let finish: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(finish, options.idleMs ?? 15_000);
    };
    consumer.on(consumer.events.CRASH, (event) => fail(event.payload.error));
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
        const k = key(batch.topic, batch.partition);
        const progress = state.partitions[k];
        if (!progress || !isRunning()) return;
        armIdle();
        const fresh = batch.messages.filter((m) => Number(m.offset) >= progress.sourceNext);
        let index = 0;
        // Acknowledged before the last kill but not in the saved map: map them, do not resend.
        let skip = ahead.get(k) ?? 0;
        while (skip > 0 && index < fresh.length) {
          recordCopied(progress, Number(fresh[index]!.offset), progress.targetNext);
          index++;
          skip--;
        }
        ahead.set(k, skip);
        const toSend = fresh.slice(index);
        for (let i = 0; i < toSend.length && isRunning(); i += 500) {
          const slice = toSend.slice(i, i + 500);
          const [written] = await send(producer, batch.topic, batch.partition, slice);
          const base = Number(written?.baseOffset ?? written?.offset ?? progress.targetNext);
          slice.forEach((m, j) => {
            recordCopied(progress, Number(m.offset), base + j);
          });
          saveState(options.statePath, state);
          copiedTotal += slice.length;
          perTopic.set(batch.topic, (perTopic.get(batch.topic) ?? 0) + slice.length);
          resolveOffset(slice.at(-1)!.offset);
          await heartbeat();
        }
        if (index > 0) saveState(options.statePath, state);
        if (progress.sourceNext >= ends.get(k)!) pending.delete(k);
        const now = Date.now();
        if (now - lastReportMs >= (options.progressIntervalMs ?? PROGRESS_INTERVAL_MS)) {
          lastReportMs = now;
          say(`copied ${copiedTotal} record(s); ${pending.size} partition(s) to go`);
        }
        if (pending.size === 0) finish();
      },
    });
    // The group is this run's alone and commits nothing: start each partition where the map ends.
    for (const plan of plans) {
      for (const [partition] of plan.offsets) {
        consumer.seek({
          topic: plan.topic,
          partition,
          offset: String(state.partitions[key(plan.topic, partition)]!.sourceNext),
        });
      }
    }
    armIdle();
    await finished;
    clearTimeout(idleTimer);
    say(`copied ${copiedTotal} record(s) in this run`);
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    const admin = options.source.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => {})
      .finally(() => admin.disconnect().catch(() => {}));
  }
  return { perTopic };
}

type CopiedRecord = {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  timestamp: string;
  offset: string;
};

async function send(producer: Producer, topic: string, partition: number, records: readonly CopiedRecord[]) {
  return producer.send({
    topic,
    acks: -1,
    messages: records.map((m) => ({
      partition,
      key: m.key,
      value: m.value,
      timestamp: m.timestamp,
      ...(m.headers === undefined ? {} : { headers: m.headers }),
    })),
  });
}

async function translateGroups(
  groupIds: readonly string[],
  plans: readonly TopicPlan[],
  state: State,
  sourceAdmin: Admin,
  targetAdmin: Admin,
  say: (line: string) => void,
): Promise<GroupAccount[]> {
  if (groupIds.length === 0) return [];
  const topics = plans.map((p) => p.topic);
  const described = new Map(
    (await sourceAdmin.describeGroups([...groupIds])).groups.map((g) => [g.groupId, g.members.length]),
  );
  const ends = new Map(
    plans.flatMap((p) => [...p.offsets].map(([partition, o]) => [key(p.topic, partition), o.high])),
  );
  return inParallel(groupIds, 1, async (groupId): Promise<GroupAccount> => {
    const live = described.get(groupId) ?? 0;
    if (live > 0) {
      const error = liveError(groupId, live);
      say(error);
      return { groupId, offsets: [], error };
    }
    const committed = await sourceAdmin.fetchOffsets({ groupId, topics });
    const offsets: { topic: string; partition: number; pier: number; target: number | undefined }[] = [];
    const problems: string[] = [];
    for (const { topic, partitions } of committed) {
      const toSet: { partition: number; offset: string }[] = [];
      for (const { partition, offset } of partitions) {
        const pier = Number(offset);
        if (pier < 0) continue;
        const progress = state.partitions[key(topic, partition)];
        const end = ends.get(key(topic, partition));
        const target =
          progress === undefined
            ? undefined
            : translateOffset(progress, pier, progress.sourceNext >= (end ?? Infinity) ? end : undefined);
        offsets.push({ topic, partition, pier, target });
        if (target === undefined) {
          problems.push(`${topic}/${partition} at ${pier}: the records before it are not all copied yet`);
        } else {
          toSet.push({ partition, offset: String(target) });
        }
      }
      if (toSet.length > 0) await targetAdmin.setOffsets({ groupId, topic, partitions: toSet });
    }
    // Verify: the target now reports what was committed.
    for (const topic of new Set(offsets.map((o) => o.topic))) {
      const there = await targetAdmin.fetchOffsets({ groupId, topics: [topic] });
      for (const { partition, offset } of there[0]?.partitions ?? []) {
        const wanted = offsets.find((o) => o.topic === topic && o.partition === partition)?.target;
        if (wanted !== undefined && Number(offset) !== wanted) {
          problems.push(`${topic}/${partition}: the target reports ${offset}, ${wanted} was committed`);
        }
      }
    }
    const error = problems.length === 0 ? undefined : problems.join('; ');
    say(
      `group '${groupId}': ${offsets.filter((o) => o.target !== undefined).length} offset(s) translated${error ? `; ${error}` : ''}`,
    );
    return { groupId, offsets, ...(error === undefined ? {} : { error }) };
  });
}

function loadState(path: string): State {
  if (!existsSync(path)) return { version: 1, partitions: {} };
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as State;
    if (state.version !== 1 || typeof state.partitions !== 'object') throw new Error('not a state file');
    return state;
  } catch (error) {
    throw new KafkaHandoverError(`cannot read the state file ${path}: ${(error as Error).message}`);
  }
}

/** Written whole to a temporary file and renamed: a kill leaves the old state or the new one. */
function saveState(path: string, state: State): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, JSON.stringify(state));
  renameSync(temporary, path);
}
