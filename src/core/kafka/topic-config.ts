/**
 * Kafka topic configs: names, defaults, types and validation, as Kafka's LogConfig defines them.
 * Each config is one of three kinds:
 * - implemented: Pier acts on it (retention, segment size, cleanup policy and compaction, batch size,
 *   timestamps, compression.type);
 * - ignored: it has no effect a client can observe on a one-broker cluster (flush tuning, index
 *   sizes, replication throttles); any valid value is accepted and stored;
 * - fixed: Pier behaves as one value only (e.g. min.insync.replicas=1);
 *   that value is accepted, any other refused with INVALID_CONFIG, so nobody relies on a setting
 *   that does nothing.
 * A name Kafka does not know is refused as Kafka does: "Unknown topic config name: x".
 */
import type { CleanupPolicy, TopicCompression, TopicConfig } from './topic.js';
import { TopicError } from './topic-error.js';

/** Kafka's ConfigDef types, with the numbers DescribeConfigs v3+ sends as configType. */
export const ConfigType = {
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;
export type ConfigTypeName = keyof typeof ConfigType;

export type TopicConfigKind = 'implemented' | 'ignored' | 'fixed';

export interface TopicConfigDef {
  readonly name: string;
  readonly type: ConfigTypeName;
  readonly kind: TopicConfigKind;
  /** Kafka's default, as DescribeConfigs shows it. */
  readonly defaultValue: string;
  /** The broker config Kafka takes the default from (a DescribeConfigs synonym), if any. */
  readonly brokerSynonym: string | undefined;
  /** Smallest value allowed (numeric types). */
  readonly min?: number;
  /** Allowed values (STRING and LIST types). */
  readonly oneOf?: readonly string[];
  readonly documentation: string;
}

const LONG_MAX = '9223372036854775807';

function def(
  name: string,
  type: ConfigTypeName,
  kind: TopicConfigKind,
  defaultValue: string,
  brokerSynonym: string | undefined,
  documentation: string,
  extra: { min?: number; oneOf?: readonly string[] } = {},
): TopicConfigDef {
  return { name, type, kind, defaultValue, brokerSynonym, documentation, ...extra };
}

/** Every topic config Kafka knows, in name order (DescribeConfigs lists them this way). */
// biome-ignore format: a table, one config per entry
export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  def('cleanup.policy', 'LIST', 'implemented', 'delete', 'log.cleanup.policy',
    'delete: old segments are deleted by retention; compact: closed segments keep the newest record per key.',
    { oneOf: ['compact', 'delete'] }),
  def('compression.type', 'STRING', 'implemented', 'producer', 'compression.type',
    'producer: batches are stored as the producer compressed them; otherwise recompressed to this codec.',
    { oneOf: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] }),
  def('delete.retention.ms', 'LONG', 'implemented', '86400000', 'log.cleaner.delete.retention.ms',
    'Compacted topics: how long a tombstone (null value) is kept after its first compaction.', { min: 0 }),
  def('file.delete.delay.ms', 'LONG', 'ignored', '60000', 'log.segment.delete.delay.ms',
    'Pier deletes segment files at once.', { min: 0 }),
  def('flush.messages', 'LONG', 'ignored', LONG_MAX, 'log.flush.interval.messages',
    "Pier's fsync policy decides when writes reach the disk.", { min: 1 }),
  def('flush.ms', 'LONG', 'ignored', LONG_MAX, 'log.flush.interval.ms',
    "Pier's fsync policy decides when writes reach the disk.", { min: 0 }),
  def('follower.replication.throttled.replicas', 'LIST', 'ignored', '', undefined,
    'Replication only; no effect on a single broker.'),
  def('index.interval.bytes', 'INT', 'ignored', '4096', 'log.index.interval.bytes',
    "Pier's stream index interval is a broker setting.", { min: 0 }),
  def('leader.replication.throttled.replicas', 'LIST', 'ignored', '', undefined,
    'Replication only; no effect on a single broker.'),
  def('local.retention.bytes', 'LONG', 'ignored', '-2', 'log.local.retention.bytes',
    'Tiered storage only; no effect in Pier.', { min: -2 }),
  def('local.retention.ms', 'LONG', 'ignored', '-2', 'log.local.retention.ms',
    'Tiered storage only; no effect in Pier.', { min: -2 }),
  def('max.compaction.lag.ms', 'LONG', 'implemented', LONG_MAX, 'log.cleaner.max.compaction.lag.ms',
    'Compacted topics: a closed segment older than this is compacted whatever the dirty ratio.', { min: 1 }),
  def('max.message.bytes', 'INT', 'implemented', '1048588', 'message.max.bytes',
    'The largest record batch accepted, in bytes.', { min: 0 }),
  def('message.downconversion.enable', 'BOOLEAN', 'ignored', 'true', 'log.message.downconversion.enable',
    'Pier serves record batch v2 only.'),
  def('message.format.version', 'STRING', 'ignored', '3.0-IV1', 'log.message.format.version',
    'Deprecated in Kafka; Pier stores record batch v2.'),
  def('message.timestamp.after.max.ms', 'LONG', 'fixed', LONG_MAX, 'log.message.timestamp.after.max.ms',
    'Pier does not refuse batches for their timestamps.', { min: 0 }),
  def('message.timestamp.before.max.ms', 'LONG', 'fixed', LONG_MAX, 'log.message.timestamp.before.max.ms',
    'Pier does not refuse batches for their timestamps.', { min: 0 }),
  def('message.timestamp.difference.max.ms', 'LONG', 'fixed', LONG_MAX,
    'log.message.timestamp.difference.max.ms', 'Pier does not refuse batches for their timestamps.',
    { min: 0 }),
  def('message.timestamp.type', 'STRING', 'implemented', 'CreateTime', 'log.message.timestamp.type',
    "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's time.",
    { oneOf: ['CreateTime', 'LogAppendTime'] }),
  def('min.cleanable.dirty.ratio', 'DOUBLE', 'implemented', '0.5', 'log.cleaner.min.cleanable.ratio',
    'Compacted topics: compaction starts once this share of the closed log is not yet compacted.',
    { min: 0 }),
  def('min.compaction.lag.ms', 'LONG', 'implemented', '0', 'log.cleaner.min.compaction.lag.ms',
    'Compacted topics: a record stays uncompacted at least this long after it was written.', { min: 0 }),
  def('min.insync.replicas', 'INT', 'fixed', '1', 'min.insync.replicas',
    'Pier is a single broker: every write has exactly one replica.', { min: 1 }),
  def('preallocate', 'BOOLEAN', 'ignored', 'false', 'log.preallocate', 'Pier does not preallocate segments.'),
  def('remote.storage.enable', 'BOOLEAN', 'fixed', 'false', undefined, 'Pier has no tiered storage.'),
  def('retention.bytes', 'LONG', 'implemented', '-1', 'log.retention.bytes',
    'Per partition: the oldest segments are deleted while the partition is larger; -1 = no limit.'),
  def('retention.ms', 'LONG', 'implemented', '604800000', 'log.retention.ms',
    'Segments whose newest record is older are deleted; -1 keeps records forever.', { min: -1 }),
  def('segment.bytes', 'INT', 'implemented', '1073741824', 'log.segment.bytes',
    'Segment size; a change applies to partitions opened afterwards (new ones, and all after a restart).',
    { min: 14 }),
  def('segment.index.bytes', 'INT', 'ignored', '10485760', 'log.index.size.max.bytes',
    "Pier's stream index is sized by the segment.", { min: 4 }),
  def('segment.jitter.ms', 'LONG', 'ignored', '0', 'log.roll.jitter.ms', 'Pier rolls segments without jitter.',
    { min: 0 }),
  def('segment.ms', 'LONG', 'implemented', '604800000', 'log.roll.ms',
    "A partition's segment is closed at the first append this long after its first record (so compaction can reach it); applies to partitions opened afterwards.",
    { min: 1 }),
  def('unclean.leader.election.enable', 'BOOLEAN', 'ignored', 'false', 'unclean.leader.election.enable',
    'Replication only; no effect on a single broker.'),
];

