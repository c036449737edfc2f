// Share groups' durable state (DiskShareStateStore): snapshots, configs and deletions of several
// share-partitions at once (DeleteGroups, DeleteShareGroupOffsets) come back after a reopen, also
// after the log was compacted. Torn and reordered writes: the power-cut case (test/storage/powercut).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SharePartitionSnapshot } from '../../../src/core/kafka/share-partition.js';
import { sharePartitionKey } from '../../../src/core/kafka/share-state.js';
import { GroupCommitter } from '../../../src/storage/group-commit.js';
import { DiskShareStateStore } from '../../../src/storage/kafka/disk-share-state-store.js';
import { tempDir } from '../helpers.js';

const snapshot = (start: number): SharePartitionSnapshot => ({
  startOffset: start,
  endOffset: start + 2,
  ranges: [[start, start + 1, 0, 1]],
});

for (const compactMinRecords of [10_000, 2]) {
  test(`DiskShareStateStore: a deletion of several share-partitions survives a reopen (compaction after ${compactMinRecords} records)`, async () => {
    const { dir, cleanup } = tempDir();
    const committer = new GroupCommitter({ fsync: 'always' });
    try {
      const store = DiskShareStateStore.open(dir, committer, { compactMinRecords });
      const keys = [
        sharePartitionKey('g1', 'aa', 0),
        sharePartitionKey('g1', 'aa', 1),
        sharePartitionKey('g1', 'bb', 0),
        sharePartitionKey('g2', 'aa', 0),
      ];
      for (const [i, key] of keys.entries())
        await new Promise<void>((resolve) => store.writePartition(key, snapshot(i * 10), resolve));
      await new Promise<void>((resolve) =>
        store.writeGroupConfigs('g1', { 'share.auto.offset.reset': 'earliest' }, resolve),
      );
      await new Promise<void>((resolve) => store.deletePartitions([keys[0]!, keys[1]!], resolve));
      assert.deepEqual([...store.partitions.keys()], [keys[2], keys[3]]);
      // Many more records than keys: with the low threshold the log is rewritten (one record a key).
      for (let i = 0; i < 30; i++)
        await new Promise<void>((resolve) => store.writePartition(keys[3]!, snapshot(100 + i), resolve));
      // Written again after its deletion: the newest record wins on replay.
      await new Promise<void>((resolve) => store.writePartition(keys[1]!, snapshot(77), resolve));
      store.close();

      const reopened = DiskShareStateStore.open(dir, committer, { compactMinRecords });
      assert.deepEqual(
        [...reopened.partitions].map(([k, s]) => [k, s.startOffset]).sort(),
        [
          [keys[1], 77],
          [keys[2], 20],
          [keys[3], 129],
        ].sort(),
      );
      assert.deepEqual(reopened.groupConfigs.get('g1'), { 'share.auto.offset.reset': 'earliest' });
      reopened.close();
    } finally {
      await committer.close();
      cleanup();
    }
  });
}
