/**
 * Queue arguments (`x-message-ttl`, `x-max-length`, ...) and policies: validation with RabbitMQ's
 * reply texts, and the effective settings a queue runs with. Validation happens before anything is
 * declared, so a bad argument never leaves a half-made queue behind.
 */
import { preconditionFailed } from './errors.js';
import type { Arguments } from './exchange.js';

export type QueueType = 'classic' | 'quorum' | 'stream';
export type OverflowMode = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** What a queue does with its messages, from its arguments and the policy that applies to it. */
export interface QueueSettings {
  readonly type: QueueType;
  /** Per-queue message TTL (ms); undefined = messages do not expire by queue. */
  readonly messageTtlMs: number | undefined;
  /** Queue TTL: deleted after being unused this long (ms). */
  readonly expiresMs: number | undefined;
  readonly maxLength: number | undefined;
  readonly maxLengthBytes: number | undefined;
  readonly overflow: OverflowMode;
  readonly deadLetterExchange: string | undefined;
  readonly deadLetterRoutingKey: string | undefined;
  /** Highest priority level (1-255) for a priority queue; undefined = no priorities. */
  readonly maxPriority: number | undefined;
  readonly singleActiveConsumer: boolean;
  /** Redeliveries allowed before dead-lettering with reason delivery_limit (quorum queues). */
  readonly deliveryLimit: number | undefined;
  /** Deduplication of messages by their `x-deduplication-header` header. */
  readonly deduplication: boolean;
  readonly dedupCacheSize: number | undefined;
  readonly dedupCacheTtlMs: number | undefined;
  /** Stream retention: `x-max-age` in ms. */
  readonly maxAgeMs: number | undefined;
  readonly streamMaxSegmentSizeBytes: number | undefined;
}

/** The largest TTL RabbitMQ accepts (in ms): about 8,900 years. */
const MAX_TTL_MS = 2 ** 32 * 65_536 - 1;
const RABBIT_TYPE_NAMES = {
  classic: 'rabbit_classic_queue',
  quorum: 'rabbit_quorum_queue',
  stream: 'rabbit_stream_queue',
};

/** The AMQP field-table type RabbitMQ would name for a decoded value (for error texts). */
export function amqpTypeName(value: unknown): string {
  if (typeof value === 'string') return 'longstr';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return 'long';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'double';
    if (value >= -128 && value <= 127) return 'byte';
    if (value >= -32768 && value <= 32767) return 'short';
    if (value >= -(2 ** 31) && value < 2 ** 31) return 'signedint';
    return 'long';
  }
  if (value === null || value === undefined) return 'void';
  if (Array.isArray(value)) return 'array';
  return 'table';
}

class ArgumentChecker {
  constructor(
    private readonly queueName: string,
    private readonly vhost: string,
  ) {}

  fail(key: string, reason: string): never {
    throw preconditionFailed(
      `invalid arg '${key}' for queue '${this.queueName}' in vhost '${this.vhost}': ${reason}`,
    );
  }

  integer(key: string, value: unknown, { allowZero = true, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      this.fail(key, `"expected integer, got ${amqpTypeName(value)}"`);
    }
    if (n < 0) this.fail(key, `{value_negative,${n}}`);
    if (n === 0 && !allowZero) this.fail(key, `{value_zero,${n}}`);
    if (n > max)
      this.fail(key, key === 'x-max-priority' ? `{max_value_exceeded,${n}}` : `{value_too_large,${n}}`);
    return n;
  }

  string(key: string, value: unknown): string {
    if (typeof value !== 'string') this.fail(key, `{unacceptable_type,${amqpTypeName(value)}}`);
    return value;
  }

  boolean(key: string, value: unknown): boolean {
    if (typeof value !== 'boolean') this.fail(key, `{unacceptable_type,${amqpTypeName(value)}}`);
    return value;
  }

