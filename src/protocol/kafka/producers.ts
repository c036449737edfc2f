/**
 * The broker's idempotent-producer bookkeeping: producer id allocation (InitProducerId) and each
 * partition's sequence state (Produce), rebuilt from the log the first time a partition is used
 * after a start (producer-state-recovery.ts).
 *
 * Producer ids are never reused across restarts: they are handed out from blocks of
 * `idBlockSize` (1,000, as Kafka's ProducerIdManager), and the end of the current block is stored
 * durably before its first id is given out. A restart skips the rest of a block.
 */
import type { Clock } from '../../core/clock.js';
import type { TopicPartition } from '../../core/kafka/topic.js';
import { PartitionProducerState, type PartitionProducerStateOptions } from './producer-state.js';
import { DEFAULT_PRODUCER_SCAN_BUDGET_BYTES, recoverProducerState } from './producer-state-recovery.js';

/** Where the end of the reserved producer-id block is kept (the broker wires the definitions store). */
export interface ProducerIdBlockStore {
  /** One past the highest id ever reserved: 0 on a new data directory. */
  readReservedUpTo(): number;
  /** Records that ids below `upTo` are reserved; durable when it returns. */
  writeReservedUpTo(upTo: number): void;
}

/** The definitions store's get/put (storage/disk-definitions-store.ts), as the id block store needs them. */
export interface MetaDefinitions {
  get(kind: 'meta', key: string): unknown;
  put(kind: 'meta', key: string, value: unknown): void;
}

const RESERVED_KEY = 'kafka.producerIdsReservedUpTo';

/** Keeps the reserved block end as a 'meta' definition (written and fdatasync'd by put()). */
export function producerIdBlockStoreIn(definitions: MetaDefinitions): ProducerIdBlockStore {
  return {
    readReservedUpTo: () => {
      const value = definitions.get('meta', RESERVED_KEY);
      return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
    },
    writeReservedUpTo: (upTo) => definitions.put('meta', RESERVED_KEY, upTo),
  };
}

/** A non-durable store (tests, brokers without a data directory). */
export class MemoryProducerIdBlockStore implements ProducerIdBlockStore {
  constructor(public reservedUpTo = 0) {}
  readReservedUpTo(): number {
    return this.reservedUpTo;
  }
  writeReservedUpTo(upTo: number): void {
    this.reservedUpTo = upTo;
  }
}

export const DEFAULT_PRODUCER_ID_BLOCK_SIZE = 1000;

export interface KafkaProducersOptions extends PartitionProducerStateOptions {
  readonly clock: Clock;
  readonly idStore: ProducerIdBlockStore;
  readonly idBlockSize?: number;
  /** How much of a partition's newest log is read to rebuild its producers after a start. */
  readonly scanBudgetBytes?: number;
}

export class KafkaProducers {
  private readonly clock: Clock;
  private readonly idStore: ProducerIdBlockStore;
  private readonly idBlockSize: number;
  private readonly scanBudgetBytes: number;
  private readonly stateOptions: PartitionProducerStateOptions;
  private nextId = 0;
  private blockEnd = 0;
  /** Keyed by the partition's stream: a deleted and re-created topic has new streams, so new state. */
  private readonly states = new WeakMap<object, PartitionProducerState>();

  constructor(options: KafkaProducersOptions) {
    this.clock = options.clock;
    this.idStore = options.idStore;
    this.idBlockSize = options.idBlockSize ?? DEFAULT_PRODUCER_ID_BLOCK_SIZE;
    this.scanBudgetBytes = options.scanBudgetBytes ?? DEFAULT_PRODUCER_SCAN_BUDGET_BYTES;
    this.stateOptions = { expirationMs: options.expirationMs, maxProducers: options.maxProducers };
  }

  /** A producer id no producer has had before, on this data directory. */
  nextProducerId(): number {
    if (this.nextId >= this.blockEnd) {
      const start = Math.max(this.blockEnd, this.idStore.readReservedUpTo());
      const end = start + this.idBlockSize;
      if (!Number.isSafeInteger(end)) throw new Error('producer ids are exhausted');
      this.idStore.writeReservedUpTo(end);
      this.nextId = start;
      this.blockEnd = end;
    }
    return this.nextId++;
  }

  /** The partition's producer state, rebuilt from its log on first use. */
  stateFor(partition: TopicPartition): PartitionProducerState {
    let state = this.states.get(partition.stream);
    if (!state) {
      state = new PartitionProducerState(this.stateOptions);
      recoverProducerState(partition, state, this.clock.now(), this.scanBudgetBytes);
      this.states.set(partition.stream, state);
    }
    return state;
  }

  /** Forgets the partition's producers whose batches all lie below its new log start. */
  logStartRaised(partition: TopicPartition): void {
    this.states.get(partition.stream)?.evictBefore(partition.logStartOffset);
  }
}
