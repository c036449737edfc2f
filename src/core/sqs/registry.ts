import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { DefinitionWriter } from '../definitions.js';
import type { DurabilityBarrier } from '../durability.js';
import { SqsCoreError } from './errors.js';
import { DEFAULT_SQS_MEMORY_WINDOW_BYTES, SqsMemoryWindow } from './memory-window.js';
import type { SqsMessage } from './message.js';
import { type SqsMoveTaskInfo, SqsMoveTasks } from './move-tasks.js';
import { SqsQueue } from './queue.js';
import type { SqsQueueSettings } from './settings.js';
import type { SqsStorage } from './store.js';

export type { SqsMoveTaskInfo } from './move-tasks.js';

export interface SqsRegistryOptions {
  readonly clock: Clock;
  /** The 12-digit account id in queue URLs and ARNs. */
  readonly accountId: string;
  /** The default region: queues of requests that name no other, and of definitions stored without one. */
  readonly region: string;
  /** Durable stores; undefined = memory only (no storage). */
  readonly storage?: SqsStorage | undefined;
  readonly definitions: DefinitionWriter;
  /** Answers to sends wait on it (group commit); resolves at once without storage. */
  readonly durability: DurabilityBarrier;
  /** Message content of durable queues held in memory (default DEFAULT_SQS_MEMORY_WINDOW_BYTES). */
  readonly memoryWindowBytes?: number | undefined;
}

/** A queue's bookkeeping beyond its settings. */
export interface SqsQueueInfo {
  readonly createdAtMs: number;
  readonly lastModifiedAtMs: number;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * What the definitions store keeps per queue (kind 'sqs-queue'). The key is `<region>/<name>` (a
 * queue name never contains '/'); definitions written before queues had regions are keyed by the
 * bare name, carry no region and belong to the default region; they keep their key.
 */
interface StoredSqsQueue {
  id: string;
  region?: string;
  settings: SqsQueueSettings;
  tags: Record<string, string>;
  createdAtMs: number;
  lastModifiedAtMs: number;
}

const DEFINITION_KIND = 'sqs-queue';
/** A deleted queue's name, kept (durably, so a restart does not forget it) while it may not be reused. */
const DELETED_KIND = 'sqs-deleted-queue';

/**
 * AWS refuses to create a queue under the name of one deleted less than 60 s ago (AWS docs,
 * DeleteQueue: "When you delete a queue, you must wait at least 60 seconds before creating a queue
 * with the same name"; CreateQueue's error QueueDeletedRecently in the Smithy model). Kept in the
 * definitions store so a restart inside the 60 s still refuses the name.
 */
const QUEUE_REUSE_DELAY_MS = 60_000;

/**
 * The SQS queues of the broker, by name, with their definitions (settings, tags, timestamps) kept
 * in the definitions store, dead-letter relations (redrive on receive, RedriveAllowPolicy), and
 * message move tasks.
 */
export class SqsQueueRegistry {
  readonly accountId: string;
  readonly region: string;
  readonly durability: DurabilityBarrier;
  /** Message content in memory, all queues (durable queues page beyond its limit). */
  readonly memory: SqsMemoryWindow;
  private readonly clock: Clock;
  private readonly storage: SqsStorage | undefined;
  private readonly definitions: DefinitionWriter;
  /** By `<region>/<name>`: AWS regions are separate, so one name may be two queues. */
  private readonly queues = new Map<string, SqsQueue>();
  private readonly infos = new Map<SqsQueue, StoredSqsQueue>();
  /** Each queue's region and the key of its definition. */
  private readonly places = new Map<SqsQueue, { region: string; key: string }>();
  private readonly moveTasks: SqsMoveTasks;
  /** When each recently deleted queue (`<region>/<name>`) was deleted. */
  private readonly deletedAtMs = new Map<string, number>();

  constructor(options: SqsRegistryOptions) {
    this.clock = options.clock;
    this.accountId = options.accountId;
    this.region = options.region;
    this.storage = options.storage;
    this.definitions = options.definitions;
    this.durability = options.durability;
    this.memory = new SqsMemoryWindow(options.memoryWindowBytes ?? DEFAULT_SQS_MEMORY_WINDOW_BYTES);
    this.moveTasks = new SqsMoveTasks(this.clock, { queueByArn: (arn) => this.queueByArn(arn) });
  }

  /** `arn:aws:sqs:<region>:<account>:<name>`. */
  arnOf(queueName: string, region = this.region): string {
    return `arn:aws:sqs:${region}:${this.accountId}:${queueName}`;
  }

  /** The region and name of one of this account's queue ARNs; undefined for any other text. */
  parseArn(arn: string): { region: string; name: string } | undefined {
    const parts = arn.split(':');
    if (parts.length !== 6 || parts[0] !== 'arn' || parts[1] !== 'aws' || parts[2] !== 'sqs')
      return undefined;
    if (parts[4] !== this.accountId || !parts[3] || !parts[5]) return undefined;
    return { region: parts[3], name: parts[5] };
  }

