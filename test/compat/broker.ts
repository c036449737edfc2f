// Where the compat suite's clients connect. With PIER_COMPAT_URL set (e.g. amqp://guest:guest@127.0.0.1:5672
// for a local RabbitMQ) the suite runs against that server, which is how it is checked against the
// reference implementation; otherwise a Pier broker is started in-process on a fresh data directory and
// an ephemeral port, and closed (and its directory removed) afterwards.
import { startTestBroker } from '../helpers/broker.js';

export async function withBroker(fn: (url: string) => Promise<void>): Promise<void> {
  const external = process.env.PIER_COMPAT_URL;
  if (external) {
    await fn(external);
    return;
  }
  const broker = await startTestBroker();
  try {
    await fn(broker.url);
  } finally {
    await broker.stop();
  }
}
