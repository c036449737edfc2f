// --sqs-max-connections: a connection beyond the limit is closed at once, while the open ones keep
// being served; once one closes, a new one is accepted again.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';

let broker: TestBroker;
/** Resolves with the refusal's log line (written by the HTTP thread, so it may come a moment later). */
let refusalLogged: (line: string) => void;
const refusalLine = new Promise<string>((resolve) => {
  refusalLogged = resolve;
});

before(async () => {
  broker = await startTestBroker({
    amqpPort: false,
    sqsPort: 0,
    sqs: { maxConnections: 1 },
    log: (line) => {
      if (line.includes('--sqs-max-connections')) refusalLogged(line);
    },
  });
});
after(() => broker.stop());

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

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(broker.sqs!.port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

test('a connection beyond --sqs-max-connections is closed; the open one keeps working', async () => {
  const first = await open();
  assert.match(await ask(first), /^HTTP\/1.1 403/, 'served (an unsigned request is refused with 403)');
  const second = await open();
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
    const third = await open();
    third.on('error', () => {});
    status = await ask(third);
    third.destroy();
  }
  assert.match(status, /^HTTP\/1.1 403/);
});
