import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import { SqsCoreError } from './errors.js';
import type { SqsQueue } from './queue.js';

/** A message move task (StartMessageMoveTask), as ListMessageMoveTasks reports it. */
export interface SqsMoveTaskInfo {
  readonly taskHandle: string;
  readonly status: 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  readonly sourceArn: string;
  /** Undefined: each message goes back to the queue it was dead-lettered from. */
  readonly destinationArn: string | undefined;
  readonly maxNumberOfMessagesPerSecond: number | undefined;
  readonly approximateNumberOfMessagesMoved: number;
  readonly approximateNumberOfMessagesToMove: number;
  readonly failureReason: string | undefined;
  readonly startedAtMs: number;
}

/** What a task needs to find queues. */
export interface MoveTaskQueues {
  queueByArn(arn: string): SqsQueue | undefined;
}

type MutableInfo = { -readonly [K in keyof SqsMoveTaskInfo]: SqsMoveTaskInfo[K] };

/** Messages moved per step when no rate is given ("system optimized"), and the pause between steps. */
const UNRATED_BATCH = 1000;
const UNRATED_PAUSE_MS = 10;
/** Finished tasks kept per source queue for ListMessageMoveTasks. */
const KEPT_TASKS = 10;

/**
 * Message move tasks: redrive a dead-letter queue's visible messages to the queues they came from
 * (each message's DeadLetterQueueSourceArn) or to one destination, optionally at most N a second.
 * A message is removed from the source only once its copy is durable (at least once). Tasks live
 * in memory: a restart ends a running task (its moved messages stay moved).
 */
export class SqsMoveTasks {
  private readonly tasks: MutableInfo[] = [];
  private readonly timers = new Map<string, TimerHandle>();

  constructor(
    private readonly clock: Clock,
    private readonly queues: MoveTaskQueues,
  ) {}

