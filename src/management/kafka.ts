/**
 * /api/kafka: topics with their partitions' log start and end offsets, sizes and retention
 * configs; consumer groups with their state, members, assignments, committed offsets and lag as
 * kafka_exporter computes it (log end − committed, −1 when nothing is committed); and an offset
 * reset that, like `kafka-consumer-groups --reset-offsets`, is refused while the group has members.
 * Reads need the monitoring tag; the reset needs administrator, or configure permission on the
 * Kafka vhost '/'.
 */
import { decodeConsumerAssignment } from '../core/kafka/consumer-assignment.js';
import { type GroupLag, groupLag, topicDepth } from '../core/kafka/monitoring.js';
import type { Topic } from '../core/kafka/topic.js';
import { KAFKA_VHOST } from '../core/kafka/topic-registry.js';
import { levelsOf, requireLevel } from './auth.js';
import type { KafkaContext, ManagementContext } from './context.js';
import { badRequest, forbidden, HttpError, objectNotFound } from './errors.js';
import { listReply, objectReply } from './query.js';
import { type ApiRequest, bodyObject, optionalInteger, optionalString, requiredString } from './request.js';
import { type Route, route } from './router.js';

function kafkaOf(req: ApiRequest, ctx: ManagementContext): KafkaContext {
  requireLevel(req.user, 'monitoring');
  if (!ctx.kafka) throw objectNotFound();
  return ctx.kafka;
}

/**
 * Writes: administrators, or management users with configure permission on the resource in
 * vhost '/' (the vhost Kafka and SQS live in), checked as for a queue of that name.
 */
export function requireConfigure(req: ApiRequest, ctx: ManagementContext, name: string): void {
  if (levelsOf(req.user).has('administrator')) return;
  if (!ctx.core.permissions.get(req.user.name, KAFKA_VHOST)) throw forbidden('Not administrator user');
  ctx.core.permissions.check(req.user.name, KAFKA_VHOST, 'configure', 'queue', name);
}

function topicView(topic: Topic) {
  const depth = topicDepth(topic);
  return {
    name: topic.name,
    topic_id: topic.id.toString('hex'),
    partition_count: topic.partitions.length,
    records: depth.records,
    size_bytes: depth.sizeBytes,
    config: {
      'retention.ms': topic.config.retentionMs,
      'retention.bytes': topic.config.retentionBytes,
      'segment.bytes': topic.config.segmentBytes,
      'cleanup.policy': topic.config.cleanupPolicy,
      'max.message.bytes': topic.config.maxMessageBytes,
      'message.timestamp.type': topic.config.messageTimestampType,
    },
    overrides: Object.fromEntries(topic.overrides),
    partitions: depth.partitions.map((p) => ({
      partition: p.partition,
      log_start_offset: p.logStartOffset,
      log_end_offset: p.highWatermark,
      records: p.records,
      size_bytes: p.sizeBytes,
    })),
  };
}

function topicParam(kafka: KafkaContext, name: string): Topic {
  const topic = kafka.topics.get(name);
  if (!topic) throw objectNotFound();
  return topic;
}