  wrongQueueType(key: string, type: QueueType): never {
    throw preconditionFailed(
      `invalid arg '${key}' for queue '${this.queueName}' in vhost '${this.vhost}' of queue type ${RABBIT_TYPE_NAMES[type]}`,
    );
  }
}

/** Arguments only some queue types accept (as RabbitMQ 3.10). */
const ONLY_FOR: Record<string, readonly QueueType[]> = {
  'x-delivery-limit': ['quorum'],
  'x-max-age': ['stream'],
  'x-stream-max-segment-size-bytes': ['stream'],
  'x-kafka-topic': ['stream'],
  'x-kafka-partition': ['stream'],
  'x-max-priority': ['classic'],
  'x-message-ttl': ['classic', 'quorum'],
  'x-expires': ['classic', 'quorum'],
  'x-dead-letter-exchange': ['classic', 'quorum'],
  'x-dead-letter-routing-key': ['classic', 'quorum'],
  'x-single-active-consumer': ['classic', 'quorum'],
  'x-overflow': ['classic', 'quorum'],
  'x-max-length': ['classic', 'quorum'],
};

/** Stream `x-max-age` as RabbitMQ writes it: a number and a unit Y, M, D, h, m or s. */
export function parseMaxAge(value: string): number | undefined {
  const match = /^(\d+)(Y|M|D|h|m|s)$/.exec(value);
  if (!match) return undefined;
  const unitMs = { Y: 365 * 86_400_000, M: 30 * 86_400_000, D: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  return Number(match[1]) * unitMs[match[2] as keyof typeof unitMs];
}

/**
 * Checks a queue's declared arguments and properties; throws 406 PRECONDITION_FAILED naming the
 * first bad argument, with RabbitMQ's reply text.
 */
export function validateQueueArguments(
  queueName: string,
  vhost: string,
  args: Arguments,
  props: { durable: boolean; exclusive: boolean; autoDelete: boolean },
): QueueType {
  const check = new ArgumentChecker(queueName, vhost);
  let type: QueueType = 'classic';
  const rawType = args['x-queue-type'];
  if (rawType !== undefined) {
    if (rawType !== 'classic' && rawType !== 'quorum' && rawType !== 'stream') {
      check.fail('x-queue-type', `"unsupported queue type '${String(rawType)}'"`);
    }
    type = rawType as QueueType;
  }
  if (type !== 'classic') {
    const bad = !props.durable
      ? 'non-durable'
      : props.exclusive
        ? 'exclusive-owner'
        : props.autoDelete
          ? 'auto-delete'
          : undefined;
    if (bad)
      throw preconditionFailed(`invalid property '${bad}' for queue '${queueName}' in vhost '${vhost}'`);
  }
  for (const [key, allowed] of Object.entries(ONLY_FOR)) {
    if (args[key] !== undefined && !allowed.includes(type)) check.wrongQueueType(key, type);
  }
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined) continue;
    switch (key) {
      case 'x-message-ttl':
        check.integer(key, value, { max: MAX_TTL_MS });
        break;
      case 'x-expires':
        check.integer(key, value, { allowZero: false, max: MAX_TTL_MS });
        break;
      case 'x-max-length':
      case 'x-max-length-bytes':
      case 'x-stream-max-segment-size-bytes':
        check.integer(key, value);
        break;
      case 'x-delivery-limit':
        // RabbitMQ 3.10 quorum queues accept any value here and ignore what is not a number.
        break;
      case 'x-max-priority':
        check.integer(key, value, { max: 255 });
        break;
      case 'x-overflow':
        if (!['drop-head', 'reject-publish', 'reject-publish-dlx'].includes(check.string(key, value)))
          check.fail(key, 'invalid_overflow');
        break;
      case 'x-dead-letter-exchange':
        if (typeof value !== 'string') {
          throw preconditionFailed(
            `invalid type '${amqpTypeName(value)}' for arg '${key}' in queue '${queueName}' in vhost '${vhost}'`,
          );
        }
        break;
      case 'x-dead-letter-routing-key':
        check.string(key, value);
        if (args['x-dead-letter-exchange'] === undefined) check.fail(key, 'routing_key_but_no_dlx_defined');
        break;
      case 'x-single-active-consumer':
      case 'x-message-deduplication':
        check.boolean(key, value);
        break;
      case 'x-cache-size':
      case 'x-cache-ttl':
        check.integer(key, value);
        break;
      case 'x-max-age':
        if (parseMaxAge(check.string(key, value)) === undefined)
          check.fail(key, `{invalid_max_age,${String(value)}}`);
        break;
      case 'x-kafka-topic':
        if (check.string(key, value) === '') check.fail(key, 'a Kafka topic name is required');
        break;
      case 'x-kafka-partition':
        check.integer(key, value);
        if (args['x-kafka-topic'] === undefined)
          check.fail(key, 'it needs x-kafka-topic, the topic it is a partition of');
        break;
    }
  }
  if (args['x-kafka-topic'] !== undefined) {
    // A view of a Kafka topic keeps the topic's log, so the topic's retention and segments apply.
    for (const key of ['x-max-length-bytes', 'x-max-age', 'x-stream-max-segment-size-bytes']) {
      if (args[key] !== undefined)
        check.fail(
          key,
          "a view of a Kafka topic keeps the topic's retention and segments: set retention.bytes, retention.ms or segment.bytes on the topic instead",
        );
    }
  }
  return type;
}

