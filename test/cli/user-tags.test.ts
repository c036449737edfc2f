// `pier user tags NAME TAGS` on a running broker: the tags decide management API access at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runPier, startTestBroker, type TestBroker } from '../helpers/broker.js';

describe('pier user tags', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ httpPort: 0 });
  });
  after(() => broker.stop());

  it('sets the tags that decide management API access', async () => {
    const overview = () =>
      fetch(`${broker.http!.url}/api/overview`, {
        headers: { authorization: `Basic ${Buffer.from('tina:pw').toString('base64')}` },
      }).then((r) => r.status);
    assert.equal((await runPier(['user', 'add', 'tina', 'pw', '--data-dir', broker.dataDir])).code, 0);
    assert.equal(await overview(), 401);
    const set = await runPier(['user', 'tags', 'tina', 'monitoring', '--data-dir', broker.dataDir]);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(broker.core.users.get('tina')!.tags, ['monitoring']);
    assert.equal(await overview(), 200);
    assert.equal((await runPier(['user', 'tags', 'tina', '', '--data-dir', broker.dataDir])).code, 0);
    assert.equal(await overview(), 401);
    const missing = await runPier(['user', 'tags', 'nobody', 'x', '--data-dir', broker.dataDir]);
    assert.notEqual(missing.code, 0);
  });
});
