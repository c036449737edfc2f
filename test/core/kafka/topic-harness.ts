// A TopicRegistry over memory stores that outlive the registry (a "disk"), a definitions map and a
// durability barrier the test releases by hand: restarts and fsyncs without files.

import { TopicRegistry, type TopicRegistryOptions } from '../../../src/core/kafka/topic-registry.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { MemoryStreamStore } from '../../../src/core/stream/memory-stream-store.js';
import type { StreamStoreOptions } from '../../../src/core/stream/stream-store.js';

export class TopicHarness {
  readonly clock = new ManualClock();
  /** Stream stores by store name, as a disk would keep them across restarts. */
  readonly stores = new Map<string, MemoryStreamStore>();
  /** Stored definitions by `kind\0key`, JSON round-tripped as the definitions log does. */
  readonly definitions = new Map<string, { kind: string; key: string; value: unknown }>();
  /** afterDurable callbacks waiting for the next "fsync". */
  private pending: Array<() => void> = [];
  registry: TopicRegistry;

  constructor(private readonly options: Partial<TopicRegistryOptions> = {}) {
    this.registry = this.open();
  }

  /** Runs the callbacks of every write made so far, as a completed group commit does. */
  fsync(): void {
    for (const callback of this.pending.splice(0)) callback();
  }

  get pendingDurable(): number {
    return this.pending.length;
  }

  /** Closes the registry (unsynced writes are kept, as recovery would find them) and opens a new one. */
  restart(): TopicRegistry {
    this.registry.close();
    this.pending = [];
    this.registry = this.open();
    this.registry.restore([...this.definitions.values()]);
    return this.registry;
  }

  private open(): TopicRegistry {
    const stores = this.stores;
    const defs = this.definitions;
    return new TopicRegistry({
      clock: this.clock,
      definitions: {
        put: (kind, key, value) =>
          defs.set(`${kind}\0${key}`, { kind, key, value: JSON.parse(JSON.stringify(value)) }),
        delete: (kind, key) => defs.delete(`${kind}\0${key}`),
      },
      createStreamStore: (_vhost: string, name: string, storeOptions: StreamStoreOptions) => {
        let store = stores.get(name);
        if (!store) {
          store = new (class extends MemoryStreamStore {
            override destroy(): void {
              super.destroy();
              stores.delete(name);
            }
          })(storeOptions);
          stores.set(name, store);
        }
        return store;
      },
      durability: { afterDurable: (callback) => this.pending.push(callback) },
      autoCreateTopics: true,
      defaultPartitions: 1,
      retentionIntervalMs: 1000,
      ...this.options,
    });
  }
}