/** Reads a number from a policy definition or argument; anything else counts as absent. */
function numberOf(value: unknown): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The smaller of two optional limits: RabbitMQ applies the stricter of argument and policy. */
function stricter(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * The settings a queue runs with: its arguments combined with the policy that applies to it, as
 * RabbitMQ combines them (the stricter limit wins; for the dead-letter settings and overflow the
 * queue's own argument wins).
 */
export function resolveQueueSettings(args: Arguments, policy: Arguments | undefined): QueueSettings {
  const p = policy ?? {};
  const type = (stringOf(args['x-queue-type']) as QueueType | undefined) ?? 'classic';
  const dlx = stringOf(args['x-dead-letter-exchange']) ?? stringOf(p['dead-letter-exchange']);
  const dedupArg = args['x-message-deduplication'] ?? p['message-deduplication'];
  const maxAge = stringOf(args['x-max-age']) ?? stringOf(p['max-age']);
  return {
    type,
    messageTtlMs: stricter(numberOf(args['x-message-ttl']), numberOf(p['message-ttl'])),
    expiresMs: stricter(numberOf(args['x-expires']), numberOf(p.expires)),
    maxLength: stricter(numberOf(args['x-max-length']), numberOf(p['max-length'])),
    maxLengthBytes: stricter(numberOf(args['x-max-length-bytes']), numberOf(p['max-length-bytes'])),
    overflow:
      ((stringOf(args['x-overflow']) ?? stringOf(p.overflow)) as OverflowMode | undefined) ?? 'drop-head',
    deadLetterExchange: dlx,
    deadLetterRoutingKey:
      stringOf(args['x-dead-letter-routing-key']) ??
      (args['x-dead-letter-exchange'] === undefined ? stringOf(p['dead-letter-routing-key']) : undefined),
    maxPriority: numberOf(args['x-max-priority']) || undefined,
    singleActiveConsumer: args['x-single-active-consumer'] === true,
    deliveryLimit:
      type === 'quorum'
        ? stricter(numberOf(args['x-delivery-limit']), numberOf(p['delivery-limit']))
        : undefined,
    deduplication: dedupArg === true,
    dedupCacheSize: numberOf(args['x-cache-size'] ?? p['cache-size']),
    dedupCacheTtlMs: numberOf(args['x-cache-ttl'] ?? p['cache-ttl']),
    maxAgeMs: maxAge === undefined ? undefined : parseMaxAge(maxAge),
    streamMaxSegmentSizeBytes: numberOf(
      args['x-stream-max-segment-size-bytes'] ?? p['stream-max-segment-size-bytes'],
    ),
  };
}
