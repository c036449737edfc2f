// --sqs-max-connections: a connection beyond the limit is closed at once, while the open ones keep
// being served; once one closes, a new one is accepted again.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';

/** Sends an unsigned query request and resolves with the status line of the answer, or 'closed'. */
function ask(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve(text.slice(0, text.indexOf('\r\n')));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve('closed'));
    const body = 'Action=ListQueues';
    socket.write(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

// The plain port's connections are counted by the server on the HTTP thread (the default) or, with
// --sqs-http-thread false, by the main thread's: the limit and its log line must be the same.
for (const httpThread of [true, false]) {
  describe(`HTTP on ${httpThread ? 'its own thread' : 'the main thread'}`, () => {
    let broker: TestBroker;
    /** Resolves with the refusal's log line (the HTTP thread writes it a moment after the close). */
    let refusalLogged: (line: string) => void;
    const refusalLine = new Promise<string>((resolve) => {
      refusalLogged = resolve;
    });

    before(async () => {
      broker = await startTestBroker({
        amqpPort: false,
        sqsPort: 0,
        sqs: { maxConnections: 1, httpThread },
        log: (line) => {
          if (line.includes('--sqs-max-connections')) refusalLogged(line);
        },
      });
    });
    after(() => broker.stop());

    test('a connection beyond --sqs-max-connections is closed; the open one keeps working', async () => {
      const port = broker.sqs!.port;
      const first = await open(port);
      assert.match(await ask(first), /^HTTP\/1.1 403/, 'served (an unsigned request is refused with 403)');
      const second = await open(port);
      second.on('error', () => {});
      assert.equal(await ask(second), 'closed');
      assert.match(await refusalLine, /refusing a connection from .*: 1 connections open/);
      assert.match(await ask(first), /^HTTP\/1.1 403/);
      const closed = new Promise((resolve) => first.once('close', resolve));
      first.destroy();
      await closed;
      // The server sees the close a moment later; ask until the new connection is served.
      let status = 'closed';
      while (status === 'closed') {
        const third = await open(port);
        third.on('error', () => {});
        status = await ask(third);
        third.destroy();
      }
      assert.match(status, /^HTTP\/1.1 403/);
    });
  });
}
