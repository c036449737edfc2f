// The main thread's end of the SQS HTTP thread (http-thread.ts): starts it, has it bind the plain
// listener, hands each prepared request to the dispatcher and posts the answers back. Sockets cannot move between threads, so the TLS listener stays on the main thread
// (server.ts) with the same dispatcher.
import { Worker } from 'node:worker_threads';
import type { SqsDispatch } from './http-pipeline.js';
import type { HostMessage, ThreadMessage, ThreadOptions } from './http-thread-messages.js';
import type { SqsAnswer } from './request-front.js';

export class SqsHttpThread {
  private readonly worker: Worker;
  /** Abort callbacks of requests still waiting for their answer (long polls), by request id. */
  private readonly abortCallbacks = new Map<number, Array<() => void>>();
  private listening?: { resolve(bound: { host: string; port: number }): void; reject(error: Error): void };
  private closing = false;
  private readonly exited: Promise<void>;

  constructor(
    options: ThreadOptions,
    private readonly dispatch: SqsDispatch,
    private readonly log: (line: string) => void,
  ) {
    this.worker = new Worker(new URL('./http-thread.js', import.meta.url), { workerData: options });
    this.worker.on('message', (message: ThreadMessage) => this.receive(message));
    this.worker.on('error', (error) => {
      this.log(
        `sqs: the HTTP thread failed, SQS requests on the plain port are not served: ${error.stack ?? error}`,
      );
      this.listening?.reject(
        new Error(
          `the SQS HTTP thread failed: ${error.message} (--sqs-http-thread false serves SQS from the main thread)`,
        ),
      );
      this.listening = undefined;
    });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        if (!this.closing) this.log(`sqs: the HTTP thread exited (code ${code}); restart the broker`);
        this.listening?.reject(new Error(`the SQS HTTP thread exited with code ${code}`));
        resolve();
      }),
    );
  }

  /** Binds the listener in the thread; rejects with the listen error (its `code`, e.g. EADDRINUSE). */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.listening = { resolve, reject };
      this.post({ type: 'listen', host, port });
    });
  }

  /** Stops accepting and closes every connection once the answers posted before are written. */
  async close(): Promise<void> {
    this.closing = true;
    this.post({ type: 'close' });
    await this.exited;
  }

  private receive(message: ThreadMessage): void {
    switch (message.type) {
      case 'request': {
        const { id } = message;
        this.dispatch(
          message.prepared,
          {
            peer: message.peer,
            secure: false,
            onAbort: (callback) => {
              const callbacks = this.abortCallbacks.get(id);
              if (callbacks) callbacks.push(callback);
              else this.abortCallbacks.set(id, [callback]);
            },
          },
          (answer: SqsAnswer) => {
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
