// The dispatch table: every SQS action and its handler.
import type { SqsActionHandler } from '../action-context.js';
import type { SqsAction } from '../model.js';
import { messageActions } from './messages.js';
import { moveTaskActions } from './move-tasks.js';
import { permissionActions } from './permissions.js';
import { queueActions } from './queues.js';
import { tagActions } from './tags.js';

export const sqsActions: Readonly<Partial<Record<SqsAction, SqsActionHandler>>> = {
  ...queueActions,
  ...tagActions,
  ...permissionActions,
  ...moveTaskActions,
  ...messageActions,
};