export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDef> = new Map(
  TOPIC_CONFIG_DEFS.map((d) => [d.name, d]),
);

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  retentionMs: 604_800_000,
  retentionBytes: -1,
  segmentBytes: 1_073_741_824,
  segmentMs: 604_800_000,
  cleanupPolicy: 'delete',
  maxMessageBytes: 1_048_588,
  messageTimestampType: 'CreateTime',
  deleteRetentionMs: 86_400_000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
};

/** A cleanup.policy value as the core uses it: which of delete and compact it names. */
export function parseCleanupPolicy(value: string): CleanupPolicy {
  const items = new Set(value.split(','));
  if (items.has('compact')) return items.has('delete') ? 'compact,delete' : 'compact';
  return 'delete';
}

const INTEGER = /^[+-]?\d+$/;
const INT_RANGE = { INT: [-(2 ** 31), 2 ** 31 - 1], SHORT: [-(2 ** 15), 2 ** 15 - 1] } as const;
const LONG_RANGE = [-(2n ** 63n), 2n ** 63n - 1n] as const;

function invalid(name: string, value: string, why: string): TopicError {
  return new TopicError('INVALID_CONFIG', `Invalid value ${value} for configuration ${name}: ${why}`);
}

/**
 * Checks one value against its config's type and rules (Kafka's messages); returns it normalised
 * (trimmed, lists without blanks) as stored and shown.
 */
