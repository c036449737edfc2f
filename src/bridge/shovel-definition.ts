/**
 * A shovel's definition: the value of a `shovel` runtime parameter, in RabbitMQ's dynamic shovel
 * format (src-uri, src-queue | src-exchange + src-exchange-key, dest-uri, dest-queue |
 * dest-exchange + dest-exchange-key, ack-mode, prefetch-count, src-delete-after,
 * reconnect-delay, add-forward-headers), extended with Kafka (src-topic + src-group,
 * dest-topic + dest-topic-partition) and SQS (src-sqs-queue, dest-sqs-queue) endpoints, and
 * Pier's dead-letter destination for messages the destination refuses for good (dead-letter-queue |
 * dead-letter-topic | dead-letter-sqs-queue on this Pier, dead-letter-after-attempts). Pure: a bad
 * value is refused with the field named (ShovelDefinitionError).
 */

export type AckMode = 'on-confirm' | 'on-publish' | 'no-ack';
export type DeleteAfter = 'never' | 'queue-length' | number;

/** Where an endpoint lives: this Pier (local) or another broker reached by URI. */
export type EndpointLocation =
  | { readonly local: true; readonly user?: string; readonly password?: string }
  | {
      readonly local: false;
      readonly uri: string;
    };

export type SourceSpec =
  | { readonly kind: 'amqp-queue'; readonly queue: string; readonly at: EndpointLocation }
  | {
      readonly kind: 'amqp-exchange';
      readonly exchange: string;
      readonly key: string;
      readonly at: EndpointLocation;
    }
  | {
      readonly kind: 'kafka-topic';
      readonly topic: string;
      readonly group: string;
      readonly at: EndpointLocation;
    }
  | { readonly kind: 'sqs-queue'; readonly queue: string; readonly at: EndpointLocation };

export type DestinationSpec =
  | {
      readonly kind: 'amqp';
      readonly exchange: string;
      /** Undefined: the message's own key (routing key) is used. */
      readonly key: string | undefined;
      /** dest-queue: declared (durable, with dest-queue-args) before the first publish. */
      readonly queue: string | undefined;
      readonly queueArguments: Record<string, unknown>;
      readonly at: EndpointLocation;
    }
  | {
      readonly kind: 'kafka-topic';
      readonly topic: string;
      /** A fixed partition, or undefined: Kafka's default partitioner on the key. */
      readonly partition: number | undefined;
      readonly at: EndpointLocation;
    }
  | { readonly kind: 'sqs-queue'; readonly queue: string; readonly at: EndpointLocation };

/**
 * Where a message the destination refuses for good goes (always on this Pier, in the shovel's
 * vhost) once it was refused `afterAttempts` times.
 */
export interface DeadLetterSpec {
  readonly kind: 'amqp-queue' | 'kafka-topic' | 'sqs-queue';
  /** The queue or topic name (an SQS queue may also be given by URL). */
  readonly name: string;
  readonly afterAttempts: number;
}

export interface ShovelDefinition {
  readonly vhost: string;
  readonly name: string;
  readonly source: SourceSpec;
  readonly destination: DestinationSpec;
  readonly ackMode: AckMode;
  readonly prefetchCount: number;
  readonly deleteAfter: DeleteAfter;
  readonly reconnectDelayMs: number;
  readonly addForwardHeaders: boolean;
  readonly addTimestampHeader: boolean;
  /** Undefined: a refused message stays at the source and the shovel retries it for ever. */
  readonly deadLetter: DeadLetterSpec | undefined;
}

export class ShovelDefinitionError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ShovelDefinitionError';
  }
}

const KNOWN_FIELDS = new Set([
  'src-uri',
  'src-protocol',
  'src-queue',
  'src-exchange',
  'src-exchange-key',
  'src-topic',
  'src-group',
  'src-sqs-queue',
  'src-prefetch-count',
  'prefetch-count',
  'src-delete-after',
  'delete-after',
  'dest-uri',
  'dest-protocol',
  'dest-queue',
  'dest-queue-args',
  'dest-exchange',
  'dest-exchange-key',
  'dest-topic',
  'dest-topic-partition',
  'dest-sqs-queue',
  'ack-mode',
  'reconnect-delay',
  'add-forward-headers',
  'dest-add-forward-headers',
  'dest-add-timestamp-header',
  'add-timestamp-header',
  'dead-letter-queue',
  'dead-letter-topic',
  'dead-letter-sqs-queue',
  'dead-letter-after-attempts',
]);

