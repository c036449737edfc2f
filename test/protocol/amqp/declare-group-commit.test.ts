// Durable declares from many channels at once share fdatasyncs of the definitions log (one per
// event-loop turn, not one per declare), and still no declare-ok leaves before its definition is
// on disk: the AMQP listener syncs deferred definition changes before it writes its answers.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { connect } from 'amqplib';
import type { DiskDefinitionsStore } from '../../../src/storage/disk-definitions-store.js';
import { startTestBroker } from '../../helpers/broker.js';

test('concurrent durable declares: each declare-ok follows a sync covering it; fewer syncs than declares; all survive a restart', async () => {
  const dataDir = fs.mkdtempSync('/tmp/pier-test-');
  let broker = await startTestBroker({ dataDir });
  try {
    const store = broker.core.definitions as DiskDefinitionsStore;
    // Count the definitions log's fdatasyncs and note, per queue, how many had happened when its
    // definition was written.
    let syncs = 0;
    const inner = (store as unknown as { fs: typeof fs }).fs;
    (store as unknown as { fs: unknown }).fs = {
      ...inner,
      fdatasyncSync(fd: number) {
        syncs++;
        inner.fdatasyncSync(fd);
      },
    };
    const syncsAtPut = new Map<string, number>();
    const put = store.put.bind(store);
    store.put = (kind, key, value) => {
      put(kind, key, value);
      if (kind === 'queue') syncsAtPut.set(key.split('\0').at(-1)!, syncs);
    };
    const channels = 20;
    const perChannel = 10;
    const connection = await connect(broker.url);
    const late: string[] = [];
    await Promise.all(
      Array.from({ length: channels }, async (_, c) => {
        const channel = await connection.createChannel();
        for (let i = 0; i < perChannel; i++) {
          const name = `gc-${c}-${i}`;
          await channel.assertQueue(name, { durable: true });
          // The answer arrived: a sync after the definition was written must have happened.
          if (!(syncs > (syncsAtPut.get(name) ?? Number.POSITIVE_INFINITY))) late.push(name);
        }
      }),
    );
    await connection.close();
    assert.deepEqual(late, [], 'declare-ok sent before its definition was synced');
    assert.equal(syncsAtPut.size, channels * perChannel);
    assert.ok(
      syncs < channels * perChannel,
      `${syncs} syncs for ${channels * perChannel} declares: not grouped`,
    );

    await broker.close();
    broker = await startTestBroker({ dataDir });
    const again = await connect(broker.url);
    const channel = await again.createChannel();
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < perChannel; i++) await channel.checkQueue(`gc-${c}-${i}`);
    await again.close();
  } finally {
    await broker.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
