// The SQS HTTP thread dying while it serves (an uncaught exception in it): a new thread takes over
// the same address, the dead one's long polls stop waiting, and after too many deaths in a row it
// stays down and says so. The thread is real (a worker on a loopback port); the main thread's
// dispatcher is a stand-in that answers ListQueues, or holds a request like a long poll.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { SqsHttpThread } from '../../../src/protocol/sqs/http-thread-host.js';
import type { SqsAnswer } from '../../../src/protocol/sqs/request-front.js';
import { listenOnFreePort } from '../../helpers/broker.js';

const THREAD_OPTIONS = {
  maxRequestBytes: 1024 * 1024,
  maxConnections: undefined,
  keepAliveTimeoutMs: 5_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
};

/** The log, with a way to wait for a line (each line is taken once, by the first wait it matches). */
function logRecorder(): { log: (line: string) => void; next: (pattern: RegExp) => Promise<string> } {
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  return {
    log(line) {
      const waiter = waiters.find((w) => w.pattern.test(line));
      if (waiter === undefined) {
        lines.push(line);
        return;
      }
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    },
    next(pattern) {
      const index = lines.findIndex((line) => pattern.test(line));
      if (index >= 0) return Promise.resolve(lines.splice(0, index + 1).pop()!);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}

/** One request on a connection of its own (a pooled one would be the dead thread's). */
function post(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = 'Action=ListQueues';
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const listQueues = (port: number) => post(port, '/');

test('a thread that dies is replaced on the same port; its long polls stop waiting', {
  timeout: 15_000,
}, async () => {
  const recorder = logRecorder();
  let heldAborted = false;
  let held: (() => void) | undefined;
  const thread = new SqsHttpThread(
    THREAD_OPTIONS,
    (prepared, connection, reply: (answer: SqsAnswer) => void) => {
      if (prepared.path === '/hold') {
        // A long poll: no answer until the client goes away.
        connection.onAbort(() => {
          heldAborted = true;
        });
        held?.();
        return;
      }
      reply({
        kind: 'result',
        action: 'ListQueues',
        result: { QueueUrls: ['http://127.0.0.1/000000000000/q1'] },
      });
    },
    recorder.log,
  );
  try {
    const { port } = await listenOnFreePort(thread);
    assert.match(
      await listQueues(port),
      /^200 .*<QueueUrl>http:\/\/127\.0\.0\.1\/000000000000\/q1<\/QueueUrl>/s,
    );

    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const longPoll = post(port, '/hold').then(
      () => 'answered',
      () => 'connection lost',
    );
    await holding;

    await thread.terminate();
    assert.equal(heldAborted, true, "the dead thread's long poll stops waiting");
    assert.equal(await longPoll, 'connection lost');
    assert.match(
      await recorder.next(/exited/),
      /the HTTP thread exited \(code 1\); starting a new one on 127\.0\.0\.1:\d+/,
    );
    assert.match(
      await recorder.next(/serves/),
      new RegExp(`a new HTTP thread serves 127\\.0\\.0\\.1:${port}`),
    );
    assert.match(await listQueues(port), /^200 /, 'the same port answers again');
  } finally {
    await thread.close();
  }
});

test('after four deaths within a minute the thread stays down and the log says what to do', {
  timeout: 15_000,
}, async () => {
  const recorder = logRecorder();
  const thread = new SqsHttpThread(
    THREAD_OPTIONS,
    (_prepared, _connection, reply) => reply({ kind: 'result', action: 'ListQueues', result: {} }),
    recorder.log,
  );
  try {
    const { port } = await listenOnFreePort(thread);
    for (let restart = 1; restart <= 3; restart++) {
      await thread.terminate();
      await recorder.next(/a new HTTP thread serves/);
      assert.match(await listQueues(port), /^200 /, `served after restart ${restart}`);
    }
    await thread.terminate();
    assert.match(
      await recorder.next(/not served/),
      new RegExp(
        `for the 4th time within 60 s; SQS requests on port ${port} are not served until the broker restarts \\(--sqs-http-thread false`,
      ),
    );
    await assert.rejects(listQueues(port), 'nothing listens on the port any more');
  } finally {
    await thread.close();
  }
});
