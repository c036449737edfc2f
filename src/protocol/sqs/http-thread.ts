// The SQS listener's HTTP thread (a worker_threads entry; see http-thread-host.ts): node:http, the
// request bodies, the costly half of SigV4 (hashes, canonical request), decoding against the model
// and formatting the answers run here, on the second core. The main thread gets one small record per
// request and decides it (http-pipeline.ts: secrets, access, queues), so the broker's core stays on
// one thread.
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { listen } from '../../util/listen.js';
import { limitSqsConnections, onClientGone, readSqsBody, sendSqsResponse } from './http-exchange.js';
import type { HostMessage, ThreadMessage, ThreadOptions } from './http-thread-messages.js';
import {
  formatSqsAnswerOrFailure,
  internalFailure,
  type PreparedSqsRequest,
  prepareSqsRequest,
  type SqsAnswerFormat,
  unpreparedFormat,
} from './request-front.js';

const port = parentPort;
if (!port) throw new Error('http-thread.js runs as a worker thread (see http-thread-host.ts)');
const options = workerData as ThreadOptions;

/** Log lines go to the main thread, which writes the broker's log. */
const log = (line: string) => post({ type: 'log', line });

/** Requests handed to the main thread and not answered yet, by id. */
const waiting = new Map<number, { res: ServerResponse; format: SqsAnswerFormat }>();
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
        sendSqsResponse(
          res,
          internalFailure('preparing a request', error, unpreparedFormat(req, requestId), log),
        );
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
  limitSqsConnections(server, options.maxConnections, log);
}

port.on('message', (message: HostMessage) => {
  switch (message.type) {
    case 'answer': {
      const entry = waiting.get(message.id);
      if (!entry) break; // the client went away
      waiting.delete(message.id);
      sendSqsResponse(entry.res, formatSqsAnswerOrFailure(entry.format, message.answer, log));
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
