// Placeholder: the message actions (SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch),
// ChangeMessageVisibility(Batch)) come from another branch; the lead resolves the merge.
import type { SqsActionHandler } from '../action-context.js';
import type { SqsAction } from '../model.js';

export const messageActions: Partial<Record<SqsAction, SqsActionHandler>> = {};
