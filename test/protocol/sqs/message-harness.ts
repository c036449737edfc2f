/**
 * Drives the SQS message action handlers directly: a real SqsQueueRegistry (memory only) on a
 * ManualClock, a small SqsActionContext, and a durability barrier the test can hold back.
 */
import assert from 'node:assert/strict';
import { discardDefinitions } from '../../../src/core/definitions.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import type { SqsQueue } from '../../../src/core/sqs/queue.js';
import { SqsQueueRegistry } from '../../../src/core/sqs/registry.js';
import type { SqsActionContext } from '../../../src/protocol/sqs/action-context.js';
import { messageActions } from '../../../src/protocol/sqs/actions/messages.js';
import { isSqsError, type SqsErrorShape, sqsError } from '../../../src/protocol/sqs/errors.js';
import type { SqsAction } from '../../../src/protocol/sqs/model.js';
import { parseCreateQueueAttributes } from '../../../src/protocol/sqs/queue-attributes.js';

export const CALLER_ID = 'AKIDEXAMPLE';
const ACCOUNT_ID = '000000000000';

/** afterDurable callbacks wait while `held`; release() runs them. */
export class HeldBarrier {
  held = false;
  private waiting: (() => void)[] = [];
  afterDurable(callback: () => void): void {
    if (this.held) this.waiting.push(callback);
    else callback();
  }
  release(): void {
    this.held = false;
    for (const callback of this.waiting.splice(0)) callback();
  }
}

export class Harness {
  readonly clock = new ManualClock();
  readonly durability = new HeldBarrier();
  readonly registry = new SqsQueueRegistry({
    clock: this.clock,
    accountId: ACCOUNT_ID,
    region: 'us-east-1',
    definitions: discardDefinitions,
    durability: this.durability,
  });
  private aborts: (() => void)[] = [];
  readonly context: SqsActionContext = {
    registry: this.registry,
    callerId: CALLER_ID,
    callerAccountId: ACCOUNT_ID,
    region: 'us-east-1',
    queueUrl: (name) => `http://localhost:9324/${ACCOUNT_ID}/${name}`,
    queueOf: (url) => {
      const queue = this.registry.get(String(url).split('/').pop() ?? '');
      if (!queue) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
      return queue;
    },
    authorize: () => {},
    onAbort: (callback) => this.aborts.push(callback),
  };

  createQueue(name: string, attributes: Record<string, string> = {}): string {
    const parsed = parseCreateQueueAttributes(name, attributes);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
    this.registry.create(name, parsed.settings, {});
    return this.context.queueUrl(name);
  }

  queue(name: string): SqsQueue {
    return this.registry.require(name);
  }

  /** The client went away: runs what handlers registered with onAbort. */
  abort(): void {
    for (const callback of this.aborts.splice(0)) callback();
  }

  // biome-ignore lint/suspicious/noExplicitAny: results are the output shapes, checked field by field
  async call(action: SqsAction, params: Record<string, unknown>): Promise<any> {
    const handler = messageActions[action];
    assert.ok(handler, `no handler for ${action}`);
    return (await handler(this.context, params)) ?? {};
  }

  /** Expects the action to fail with `shape`; returns the error for further checks. */
  async refused(action: SqsAction, params: Record<string, unknown>, shape: SqsErrorShape, message?: RegExp) {
    try {
      await this.call(action, params);
    } catch (err) {
      assert.ok(isSqsError(err), `expected an SqsError, got ${err}`);
      assert.equal(err.shape, shape, err.message);
      if (message) assert.match(err.message, message);
      return err;
    }
    assert.fail(`${action} succeeded; expected ${shape}`);
  }

  /** Short-poll receive of everything visible (up to 10). */
  // biome-ignore lint/suspicious/noExplicitAny: the ReceiveMessage output shape
  async receiveAll(queueUrl: string, extra: Record<string, unknown> = {}): Promise<any[]> {
    const result = await this.call('ReceiveMessage', {
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      ...extra,
    });
    return result.Messages ?? [];
  }
}
