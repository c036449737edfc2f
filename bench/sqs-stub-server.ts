// A do-nothing SQS endpoint (AWS JSON 1.0) for measuring what @aws-sdk/client-sqs itself can do:
// it stores nothing and answers the benchmark's calls with valid canned answers the SDK accepts
// (ReceiveMessage always returns 10 messages with correct MD5OfBody, DeleteMessageBatch reports
// every entry Successful). Run on its own so it gets its own core, as a broker would:
//
//   node dist/bench/sqs-stub-server.js [--port 0] [--host 127.0.0.1]   prints `sqs-stub listening on HOST:PORT`
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ACCOUNT_ID = '000000000000';
const RECEIVE_BATCH = 10;
const BODY_BYTES = 100;

const md5Hex = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** The ReceiveMessage answer: prepared once, the SDK only checks that each MD5OfBody matches its Body. */
function cannedReceive(): string {
  const messages = [];
  for (let i = 0; i < RECEIVE_BATCH; i++) {
    const body = `stub-message-${i}-`.padEnd(BODY_BYTES, 'x');
    messages.push({
      MessageId: randomUUID(),
      ReceiptHandle: `stub-receipt-${i}`,
      MD5OfBody: md5Hex(body),
      Body: body,
    });
  }
  return JSON.stringify({ Messages: messages });
}

type Answer = (input: Record<string, unknown>, port: number) => unknown;

function answers(): Map<string, Answer> {
  const receive = cannedReceive();
  const entries = (input: Record<string, unknown>) =>
    (input.Entries as { Id: string; MessageBody?: string }[] | undefined) ?? [];
  return new Map<string, Answer>([
    [
      'CreateQueue',
      (input, port) => ({ QueueUrl: `http://127.0.0.1:${port}/${ACCOUNT_ID}/${String(input.QueueName)}` }),
    ],
    ['DeleteQueue', () => ({})],
    ['ReceiveMessage', () => receive],
    [
      'SendMessageBatch',
      (input) => ({
        Successful: entries(input).map((e) => ({
          Id: e.Id,
          MessageId: randomUUID(),
          MD5OfMessageBody: md5Hex(e.MessageBody ?? ''),
        })),
        Failed: [],
      }),
    ],
    [
      'DeleteMessageBatch',
      (input) => ({ Successful: entries(input).map((e) => ({ Id: e.Id })), Failed: [] }),
    ],
  ]);
}

function reply(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(body);
}

/** Starts the stub on host:port (0: a free port). */
export async function startStubServer(host = '127.0.0.1', port = 0): Promise<Server> {
  const table = answers();
  const server = createServer({ keepAliveTimeout: 60_000 }, (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const action = String(request.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
      const answer = table.get(action);
      if (!answer) {
        const message = `the SQS stub answers only ${[...table.keys()].join(', ')}; got '${action}'`;
        reply(response, 400, JSON.stringify({ __type: 'com.amazonaws.sqs#InvalidAction', message }));
        return;
      }
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const result = answer(input, (server.address() as AddressInfo).port);
      reply(response, 200, typeof result === 'string' ? result : JSON.stringify(result));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  const server = await startStubServer(values.host, Number(values.port));
  const address = server.address() as AddressInfo;
  process.stdout.write(`sqs-stub listening on ${address.address}:${address.port}\n`);
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
