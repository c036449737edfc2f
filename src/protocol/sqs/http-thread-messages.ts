// What the main thread and the SQS HTTP thread tell each other, one message per postMessage.
import type { PreparedSqsRequest, SqsAnswer } from './request-front.js';

/** The HTTP thread's settings, as its workerData. */
export interface ThreadOptions {
  readonly maxRequestBytes: number;
  /** undefined = unlimited. */
  readonly maxConnections: number | undefined;
  readonly keepAliveTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** Main thread → HTTP thread. */
export type HostMessage =
  | { readonly type: 'listen'; readonly host: string; readonly port: number }
  | { readonly type: 'answer'; readonly id: number; readonly answer: SqsAnswer }
  | { readonly type: 'close' };

/** HTTP thread → main thread. */
export type ThreadMessage =
  | {
      readonly type: 'request';
      readonly id: number;
      readonly prepared: PreparedSqsRequest;
      readonly peer: string | undefined;
    }
  /** The client went away before its answer: a long poll stops waiting. */
  | { readonly type: 'abort'; readonly id: number }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'listening'; readonly host: string; readonly port: number }
  | { readonly type: 'listen-failed'; readonly message: string; readonly code: string | undefined }
  | { readonly type: 'closed' };
