// The topic registry over the real storage layer: partition logs on disk, the high watermark after
// a real fsync, DeleteRecords offsets and data across a restart, a deleted topic's files removed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DefinitionKind } from '../../../src/core/definitions.js';
import { TopicRegistry } from '../../../src/core/kafka/topic-registry.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { Storage } from '../../../src/storage/storage.js';
import { tempDir } from '../../helpers/broker.js';

/** The clock's time: batches as old as this are within retention. */
const NOW_MS = Date.UTC(2026, 0, 1);

function open(dataDir: string) {
  const storage = Storage.open({ dataDir, fsync: 'always', logger: () => {} });
  const topics = new TopicRegistry({
    clock: new ManualClock(NOW_MS),
    definitions: {
      put: (kind, key, value) => storage.definitions.put(kind as DefinitionKind, key, value),
      delete: (kind, key) => storage.definitions.delete(kind as DefinitionKind, key),
    },
    createStreamStore: (vhost, name, options) => storage.openStreamStore(vhost, name, options),
    durability: storage.committer,
    autoCreateTopics: true,
    defaultPartitions: 1,
  });
  topics.restore(storage.definitions.entries());
  return { storage, topics };
}

const durable = (storage: Storage) => new Promise<void>((resolve) => storage.committer.afterDurable(resolve));

describe('TopicRegistry on disk', () => {
  it('keeps partitions, data and DeleteRecords offsets across a restart, and removes a deleted topic', async () => {
    const dataDir = tempDir();
    try {
      let { storage, topics } = open(dataDir);
      topics.create('events', 2, [{ name: 'segment.bytes', value: '1024' }]);
      const p = topics.get('events')!.partitions[1]!;
      for (let i = 0; i < 5; i++) p.append(Buffer.alloc(300, i), 10, NOW_MS + i);
      assert.equal(p.highWatermark, 0);
      await durable(storage);
      assert.equal(p.highWatermark, 50, 'readable once fsync’d');
      p.deleteRecordsBefore(25);
      topics.create('doomed', 1, []);
      topics.get('doomed')!.partitions[0]!.append(Buffer.alloc(10), 1, NOW_MS);
      await durable(storage);
      const streamDirs = readdirSync(join(dataDir, 'streams')).length;
      topics.delete('doomed');
      assert.equal(
        readdirSync(join(dataDir, 'streams')).length,
        streamDirs - 1,
        "the deleted topic's files are gone",
      );
      topics.close();
      await storage.close();

      ({ storage, topics } = open(dataDir));
      const again = topics.get('events')!.partitions[1]!;
      assert.deepEqual(
        topics.list().map((t) => t.name),
        ['events'],
      );
      assert.equal(again.highWatermark, 50);
      assert.equal(again.logStartOffset, 25);
      assert.deepEqual(
        again.stream.readFrom(0, 10).map((e) => [e.offset, e.payload.length, e.payload[0]]),
        [
          [0, 300, 0],
          [10, 300, 1],
          [20, 300, 2],
          [30, 300, 3],
          [40, 300, 4],
        ],
      );
      // A re-created topic of a deleted name starts empty.
      topics.create('doomed', 1, []);
      assert.equal(topics.get('doomed')!.partitions[0]!.stream.nextOffset, 0);
      topics.close();
      await storage.close();
      assert.ok(existsSync(dataDir));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
