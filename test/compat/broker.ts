// Where the compat suite's clients connect. With PIER_COMPAT_URL set (e.g. amqp://guest:guest@127.0.0.1:5672
// for a local RabbitMQ) the suite runs against that server, which is how it is checked against the
// reference implementation; otherwise a Pier broker is started in-process on a fresh data directory and
// an ephemeral port, and closed (and its directory removed) afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';

export async function withBroker(fn: (url: string) => Promise<void>): Promise<void> {
  const external = process.env.PIER_COMPAT_URL;
  if (external) {
    await fn(external);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'pier-compat-'));
  try {
    const broker = await startBroker({
      dataDir,
      amqpPort: 0,
      kafkaPort: false,
      sqsPort: false,
      httpPort: false,
    });
    try {
      if (!broker.amqp) throw new Error('startBroker returned no AMQP listener');
      await fn(broker.amqp.url);
    } finally {
      await broker.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
