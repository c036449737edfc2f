// DescribeConfigs v0-4, AlterConfigs v0-2 and IncrementalAlterConfigs v0-1 through the codec.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { TopicApiHarness } from './topic-api-harness.js';

const DESCRIBE_CONFIGS = 32;
const ALTER_CONFIGS = 33;
const INCREMENTAL_ALTER_CONFIGS = 44;
const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

type Entry = Record<string, unknown> & { name: string };
const byName = (configs: Entry[]) => Object.fromEntries(configs.map((c) => [c.name, c]));

describe('DescribeConfigs', () => {
  it('lists every topic config with its value and source at every version', async () => {
    const h = new TopicApiHarness();
    h.registry.create('t', 1, [{ name: 'retention.ms', value: '1000' }]);
    for (let v = 0; v <= 4; v++) {
      const answer = await h.call(DESCRIBE_CONFIGS, v, {
        resources: [{ resourceType: TOPIC, resourceName: 't', configurationKeys: null }],
        includeSynonyms: true,
        includeDocumentation: true,
      });
      const [result] = answer.results;
      assert.equal(result.errorCode, 0);
      const c = byName(result.configs);
      for (const name of [
        'retention.ms',
        'retention.bytes',
        'segment.bytes',
        'cleanup.policy',
        'max.message.bytes',
        'message.timestamp.type',
        'min.insync.replicas',
        'compression.type',
      ])
        assert.ok(c[name], `v${v} lists ${name}`);
      assert.equal(c['retention.ms']!.value, '1000');
      assert.equal(c['retention.bytes']!.value, '-1');
      assert.equal(c['max.message.bytes']!.value, '1048588');
      assert.equal(c['min.insync.replicas']!.readOnly, true);
      assert.equal(c['retention.ms']!.readOnly, false);
      if (v === 0) {
        assert.equal(c['retention.ms']!.isDefault, false);
        assert.equal(c['segment.bytes']!.isDefault, true);
      } else {
        assert.equal(c['retention.ms']!.configSource, 1);
        assert.equal(c['segment.bytes']!.configSource, 5);
        assert.deepEqual(c['retention.ms']!.synonyms, [
          { name: 'retention.ms', value: '1000', source: 1 },
          { name: 'log.retention.ms', value: '604800000', source: 5 },
        ]);
      }
      if (v >= 3) {
        assert.equal(c['retention.ms']!.configType, 5, 'LONG');
        assert.equal(c['cleanup.policy']!.configType, 7, 'LIST');
        assert.match(String(c['retention.ms']!.documentation), /older/);
      }
    }
  });

  it('filters by key, reports unknown topics, and describes the broker read-only', async () => {
    const h = new TopicApiHarness();
    h.registry.create('t', 1, []);
    const answer = await h.call(DESCRIBE_CONFIGS, 2, {
      resources: [
        { resourceType: TOPIC, resourceName: 't', configurationKeys: ['retention.ms', 'no.such.key'] },
        { resourceType: TOPIC, resourceName: 'missing', configurationKeys: null },
        { resourceType: BROKER, resourceName: '0', configurationKeys: null },
        { resourceType: BROKER, resourceName: '3', configurationKeys: null },
        { resourceType: 8, resourceName: 'x', configurationKeys: null },
      ],
    });
    const [filtered, missing, broker, otherBroker, otherType] = answer.results;
    assert.deepEqual(
      filtered.configs.map((c: Entry) => c.name),
      ['retention.ms'],
    );
    assert.equal(missing.errorCode, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(broker.errorCode, 0);
    const b = byName(broker.configs);
    assert.equal(b['broker.id']!.value, '0');
    assert.equal(b['num.partitions']!.value, '1');
    assert.equal(b['auto.create.topics.enable']!.value, 'true');
    assert.equal(b['log.retention.ms']!.value, '604800000');
    assert.equal(b['advertised.listeners']!.value, 'PLAINTEXT://broker.test:19092');
    assert.ok(broker.configs.every((c: Entry) => c.readOnly === true));
    assert.equal(otherBroker.errorCode, KafkaError.INVALID_REQUEST);
    assert.equal(otherType.errorCode, KafkaError.INVALID_REQUEST);
  });
});

describe('AlterConfigs', () => {
  it('replaces the whole set of overrides, validates, and honours validateOnly at every version', async () => {
    const h = new TopicApiHarness();
    for (let v = 0; v <= 2; v++) {
      const name = `t${v}`;
      h.registry.create(name, 1, [{ name: 'max.message.bytes', value: '5000' }]);
      const ok = await h.call(ALTER_CONFIGS, v, {
        resources: [
          { resourceType: TOPIC, resourceName: name, configs: [{ name: 'retention.ms', value: '2000' }] },
        ],
        validateOnly: false,
      });
      assert.deepEqual(ok.responses, [
        { errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: name },
      ]);
      assert.deepEqual(Object.fromEntries(h.registry.get(name)!.overrides), { 'retention.ms': '2000' });
    }
    const refused = await h.call(ALTER_CONFIGS, 1, {
      resources: [
        { resourceType: TOPIC, resourceName: 't0', configs: [{ name: 'segment.bytes', value: '1' }] },
        { resourceType: TOPIC, resourceName: 'missing', configs: [] },
        { resourceType: BROKER, resourceName: '0', configs: [{ name: 'num.partitions', value: '3' }] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(
      refused.responses.map((r: Entry) => r.errorCode),
      [KafkaError.INVALID_CONFIG, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, KafkaError.INVALID_REQUEST],
    );
    assert.match(refused.responses[0].errorMessage, /Value must be at least 14/);
    const dry = await h.call(ALTER_CONFIGS, 1, {
      resources: [
        { resourceType: TOPIC, resourceName: 't0', configs: [{ name: 'retention.ms', value: '9' }] },
      ],
      validateOnly: true,
    });
    assert.equal(dry.responses[0].errorCode, 0);
    assert.equal(h.registry.get('t0')!.config.retentionMs, 2000);
  });
});

describe('IncrementalAlterConfigs', () => {
  it('sets and deletes single configs, leaving the others', async () => {
    const h = new TopicApiHarness();
    h.registry.create('t', 1, [
      { name: 'retention.ms', value: '1000' },
      { name: 'max.message.bytes', value: '5000' },
    ]);
    for (let v = 0; v <= 1; v++) {
      const answer = await h.call(INCREMENTAL_ALTER_CONFIGS, v, {
        resources: [
          {
            resourceType: TOPIC,
            resourceName: 't',
            configs: [
              { name: 'retention.bytes', configOperation: SET, value: String(1000 + v) },
              { name: 'max.message.bytes', configOperation: DELETE, value: null },
            ],
          },
        ],
        validateOnly: false,
      });
      assert.equal(answer.responses[0].errorCode, 0);
    }
    assert.deepEqual(Object.fromEntries(h.registry.get('t')!.overrides), {
      'retention.ms': '1000',
      'retention.bytes': '1001',
    });
  });

  it('appends and subtracts only on list configs (cleanup.policy gains and loses compact)', async () => {
    const h = new TopicApiHarness();
    h.registry.create('t', 1, []);
    const alter = async (configs: unknown[]) =>
      (
        await h.call(INCREMENTAL_ALTER_CONFIGS, 1, {
          resources: [{ resourceType: TOPIC, resourceName: 't', configs }],
          validateOnly: false,
        })
      ).responses[0];
    const append = await alter([{ name: 'retention.ms', configOperation: APPEND, value: '5' }]);
    assert.deepEqual(
      [append.errorCode, append.errorMessage],
      [KafkaError.INVALID_CONFIG, 'Config value append is not allowed for config key: retention.ms'],
    );
    const compact = await alter([{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }]);
    assert.equal(compact.errorCode, 0);
    assert.equal(h.registry.get('t')!.overrides.get('cleanup.policy'), 'delete,compact');
    assert.equal(h.registry.get('t')!.config.cleanupPolicy, 'compact,delete');
    const subtract = await alter([{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'compact' }]);
    assert.equal(subtract.errorCode, 0);
    assert.equal(h.registry.get('t')!.overrides.get('cleanup.policy'), 'delete');
    const unknown = await alter([{ name: 'nope', configOperation: SET, value: '1' }]);
    assert.equal(unknown.errorCode, KafkaError.INVALID_CONFIG);
    const dup = await alter([
      { name: 'retention.ms', configOperation: SET, value: '1' },
      { name: 'retention.ms', configOperation: DELETE, value: null },
    ]);
    assert.equal(dup.errorCode, KafkaError.INVALID_REQUEST);
    const badOp = await alter([{ name: 'retention.ms', configOperation: 9, value: '1' }]);
    assert.equal(badOp.errorCode, KafkaError.INVALID_REQUEST);
  });
});