function listTopics(req: ApiRequest, ctx: ManagementContext) {
  const kafka = kafkaOf(req, ctx);
  const topics = [...kafka.topics.list()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return listReply(topics.map(topicView), req.query);
}

function showTopic(req: ApiRequest, ctx: ManagementContext) {
  const kafka = kafkaOf(req, ctx);
  return objectReply(topicView(topicParam(kafka, req.params[0]!)), req.query);
}

/** kafka_exporter's kafka_consumergroup_lag_sum: log end − committed over partitions with a commit. */
export function lagSum(lag: GroupLag): number {
  let sum = 0;
  for (const p of lag.partitions) {
    if (p.committedOffset !== null && p.highWatermark !== null)
      sum += Math.max(0, p.highWatermark - p.committedOffset);
  }
  return sum;
}

function groupView(kafka: KafkaContext, groupId: string, ctx: ManagementContext, query: URLSearchParams) {
  const lag = groupLag(kafka.groups, kafka.topics, groupId);
  if (!lag) return undefined;
  const description = kafka.groups.describe(groupId);
  const members = description.members.map((m) => ({
    member_id: m.memberId,
    group_instance_id: m.groupInstanceId,
    client_id: m.clientId,
    client_host: m.clientHost,
    assignment:
      description.protocolType === 'consumer'
        ? (decodeConsumerAssignment(m.assignment) ?? []).map((a) => ({
            topic: a.topic,
            partitions: [...a.partitions],
          }))
        : [],
  }));
  // kafka_exporter's lag: log end offset − committed offset, −1 when the group committed nothing.
  const partitions = lag.partitions.map((p) => ({
    topic: p.topic,
    partition: p.partition,
    committed_offset: p.committedOffset ?? -1,
    log_start_offset: p.logStartOffset ?? -1,
    log_end_offset: p.highWatermark ?? -1,
    lag: p.committedOffset === null || p.highWatermark === null ? -1 : p.highWatermark - p.committedOffset,
    member_id: p.memberId,
    client_id: p.clientId,
    client_host: p.clientHost,
  }));
  return {
    group_id: groupId,
    state: lag.state,
    protocol_type: lag.protocolType,
    protocol: lag.protocol,
    member_count: lag.memberCount,
    members,
    // kafka_exporter's kafka_consumergroup_lag_sum: the partitions with a committed offset.
    lag: partitions.reduce((sum, p) => sum + Math.max(p.lag, 0), 0),
    // The lag's history from the server's sample ring (rates.ts), as a queue's messages_details.
    lag_details: ctx.rates.groupLagDetails(groupId, query),
    partitions,
  };
}

function listGroups(req: ApiRequest, ctx: ManagementContext) {
  const kafka = kafkaOf(req, ctx);
  const ids = kafka.groups
    .list()
    .map((g) => g.groupId)
    .sort();
  return listReply(
    ids.map((id) => groupView(kafka, id, ctx, req.query)).filter((g) => g !== undefined),
    req.query,
  );
}

function showGroup(req: ApiRequest, ctx: ManagementContext) {
  const kafka = kafkaOf(req, ctx);
  const view = groupView(kafka, req.params[0]!, ctx, req.query);
  if (!view) throw objectNotFound();
  return objectReply(view, req.query);
}

const RESET_TARGETS = ['earliest', 'latest', 'timestamp', 'offset'] as const;
type ResetTarget = (typeof RESET_TARGETS)[number];

/**
 * Commits new offsets for a group that has no members, as an OffsetCommit outside group
 * management would (durable before the reply). A group with members is refused with the text
 * Kafka's ConsumerGroupCommand prints: its AdminClient's commit would fail with UNKNOWN_MEMBER_ID
 * and the running consumers would overwrite the offsets on their next commit anyway.
 */
async function resetOffsets(req: ApiRequest, ctx: ManagementContext) {
  if (!ctx.kafka) throw objectNotFound();
  const kafka = ctx.kafka;
  const groupId = req.params[0]!;
  requireConfigure(req, ctx, groupId);
  const body = bodyObject(req);
  const topic = topicParam(kafka, requiredString(body, 'topic'));
  const to = requiredString(body, 'to') as ResetTarget;
  if (!RESET_TARGETS.includes(to)) throw badRequest(`to '${to}' is not one of ${RESET_TARGETS.join(', ')}`);
  const requested = body.partitions;
  let partitions: number[];
  if (requested === undefined || requested === null) {
    partitions = topic.partitions.map((p) => p.index);
  } else if (Array.isArray(requested) && requested.every((p) => Number.isInteger(p))) {
    partitions = [...new Set(requested as number[])];
    const missing = partitions.find((p) => p < 0 || p >= topic.partitions.length);
    if (missing !== undefined) throw badRequest(`topic '${topic.name}' has no partition ${missing}`);
  } else {
    throw badRequest('partitions must be an array of partition numbers');
  }
  const timestamp = optionalInteger(body, 'timestamp');
  const offset = optionalInteger(body, 'offset');
  if (to === 'timestamp' && timestamp === undefined) throw badRequest('[{key_missing,timestamp}]');
  if (to === 'offset' && offset === undefined) throw badRequest('[{key_missing,offset}]');

  const state = kafka.groups.groupState(groupId);
  if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
    throw new HttpError(
      409,
      'group_not_empty',
      `Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${state}.`,
    );
  }
  const entries = partitions.map((index) => {
    const p = topic.partitions[index]!;
    let target: number;
    if (to === 'earliest') target = p.logStartOffset;
    else if (to === 'latest') target = p.highWatermark;
    else if (to === 'timestamp') target = kafka.offsetForTimestamp(p, timestamp!) ?? p.highWatermark;
    // Out of range: the nearest end, as kafka-consumer-groups --to-offset does.
    else target = Math.min(Math.max(offset!, p.logStartOffset), p.highWatermark);
    return {
      topic: topic.name,
      partition: index,
      offset: target,
      leaderEpoch: -1,
      metadata: '',
      commitTimestampMs: -1,
    };
  });
  const errors = await kafka.groups.commitOffsets({
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    entries,
  });
  const failed = errors.find((e) => e !== 'NONE');
  if (failed === 'UNKNOWN_MEMBER_ID' || failed === 'REBALANCE_IN_PROGRESS') {
    const now = kafka.groups.groupState(groupId) ?? 'Stable';
    throw new HttpError(
      409,
      'group_not_empty',
      `Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${now}.`,
    );
  }
  if (failed !== undefined)
    throw new HttpError(503, 'offset_commit_failed', `OffsetCommit failed: ${failed}`);
  return {
    group_id: groupId,
    topic: topic.name,
    partitions: entries.map((e) => ({ partition: e.partition, offset: e.offset })),
  };
}