  queueNameOfArn(arn: string): string | undefined {
    return this.parseArn(arn)?.name;
  }

  queueByArn(arn: string): SqsQueue | undefined {
    const parsed = this.parseArn(arn);
    return parsed === undefined ? undefined : this.get(parsed.name, parsed.region);
  }

  restore(entries: Iterable<{ kind: string; key: string; value: unknown }>): void {
    const keep = new Set<string>();
    for (const entry of entries) {
      if (entry.kind === DELETED_KIND) {
        this.deletedAtMs.set(entry.key, (entry.value as { deletedAtMs: number }).deletedAtMs);
        continue;
      }
      if (entry.kind !== DEFINITION_KIND) continue;
      const stored = entry.value as StoredSqsQueue;
      keep.add(stored.id);
      const slash = entry.key.indexOf('/');
      const name = slash === -1 ? entry.key : entry.key.slice(slash + 1);
      // Stored before regions: the default region's, from now on for good.
      stored.region ??= this.region;
      this.open(name, stored, entry.key);
    }
    this.storage?.removeOrphans(keep);
  }

  get(queueName: string, region = this.region): SqsQueue | undefined {
    return this.queues.get(placeKey(region, queueName));
  }

  require(queueName: string, region = this.region): SqsQueue {
    const queue = this.get(queueName, region);
    if (!queue) throw new SqsCoreError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  /** The region a queue belongs to. */
  regionOf(queue: SqsQueue): string {
    return this.places.get(queue)?.region ?? this.region;
  }

  info(queue: SqsQueue): SqsQueueInfo {
    const stored = this.infos.get(queue);
    if (!stored) throw new SqsCoreError('QueueDoesNotExist', 'The specified queue does not exist.');
    return stored;
  }

  create(
    queueName: string,
    settings: SqsQueueSettings,
    tags: Readonly<Record<string, string>>,
    region = this.region,
  ): SqsQueue {
    const nowMs = this.clock.now();
    for (const [key, atMs] of this.deletedAtMs) {
      if (nowMs - atMs < QUEUE_REUSE_DELAY_MS) continue;
      this.deletedAtMs.delete(key);
      this.definitions.delete(DELETED_KIND, key);
    }
    const key = placeKey(region, queueName);
    if (this.deletedAtMs.has(key)) {
      throw new SqsCoreError(
        'QueueDeletedRecently',
        'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
      );
    }
    this.checkRedrive(queueName, region, settings);
    const stored: StoredSqsQueue = {
      id: randomBytes(8).toString('hex'),
      region,
      settings,
      tags: { ...tags },
      createdAtMs: nowMs,
      lastModifiedAtMs: nowMs,
    };
    const queue = this.open(queueName, stored, key);
    this.definitions.put(DEFINITION_KIND, key, stored);
    return queue;
  }

  updateSettings(queue: SqsQueue, settings: SqsQueueSettings): void {
    const stored = this.info(queue) as StoredSqsQueue;
    this.checkRedrive(queue.name, this.regionOf(queue), settings);
    stored.settings = settings;
    stored.lastModifiedAtMs = this.clock.now();
    queue.applySettings(settings);
    this.definitions.put(DEFINITION_KIND, this.definitionKey(queue), stored);
  }

  tag(queue: SqsQueue, tags: Readonly<Record<string, string>>): void {
    const stored = this.info(queue) as StoredSqsQueue;
    stored.tags = { ...stored.tags, ...tags };
    this.definitions.put(DEFINITION_KIND, this.definitionKey(queue), stored);
  }

  untag(queue: SqsQueue, keys: readonly string[]): void {
    const stored = this.info(queue) as StoredSqsQueue;
    const tags = { ...stored.tags };
    for (const key of keys) delete tags[key];
    stored.tags = tags;
    this.definitions.put(DEFINITION_KIND, this.definitionKey(queue), stored);
  }

  delete(queue: SqsQueue): void {
    const place = this.places.get(queue);
    if (!place) return;
    const key = placeKey(place.region, queue.name);
    if (this.queues.get(key) !== queue) return;
    this.queues.delete(key);
    this.infos.delete(queue);
    this.places.delete(queue);
    this.definitions.delete(DEFINITION_KIND, place.key);
    const deletedAtMs = this.clock.now();
    this.deletedAtMs.set(key, deletedAtMs);
    this.definitions.put(DELETED_KIND, key, { deletedAtMs });
    queue.destroy();
  }

  /** The queues whose name starts with prefix, by name: of one region, or of all when region is undefined. */
  list(prefix = '', region?: string): SqsQueue[] {
    return [...this.queues.values()]
      .filter((queue) => queue.name.startsWith(prefix))
      .filter((queue) => region === undefined || this.regionOf(queue) === region)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  deadLetterSourcesOf(deadLetterQueue: SqsQueue): SqsQueue[] {
    return this.list().filter(
      (queue) => queue.settings.redrivePolicy?.deadLetterTargetArn === deadLetterQueue.arn,
    );
  }

  /**
   * Starts a message move task. With a region, the ARNs must name queues of that region: AWS regions
   * are separate, so another region's queue is not found.
   */
  startMoveTask(sourceArn: string, destinationArn?: string, maxPerSecond?: number, region?: string): string {
    const source = this.queueInRegion(sourceArn, region);
    if (!source) {
      throw new SqsCoreError(
        'ResourceNotFoundException',
        "The resource that you specified for the SourceArn parameter doesn't exist.",
      );
    }
    if (this.deadLetterSourcesOf(source).length === 0) {
      throw new SqsCoreError(
        'InvalidParameterValue',
        'Source queue must be configured as a Dead Letter Queue.',
      );
    }
    let destination: SqsQueue | undefined;
    if (destinationArn !== undefined) {
      destination = this.queueInRegion(destinationArn, region);
      if (!destination) {
        throw new SqsCoreError(
          'ResourceNotFoundException',
          "The resource that you specified for the DestinationArn parameter doesn't exist.",
        );
      }
    }
    return this.moveTasks.start(source, destination, maxPerSecond);
  }

  listMoveTasks(sourceArn: string, maxResults: number, region?: string): SqsMoveTaskInfo[] {
    if (!this.queueInRegion(sourceArn, region)) {
      throw new SqsCoreError(
        'ResourceNotFoundException',
        "The resource that you specified for the SourceArn parameter doesn't exist.",
      );
    }
    return this.moveTasks.list(sourceArn, maxResults);
  }

  cancelMoveTask(taskHandle: string): number {
    return this.moveTasks.cancel(taskHandle);
  }

  close(): void {
    this.moveTasks.stopAll('The broker shut down.');
    for (const queue of this.queues.values()) queue.close();
    this.queues.clear();
    this.infos.clear();
    this.places.clear();
  }

  private queueInRegion(arn: string, region: string | undefined): SqsQueue | undefined {
    const queue = this.queueByArn(arn);
    return queue && (region === undefined || this.regionOf(queue) === region) ? queue : undefined;
  }

  private definitionKey(queue: SqsQueue): string {
    return this.places.get(queue)?.key ?? placeKey(this.regionOf(queue), queue.name);
  }

  private open(queueName: string, stored: StoredSqsQueue, key: string): SqsQueue {
    const region = stored.region ?? this.region;
    const queue = new SqsQueue({
      id: stored.id,
      name: queueName,
      arn: this.arnOf(queueName, region),
      settings: stored.settings,
      host: {
        clock: this.clock,
        deadLetter: (source, message) => this.deadLetter(source, message),
        memory: this.memory,
      },
      store: this.storage?.openMessageStore(stored.id),
      dedupStore: stored.settings.fifoQueue ? this.storage?.openDedupStore(stored.id) : undefined,
    });
    this.queues.set(placeKey(region, queueName), queue);
    this.infos.set(queue, stored);
    this.places.set(queue, { region, key });
    return queue;
  }

  private deadLetter(source: SqsQueue, message: SqsMessage): boolean {
    const arn = source.settings.redrivePolicy?.deadLetterTargetArn;
    const target = arn === undefined ? undefined : this.queueByArn(arn);
    if (!target || target === source) return false;
    target.sendCopy(message, source.arn);
    return true;
  }

  /** A RedrivePolicy must name an existing dead-letter queue whose RedriveAllowPolicy admits this queue. */
  private checkRedrive(queueName: string, region: string, settings: SqsQueueSettings): void {
    const policy = settings.redrivePolicy;
    if (!policy) return;
    const invalid = (reason: string) =>
      new SqsCoreError(
        'InvalidParameterValue',
        `Value ${settings.redrivePolicyText ?? JSON.stringify(policy)} for parameter RedrivePolicy is invalid. Reason: ${reason}`,
      );
    const target = this.queueByArn(policy.deadLetterTargetArn);
    // AWS regions are separate: another region's queue is, seen from this one, no queue at all.
    if (!target || this.regionOf(target) !== region) throw invalid('Dead letter target does not exist.');
    if (target.isFifo !== settings.fifoQueue) {
      throw invalid('Dead-letter target must be the same type of queue (standard or FIFO) as the source.');
    }
    const allow = target.settings.redriveAllowPolicy;
    if (!allow || allow.redrivePermission === 'allowAll') return;
    const sourceArn = this.arnOf(queueName, region);
    if (allow.redrivePermission === 'denyAll' || !(allow.sourceQueueArns ?? []).includes(sourceArn)) {
      throw invalid(`Queue ${target.arn} does not allow ${sourceArn} to use it as a dead-letter queue.`);
    }
  }
}

function placeKey(region: string, queueName: string): string {
  return `${region}/${queueName}`;
}
