// A data directory the broker creates is readable by its owner only (it holds messages and password
// hashes); one the operator made beforehand keeps the mode the operator gave it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestBroker } from '../helpers/broker.js';

test('a new data directory is created 0700; an existing one keeps its mode', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'pier-perm-'));
  try {
    const fresh = join(parent, 'nested', 'data');
    const broker = await startTestBroker({ dataDir: fresh });
    await broker.stop();
    assert.equal(statSync(fresh).mode & 0o777, 0o700);

    const existing = join(parent, 'existing');
    mkdirSync(existing, { mode: 0o750 });
    const again = await startTestBroker({ dataDir: existing });
    await again.stop();
    assert.equal(statSync(existing).mode & 0o777, 0o750);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