export const DEFAULT_PREFETCH_COUNT = 1000;
export const DEFAULT_RECONNECT_DELAY_SECONDS = 5;
/** Refusals of one message before it is dead-lettered, when dead-letter-after-attempts is not given. */
export const DEFAULT_DEAD_LETTER_AFTER_ATTEMPTS = 3;

/** Parses and checks a shovel parameter's value; throws ShovelDefinitionError naming the field. */
export function parseShovelDefinition(vhost: string, name: string, value: unknown): ShovelDefinition {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ShovelDefinitionError(
      'value',
      'a shovel definition is a JSON object, e.g. {"src-queue":"a","dest-topic":"b"}',
    );
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!KNOWN_FIELDS.has(key)) {
      throw new ShovelDefinitionError(key, `unknown shovel field; known: ${[...KNOWN_FIELDS].join(', ')}`);
    }
  }
  for (const key of ['src-protocol', 'dest-protocol']) {
    if (v[key] !== undefined && v[key] !== 'amqp091') {
      throw new ShovelDefinitionError(key, `only "amqp091" is supported (Pier speaks AMQP 0-9-1, not 1.0)`);
    }
  }
  const source = sourceOf(v, vhost, name);
  const destination = destinationOf(v);
  const ackMode = (v['ack-mode'] ?? 'on-confirm') as AckMode;
  if (!['on-confirm', 'on-publish', 'no-ack'].includes(ackMode)) {
    throw new ShovelDefinitionError(
      'ack-mode',
      `must be on-confirm, on-publish or no-ack, not ${JSON.stringify(v['ack-mode'])}`,
    );
  }
  const prefetchField = v['src-prefetch-count'] !== undefined ? 'src-prefetch-count' : 'prefetch-count';
  const prefetchCount = positiveInteger(v, prefetchField, DEFAULT_PREFETCH_COUNT);
  const deleteField = v['src-delete-after'] !== undefined ? 'src-delete-after' : 'delete-after';
  const deleteAfter = deleteAfterOf(v[deleteField], deleteField);
  if (deleteAfter === 'queue-length' && source.kind !== 'amqp-queue' && source.kind !== 'sqs-queue') {
    throw new ShovelDefinitionError(
      deleteField,
      '"queue-length" needs a queue source (src-queue or src-sqs-queue)',
    );
  }
  const delay = v['reconnect-delay'] ?? DEFAULT_RECONNECT_DELAY_SECONDS;
  if (typeof delay !== 'number' || !(delay >= 0)) {
    throw new ShovelDefinitionError(
      'reconnect-delay',
      `seconds, a number >= 0, not ${JSON.stringify(delay)}`,
    );
  }
  return {
    vhost,
    name,
    source,
    destination,
    ackMode,
    prefetchCount,
    deleteAfter,
    reconnectDelayMs: delay * 1000,
    addForwardHeaders: booleanOf(
      v,
      v['dest-add-forward-headers'] !== undefined ? 'dest-add-forward-headers' : 'add-forward-headers',
    ),
    addTimestampHeader: booleanOf(
      v,
      v['dest-add-timestamp-header'] !== undefined ? 'dest-add-timestamp-header' : 'add-timestamp-header',
    ),
    deadLetter: deadLetterOf(v, destination),
  };
}

const DEAD_LETTER_FIELDS = ['dead-letter-queue', 'dead-letter-topic', 'dead-letter-sqs-queue'] as const;

