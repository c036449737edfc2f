/**
 * SQS monitoring requests of the control socket: `pier sqs list|describe` (queue depth: visible,
 * in flight, delayed, age of the oldest message). They read live state, so only a running broker
 * answers them; the numbers come from core/sqs/monitoring.ts.
 */

import { notFound } from '../core/amqp/errors.js';
import type { Clock } from '../core/clock.js';
import { sqsQueueDepth, sqsQueueDepths } from '../core/sqs/monitoring.js';
import type { SqsQueueRegistry } from '../core/sqs/registry.js';

/** What the SQS commands read: the running broker's SQS queues and its clock. */
export interface SqsAdminContext {
  readonly sqsQueues: SqsQueueRegistry;
  readonly clock: Clock;
}

interface RequestArgs {
  string(name: string): string;
}

type SqsHandler = (sqs: SqsAdminContext, args: RequestArgs) => unknown;

export const SQS_ADMIN_COMMANDS: Readonly<Record<string, SqsHandler>> = {
  'sqs.list': ({ sqsQueues, clock }) => sqsQueueDepths(sqsQueues, clock.now()),
  'sqs.describe': ({ sqsQueues, clock }, a) => {
    const name = a.string('name');
    // `<region>/<name>` names another region's queue (a queue name never contains '/').
    const slash = name.indexOf('/');
    const queue =
      slash === -1 ? sqsQueues.get(name) : sqsQueues.get(name.slice(slash + 1), name.slice(0, slash));
    if (!queue) throw notFound(`no SQS queue '${name}'; 'pier sqs list' shows the queues`);
    const info = sqsQueues.info(queue);
    return {
      ...sqsQueueDepth(sqsQueues, queue, clock.now()),
      arn: queue.arn,
      createdAtMs: info.createdAtMs,
      tags: info.tags,
      deadLetterSources: sqsQueues.deadLetterSourcesOf(queue).map((source) => source.name),
    };
  },
};
