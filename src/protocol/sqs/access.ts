// Who may do what to a queue, as AWS's account model has it: the caller's account comes from its
// access key; the queue's own account (Pier's --sqs-account-id) is allowed by identity, any other
// account only where the queue's Policy allows it; an explicit Deny in the Policy refuses anyone,
// the owner included. The policy language itself is evaluated in core/sqs/policy.ts.
import {
  evaluateQueuePolicy,
  type PolicyDecision,
  parseQueuePolicy,
  type QueuePolicy,
} from '../../core/sqs/policy.js';
import type { SqsQueue } from '../../core/sqs/queue.js';
import type { SqsQueueSettings } from '../../core/sqs/settings.js';
import { sqsError } from './errors.js';
import type { SqsAction } from './model.js';

/** The signed caller. */
export interface SqsCaller {
  /** 12-digit account id of the access key (the queues' account when keys carry none). */
  readonly account: string;
  /** Whether the caller's account owns Pier's queues. */
  readonly isOwner: boolean;
  /** Condition keys of the request (aws:SecureTransport, aws:SourceIp, aws:CurrentTime, ...). */
  readonly context: ReadonlyMap<string, string>;
}

/**
 * The IAM action a request is authorized as: a batch action as its single form (AWS's SQS actions
 * table has no *Batch actions; SendMessageBatch needs sqs:SendMessage).
 */
export function iamActionOf(action: SqsAction): string {
  return action.endsWith('Batch') ? action.slice(0, -'Batch'.length) : action;
}

/**
 * Actions another account may never perform on Pier's queues, whatever the policy says: only the
 * owner edits permissions (AWS: "Only the owner of a queue can grant or deny permissions"), and
 * account-level actions act on the caller's own account, which holds no queues here.
 */
const OWNER_ONLY: ReadonlySet<string> = new Set(['AddPermission', 'RemovePermission']);

/** A parsed Policy per settings object (settings are replaced whole on every change). */
const parsedPolicies = new WeakMap<SqsQueueSettings, QueuePolicy>();

function policyOf(settings: SqsQueueSettings): QueuePolicy | undefined {
  const text = settings.policy;
  if (text === undefined) return undefined;
  let policy = parsedPolicies.get(settings);
  if (!policy) {
    try {
      policy = parseQueuePolicy(text);
    } catch {
      // A policy stored before Pier parsed policies, and unreadable now, allows no one: a policy
      // that cannot be read must not open a queue (the owner keeps access and can replace it).
      policy = { statements: [] };
    }
    parsedPolicies.set(settings, policy);
  }
  return policy;
}

/** The decision for the caller on a queue: 'allow', or why not. */
export function decide(queue: SqsQueue, caller: SqsCaller, action: SqsAction): PolicyDecision {
  if (!caller.isOwner && OWNER_ONLY.has(action)) return 'implicit-deny';
  const policy = policyOf(queue.settings);
  // The owner without a policy: nothing to evaluate (the common case costs one property read).
  if (caller.isOwner && policy === undefined) return 'allow';
  const decision = evaluateQueuePolicy(policy, {
    account: caller.account,
    principalArn: principalArnOf(caller.account),
    action: iamActionOf(action),
    resource: queue.arn,
    context: caller.context,
  });
  if (decision === 'explicit-deny') return decision;
  return caller.isOwner ? 'allow' : decision;
}

/** Throws AWS's AccessDenied unless the caller may perform the action on the queue. */
export function authorize(queue: SqsQueue, caller: SqsCaller, action: SqsAction): void {
  const decision = decide(queue, caller, action);
  if (decision !== 'allow') throw accessDenied(caller.account, action, queue.arn, decision);
}

/** Pier's callers are their accounts' root principals (an access key names an account, not a user). */
export const principalArnOf = (account: string) => `arn:aws:iam::${account}:root`;

/**
 * AWS's wording for a refused call (IAM's "not authorized to perform" message, which SQS answers
 * with since its JSON protocol; the action in lower case as SQS writes it).
 */
export function accessDenied(
  account: string,
  action: SqsAction,
  resource: string,
  decision: PolicyDecision | 'account',
) {
  const iamAction = `sqs:${iamActionOf(action).toLowerCase()}`;
  const why =
    decision === 'explicit-deny'
      ? 'with an explicit deny in a resource-based policy'
      : decision === 'account'
        ? `because account ${account} holds no queues on this server`
        : `because no resource-based policy allows the ${iamAction} action`;
  return sqsError(
    'AccessDenied',
    `User: ${principalArnOf(account)} is not authorized to perform: ${iamAction} on resource: ${resource} ${why}`,
  );
}
