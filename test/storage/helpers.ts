import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '../../src/core/message.js';

/** A fresh temp directory; removed by the returned cleanup. */
export function tempDir(prefix = 'pier-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function makeMessage(body: string | Buffer, persistent = true, routingKey = 'rk'): Message {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    exchange: 'amq.direct',
    routingKey,
    properties: Buffer.from([0x10, 0x00, 0x02]),
    body: b,
    bodySizeBytes: b.length,
    persistent,
    publishedAtMs: 1_700_000_000_123,
    priority: 0,
  };
}

/** Resolves after the current turn's setImmediate callbacks have run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
