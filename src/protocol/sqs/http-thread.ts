// The SQS listener's HTTP thread (a worker_threads entry; see http-thread-host.ts): node:http, the
// request bodies, the costly half of SigV4 (hashes, canonical request), decoding against the model
// and formatting the answers run here, on the second core. The main thread gets one small record per
// request and decides it (http-pipeline.ts: secrets, access, queues), so the broker's core stays on
// one thread.
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { listen } from '../../util/listen.js';
import { INTERNAL_FAILURE_MESSAGE } from './errors.js';
import { limitSqsConnections, onClientGone, readSqsBody, sendSqsResponse } from './http-exchange.js';
import type { HostMessage, ThreadMessage, ThreadOptions } from './http-thread-messages.js';
import type { SqsHttpResponse } from './json-protocol.js';
import { formatSqsAnswer, type PreparedSqsRequest, prepareSqsRequest } from './request-front.js';

type AnswerFormat = Pick<PreparedSqsRequest, 'requestId' | 'isJson' | 'queryJson'>;

const port = parentPort;
if (!port) throw new Error('http-thread.js runs as a worker thread (see http-thread-host.ts)');
const options = workerData as ThreadOptions;

const INTERNAL_FAILURE = { shape: 'InternalFailure', message: INTERNAL_FAILURE_MESSAGE } as const;

/** A bug on this thread costs one request, not the thread and with it the port: logged, answered InternalFailure. */
function internalFailure(doing: string, error: unknown, format: AnswerFormat): SqsHttpResponse {
  post({ type: 'log', line: `sqs: ${doing} failed: ${(error as Error)?.stack ?? error}` });
  return formatSqsAnswer(format, { kind: 'error', error: INTERNAL_FAILURE });
}

/** Requests handed to the main thread and not answered yet, by id. */
const waiting = new Map<number, { res: ServerResponse; format: AnswerFormat }>();
let nextId = 1;

// One postMessage per message: batching a turn's requests made the two threads take turns (the
// main thread idle while this one parsed a burst, then the other way round) and measured slower.
function post(message: ThreadMessage): void {
  port?.postMessage(message);
}

const server = createServer(
  {
    keepAliveTimeout: options.keepAliveTimeoutMs,
    headersTimeout: options.headersTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
  },
  (req, res) => {
    const requestId = randomUUID();
    readSqsBody(req, res, options.maxRequestBytes, requestId, (body) => {
      let prepared: PreparedSqsRequest;
      try {
        // Hashes are always computed: the main thread may have had a key added since.
        prepared = prepareSqsRequest(req, body, requestId, Date.now(), false);
      } catch (error) {
        const format = { requestId, isJson: req.headers['x-amz-target'] !== undefined, queryJson: false };
        sendSqsResponse(res, internalFailure('preparing a request', error, format));
        return;
      }
      const id = nextId++;
      // Only what formatting needs is kept: the params (bodies) are the main thread's now.
      waiting.set(id, { res, format: { requestId, isJson: prepared.isJson, queryJson: prepared.queryJson } });
      onClientGone(res, () => {
        if (waiting.delete(id)) post({ type: 'abort', id });
      });
      post({ type: 'request', id, prepared, peer: req.socket.remoteAddress });
    });
  },
);
server.keepAliveTimeout = options.keepAliveTimeoutMs;
if (options.maxConnections !== undefined) {
  limitSqsConnections(server, options.maxConnections, (line) => post({ type: 'log', line }));
}

port.on('message', (message: HostMessage) => {
  switch (message.type) {
    case 'answer': {
      const entry = waiting.get(message.id);
      if (!entry) break; // the client went away
      waiting.delete(message.id);
      let response: SqsHttpResponse;
      try {
        response = formatSqsAnswer(entry.format, message.answer);
      } catch (error) {
        response = internalFailure('formatting an answer', error, entry.format);
      }
      sendSqsResponse(entry.res, response);
      break;
    }
    case 'listen':
      listen(server, message.host, message.port, 'SQS').then(
        (bound) => post({ type: 'listening', ...bound }),
        (error: NodeJS.ErrnoException) =>
          post({ type: 'listen-failed', message: error.message, code: error.code }),
      );
      break;
    case 'close':
      close();
      break;
  }
});

function close(): void {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Let answers written this turn (long polls ended by the registry's close) reach the sockets.
  setImmediate(() => {
    server.closeIdleConnections();
    server.closeAllConnections();
    closed.then(() => {
      post({ type: 'closed' });
      port?.close();
    });
  });
}
