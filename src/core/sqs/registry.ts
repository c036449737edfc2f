import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { DefinitionWriter } from '../definitions.js';
import type { DurabilityBarrier } from '../durability.js';
import { SqsCoreError } from './errors.js';
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
  readonly region: string;
  /** Durable stores; undefined = memory only (no storage). */
  readonly storage?: SqsStorage | undefined;
  readonly definitions: DefinitionWriter;
  /** Answers to sends wait on it (group commit); resolves at once without storage. */
  readonly durability: DurabilityBarrier;
}

/** A queue's bookkeeping beyond its settings. */
export interface SqsQueueInfo {
  readonly createdAtMs: number;
  readonly lastModifiedAtMs: number;
  readonly tags: Readonly<Record<string, string>>;
}

/** What the definitions store keeps per queue (kind 'sqs-queue', key = name). */
interface StoredSqsQueue {
  id: string;
  settings: SqsQueueSettings;
  tags: Record<string, string>;
  createdAtMs: number;
  lastModifiedAtMs: number;
}

const DEFINITION_KIND = 'sqs-queue';

/**
 * AWS refuses to create a queue under the name of one deleted less than 60 s ago (AWS docs,
 * DeleteQueue: "When you delete a queue, you must wait at least 60 seconds before creating a queue
 * with the same name"; CreateQueue's error QueueDeletedRecently in the Smithy model). Remembered in
 * memory: a restart forgets it.
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
  private readonly clock: Clock;
  private readonly storage: SqsStorage | undefined;
  private readonly definitions: DefinitionWriter;
  private readonly queues = new Map<string, SqsQueue>();
  private readonly infos = new Map<SqsQueue, StoredSqsQueue>();
  private readonly moveTasks: SqsMoveTasks;
  private readonly arnPrefix: string;
  /** When each recently deleted queue name was deleted. */
  private readonly deletedAtMs = new Map<string, number>();

  constructor(options: SqsRegistryOptions) {
    this.clock = options.clock;
    this.accountId = options.accountId;
    this.region = options.region;
    this.storage = options.storage;
    this.definitions = options.definitions;
    this.durability = options.durability;
    this.arnPrefix = `arn:aws:sqs:${options.region}:${options.accountId}:`;
    this.moveTasks = new SqsMoveTasks(this.clock, { queueByArn: (arn) => this.queueByArn(arn) });
  }

  arnOf(queueName: string): string {
    return this.arnPrefix + queueName;
  }

  queueNameOfArn(arn: string): string | undefined {
    return arn.startsWith(this.arnPrefix) ? arn.slice(this.arnPrefix.length) : undefined;
  }

  queueByArn(arn: string): SqsQueue | undefined {
    const name = this.queueNameOfArn(arn);
    return name === undefined ? undefined : this.queues.get(name);
  }

  restore(entries: Iterable<{ kind: string; key: string; value: unknown }>): void {
    const keep = new Set<string>();
    for (const entry of entries) {
      if (entry.kind !== DEFINITION_KIND) continue;
      const stored = entry.value as StoredSqsQueue;
      keep.add(stored.id);
      this.open(entry.key, stored);
    }
    this.storage?.removeOrphans(keep);
  }

  get(queueName: string): SqsQueue | undefined {
    return this.queues.get(queueName);
  }

  require(queueName: string): SqsQueue {
    const queue = this.queues.get(queueName);
    if (!queue) throw new SqsCoreError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  info(queue: SqsQueue): SqsQueueInfo {
    const stored = this.infos.get(queue);
    if (!stored) throw new SqsCoreError('QueueDoesNotExist', 'The specified queue does not exist.');
    return stored;
  }

  create(queueName: string, settings: SqsQueueSettings, tags: Readonly<Record<string, string>>): SqsQueue {
    const nowMs = this.clock.now();
    for (const [name, atMs] of this.deletedAtMs) {
      if (nowMs - atMs >= QUEUE_REUSE_DELAY_MS) this.deletedAtMs.delete(name);
    }
    if (this.deletedAtMs.has(queueName)) {
      throw new SqsCoreError(
        'QueueDeletedRecently',
        'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
      );
    }
    this.checkRedrive(queueName, settings);
    const stored: StoredSqsQueue = {
      id: randomBytes(8).toString('hex'),
      settings,
      tags: { ...tags },
      createdAtMs: nowMs,
      lastModifiedAtMs: nowMs,
    };
    const queue = this.open(queueName, stored);
    this.definitions.put(DEFINITION_KIND, queueName, stored);
    return queue;
  }

  updateSettings(queue: SqsQueue, settings: SqsQueueSettings): void {
    const stored = this.info(queue) as StoredSqsQueue;
    this.checkRedrive(queue.name, settings);
    stored.settings = settings;
    stored.lastModifiedAtMs = this.clock.now();
    queue.applySettings(settings);
    this.definitions.put(DEFINITION_KIND, queue.name, stored);
  }

  tag(queue: SqsQueue, tags: Readonly<Record<string, string>>): void {
    const stored = this.info(queue) as StoredSqsQueue;
    stored.tags = { ...stored.tags, ...tags };
    this.definitions.put(DEFINITION_KIND, queue.name, stored);
  }

  untag(queue: SqsQueue, keys: readonly string[]): void {
    const stored = this.info(queue) as StoredSqsQueue;
    const tags = { ...stored.tags };
    for (const key of keys) delete tags[key];
    stored.tags = tags;
    this.definitions.put(DEFINITION_KIND, queue.name, stored);
  }

  delete(queue: SqsQueue): void {
    if (this.queues.get(queue.name) !== queue) return;
    this.queues.delete(queue.name);
    this.infos.delete(queue);
    this.definitions.delete(DEFINITION_KIND, queue.name);
    this.deletedAtMs.set(queue.name, this.clock.now());
    queue.destroy();
  }

  list(prefix = ''): SqsQueue[] {
    return [...this.queues.values()]
      .filter((queue) => queue.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  deadLetterSourcesOf(deadLetterQueue: SqsQueue): SqsQueue[] {
    return this.list().filter(
      (queue) => queue.settings.redrivePolicy?.deadLetterTargetArn === deadLetterQueue.arn,
    );
  }

  startMoveTask(sourceArn: string, destinationArn?: string, maxPerSecond?: number): string {
    const source = this.queueByArn(sourceArn);
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
      destination = this.queueByArn(destinationArn);
      if (!destination) {
        throw new SqsCoreError(
          'ResourceNotFoundException',
          "The resource that you specified for the DestinationArn parameter doesn't exist.",
        );
      }
    }
    return this.moveTasks.start(source, destination, maxPerSecond);
  }

  listMoveTasks(sourceArn: string, maxResults: number): SqsMoveTaskInfo[] {
    if (!this.queueByArn(sourceArn)) {
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
  }

  private open(queueName: string, stored: StoredSqsQueue): SqsQueue {
    const queue = new SqsQueue({
      id: stored.id,
      name: queueName,
      arn: this.arnOf(queueName),
      settings: stored.settings,
      host: { clock: this.clock, deadLetter: (source, message) => this.deadLetter(source, message) },
      store: this.storage?.openMessageStore(stored.id),
      dedupStore: stored.settings.fifoQueue ? this.storage?.openDedupStore(stored.id) : undefined,
    });
    this.queues.set(queueName, queue);
    this.infos.set(queue, stored);
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
  private checkRedrive(queueName: string, settings: SqsQueueSettings): void {
    const policy = settings.redrivePolicy;
    if (!policy) return;
    const invalid = (reason: string) =>
      new SqsCoreError(
        'InvalidParameterValue',
        `Value ${settings.redrivePolicyText ?? JSON.stringify(policy)} for parameter RedrivePolicy is invalid. Reason: ${reason}`,
      );
    const target = this.queueByArn(policy.deadLetterTargetArn);
    if (!target) throw invalid('Dead letter target does not exist.');
    if (target.isFifo !== settings.fifoQueue) {
      throw invalid('Dead-letter target must be the same type of queue (standard or FIFO) as the source.');
    }
    const allow = target.settings.redriveAllowPolicy;
    if (!allow || allow.redrivePermission === 'allowAll') return;
    const sourceArn = this.arnOf(queueName);
    if (allow.redrivePermission === 'denyAll' || !(allow.sourceQueueArns ?? []).includes(sourceArn)) {
      throw invalid(`Queue ${target.arn} does not allow ${sourceArn} to use it as a dead-letter queue.`);
    }
  }
}
