/**
 * `pier user|vhost|permissions|policy` as an operator runs them: against a running broker (child
 * process, through its control socket) and against a stopped broker's data directory. CLI runs use
 * async child processes only (a synchronous one would block a broker in this process).
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { Storage } from '../../src/storage/storage.js';
import { type ChildBroker, runPier as pier, spawnBroker, tempDir } from '../helpers/broker.js';

/** Runs a command that must succeed; returns its stdout. */
async function ok(args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string }): Promise<string> {
  const run = await pier(args, options);
  assert.equal(run.code, 0, `pier ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
}

async function stop(broker: ChildBroker): Promise<void> {
  broker.process.kill('SIGTERM');
  assert.equal(await broker.exited, 0);
}

function amqpUrl(broker: ChildBroker, user: string, password: string, vhost = '/'): string {
  return `amqp://${user}:${password}@127.0.0.1:${broker.port}/${encodeURIComponent(vhost)}`;
}

async function canLogIn(url: string): Promise<boolean> {
  try {
    const connection = await amqp.connect(url);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

describe('pier admin commands: usage', () => {
  it('every group and command has --help naming --data-dir and its environment variable', async () => {
    for (const group of ['user', 'vhost', 'permissions', 'policy']) {
      const help = await ok([group, '--help']);
      assert.match(help, /--data-dir DIR \(env PIER_DATA_DIR, default \.\/data\)/);
    }
    const setHelp = await ok(['policy', 'set', '--help']);
    for (const flag of ['--vhost', '--priority', '--apply-to', '--data-dir', '--help'])
      assert.match(setHelp, new RegExp(flag));
    assert.match(setHelp, /PIER_VHOST/);
    const main = await ok(['--help']);
    assert.match(main, /permissions\s+set\|clear\|list/);
  });

  it('usage errors exit 2 with one line saying what to run', async () => {
    const dataDir = tempDir();
    try {
      for (const args of [
        ['user'],
        ['user', 'frobnicate'],
        ['user', 'add', 'only-a-name'],
        ['vhost', 'add', '--colour', 'x', 'v'],
        ['policy', 'set', '--priority', 'high', 'p', '.*', '{"max-length":1}'],
        ['policy', 'set', '--apply-to', 'bindings', 'p', '.*', '{"max-length":1}'],
        ['policy', 'set', 'p', '.*', '{max-length:1}'],
      ]) {
        const run = await pier([...args, '--data-dir', dataDir]);
        assert.equal(run.code, 2, `pier ${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, /pier (user|vhost|policy)/, run.stderr);
      }
      const badJson = await pier(['policy', 'set', 'p', '.*', '{max-length:1}', '--data-dir', dataDir]);
      assert.equal(badJson.stderr.trim().split('\n').length, 1);
      assert.match(badJson.stderr, /not valid JSON.*e\.g\. '\{"max-length":1000\}'/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('pier admin commands against a running broker', () => {
  let dataDir: string;
  let broker: ChildBroker;
  before(async () => {
    dataDir = tempDir();
    broker = await spawnBroker(dataDir);
  });
  after(async () => {
    if (broker.process.exitCode === null) await stop(broker);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('listens on <data-dir>/pier.sock, mode 0600', () => {
    const stat = statSync(join(dataDir, 'pier.sock'));
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600);
  });

  it('a user added through the CLI can log in at once once granted permissions, and after a restart', async () => {
    const added = await ok(['user', 'add', 'carol', 'secret', '--tags', 'monitoring', '--data-dir', dataDir]);
    assert.equal(added, "user 'carol' added\n");
    assert.equal(await canLogIn(amqpUrl(broker, 'carol', 'secret')), false, 'no permissions yet');
    await ok(['permissions', 'set', 'carol', '.*', '.*', '.*', '--data-dir', dataDir]);
    assert.equal(await canLogIn(amqpUrl(broker, 'carol', 'secret')), true);
    await ok(['user', 'passwd', 'carol', '-', '--data-dir', dataDir], { input: 'changed\n' });
    assert.equal(await canLogIn(amqpUrl(broker, 'carol', 'secret')), false);
    assert.equal(await canLogIn(amqpUrl(broker, 'carol', 'changed')), true);

    await stop(broker);
    assert.equal(existsSync(join(dataDir, 'pier.sock')), false, 'socket removed on shutdown');
    broker = await spawnBroker(dataDir);
    assert.equal(await canLogIn(amqpUrl(broker, 'carol', 'changed')), true);
    const users = await ok(['user', 'list', '--data-dir', dataDir]);
    assert.match(users, /^user\s+tags\n/);
    assert.match(users, /^carol\s+monitoring$/m);
    assert.match(users, /^guest\s+administrator$/m);
  });

  it('permissions topic set|list|clear: a publish or bind outside the pattern is refused with 403, as RabbitMQ does', async () => {
    await ok(['user', 'add', 'tpu', 'pw', '--data-dir', dataDir]);
    await ok(['permissions', 'set', 'tpu', '.*', '.*', '.*', '--data-dir', dataDir]);
    const set = await ok([
      'permissions',
      'topic',
      'set',
      'tpu',
      '/',
      'amq.topic',
      '^{username}\\.',
      '^{vhost}x',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(set, "topic permission of user 'tpu' on exchange 'amq.topic' in vhost '/' set\n");
    assert.match(
      await ok(['permissions', 'topic', 'list', '--data-dir', dataDir]),
      /^\/\s+tpu\s+amq\.topic\s+\^\{username\}\\\.\s+\^\{vhost\}x$/m,
    );

    const connection = await amqp.connect(amqpUrl(broker, 'tpu', 'pw'));
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish('amq.topic', 'tpu.allowed', Buffer.from('ok'));
      await channel.waitForConfirms();
      const refused = new Promise<Error>((resolve) => channel.once('error', resolve));
      channel.publish('amq.topic', 'someone.else', Buffer.from('no'));
      assert.match(
        (await refused).message,
        /403 \(ACCESS-REFUSED\) with message "ACCESS_REFUSED - access to topic 'someone.else' in exchange 'amq.topic' in vhost '\/' refused for user 'tpu'"/,
      );
    } finally {
      await connection.close().catch(() => undefined);
    }
    assert.equal(
      await ok(['permissions', 'topic', 'clear', 'tpu', '/', '--data-dir', dataDir]),
      "1 topic permission(s) of user 'tpu' in vhost '/' cleared\n",
    );
    const free = await amqp.connect(amqpUrl(broker, 'tpu', 'pw'));
    const channel = await free.createConfirmChannel();
    channel.publish('amq.topic', 'someone.else', Buffer.from('now allowed'));
    await channel.waitForConfirms();
    await free.close();
  });

  it('refusals exit 1 with one line saying what to do', async () => {
    const duplicate = await pier(['user', 'add', 'guest', 'x', '--data-dir', dataDir]);
    assert.equal(duplicate.code, 1);
    assert.equal(
      duplicate.stderr,
      "pier: user 'guest' already exists; change its password with 'pier user passwd'\n",
    );
    const noVhost = await pier([
      'permissions',
      'set',
      '--vhost',
      'nowhere',
      'guest',
      '.*',
      '.*',
      '.*',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(noVhost.code, 1);
    assert.match(noVhost.stderr, /vhost 'nowhere' does not exist; 'pier vhost list' shows the vhosts/);
    const badRegex = await pier(['permissions', 'set', 'guest', '(', '.*', '.*', '--data-dir', dataDir]);
    assert.equal(badRegex.code, 1);
    assert.match(badRegex.stderr, /regular expression '\(' is invalid/);
    const badKey = await pier(['policy', 'set', 'p', '.*', '{"max-lenght":1}', '--data-dir', dataDir]);
    assert.equal(badKey.code, 1);
    assert.match(badKey.stderr, /'max-lenght' is not a recognised policy setting/);
  });

  it('vhost delete closes its connections and drops its queues with their messages', async () => {
    await ok(['vhost', 'add', 'shortlived', '--data-dir', dataDir]);
    await ok([
      'permissions',
      'set',
      '--vhost',
      'shortlived',
      'guest',
      '.*',
      '.*',
      '.*',
      '--data-dir',
      dataDir,
    ]);
    const connection = await amqp.connect(amqpUrl(broker, 'guest', 'guest', 'shortlived'));
    connection.on('error', () => {});
    const ch = await connection.createConfirmChannel();
    await ch.assertQueue('work', { durable: true });
    ch.sendToQueue('work', Buffer.from('job'), { persistent: true });
    await ch.waitForConfirms();
    const queueDir = join(dataDir, 'queues', Storage.queueDirName('shortlived', 'work'));
    assert.ok(existsSync(queueDir));

    const closed = new Promise<Error>((resolve) => connection.once('close', resolve));
    await ok(['vhost', 'delete', 'shortlived', '--data-dir', dataDir]);
    assert.match(String((await closed)?.message), /CONNECTION_FORCED - vhost 'shortlived' is deleted/);
    assert.equal(existsSync(queueDir), false);
    assert.doesNotMatch(await ok(['vhost', 'list', '--data-dir', dataDir]), /shortlived/);
    assert.doesNotMatch(await ok(['permissions', 'list', '--data-dir', dataDir]), /shortlived/);
  });

  it('policy set, list and clear are durable', async () => {
    await ok([
      'policy',
      'set',
      '--priority',
      '7',
      '--apply-to',
      'queues',
      'ttl',
      '^jobs\\.',
      '{"message-ttl":60000,"dead-letter-exchange":"dlx"}',
      '--data-dir',
      dataDir,
    ]);
    await ok(['policy', 'set', 'cap', '.*', '{"max-length":10}', '--data-dir', dataDir]);
    await stop(broker);
    broker = await spawnBroker(dataDir);
    const listed = await ok(['policy', 'list', '--data-dir', dataDir]);
    assert.deepEqual(listed.split('\n').slice(0, 3), [
      'vhost  name  pattern  apply-to  priority  definition',
      '/      ttl   ^jobs\\.  queues    7         {"message-ttl":60000,"dead-letter-exchange":"dlx"}',
      '/      cap   .*       all       0         {"max-length":10}',
    ]);
    await ok(['policy', 'clear', 'ttl', '--data-dir', dataDir]);
    const unknown = await pier(['policy', 'clear', 'ttl', '--data-dir', dataDir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no policy 'ttl' in vhost '\/'/);
    await stop(broker);
    broker = await spawnBroker(dataDir);
    const after = await ok(['policy', 'list', '--data-dir', dataDir]);
    assert.doesNotMatch(after, /ttl/);
    assert.match(after, /^\/\s+cap/m);
  });
});

describe('pier admin commands on a stopped broker', () => {
  it('edit the data directory; the broker started on it uses the edits', async () => {
    const dataDir = tempDir();
    try {
      const added = await ok(['vhost', 'add', 'offline-v', '--data-dir', dataDir]);
      assert.match(added, /vhost 'offline-v' added \(no broker running on .*: stored for its next start\)/);
      await ok(['user', 'add', 'erin', 'pw', '--data-dir', dataDir]);
      await ok(['permissions', 'set', '--vhost', 'offline-v', 'erin', '.*', '.*', '.*'], {
        env: { PIER_DATA_DIR: dataDir },
      });
      await ok([
        'policy',
        'set',
        '--vhost',
        'offline-v',
        'p',
        'q',
        '{"max-length":5}',
        '--data-dir',
        dataDir,
      ]);
      assert.equal(existsSync(join(dataDir, 'pier.lock')), false, 'the lock is released');

      const broker = await spawnBroker(dataDir);
      try {
        assert.equal(await canLogIn(amqpUrl(broker, 'erin', 'pw', 'offline-v')), true);
        assert.equal(await canLogIn(amqpUrl(broker, 'guest', 'guest')), true, 'guest keeps / on first start');
        assert.match(
          await ok(['policy', 'list', '--vhost', 'offline-v', '--data-dir', dataDir]),
          /^offline-v\s+p\s+q/m,
        );
        // A durable queue with a message, then vhost delete while stopped removes its data.
        const connection = await amqp.connect(amqpUrl(broker, 'erin', 'pw', 'offline-v'));
        const ch = await connection.createConfirmChannel();
        await ch.assertQueue('q1', { durable: true });
        ch.sendToQueue('q1', Buffer.from('x'), { persistent: true });
        await ch.waitForConfirms();
        await connection.close();
      } finally {
        await stop(broker);
      }
      const queueDir = join(dataDir, 'queues', Storage.queueDirName('offline-v', 'q1'));
      assert.ok(existsSync(queueDir));
      await ok(['vhost', 'delete', 'offline-v', '--data-dir', dataDir]);
      assert.equal(existsSync(queueDir), false);
      assert.doesNotMatch(await ok(['vhost', 'list', '--data-dir', dataDir]), /offline-v/);
      await ok(['user', 'delete', 'erin', '--data-dir', dataDir]);
      assert.doesNotMatch(await ok(['user', 'list', '--data-dir', dataDir]), /erin/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a socket file left by a killed broker breaks neither the CLI nor the next start', async () => {
    const dataDir = tempDir();
    try {
      const killed = await spawnBroker(dataDir);
      killed.process.kill('SIGKILL');
      await killed.exited;
      assert.ok(existsSync(join(dataDir, 'pier.sock')), 'a killed broker leaves its socket file');
      const offline = await ok(['user', 'add', 'frank', 'pw', '--data-dir', dataDir]);
      assert.match(offline, /no broker running/);
      const broker = await spawnBroker(dataDir);
      try {
        const online = await ok(['permissions', 'set', 'frank', '.*', '.*', '.*', '--data-dir', dataDir]);
        assert.doesNotMatch(online, /no broker running/);
        assert.equal(await canLogIn(amqpUrl(broker, 'frank', 'pw')), true);
      } finally {
        await stop(broker);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
