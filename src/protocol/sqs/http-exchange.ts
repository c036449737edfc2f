// node:http's side of an SQS request, the same on the main thread (the TLS listener, or with
// --sqs-http-thread off) and on the HTTP thread: read the body within the size limit, and write the
// answers of one event-loop turn together.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { SqsHttpResponse } from './json-protocol.js';

/**
 * Reads a request's body; `onBody` gets it once complete. A body over `maxBytes` (declared, or
 * counted as a chunked one arrives) is answered 413 without being kept in memory.
 */
export function readSqsBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
  requestId: string,
  onBody: (body: Buffer) => void,
): void {
  const declaredBytes = Number(req.headers['content-length'] ?? 0);
  if (declaredBytes > maxBytes) {
    refuseTooLarge(req, res, requestId, maxBytes);
    return;
  }
  const chunks: Buffer[] = [];
  let receivedBytes = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    receivedBytes += chunk.length;
    // Chunked bodies have no Content-Length: count as they come.
    if (receivedBytes > maxBytes) {
      refused = true;
      chunks.length = 0;
      refuseTooLarge(req, res, requestId, maxBytes);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    onBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, receivedBytes));
  });
  req.on('error', () => res.destroy());
}

/**
 * Answers wait for the end of the event-loop turn and go out together: every write on a loopback
 * socket wakes the client there and then, and on a VM each wake-up of a sleeping client costs as
 * much as handling a request; answers written back to back mostly find it awake.
 */
let pendingAnswers: Array<{ res: ServerResponse; response: SqsHttpResponse }> = [];

export function sendSqsResponse(res: ServerResponse, response: SqsHttpResponse): void {
  if (pendingAnswers.length === 0) setImmediate(flushAnswers);
  pendingAnswers.push({ res, response });
}

function flushAnswers(): void {
  const answers = pendingAnswers;
  pendingAnswers = [];
  for (const { res, response } of answers) {
    if (res.destroyed || res.writableEnded) continue;
    res.writeHead(response.status, {
      ...response.headers,
      'content-length': Buffer.byteLength(response.body),
    });
    res.end(response.body);
  }
}

/** Calls `callback` if the client goes away before its answer is written (a long poll's end). */
export function onClientGone(res: ServerResponse, callback: () => void): void {
  res.once('close', () => {
    if (!res.writableFinished) callback();
  });
}

/**
 * Caps the server's open connections (--sqs-max-connections): node:http closes each one over the
 * cap at once, and `log` says so (the same line whichever thread's server refused it).
 */
export function limitSqsConnections(
  server: Server,
  maxConnections: number,
  log: (line: string) => void,
): void {
  server.maxConnections = maxConnections;
  server.on('drop', (data?: { remoteAddress?: string }) =>
    log(
      `sqs: refusing a connection from ${data?.remoteAddress ?? 'unknown'}: ${maxConnections} connections open (--sqs-max-connections)`,
    ),
  );
}

/**
 * AWS's front end answers an oversized request with a bare 413 and this text. The connection closes
 * after the answer: the rest of the body is discarded, never buffered.
 */
function refuseTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  maxBytes: number,
): void {
  const body = `HTTP content length exceeded ${maxBytes} bytes.`;
  res.shouldKeepAlive = false;
  res.writeHead(413, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
    connection: 'close',
  });
  res.end(body);
  req.resume();
}
