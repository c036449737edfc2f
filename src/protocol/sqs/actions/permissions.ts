// AddPermission and RemovePermission edit the queue's Policy attribute as AWS does: one statement per
// label (Sid), allowing "SQS:<action>" to the accounts' root principals on the queue's ARN. The policy
// is evaluated for every caller like any other Policy (../access.ts); only the owner edits it.
import type { SqsQueue } from '../../../core/sqs/queue.js';
import { typedHandlers } from '../action-context.js';
import { invalidParameterValue } from '../errors.js';

/** The actions a queue policy may share with other accounts (batch forms are covered by these). */
const SHAREABLE_ACTIONS: ReadonlySet<string> = new Set([
  '*',
  'ChangeMessageVisibility',
  'DeleteMessage',
  'GetQueueAttributes',
  'GetQueueUrl',
  'ListDeadLetterSourceQueues',
  'ListQueueTags',
  'PurgeQueue',
  'ReceiveMessage',
  'SendMessage',
]);
const LABEL = /^[A-Za-z0-9_-]{1,80}$/;
const ACCOUNT_ID = /^\d{12}$/;

interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

function readPolicy(queue: SqsQueue): PolicyDocument {
  const text = queue.settings.policy;
  // AWS starts the policy it writes for AddPermission at policy language version 2008-10-17
  // (issue 14's recorded AWS runs; moto's AddPermission writes the same).
  if (text === undefined)
    return { Version: '2008-10-17', Id: `${queue.arn}/SQSDefaultPolicy`, Statement: [] };
  const parsed = JSON.parse(text) as PolicyDocument;
  if (!Array.isArray(parsed.Statement)) {
    parsed.Statement = parsed.Statement === undefined ? [] : [parsed.Statement as Record<string, unknown>];
  }
  return parsed;
}

/** AWS writes a single principal or action as a string, several as a list. */
const oneOrMany = (values: string[]): string | string[] => (values.length === 1 ? values[0]! : values);

export const permissionActions = typedHandlers({
  AddPermission(context, params) {
    const queue = context.queueOf(params.QueueUrl);
    const label = params.Label;
    const accounts = params.AWSAccountIds;
    const actions = params.Actions;
    if (!LABEL.test(label)) {
      throw invalidParameterValue(
        'Label',
        label,
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    if (accounts.length === 0)
      throw invalidParameterValue('AWSAccountIds', '[]', 'At least one account id is required.');
    for (const account of accounts) {
      if (!ACCOUNT_ID.test(account))
        throw invalidParameterValue('AWSAccountId', account, 'An AWS account id is 12 digits.');
    }
    if (actions.length === 0)
      throw invalidParameterValue('Actions', '[]', 'At least one action is required.');
    for (const action of actions) {
      if (!SHAREABLE_ACTIONS.has(action)) {
        throw invalidParameterValue(
          'ActionName',
          action,
          'Please refer to the appropriate WSDL for a list of valid actions.',
        );
      }
    }
    const policy = readPolicy(queue);
    if (policy.Statement!.some((statement) => statement.Sid === label)) {
      throw invalidParameterValue('Label', label, 'Already exists.');
    }
    policy.Statement!.push({
      Sid: label,
      Effect: 'Allow',
      Principal: { AWS: oneOrMany(accounts.map((account) => `arn:aws:iam::${account}:root`)) },
      Action: oneOrMany(actions.map((action) => `SQS:${action}`)),
      Resource: queue.arn,
    });
    context.registry.updateSettings(queue, { ...queue.settings, policy: JSON.stringify(policy) });
    return undefined;
  },

  RemovePermission(context, params) {
    const queue = context.queueOf(params.QueueUrl);
    const label = params.Label;
    const policy = queue.settings.policy === undefined ? undefined : readPolicy(queue);
    const statements = policy?.Statement ?? [];
    const kept = statements.filter((statement) => statement.Sid !== label);
    if (!policy || kept.length === statements.length) {
      throw invalidParameterValue('Label', label, "can't find label on existing policy.");
    }
    policy.Statement = kept;
    // The last statement gone, the queue has no policy any more.
    const text = kept.length === 0 ? undefined : JSON.stringify(policy);
    context.registry.updateSettings(queue, { ...queue.settings, policy: text });
    return undefined;
  },
});
