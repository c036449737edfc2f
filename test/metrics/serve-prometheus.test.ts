// `pier serve --prometheus-port 0` prints its listener line and answers scrapes; SIGTERM stops it.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { spawnBroker, tempDir } from '../helpers/broker.js';
import { scrape, value } from './scrape.js';

test('pier serve --prometheus-port 0: a "prometheus listening on" line, then /metrics answers', async () => {
  const dataDir = tempDir();
  const broker = await spawnBroker(dataDir, ['--prometheus-port', '0'], ['amqp', 'prometheus']);
  try {
    const { host, port } = broker.listeners.get('prometheus')!;
    assert.equal(host, '127.0.0.1');
    const s = await scrape(`http://${host}:${port}/metrics`);
    assert.equal(s.status, 200);
    assert.equal(value(s, 'rabbitmq_queues'), 0);
    assert.equal(value(s, 'rabbitmq_connections'), 0);
  } finally {
    broker.process.kill('SIGTERM');
    assert.equal(await broker.exited, 0);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