function deadLetterOf(v: Record<string, unknown>, destination: DestinationSpec): DeadLetterSpec | undefined {
  const given = DEAD_LETTER_FIELDS.filter((f) => v[f] !== undefined);
  if (given.length === 0) {
    if (v['dead-letter-after-attempts'] !== undefined) {
      throw new ShovelDefinitionError(
        'dead-letter-after-attempts',
        `only applies with a dead-letter destination: one of ${DEAD_LETTER_FIELDS.join(', ')}`,
      );
    }
    return undefined;
  }
  if (given.length > 1) throw new ShovelDefinitionError(given[1]!, `give only one of ${given.join(', ')}`);
  const field = given[0]!;
  const name = stringField(v, field);
  const kind =
    field === 'dead-letter-queue'
      ? 'amqp-queue'
      : field === 'dead-letter-topic'
        ? 'kafka-topic'
        : 'sqs-queue';
  const same =
    destination.at.local &&
    ((kind === 'amqp-queue' && destination.kind === 'amqp' && destination.queue === name) ||
      (kind === 'kafka-topic' && destination.kind === 'kafka-topic' && destination.topic === name) ||
      (kind === 'sqs-queue' && destination.kind === 'sqs-queue' && destination.queue === name));
  if (same) {
    throw new ShovelDefinitionError(field, 'must not be the destination itself (it refuses these messages)');
  }
  return {
    kind,
    name,
    afterAttempts: positiveInteger(v, 'dead-letter-after-attempts', DEFAULT_DEAD_LETTER_AFTER_ATTEMPTS),
  };
}

function exactlyOne(v: Record<string, unknown>, fields: readonly string[], side: string): string {
  const given = fields.filter((f) => v[f] !== undefined);
  if (given.length !== 1) {
    throw new ShovelDefinitionError(
      given[1] ?? fields[0]!,
      given.length === 0
        ? `a shovel needs a ${side}: one of ${fields.join(', ')}`
        : `give only one of ${given.join(', ')}`,
    );
  }
  return given[0]!;
}

