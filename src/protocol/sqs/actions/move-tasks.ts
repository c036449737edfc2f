// StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask: the core runs the tasks and
// refuses with SqsCoreError codes (ResourceNotFoundException, InvalidParameterValue,
// UnsupportedOperation), which the pipeline turns into SqsErrors.
import { typedHandlers } from '../action-context.js';
import { invalidParameterValue } from '../errors.js';

const MAX_MOVE_TASK_RESULTS = 10;
const MAX_MESSAGES_PER_SECOND = 500;

export const moveTaskActions = typedHandlers({
  StartMessageMoveTask(context, params) {
    const rate = params.MaxNumberOfMessagesPerSecond;
    if (rate !== undefined && (rate < 1 || rate > MAX_MESSAGES_PER_SECOND)) {
      throw invalidParameterValue(
        'MaxNumberOfMessagesPerSecond',
        String(rate),
        `Value must be between 1 and ${MAX_MESSAGES_PER_SECOND}.`,
      );
    }
    const handle = context.registry.startMoveTask(
      params.SourceArn,
      params.DestinationArn,
      rate,
      context.region,
    );
    return { TaskHandle: handle };
  },

  ListMessageMoveTasks(context, params) {
    const maxResults = params.MaxResults ?? 1;
    if (maxResults < 1 || maxResults > MAX_MOVE_TASK_RESULTS) {
      throw invalidParameterValue(
        'MaxResults',
        String(maxResults),
        `Value must be between 1 and ${MAX_MOVE_TASK_RESULTS}.`,
      );
    }
    const tasks = context.registry.listMoveTasks(params.SourceArn, maxResults, context.region);
    return {
      Results: tasks.map((task) => ({
        // Only a running task has a handle to cancel it by.
        TaskHandle: task.status === 'RUNNING' ? task.taskHandle : undefined,
        Status: task.status,
        SourceArn: task.sourceArn,
        DestinationArn: task.destinationArn,
        MaxNumberOfMessagesPerSecond: task.maxNumberOfMessagesPerSecond,
        ApproximateNumberOfMessagesMoved: task.approximateNumberOfMessagesMoved,
        ApproximateNumberOfMessagesToMove: task.approximateNumberOfMessagesToMove,
        FailureReason: task.failureReason,
        StartedTimestamp: task.startedAtMs,
      })),
    };
  },

  CancelMessageMoveTask(context, params) {
    return { ApproximateNumberOfMessagesMoved: context.registry.cancelMoveTask(params.TaskHandle) };
  },
});
