/** The control socket protocol: newline-delimited JSON, answered in order; its failure modes. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlSocket, controlSocketPath } from '../../src/admin/control-socket.js';
import { startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';

/** Sends raw text and resolves with the first `lines` answer lines, parsed. */
function exchange(path: string, text: string, lines: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const parts = received.split('\n');
      if (parts.length > lines) {
        socket.destroy();
        resolve(parts.slice(0, lines).map((line) => JSON.parse(line)));
      }
    });
    socket.on('error', reject);
  });
}

describe('control socket', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    await broker.stop();
  });

  it('answers each request line in order, including several in one write', async () => {
    const path = controlSocketPath(broker.dataDir);
    const answers = await exchange(
      path,
      `${JSON.stringify({ command: 'vhost.add', args: { name: 'a' } })}\n${JSON.stringify({ command: 'vhost.list' })}\n`,
      2,
    );
    assert.deepEqual(answers, [
      { ok: true, result: null },
      { ok: true, result: [{ name: '/' }, { name: 'a' }] },
    ]);
    assert.ok(broker.core.vhosts.has('a'), 'applied to the running broker');
  });

  it('bad requests get an error answer and the connection stays usable', async () => {
    const answers = await exchange(
      controlSocketPath(broker.dataDir),
      `not json\n{"command":"user.explode"}\n{"command":"user.add","args":{"name":5}}\n{"command":"user.list"}\n`,
      4,
    );
    assert.deepEqual(answers[0], { ok: false, error: 'request is not valid JSON', kind: 'bad-request' });
    assert.match((answers[1] as { error: string }).error, /unknown command 'user.explode'; known: user.add/);
    assert.deepEqual(answers[2], {
      ok: false,
      error: "argument 'name' must be a string",
      kind: 'bad-request',
    });
    assert.equal((answers[3] as { ok: boolean }).ok, true);
  });

  it('a data directory too deep for a Unix socket path: the broker logs why and runs without it', async () => {
    const root = tempDir();
    try {
      const deep = join(root, 'x'.repeat(60), 'y'.repeat(60));
      mkdirSync(deep, { recursive: true });
      const lines: string[] = [];
      const control = await ControlSocket.start(
        deep,
        () => null,
        (line) => lines.push(line),
      );
      assert.equal(control, undefined);
      assert.match(
        lines.join('\n'),
        /longer than the 107 bytes a Unix socket allows; use a shorter --data-dir/,
      );
      assert.equal(existsSync(controlSocketPath(deep)), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('is removed when the broker closes', async () => {
    const other = await startTestBroker();
    const path = controlSocketPath(other.dataDir);
    assert.ok(existsSync(path));
    await other.close();
    assert.equal(existsSync(path), false);
    rmSync(other.dataDir, { recursive: true, force: true });
  });
});
