// The SQS registry's regions: queues by region and name, definitions keyed by both, and definitions
// stored before queues had regions (keyed by the bare name, no region) belonging to the default region.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { SqsQueueRegistry } from '../../../src/core/sqs/registry.js';
import { defaultQueueSettings } from '../../../src/core/sqs/settings.js';

function setup() {
  const writes: string[] = [];
  const registry = new SqsQueueRegistry({
    clock: new ManualClock(),
    accountId: '000000000000',
    region: 'us-east-1',
    definitions: {
      put: (kind, key) => writes.push(`put ${kind} ${key}`),
      delete: (kind, key) => writes.push(`delete ${kind} ${key}`),
    },
    durability: { afterDurable: (callback) => callback() },
  });
  return { registry, writes };
}

test('one name in two regions is two queues, each stored under its region', () => {
  const { registry, writes } = setup();
  const east = registry.create('q', defaultQueueSettings(false), {});
  const west = registry.create('q', defaultQueueSettings(false), {}, 'eu-west-1');
  assert.notEqual(east, west);
  assert.equal(east.arn, 'arn:aws:sqs:us-east-1:000000000000:q');
  assert.equal(west.arn, 'arn:aws:sqs:eu-west-1:000000000000:q');
  assert.equal(registry.get('q', 'eu-west-1'), west);
  assert.equal(registry.queueByArn(west.arn), west);
  assert.deepEqual(registry.list('', 'eu-west-1'), [west]);
  assert.equal(registry.list().length, 2);
  registry.delete(west);
  assert.equal(registry.get('q'), east);
  assert.deepEqual(writes, [
    'put sqs-queue us-east-1/q',
    'put sqs-queue eu-west-1/q',
    'delete sqs-queue eu-west-1/q',
    // The deleted name is kept (durably) for AWS's 60 s of QueueDeletedRecently.
    'put sqs-deleted-queue eu-west-1/q',
  ]);
});

test('a definition stored without a region belongs to the default region and keeps its key', () => {
  const { registry, writes } = setup();
  const settings = defaultQueueSettings(false);
  registry.restore([
    {
      kind: 'sqs-queue',
      key: 'old',
      value: { id: 'aa', settings, tags: {}, createdAtMs: 0, lastModifiedAtMs: 0 },
    },
    {
      kind: 'sqs-queue',
      key: 'eu-west-1/new',
      value: { id: 'bb', region: 'eu-west-1', settings, tags: {}, createdAtMs: 0, lastModifiedAtMs: 0 },
    },
  ]);
  const old = registry.get('old');
  assert.ok(old);
  assert.equal(old.arn, 'arn:aws:sqs:us-east-1:000000000000:old');
  assert.equal(registry.get('new', 'eu-west-1')?.arn, 'arn:aws:sqs:eu-west-1:000000000000:new');
  assert.equal(registry.get('new'), undefined);
  registry.tag(old, { a: 'b' });
  registry.delete(old);
  assert.deepEqual(writes, [
    'put sqs-queue old',
    'delete sqs-queue old',
    'put sqs-deleted-queue us-east-1/old',
  ]);
});
