// `pier handover` refusing bad input with a message that says what to do (no RabbitMQ needed):
// an unknown target, missing flags, no Pier running on the data directory, an unreachable target.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, runPier, startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';

describe('pier handover: bad input', () => {
  let pier: TestBroker;
  before(async () => {
    pier = await startTestBroker();
  });
  after(async () => {
    await pier?.stop();
  });

  it('names the targets it has and the flags it needs (exit 2)', async () => {
    const other = await runPier(['handover', 'nats', '--bootstrap', 'localhost:1']);
    assert.equal(other.code, 2);
    assert.match(
      other.stderr,
      /handover to 'nats' is not available; the targets are rabbitmq, kafka and sqs/,
    );
    const missing = await runPier(['handover', 'rabbitmq', '--amqp', 'amqp://guest:guest@127.0.0.1:1']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /needs --amqp URL and --http URL/);
    const help = await runPier(['handover', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: pier handover rabbitmq --amqp URL --http URL/);
    assert.match(help.stdout, /pier handover sqs --endpoint URL/);
    assert.match(help.stdout, /pier handover kafka --bootstrap HOST:PORT/);
  });

  it('says when no Pier runs on the data directory (exit 1)', async () => {
    const result = await runPier([
      'handover',
      'rabbitmq',
      '--amqp',
      'amqp://guest:guest@127.0.0.1:1',
      '--http',
      'http://guest:guest@127.0.0.1:1',
      '--data-dir',
      tempDir(),
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /needs a running broker and none answers/);
  });

  it('says when the target management API cannot be reached, before changing anything (exit 1)', async () => {
    const closed = await freeLoopbackPort();
    const result = await runPier([
      'handover',
      'rabbitmq',
      '--amqp',
      `amqp://guest:guest@127.0.0.1:${closed}`,
      '--http',
      `http://guest:guest@127.0.0.1:${closed}`,
      '--from',
      pier.url,
      '--data-dir',
      pier.dataDir,
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /cannot reach the target's management API at http:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/: .*is rabbitmq_management enabled there\?/,
    );
  });
});