/** Most records one peek returns. */
const MAX_PEEK = 1000;

/** Bytes as UTF-8 text when they are valid UTF-8 (encoding 'auto'), else base64. */
function encoded(bytes: Buffer | null, encoding: string): { data: string | null; encoding: string } {
  if (bytes === null) return { data: null, encoding: 'string' };
  if (encoding === 'auto') {
    try {
      return { data: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'string' };
    } catch {
      // not text: base64 below
    }
  }
  return { data: bytes.toString('base64'), encoding: 'base64' };
}

/**
 * Reads records of one partition without a consumer or a group (as kafka-ui browses: assign,
 * seek, fetch): from `offset` (default the log start offset), at most `count`. Keys and values as
 * text when they are UTF-8 (`encoding` 'auto', the default), else base64, as RabbitMQ's get does.
 */
function peek(req: ApiRequest, ctx: ManagementContext) {
  const kafka = kafkaOf(req, ctx);
  const topic = topicParam(kafka, req.params[0]!);
  const index = /^\d+$/.test(req.params[1]!) ? Number(req.params[1]) : -1;
  const partition = topic.partitions[index];
  if (!partition) throw objectNotFound();
  const body = bodyObject(req);
  const count = optionalInteger(body, 'count') ?? 10;
  if (count < 1 || count > MAX_PEEK) throw badRequest(`count must be between 1 and ${MAX_PEEK}`);
  const from = optionalInteger(body, 'offset') ?? partition.logStartOffset;
  if (from < partition.logStartOffset || from > partition.highWatermark) {
    throw badRequest(
      `offset ${from} is out of range: partition ${topic.name}-${index} holds offsets ${partition.logStartOffset} to ${partition.highWatermark} (exclusive)`,
    );
  }
  const encoding = optionalString(body, 'encoding') ?? 'auto';
  if (encoding !== 'auto' && encoding !== 'base64')
    throw badRequest(`encoding '${encoding}' must be auto or base64`);
  return kafka.peekRecords(partition, from, count).map((r) => {
    const key = encoded(r.key, encoding);
    const value = encoded(r.value, encoding);
    return {
      topic: topic.name,
      partition: index,
      offset: r.offset,
      timestamp: r.timestampMs,
      compressed: r.compressed,
      key: key.data,
      key_encoding: key.encoding,
      value: value.data,
      value_encoding: value.encoding,
      value_bytes: r.value?.length ?? 0,
      headers: r.headers.map((h) => ({ key: h.key, ...renamed(encoded(h.value, encoding)) })),
    };
  });
}

function renamed(e: { data: string | null; encoding: string }) {
  return { value: e.data, value_encoding: e.encoding };
}

export const kafkaRoutes: Route[] = [
  route('GET', '/api/kafka/topics', 'management', listTopics),
  route('GET', '/api/kafka/topics/:topic', 'management', showTopic),
  route('POST', '/api/kafka/topics/:topic/partitions/:partition/peek', 'management', peek),
  route('GET', '/api/kafka/groups', 'management', listGroups),
  route('GET', '/api/kafka/groups/:group', 'management', showGroup),
  route('POST', '/api/kafka/groups/:group/reset-offsets', 'management', resetOffsets),
];