  start(source: SqsQueue, destination: SqsQueue | undefined, maxPerSecond: number | undefined): string {
    if (this.tasks.some((task) => task.sourceArn === source.arn && task.status === 'RUNNING')) {
      // AWS answers a second task on a source with InvalidParameterValue and this text (moto's
      // tests/test_sqs/test_sqs_move_tasks.py and LocalStack's SQS provider agree).
      throw new SqsCoreError(
        'InvalidParameterValue',
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
      );
    }
    const taskHandle = Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn: source.arn })).toString(
      'base64',
    );
    const task: MutableInfo = {
      taskHandle,
      status: 'RUNNING',
      sourceArn: source.arn,
      destinationArn: destination?.arn,
      maxNumberOfMessagesPerSecond: maxPerSecond,
      approximateNumberOfMessagesMoved: 0,
      approximateNumberOfMessagesToMove: source.counts().visible,
      failureReason: undefined,
      startedAtMs: this.clock.now(),
    };
    this.tasks.unshift(task);
    this.trim(source.arn);
    this.step(task);
    return taskHandle;
  }

  list(sourceArn: string, maxResults: number): SqsMoveTaskInfo[] {
    return this.tasks.filter((task) => task.sourceArn === sourceArn).slice(0, maxResults);
  }

  cancel(taskHandle: string): number {
    // A handle that is not one AWS could have issued (base64 JSON naming a task and its source) is an
    // invalid value, "Value for parameter TaskHandle is invalid." (moto's move-task tests, which
    // are checked against AWS); a well-formed handle of no task is ResourceNotFoundException.
    // A handle naming a source queue that does not exist, and a task that is not running (finished
    // tasks cannot be cancelled), are not found either: moto's move-task tests
    // (test_cancel_message_move_task_with_unknown_source_arn, _that_is_not_running).
    const sourceArn = sourceArnOfHandle(taskHandle);
    if (sourceArn === undefined) {
      throw new SqsCoreError('InvalidParameterValue', 'Value for parameter TaskHandle is invalid.');
    }
    if (!this.queues.queueByArn(sourceArn)) {
      throw new SqsCoreError(
        'ResourceNotFoundException',
        "The resource that you specified for the SourceArn parameter doesn't exist.",
      );
    }
    const task = this.tasks.find((candidate) => candidate.taskHandle === taskHandle);
    if (task?.status !== 'RUNNING') {
      throw new SqsCoreError('ResourceNotFoundException', 'Task does not exist.');
    }
    task.status = 'CANCELLED';
    this.stopTimer(task);
    return task.approximateNumberOfMessagesMoved;
  }

  /** The source or destination queue was deleted, or the broker shuts down. */
  stopAll(reason: string): void {
    for (const task of this.tasks) {
      if (task.status !== 'RUNNING') continue;
      task.status = 'FAILED';
      task.failureReason = reason;
      this.stopTimer(task);
    }
  }

  private step(task: MutableInfo): void {
    this.timers.delete(task.taskHandle);
    if (task.status !== 'RUNNING') return;
    const source = this.queues.queueByArn(task.sourceArn);
    if (!source) {
      this.fail(task, 'AWS.SimpleQueueService.NonExistentQueue');
      return;
    }
    const batch = task.maxNumberOfMessagesPerSecond ?? UNRATED_BATCH;
    for (let moved = 0; moved < batch; moved++) {
      if (task.approximateNumberOfMessagesMoved >= task.approximateNumberOfMessagesToMove) break;
      const message = source.peekVisible();
      if (!message) break;
      const targetArn = task.destinationArn ?? message.deadLetterSourceArn;
      // A message sent to the DLQ directly has no source to go back to: AWS fails the task with
      // this reason (moto's test_start_message_move_task_without_known_source_fails).
      if (targetArn === undefined) {
        this.fail(task, 'CouldNotDetermineMessageSource');
        return;
      }
      const target = this.queues.queueByArn(targetArn);
      if (!target) {
        this.fail(task, 'AWS.SimpleQueueService.NonExistentQueue');
        return;
      }
      // A moved message is a new message (new MessageId, received 0 times), as AWS moves it.
      target.sendCopy(message, undefined, true);
      source.takeForMove(message);
      task.approximateNumberOfMessagesMoved++;
    }
    const finished =
      task.approximateNumberOfMessagesMoved >= task.approximateNumberOfMessagesToMove ||
      source.peekVisible() === undefined;
    if (finished) {
      task.status = 'COMPLETED';
      return;
    }
    const pauseMs = task.maxNumberOfMessagesPerSecond === undefined ? UNRATED_PAUSE_MS : 1000;
    this.timers.set(
      task.taskHandle,
      this.clock.setTimeout(() => this.step(task), pauseMs),
    );
  }

  private fail(task: MutableInfo, reason: string): void {
    task.status = 'FAILED';
    task.failureReason = reason;
  }

  private stopTimer(task: MutableInfo): void {
    const timer = this.timers.get(task.taskHandle);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    this.timers.delete(task.taskHandle);
  }

  private trim(sourceArn: string): void {
    let kept = 0;
    for (let i = 0; i < this.tasks.length; i++) {
      if (this.tasks[i]!.sourceArn !== sourceArn) continue;
      if (++kept > KEPT_TASKS && this.tasks[i]!.status !== 'RUNNING') this.tasks.splice(i--, 1);
    }
  }
}

/** The source ARN a task handle names (base64 JSON {taskId, sourceArn}), undefined if malformed. */
function sourceArnOfHandle(taskHandle: string): string | undefined {
  try {
    const decoded = JSON.parse(Buffer.from(taskHandle, 'base64').toString('utf8')) as unknown;
    if (typeof decoded !== 'object' || decoded === null) return undefined;
    const { taskId, sourceArn } = decoded as { taskId?: unknown; sourceArn?: unknown };
    return typeof taskId === 'string' && typeof sourceArn === 'string' ? sourceArn : undefined;
  } catch {
    return undefined;
  }
}
