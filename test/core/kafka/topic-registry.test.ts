// The Kafka topic registry over memory stores: lifecycle, configs, retention on a manual clock,
// the high watermark behind the durability barrier, DeleteRecords, and restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopicError } from '../../../src/core/kafka/topic-error.js';
import { formatTopicId, partitionStreamName } from '../../../src/core/kafka/topic-registry.js';
import { TopicHarness } from './topic-harness.js';

const batch = (sizeBytes = 100) => Buffer.alloc(sizeBytes, 1);

function refused(code: string, message?: RegExp | string) {
  return (error: unknown) => {
    assert.ok(error instanceof TopicError, `expected a TopicError, got ${error}`);
    assert.equal(error.code, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  };
}

describe('TopicRegistry lifecycle', () => {
  it('creates topics with partitions and a random id, lists them by name, finds them by id', () => {
    const h = new TopicHarness();
    const r = h.registry;
    r.create('orders', 3, []);
    r.create('audit', 1, []);
    const orders = r.get('orders')!;
    assert.equal(orders.partitions.length, 3);
    assert.deepEqual(
      orders.partitions.map((p) => [p.topic, p.index, p.logStartOffset, p.highWatermark]),
      [
        ['orders', 0, 0, 0],
        ['orders', 1, 0, 0],
        ['orders', 2, 0, 0],
      ],
    );
    assert.equal(orders.id.length, 16);
    assert.notDeepEqual(orders.id, r.get('audit')!.id);
    assert.deepEqual(
      r.list().map((t) => t.name),
      ['audit', 'orders'],
    );
    assert.equal(r.getById(orders.id), orders);
    assert.equal(r.getById(formatTopicId(orders.id)), orders);
    assert.equal(r.partitionCount, 4);
    assert.ok(h.stores.has(partitionStreamName('orders', 2)));
  });

  it("refuses names Kafka refuses, an existing name, and a name clashing by '.' and '_'", () => {
    const r = new TopicHarness().registry;
    for (const name of ['', '.', '..', 'a'.repeat(250), 'with space', 'ümlaut', 'a/b'])
      assert.throws(() => r.create(name, 1, []), refused('INVALID_TOPIC_EXCEPTION'), JSON.stringify(name));
    r.create('a'.repeat(249), 1, []);
    r.create('my.topic', 1, []);
    assert.throws(
      () => r.create('my.topic', 1, []),
      refused('TOPIC_ALREADY_EXISTS', "Topic 'my.topic' already exists."),
    );
    assert.throws(
      () => r.create('my_topic', 1, []),
      refused('INVALID_TOPIC_EXCEPTION', "Topic 'my_topic' collides with existing topic: my.topic"),
    );
    assert.throws(() => r.create('p', 0, []), refused('INVALID_PARTITIONS'));
  });

  it('auto-creates valid names with the default partitions only when enabled', () => {
    const on = new TopicHarness({ defaultPartitions: 2 }).registry;
    assert.equal(on.getOrAutoCreate('new-topic')?.partitions.length, 2);
    assert.equal(on.getOrAutoCreate('new-topic'), on.get('new-topic'));
    assert.equal(on.getOrAutoCreate('bad name'), undefined);
    const off = new TopicHarness({ autoCreateTopics: false }).registry;
    assert.equal(off.getOrAutoCreate('new-topic'), undefined);
    assert.equal(off.list().length, 0);
  });

  it('deletes by name or id, destroying the partition data; re-creating gives a new id and empty logs', () => {
    const h = new TopicHarness();
    const r = h.registry;
    const first = r.create('t', 2, []);
    r.get('t')!.partitions[0]!.append(batch(), 5, h.clock.now());
    const woken: string[] = [];
    r.get('t')!.partitions[0]!.watchHighWatermark(() => woken.push('woken'));
    assert.equal(r.delete('t').name, 't');
    assert.deepEqual(woken, ['woken'], 'a long poll is woken to find the topic gone');
    assert.equal(r.get('t'), undefined);
    assert.equal(h.stores.size, 0);
    assert.equal(h.definitions.size, 0);
    h.fsync(); // the deleted partition's late durability callback is harmless
    assert.throws(() => r.delete('t'), refused('UNKNOWN_TOPIC_OR_PARTITION'));
    const again = r.create('t', 1, []);
    assert.notDeepEqual(again.id, first.id);
    assert.equal(r.get('t')!.partitions[0]!.stream.nextOffset, 0);
    r.delete(again.id);
    assert.equal(r.get('t'), undefined);
    assert.throws(() => r.delete(Buffer.alloc(16, 7)), refused('UNKNOWN_TOPIC_ID'));
    assert.equal(r.partitionCount, 0);
  });

  it('adds partitions, never removes them, and validate-only changes nothing', () => {
    const r = new TopicHarness().registry;
    r.create('t', 3, []);
    assert.throws(
      () => r.addPartitions('t', 2),
      refused(
        'INVALID_PARTITIONS',
        'Topic currently has 3 partitions, which is higher than the requested 2.',
      ),
    );
    assert.throws(
      () => r.addPartitions('t', 3),
      refused('INVALID_PARTITIONS', 'Topic already has 3 partitions.'),
    );
    assert.throws(() => r.addPartitions('nope', 3), refused('UNKNOWN_TOPIC_OR_PARTITION'));
    r.addPartitions('t', 5, { validateOnly: true });
    assert.equal(r.get('t')!.partitions.length, 3);
    r.addPartitions('t', 5);
    assert.deepEqual(
      r.get('t')!.partitions.map((p) => p.index),
      [0, 1, 2, 3, 4],
    );
  });

  it('bounds the total number of partitions', () => {
    const r = new TopicHarness({ maxPartitions: 4 }).registry;
    r.create('a', 3, []);
    assert.throws(() => r.create('b', 2, []), refused('INVALID_PARTITIONS', /at most 4 partitions/));
    assert.throws(() => r.addPartitions('a', 5), refused('INVALID_PARTITIONS', /at most 4 partitions/));
    assert.equal(r.getOrAutoCreate('c')?.partitions.length, 1);
    assert.equal(r.getOrAutoCreate('d'), undefined);
  });

  it('validate-only create checks everything and creates nothing', () => {
    const h = new TopicHarness();
    const summary = h.registry.create('t', 2, [{ name: 'retention.ms', value: '1000' }], {
      validateOnly: true,
    });
    assert.equal(summary.partitionCount, 2);
    assert.deepEqual([...summary.overrides], [['retention.ms', '1000']]);
    assert.equal(h.registry.get('t'), undefined);
    assert.equal(h.stores.size, 0);
    assert.throws(
      () => h.registry.create('t', 2, [{ name: 'retention.ms', value: 'x' }], { validateOnly: true }),
      refused('INVALID_CONFIG'),
    );
  });
});

describe('TopicRegistry configs', () => {
  it("validates names and values with Kafka's messages", () => {
    const r = new TopicHarness().registry;
    const create = (name: string, value: string | null) => () => r.create('t', 1, [{ name, value }]);
    assert.throws(
      create('retention.msx', '1'),
      refused('INVALID_CONFIG', 'Unknown topic config name: retention.msx'),
    );
    assert.throws(
      create('retention.ms', 'soon'),
      refused(
        'INVALID_CONFIG',
        'Invalid value soon for configuration retention.ms: Not a number of type LONG',
      ),
    );
    assert.throws(
      create('segment.bytes', '13'),
      refused(
        'INVALID_CONFIG',
        'Invalid value 13 for configuration segment.bytes: Value must be at least 14',
      ),
    );
    assert.throws(
      create('segment.bytes', '4294967296'),
      refused('INVALID_CONFIG', /Not a number of type INT/),
    );
    assert.throws(
      create('message.timestamp.type', 'Now'),
      refused('INVALID_CONFIG', /String must be one of: CreateTime, LogAppendTime/),
    );
    assert.throws(
      create('cleanup.policy', 'shred'),
      refused('INVALID_CONFIG', /String must be one of: compact, delete/),
    );
    assert.throws(create('min.insync.replicas', '2'), refused('INVALID_CONFIG', /min.insync.replicas=1/));
    assert.throws(create('compression.type', 'brotli'), refused('INVALID_CONFIG', /String must be one of/));
    assert.throws(create('retention.ms', null), refused('INVALID_CONFIG', /Null value not supported/));
    assert.throws(
      () =>
        r.create('t', 1, [
          { name: 'retention.ms', value: '1' },
          { name: 'retention.ms', value: '2' },
        ]),
      refused('INVALID_REQUEST'),
    );
    assert.equal(r.list().length, 0);
  });

  it('accepts implemented, fixed-at-default and ignored configs and derives the core config', () => {
    const r = new TopicHarness().registry;
    r.create('t', 1, [
      { name: 'retention.ms', value: ' -1 ' },
      { name: 'retention.bytes', value: '1048576' },
      { name: 'segment.bytes', value: '14' },
      { name: 'cleanup.policy', value: 'delete' },
      { name: 'max.message.bytes', value: '2000000' },
      { name: 'message.timestamp.type', value: 'LogAppendTime' },
      { name: 'min.insync.replicas', value: '1' },
      { name: 'flush.messages', value: '1' },
      { name: 'unclean.leader.election.enable', value: 'TRUE' },
    ]);
    const t = r.get('t')!;
    assert.deepEqual(t.config, {
      retentionMs: -1,
      retentionBytes: 1048576,
      segmentBytes: 14,
      segmentMs: 604800000,
      cleanupPolicy: 'delete',
      deleteRetentionMs: 86400000,
      minCleanableDirtyRatio: 0.5,
      minCompactionLagMs: 0,
      maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
      maxMessageBytes: 2000000,
      messageTimestampType: 'LogAppendTime',
    });
    // Compaction policies are accepted (log-cleaner.ts acts on them).
    r.create('c', 1, [{ name: 'cleanup.policy', value: 'delete,compact' }]);
    assert.equal(r.get('c')!.config.cleanupPolicy, 'compact,delete');
    assert.equal(t.overrides.get('retention.ms'), '-1');
    assert.equal(t.overrides.get('unclean.leader.election.enable'), 'true');
    assert.equal(r.create('d', 1, []).overrides.size, 0);
    assert.equal(r.get('d')!.config.retentionMs, 604800000);
    assert.equal(r.get('d')!.config.maxMessageBytes, 1048588);
  });

  it('alterConfigs replaces the overrides, applies retention at once and is durable', () => {
    const h = new TopicHarness();
    h.registry.create('t', 1, [
      { name: 'segment.bytes', value: '14' },
      { name: 'max.message.bytes', value: '5000' },
    ]);
    const p = h.registry.get('t')!.partitions[0]!;
    for (let i = 0; i < 4; i++) p.append(batch(), 10, h.clock.now());
    h.fsync();
    assert.equal(p.logStartOffset, 0);
    // Each 100-byte batch fills a segment (14 bytes); a 150-byte limit keeps the active one only.
    h.registry.alterConfigs('t', [
      { name: 'segment.bytes', value: '14' },
      { name: 'retention.bytes', value: '150' },
    ]);
    assert.equal(p.logStartOffset, 30);
    const t = h.registry.get('t')!;
    assert.equal(t.config.maxMessageBytes, 1048588, 'an override not named again returns to the default');
    assert.deepEqual([...t.overrides.keys()], ['segment.bytes', 'retention.bytes']);
    h.registry.alterConfigs('t', [{ name: 'retention.ms', value: '5' }], { validateOnly: true });
    assert.equal(t.config.retentionMs, 604800000);
    assert.throws(() => h.registry.alterConfigs('t', [{ name: 'x', value: '1' }]), refused('INVALID_CONFIG'));
    assert.throws(() => h.registry.alterConfigs('nope', []), refused('UNKNOWN_TOPIC_OR_PARTITION'));
    const restored = h.restart().get('t')!;
    assert.deepEqual(Object.fromEntries(restored.overrides), {
      'segment.bytes': '14',
      'retention.bytes': '150',
    });
  });
});

describe('TopicPartition', () => {
  it('appends at the stream offset and moves the high watermark only once the write is durable', () => {
    const h = new TopicHarness();
    const p = h.registry.create('t', 1, []) && h.registry.get('t')!.partitions[0]!;
    let wakes = 0;
    const stop = p.watchHighWatermark(() => wakes++);
    assert.equal(p.append(batch(), 3, h.clock.now()), 0);
    assert.equal(p.append(batch(), 2, h.clock.now()), 3);
    assert.equal(p.stream.nextOffset, 5);
    assert.equal(p.highWatermark, 0, 'not durable yet: no reader may see it');
    assert.equal(wakes, 0);
    h.fsync();
    assert.equal(p.highWatermark, 5);
    assert.equal(wakes, 2);
    stop();
    p.append(batch(), 1, h.clock.now());
    h.fsync();
    assert.equal(p.highWatermark, 6);
    assert.equal(wakes, 2, 'unsubscribed');
  });

  it('deleteRecordsBefore raises the log start offset durably, within the high watermark', () => {
    const h = new TopicHarness();
    h.registry.create('t', 2, []);
    const p = h.registry.get('t')!.partitions[1]!;
    p.append(batch(), 10, h.clock.now());
    h.fsync();
    p.append(batch(), 10, h.clock.now());
    assert.throws(() => p.deleteRecordsBefore(11), RangeError, 'beyond the high watermark');
    p.deleteRecordsBefore(7);
    assert.equal(p.logStartOffset, 7);
    p.deleteRecordsBefore(3);
    assert.equal(p.logStartOffset, 7, 'never lowered');
    const after = h.restart().get('t')!.partitions[1]!;
    assert.equal(after.logStartOffset, 7);
    assert.equal(after.highWatermark, 20, 'recovered data counts as durable');
    assert.equal(h.registry.get('t')!.partitions[0]!.logStartOffset, 0);
  });

  it('retention by age runs on the clock, deletes whole segments and moves the log start offset', () => {
    const h = new TopicHarness({ retentionIntervalMs: 1000 });
    h.registry.create('t', 1, [
      { name: 'segment.bytes', value: '14' },
      { name: 'retention.ms', value: '10000' },
    ]);
    const p = h.registry.get('t')!.partitions[0]!;
    for (let i = 0; i < 3; i++) p.append(batch(), 5, h.clock.now());
    h.clock.advance(5000);
    p.append(batch(), 5, h.clock.now());
    h.fsync();
    h.clock.advance(5000);
    assert.equal(p.logStartOffset, 0, 'the first batches are exactly 10 s old: kept');
    h.clock.advance(1000);
    assert.equal(p.logStartOffset, 15, 'older than 10 s: their segments are gone');
    assert.equal(p.stream.readFrom(0, 10)[0]!.offset, 15);
    h.clock.advance(60_000);
    assert.equal(p.logStartOffset, 15, 'the segment being written is never deleted');
    assert.equal(p.highWatermark, 20);
  });

  it('retention.ms -1 keeps records forever', () => {
    const h = new TopicHarness({ retentionIntervalMs: 1000 });
    h.registry.create('t', 1, [
      { name: 'segment.bytes', value: '14' },
      { name: 'retention.ms', value: '-1' },
    ]);
    const p = h.registry.get('t')!.partitions[0]!;
    for (let i = 0; i < 3; i++) p.append(batch(), 1, h.clock.now());
    h.clock.advance(365 * 24 * 3600_000);
    assert.equal(p.stream.firstOffset, 0);
  });
});

describe('TopicRegistry restart', () => {
  it('restores topics with their ids, partitions, configs and data from the definitions', () => {
    const h = new TopicHarness();
    h.registry.create('a', 2, [{ name: 'retention.ms', value: '3600000' }]);
    h.registry.create('b', 1, []);
    h.registry.addPartitions('b', 3);
    const ids = h.registry.list().map((t) => t.id.toString('hex'));
    h.registry.get('a')!.partitions[1]!.append(batch(), 4, h.clock.now());
    h.fsync();
    h.registry.delete('b');
    const r = h.restart();
    assert.deepEqual(
      r.list().map((t) => [t.name, t.partitions.length, t.config.retentionMs]),
      [['a', 2, 3600000]],
    );
    assert.equal(r.get('a')!.id.toString('hex'), ids[0]);
    assert.equal(r.get('a')!.partitions[1]!.highWatermark, 4);
    assert.deepEqual(r.streamKeepList(), [
      { vhost: '/', queueName: 'kafka\0a\x000' },
      { vhost: '/', queueName: 'kafka\0a\x001' },
    ]);
    // The restored topic keeps working: appends and a new topic next to it.
    assert.equal(r.get('a')!.partitions[1]!.append(batch(), 1, h.clock.now()), 4);
    r.create('b', 1, []);
    assert.equal(r.partitionCount, 3);
  });
});