function stringField(v: Record<string, unknown>, field: string, allowEmpty = false): string {
  const value = v[field];
  if (typeof value !== 'string' || (!allowEmpty && value === '')) {
    throw new ShovelDefinitionError(
      field,
      `must be a${allowEmpty ? '' : ' non-empty'} string, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function sourceOf(v: Record<string, unknown>, vhost: string, name: string): SourceSpec {
  const field = exactlyOne(v, ['src-queue', 'src-exchange', 'src-topic', 'src-sqs-queue'], 'source');
  const scheme = field === 'src-topic' ? 'kafka' : field === 'src-sqs-queue' ? 'sqs' : 'amqp';
  const at = locationOf(v['src-uri'], 'src-uri', scheme);
  for (const [extra, owner] of [
    ['src-exchange-key', 'src-exchange'],
    ['src-group', 'src-topic'],
  ] as const) {
    if (v[extra] !== undefined && field !== owner)
      throw new ShovelDefinitionError(extra, `only applies with ${owner}`);
  }
  switch (field) {
    case 'src-queue':
      return { kind: 'amqp-queue', queue: stringField(v, field), at };
    case 'src-exchange':
      return {
        kind: 'amqp-exchange',
        exchange: stringField(v, field, true),
        key: v['src-exchange-key'] === undefined ? '#' : stringField(v, 'src-exchange-key', true),
        at,
      };
    case 'src-topic':
      return {
        kind: 'kafka-topic',
        topic: stringField(v, field),
        group: v['src-group'] === undefined ? `pier-shovel-${vhost}-${name}` : stringField(v, 'src-group'),
        at,
      };
    default:
      return { kind: 'sqs-queue', queue: stringField(v, field), at };
  }
}

function destinationOf(v: Record<string, unknown>): DestinationSpec {
  const field = exactlyOne(v, ['dest-queue', 'dest-exchange', 'dest-topic', 'dest-sqs-queue'], 'destination');
  const scheme = field === 'dest-topic' ? 'kafka' : field === 'dest-sqs-queue' ? 'sqs' : 'amqp';
  const at = locationOf(v['dest-uri'], 'dest-uri', scheme);
  if (v['dest-exchange-key'] !== undefined && field !== 'dest-exchange' && field !== 'dest-queue') {
    throw new ShovelDefinitionError('dest-exchange-key', 'only applies with an AMQP destination');
  }
  if (v['dest-queue-args'] !== undefined && field !== 'dest-queue') {
    throw new ShovelDefinitionError('dest-queue-args', 'only applies with dest-queue');
  }
  if (v['dest-topic-partition'] !== undefined && field !== 'dest-topic') {
    throw new ShovelDefinitionError('dest-topic-partition', 'only applies with dest-topic');
  }
  switch (field) {
    case 'dest-queue': {
      const args = v['dest-queue-args'] ?? {};
      if (args === null || typeof args !== 'object' || Array.isArray(args)) {
        throw new ShovelDefinitionError('dest-queue-args', 'must be a JSON object of queue arguments');
      }
      const queue = stringField(v, field);
      return {
        kind: 'amqp',
        exchange: '',
        key: queue,
        queue,
        queueArguments: args as Record<string, unknown>,
        at,
      };
    }
    case 'dest-exchange':
      return {
        kind: 'amqp',
        exchange: stringField(v, field, true),
        key: v['dest-exchange-key'] === undefined ? undefined : stringField(v, 'dest-exchange-key', true),
        queue: undefined,
        queueArguments: {},
        at,
      };
    case 'dest-topic': {
      const partition = v['dest-topic-partition'];
      if (
        partition !== undefined &&
        (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0)
      ) {
        throw new ShovelDefinitionError(
          'dest-topic-partition',
          `a partition number >= 0, not ${JSON.stringify(partition)}`,
        );
      }
      return {
        kind: 'kafka-topic',
        topic: stringField(v, field),
        partition: partition as number | undefined,
        at,
      };
    }
    default:
      return { kind: 'sqs-queue', queue: stringField(v, field), at };
  }
}

/**
 * No URI, or `amqp://` with no host (RabbitMQ's "this node"): local. Otherwise the scheme must
 * fit the endpoint: amqp:// or amqps:// for AMQP, kafka:// for Kafka, http(s):// for SQS. RabbitMQ
 * accepts a list of URIs; Pier uses the first.
 */
function locationOf(raw: unknown, field: string, scheme: 'amqp' | 'kafka' | 'sqs'): EndpointLocation {
  if (raw === undefined) return { local: true };
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (typeof first !== 'string' || first === '') {
    throw new ShovelDefinitionError(
      field,
      `must be a URI string (or a list of them), not ${JSON.stringify(raw)}`,
    );
  }
  let url: URL;
  try {
    url = new URL(first);
  } catch {
    throw new ShovelDefinitionError(field, `${JSON.stringify(first)} is not a URI`);
  }
  const allowed =
    scheme === 'amqp' ? ['amqp:', 'amqps:'] : scheme === 'kafka' ? ['kafka:'] : ['http:', 'https:'];
  if (!allowed.includes(url.protocol)) {
    throw new ShovelDefinitionError(
      field,
      `a ${scheme} endpoint needs a ${allowed.map((p) => `${p}//`).join(' or ')} URI, not ${url.protocol}//`,
    );
  }
  if (url.hostname === '') {
    if (scheme !== 'amqp')
      throw new ShovelDefinitionError(field, 'needs a host (leave the URI out for this Pier)');
    return {
      local: true,
      ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    };
  }
  return { local: false, uri: first };
}

function positiveInteger(v: Record<string, unknown>, field: string, fallback: number): number {
  const value = v[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ShovelDefinitionError(field, `an integer >= 1, not ${JSON.stringify(value)}`);
  }
  return value;
}

function booleanOf(v: Record<string, unknown>, field: string): boolean {
  const value = v[field] ?? false;
  if (typeof value !== 'boolean')
    throw new ShovelDefinitionError(field, `true or false, not ${JSON.stringify(value)}`);
  return value;
}

function deleteAfterOf(value: unknown, field: string): DeleteAfter {
  if (value === undefined || value === 'never') return 'never';
  if (value === 'queue-length') return 'queue-length';
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return value;
  throw new ShovelDefinitionError(
    field,
    `"never", "queue-length" or a message count >= 1, not ${JSON.stringify(value)}`,
  );
}