export function validateConfigValue(d: TopicConfigDef, raw: string): string {
  const value = raw.trim();
  switch (d.type) {
    case 'INT':
    case 'SHORT':
    case 'LONG': {
      if (!INTEGER.test(value)) throw invalid(d.name, raw, `Not a number of type ${d.type}`);
      const n = BigInt(value);
      const [lo, hi] = d.type === 'LONG' ? LONG_RANGE : INT_RANGE[d.type].map(BigInt);
      if (n < lo! || n > hi!) throw invalid(d.name, raw, `Not a number of type ${d.type}`);
      if (d.min !== undefined && n < BigInt(d.min))
        throw invalid(d.name, raw, `Value must be at least ${d.min}`);
      return n.toString();
    }
    case 'DOUBLE': {
      const n = Number(value);
      if (value === '' || Number.isNaN(n)) throw invalid(d.name, raw, 'Not a number of type DOUBLE');
      if (d.min !== undefined && n < d.min) throw invalid(d.name, raw, `Value must be at least ${d.min}`);
      return value;
    }
    case 'BOOLEAN': {
      const lower = value.toLowerCase();
      if (lower !== 'true' && lower !== 'false')
        throw invalid(d.name, raw, 'Expected value to be either true or false');
      return lower;
    }
    case 'LIST': {
      const items = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (d.oneOf) {
        for (const item of items)
          if (!d.oneOf.includes(item))
            throw invalid(d.name, raw, `String must be one of: ${d.oneOf.join(', ')}`);
      }
      return items.join(',');
    }
    default:
      if (d.oneOf && !d.oneOf.includes(value))
        throw invalid(d.name, raw, `String must be one of: ${d.oneOf.join(', ')}`);
      return value;
  }
}

/** Pier-specific refusals of valid Kafka values, with what to do instead. */
function checkSupported(d: TopicConfigDef, value: string): void {
  if (d.name === 'cleanup.policy') {
    // Kafka 3.x also allows an empty policy (neither delete nor compact: keep everything); Pier asks
    // for one of the two so a typo does not silently keep data forever.
    if (value === '')
      throw new TopicError(
        'INVALID_CONFIG',
        'cleanup.policy must be delete, compact or compact,delete (Pier does not accept an empty policy)',
      );
    return;
  }
  if (d.name === 'min.cleanable.dirty.ratio' && Number(value) > 1)
    throw invalid(d.name, value, 'Value must be no more than 1');
  if (d.kind === 'fixed' && value !== d.defaultValue)
    throw new TopicError(
      'INVALID_CONFIG',
      `Pier does not implement ${d.name}=${value}: it always behaves as ${d.name}=${d.defaultValue} (${d.documentation})`,
    );
}

export function configDef(name: string): TopicConfigDef {
  const d = TOPIC_CONFIGS.get(name);
  if (!d) throw new TopicError('INVALID_CONFIG', `Unknown topic config name: ${name}`);
  return d;
}

/**
 * Validates a set of topic config overrides (CreateTopics, AlterConfigs) and returns them
 * normalised. Null values are refused as Kafka does for topics; a name given twice is an invalid
 * request.
 */
export function validateOverrides(
  configs: Iterable<{ readonly name: string; readonly value: string | null }>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const { name, value } of configs) {
    if (out.has(name)) throw new TopicError('INVALID_REQUEST', `Error due to duplicate config keys: ${name}`);
    const d = configDef(name);
    if (value === null)
      throw new TopicError('INVALID_CONFIG', `Null value not supported for topic configs: ${name}`);
    const normal = validateConfigValue(d, value);
    checkSupported(d, normal);
    out.set(name, normal);
  }
  return out;
}

/**
 * Topic config defaults the broker was started with (Kafka's broker configs that topic configs take
 * their defaults from, e.g. compression.type), by topic config name; absent ones are Kafka's.
 */
export type BrokerTopicDefaults = ReadonlyMap<string, string>;

/** The effective value of a config: the override if set, else the broker's default, else Kafka's. */
export function effectiveValue(
  overrides: ReadonlyMap<string, string>,
  name: string,
  brokerDefaults?: BrokerTopicDefaults,
): string {
  return overrides.get(name) ?? brokerDefaults?.get(name) ?? TOPIC_CONFIGS.get(name)!.defaultValue;
}

function compressionOf(value: string): { compressionType?: TopicCompression } {
  return value === 'producer' ? {} : { compressionType: value as TopicCompression };
}

/** The implemented configs as the core uses them. Overrides must already be validated. */
export function resolveTopicConfig(
  overrides: ReadonlyMap<string, string>,
  brokerDefaults?: BrokerTopicDefaults,
): TopicConfig {
  const num = (name: string) => Number(effectiveValue(overrides, name, brokerDefaults));
  return {
    retentionMs: num('retention.ms'),
    retentionBytes: num('retention.bytes'),
    segmentBytes: num('segment.bytes'),
    segmentMs: Math.min(num('segment.ms'), Number.MAX_SAFE_INTEGER),
    cleanupPolicy: parseCleanupPolicy(effectiveValue(overrides, 'cleanup.policy')),
    maxMessageBytes: num('max.message.bytes'),
    messageTimestampType:
      effectiveValue(overrides, 'message.timestamp.type') === 'LogAppendTime'
        ? 'LogAppendTime'
        : 'CreateTime',
    deleteRetentionMs: num('delete.retention.ms'),
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    // LONG_MAX (the default) is beyond a double's integers: it means "never forces compaction".
    maxCompactionLagMs: Math.min(num('max.compaction.lag.ms'), Number.MAX_SAFE_INTEGER),
    // Absent for 'producer' (the default): batches are stored as produced.
    ...compressionOf(effectiveValue(overrides, 'compression.type', brokerDefaults)),
  };
}
