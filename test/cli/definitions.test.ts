// `pier definitions export|import FILE` against a running broker (through its control socket): the
// export is RabbitMQ's format, and an import with a bad object fails and changes nothing.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runPier, startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';

describe('pier definitions', () => {
  let broker: TestBroker;
  let dir: string;

  before(async () => {
    broker = await startTestBroker();
    dir = tempDir();
  });
  after(() => broker.stop());

  it('exports and imports through a running broker', async () => {
    const file = join(dir, 'defs.json');
    const exported = await runPier(['definitions', 'export', file, '--data-dir', broker.dataDir]);
    assert.equal(exported.code, 0, exported.stderr);
    const defs = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(defs.users[0].hashing_algorithm, 'rabbit_password_hashing_sha256');
    defs.vhosts.push({ name: 'from-file' });
    defs.queues.push({ name: 'fq', vhost: 'from-file', durable: true, auto_delete: false, arguments: {} });
    writeFileSync(file, JSON.stringify(defs));
    const imported = await runPier(['definitions', 'import', file, '--data-dir', broker.dataDir]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.ok(broker.core.vhosts.get('from-file')?.queues.has('fq'));

    // Parameters, operator policies, limits and topic permissions travel too.
    // (in the export's order: by vhost, component, name)
    defs.parameters = [
      {
        component: 'operator_policy',
        vhost: 'from-file',
        name: 'cap',
        value: { pattern: '.*', definition: { 'max-length': 3 }, priority: 0, 'apply-to': 'queues' },
      },
      { component: 'vhost-limits', vhost: 'from-file', name: 'limits', value: { 'max-queues': 9 } },
    ];
    defs.topic_permissions = [
      { user: 'guest', vhost: 'from-file', exchange: 'amq.topic', write: '^a', read: '^b' },
    ];
    defs.global_parameters = [{ name: 'g', value: { x: 1 } }];
    writeFileSync(file, JSON.stringify(defs));
    const withParameters = await runPier(['definitions', 'import', file, '--data-dir', broker.dataDir]);
    assert.equal(withParameters.code, 0, withParameters.stderr);
    assert.equal(broker.core.vhosts.get('from-file')?.limits.maxQueues, 9);
    assert.equal(broker.core.vhosts.get('from-file')?.queues.get('fq')?.policy?.operatorPolicy, 'cap');
    const again = join(dir, 'again.json');
    assert.equal((await runPier(['definitions', 'export', again, '--data-dir', broker.dataDir])).code, 0);
    const reexported = JSON.parse(readFileSync(again, 'utf8'));
    assert.deepEqual(reexported.parameters, defs.parameters);
    assert.deepEqual(reexported.topic_permissions, defs.topic_permissions);
    assert.deepEqual(reexported.global_parameters, defs.global_parameters);

    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ vhosts: [{ name: 'never' }], queues: [{ name: 'q', vhost: 'absent' }] }),
    );
    const refused = await runPier(['definitions', 'import', bad, '--data-dir', broker.dataDir]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /vhost 'absent' does not exist/);
    assert.equal(broker.core.vhosts.has('never'), false);
  });
});
