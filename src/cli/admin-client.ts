/**
 * How `pier user|vhost|permissions|policy` reach the broker: through the control socket of a
 * broker running on the data directory, or, when none runs there, by opening the data directory
 * (taking its lock, as a broker would) and editing the stored definitions directly.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { AdminRequest, AdminResponse } from '../admin/admin-commands.js';
import { executeAdminRequest } from '../admin/admin-commands.js';
import { controlSocketPath } from '../admin/control-socket.js';
import { MemoryQueueStore } from '../core/amqp/memory-queue-store.js';
import { NO_PROPERTIES } from '../core/amqp/message-properties.js';
import { BrokerCore } from '../core/broker-core.js';
import { AclAuthorizer } from '../core/kafka/acls.js';
import { ManualClock } from '../core/manual-clock.js';
import { Storage, StorageLockedError } from '../storage/storage.js';

export interface AdminOutcome {
  readonly response: AdminResponse;
  /** true: a running broker applied it; false: the data directory was edited offline. */
  readonly online: boolean;
}

/** Fails with a one-line message for the operator. */
export class AdminUnavailableError extends Error {}

const REQUEST_TIMEOUT_MS = 30_000;

export async function sendAdminRequest(
  dataDir: string,
  request: AdminRequest,
  options: { runningBrokerOnly?: boolean } = {},
): Promise<AdminOutcome> {
  const path = controlSocketPath(dataDir);
  const viaSocket = await requestOverSocket(path, request);
  if (viaSocket) return { response: viaSocket, online: true };
  if (options.runningBrokerOnly) {
    throw new AdminUnavailableError(
      `'${request.command}' needs a running broker and none answers on ${path}; start one with 'pier serve --data-dir ${dataDir}' or check --data-dir (or PIER_DATA_DIR)`,
    );
  }
  return { response: await requestOffline(dataDir, request), online: false };
}

/** Resolves undefined when no broker listens on the socket (no file, or a stale one). */
function requestOverSocket(path: string, request: AdminRequest): Promise<AdminResponse | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let received = '';
    let answered = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new AdminUnavailableError(`the broker did not answer on ${path} within ${REQUEST_TIMEOUT_MS} ms`),
      );
    }, REQUEST_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const newline = received.indexOf('\n');
      if (newline < 0) return;
      answered = true;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(received.slice(0, newline)) as AdminResponse);
      } catch {
        reject(new AdminUnavailableError(`the broker sent an unreadable answer on ${path}`));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else reject(new AdminUnavailableError(`cannot reach the broker on ${path}: ${error.message}`));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!answered) reject(new AdminUnavailableError(`the broker closed ${path} without answering; retry`));
    });
  });
}

/**
 * Applies the request to the stored definitions of a stopped broker. Queues are restored with
 * in-memory stores (their messages are not read) and a clock that never fires; data of queues
 * the command deleted (vhost delete) is removed before the lock is released.
 */
async function requestOffline(dataDir: string, request: AdminRequest): Promise<AdminResponse> {
  // Listing must not create a data directory where a mistyped --data-dir points.
  if (request.command.endsWith('.list') && !existsSync(dataDir)) {
    throw new AdminUnavailableError(`no data directory at ${dataDir}; check --data-dir (or PIER_DATA_DIR)`);
  }
  let storage: Storage;
  try {
    storage = Storage.open({ dataDir, fsync: 'always', logger: () => {} });
  } catch (error) {
    if (error instanceof StorageLockedError) {
      throw new AdminUnavailableError(
        `process ${error.pid} (a broker still starting, or another pier command) holds ${error.dataDir} and does not answer on ${controlSocketPath(error.dataDir)}; retry in a moment`,
      );
    }
    throw error;
  }
  try {
    const core = new BrokerCore({
      clock: new ManualClock(),
      createStore: () => new MemoryQueueStore(),
      definitions: storage.definitions,
      codec: NO_PROPERTIES,
    });
    core.restore(storage.definitions.entries());
    // The Kafka ACLs are stored among the definitions too; a broker uses them with --kafka-acls on.
    const acls = new AclAuthorizer({ definitions: storage.definitions });
    acls.restore(storage.definitions.entries());
    const response = executeAdminRequest(core, request, undefined, acls);
    const durable = [...core.allQueues()].filter((q) => q.isDurable);
    storage.removeOrphanQueueData(durable.map((q) => ({ vhost: q.vhost, queueName: q.name })));
    return response;
  } finally {
    await storage.close();
  }
}
