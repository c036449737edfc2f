// The main thread's end of the SQS HTTP thread (http-thread.ts): starts it, has it bind the plain
// listener, hands each prepared request to the dispatcher and posts the answers back. Sockets cannot
// move between threads, so the TLS listener stays on the main thread (server.ts) with the same
// dispatcher.
//
// A thread that dies while serving (an uncaught exception in it) is replaced, as RabbitMQ's listener
// supervisors restart a crashed acceptor: the new thread binds the same address, the old one's long
// polls stop waiting (their clients' connections died with it), and answers still on their way to the
// old thread are dropped. Past RESTARTS_PER_WINDOW deaths in RESTART_WINDOW_MS it stays down and
// says so, rather than crash in a loop.
import { Worker } from 'node:worker_threads';
import type { SqsDispatch } from './http-pipeline.js';
import type { HostMessage, ThreadMessage, ThreadOptions } from './http-thread-messages.js';
import type { SqsAnswer } from './request-front.js';

const RESTARTS_PER_WINDOW = 3;
const RESTART_WINDOW_MS = 60_000;
/** How long close() waits for the thread to finish its answers before it is terminated. */
const CLOSE_TIMEOUT_MS = 5_000;

export class SqsHttpThread {
  private worker!: Worker;
  /** Counts the workers started; an answer for an earlier one is dropped (its ids are reused). */
  private generation = 0;
  /** Abort callbacks of requests still waiting for their answer (long polls), by request id. */
  private abortCallbacks = new Map<number, Array<() => void>>();
  private listening?: { resolve(bound: { host: string; port: number }): void; reject(error: Error): void };
  /** Where the listener is bound, once it is: a replacement thread binds the same address. */
  private bound: { host: string; port: number } | undefined;
  private readonly restartTimesMs: number[] = [];
  private closing = false;
  private exited!: Promise<void>;

  constructor(
    private readonly options: ThreadOptions,
    private readonly dispatch: SqsDispatch,
    private readonly log: (line: string) => void,
  ) {
    this.startWorker();
  }

  /** Binds the listener in the thread; rejects with the listen error (its `code`, e.g. EADDRINUSE). */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.listening = {
        resolve: (bound) => {
          this.bound = bound;
          resolve(bound);
        },
        reject,
      };
      this.post({ type: 'listen', host, port });
    });
  }

  /** Stops accepting and closes every connection once the answers posted before are written. */
  async close(): Promise<void> {
    this.closing = true;
    this.post({ type: 'close' });
    const timer = setTimeout(() => {
      this.log(`sqs: the HTTP thread did not close within ${CLOSE_TIMEOUT_MS} ms; terminating it`);
      void this.worker.terminate();
    }, CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * Ends the thread at once, as a crash would: unless the listener is closing, a new thread takes
   * over its address. For tests of that takeover; close() is the orderly way.
   */
  terminate(): Promise<void> {
    const exited = this.exited;
    void this.worker.terminate();
    return exited;
  }

  private startWorker(): void {
    const generation = ++this.generation;
    const worker = new Worker(new URL('./http-thread.js', import.meta.url), { workerData: this.options });
    this.worker = worker;
    worker.on('message', (message: ThreadMessage) => this.receive(message, generation));
    worker.on('error', (error) => {
      this.log(`sqs: the HTTP thread failed: ${error.stack ?? error}`);
      this.listening?.reject(
        new Error(
          `the SQS HTTP thread failed: ${error.message} (--sqs-http-thread false serves SQS from the main thread)`,
        ),
      );
      this.listening = undefined;
    });
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        this.listening?.reject(new Error(`the SQS HTTP thread exited with code ${code}`));
        this.listening = undefined;
        this.abandonRequests();
        if (!this.closing) this.replace(code);
        resolve();
      }),
    );
  }

  /** The dead thread's requests have no client any more: long polls stop waiting for them. */
  private abandonRequests(): void {
    const callbacks = [...this.abortCallbacks.values()].flat();
    this.abortCallbacks = new Map();
    for (const callback of callbacks) callback();
  }

  private replace(code: number): void {
    const bound = this.bound;
    if (bound === undefined) return; // never listened: listen() has reported the failure
    const nowMs = Date.now();
    while (this.restartTimesMs.length > 0 && nowMs - this.restartTimesMs[0]! > RESTART_WINDOW_MS)
      this.restartTimesMs.shift();
    if (this.restartTimesMs.length >= RESTARTS_PER_WINDOW) {
      this.log(
        `sqs: the HTTP thread exited (code ${code}) for the ${RESTARTS_PER_WINDOW + 1}th time within ` +
          `${RESTART_WINDOW_MS / 1000} s; SQS requests on port ${bound.port} are not served until the broker ` +
          'restarts (--sqs-http-thread false serves them from the main thread)',
      );
      return;
    }
    this.restartTimesMs.push(nowMs);
    this.log(`sqs: the HTTP thread exited (code ${code}); starting a new one on ${bound.host}:${bound.port}`);
    this.startWorker();
    this.listen(bound.host, bound.port).then(
      () => this.log(`sqs: a new HTTP thread serves ${bound.host}:${bound.port}`),
      (error: Error) =>
        this.log(`sqs: the new HTTP thread could not bind ${bound.host}:${bound.port}: ${error.message}`),
    );
  }

  private receive(message: ThreadMessage, generation: number): void {
    // A replaced thread's last messages: its requests' clients are gone, its ids belong to the new one.
    if (generation !== this.generation && message.type !== 'log') return;
    switch (message.type) {
      case 'request': {
        const { id } = message;
        this.dispatch(
          message.prepared,
          {
            peer: message.peer,
            secure: false,
            onAbort: (callback) => {
              if (generation !== this.generation) return callback();
              const callbacks = this.abortCallbacks.get(id);
              if (callbacks) callbacks.push(callback);
              else this.abortCallbacks.set(id, [callback]);
            },
          },
          (answer: SqsAnswer) => {
            // Ids start again in a new thread: an answer for the old one must not reach it.
            if (generation !== this.generation) return;
            this.abortCallbacks.delete(id);
            this.post({ type: 'answer', id, answer });
          },
        );
        break;
      }
      case 'abort': {
        const callbacks = this.abortCallbacks.get(message.id);
        this.abortCallbacks.delete(message.id);
        for (const callback of callbacks ?? []) callback();
        break;
      }
      case 'log':
        this.log(message.line);
        break;
      case 'listening':
        this.listening?.resolve({ host: message.host, port: message.port });
        this.listening = undefined;
        break;
      case 'listen-failed':
        this.listening?.reject(Object.assign(new Error(message.message), { code: message.code }));
        this.listening = undefined;
        break;
      case 'closed':
        // The thread has closed its port and ends by itself.
        break;
    }
  }

  private post(message: HostMessage): void {
    this.worker.postMessage(message);
  }
}
