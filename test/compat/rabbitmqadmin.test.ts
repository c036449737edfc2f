// Debian's rabbitmqadmin (the python management CLI shipped with rabbitmq-server, run unchanged with
// /usr/bin/python3) against Pier's management API: list, show overview, declare, publish, get,
// purge, export and import; channels, parameters, operator policies and vhost limits. Skipped when /usr/bin/rabbitmqadmin is not installed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { startTestBroker, tempDir } from '../helpers/broker.js';

const RABBITMQADMIN = '/usr/bin/rabbitmqadmin';
const run = promisify(execFile);

test('rabbitmqadmin against Pier', {
  skip: !existsSync(RABBITMQADMIN) && `${RABBITMQADMIN} is not installed`,
}, async (t) => {
  const broker = await startTestBroker({ httpPort: 0 });
  const admin = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('/usr/bin/python3', [
      RABBITMQADMIN,
      '-H',
      broker.http!.host,
      '-P',
      String(broker.http!.port),
      ...args,
    ]);
    return stdout;
  };
  const rows = (out: string) => JSON.parse(out) as Array<Record<string, unknown>>;
  try {
    await t.test('show overview', async () => {
      const out = await admin('show', 'overview');
      assert.match(out, /rabbitmq_version/);
      assert.match(out, /3\.10\.8/);
    });
    await t.test('declare queue, exchange and binding; list them', async () => {
      assert.match(await admin('declare', 'queue', 'name=cq', 'durable=true'), /queue declared/);
      assert.match(await admin('declare', 'exchange', 'name=cx', 'type=direct'), /exchange declared/);
      assert.match(
        await admin('declare', 'binding', 'source=cx', 'destination=cq', 'routing_key=k'),
        /binding declared/,
      );
      const queues = rows(await admin('-f', 'raw_json', 'list', 'queues'));
      assert.deepEqual(
        queues.map((q) => [q.name, q.messages]),
        [['cq', 0]],
      );
      assert.match(await admin('list', 'queues'), /\| cq +\| 0 +\|/);
      const bindings = rows(await admin('-f', 'raw_json', 'list', 'bindings'));
      assert.ok(bindings.some((b) => b.source === 'cx' && b.destination === 'cq' && b.routing_key === 'k'));
      assert.ok(rows(await admin('-f', 'raw_json', 'list', 'exchanges')).some((x) => x.name === 'cx'));
    });
    await t.test('publish and get', async () => {
      assert.match(
        await admin('publish', 'exchange=cx', 'routing_key=k', 'payload=hello admin'),
        /Message published/,
      );
      assert.match(
        await admin('publish', 'exchange=cx', 'routing_key=zz', 'payload=lost'),
        /Message published but NOT routed/,
      );
      const got = rows(await admin('-f', 'raw_json', 'get', 'queue=cq', 'ackmode=ack_requeue_true'));
      assert.equal(got[0]!.payload, 'hello admin');
      assert.equal(got[0]!.routing_key, 'k');
      assert.equal(broker.core.vhosts.get('/')!.queues.get('cq')!.messageCount, 1);
    });
    await t.test('purge queue', async () => {
      assert.match(await admin('purge', 'queue', 'name=cq'), /queue purged/);
      assert.equal(broker.core.vhosts.get('/')!.queues.get('cq')!.messageCount, 0);
    });
    await t.test('export and import', async () => {
      const dir = tempDir();
      const file = join(dir, 'defs.json');
      assert.match(await admin('export', file), /Exported definitions/);
      const defs = JSON.parse(readFileSync(file, 'utf8'));
      assert.ok(defs.queues.some((q: { name: string }) => q.name === 'cq'));
      defs.queues.push({ name: 'imported', vhost: '/', durable: true, auto_delete: false, arguments: {} });
      writeFileSync(file, JSON.stringify(defs));
      assert.match(await admin('import', file), /Uploaded definitions/);
      assert.ok(broker.core.vhosts.get('/')!.queues.has('imported'));
    });
    await t.test('list channels', async () => {
      const conn = await connect(broker.url);
      const ch = await conn.createConfirmChannel();
      await ch.prefetch(11);
      try {
        const channels = rows(await admin('-f', 'raw_json', 'list', 'channels'));
        assert.equal(channels.length, 1);
        assert.equal(channels[0]!.prefetch_count, 11);
        assert.equal(channels[0]!.confirm, true);
        assert.match(await admin('list', 'channels', 'name', 'prefetch_count'), /\(1\) +\| 11 +\|/);
      } finally {
        await conn.close();
      }
    });
    await t.test('parameters, operator policies and vhost limits', async () => {
      assert.match(
        await admin(
          'declare',
          'parameter',
          'component=shovel',
          'name=sh',
          'value={"src-queue":"a","dest-queue":"b"}',
        ),
        /parameter declared/,
      );
      assert.match(
        await admin(
          'declare',
          'operator_policy',
          'name=cap',
          'pattern=^c',
          'definition={"max-length":5}',
          'priority=2',
          'apply-to=queues',
        ),
        /operator_policy declared/,
      );
      assert.match(
        await admin('declare', 'vhost_limit', 'vhost=/', 'name=max-queues', 'value=50'),
        /vhost_limit declared/,
      );
      const parameters = rows(await admin('-f', 'raw_json', 'list', 'parameters'));
      assert.deepEqual(parameters.map((p) => [p.component, p.name]).sort(), [
        ['operator_policy', 'cap'],
        ['shovel', 'sh'],
        ['vhost-limits', 'limits'],
      ]);
      const operatorPolicies = rows(await admin('-f', 'raw_json', 'list', 'operator_policies'));
      assert.deepEqual(
        operatorPolicies.map((p) => [p.name, p.pattern, p.priority, p['apply-to'], p.definition]),
        [['cap', '^c', 2, 'queues', { 'max-length': 5 }]],
      );
      assert.deepEqual(rows(await admin('-f', 'raw_json', 'list', 'vhost_limits')), [
        { vhost: '/', value: { 'max-queues': 50 } },
      ]);
      assert.equal(
        (broker.core.vhosts.get('/')!.queues.get('cq')!.policy as { operatorPolicy?: string }).operatorPolicy,
        'cap',
      );
      assert.match(await admin('delete', 'parameter', 'component=shovel', 'name=sh'), /parameter deleted/);
      assert.match(await admin('delete', 'operator_policy', 'name=cap'), /operator_policy deleted/);
      assert.match(await admin('delete', 'vhost_limit', 'vhost=/', 'name=max-queues'), /vhost_limit deleted/);
      assert.deepEqual(rows(await admin('-f', 'raw_json', 'list', 'parameters')), []);
    });
    await t.test('delete', async () => {
      assert.match(await admin('delete', 'queue', 'name=imported'), /queue deleted/);
      assert.match(await admin('delete', 'exchange', 'name=cx'), /exchange deleted/);
      assert.equal(broker.core.vhosts.get('/')!.exchanges.has('cx'), false);
    });
  } finally {
    await broker.stop();
  }
});
