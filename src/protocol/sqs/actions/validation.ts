// Shared by the queue-management actions: queue-attributes.ts's validation results as SqsErrors, and
// the dead-letter target of a redrive policy, which must exist.
import type { SqsQueueRegistry } from '../../../core/sqs-registry.js';
import type { SqsQueueSettings } from '../../../core/sqs-settings.js';
import { SqsError } from '../errors.js';
import type { SqsValidationError } from '../queue-attributes.js';

export function validationError(error: SqsValidationError): SqsError {
  return new SqsError(error.code, error.message);
}

/** AWS refuses a RedrivePolicy whose deadLetterTargetArn names no queue. */
export function checkDeadLetterTarget(registry: SqsQueueRegistry, settings: SqsQueueSettings): void {
  const policy = settings.redrivePolicy;
  if (!policy) return;
  const name = registry.queueNameOfArn(policy.deadLetterTargetArn);
  if (name === undefined || registry.get(name) === undefined) {
    throw new SqsError(
      'InvalidParameterValue',
      `Value ${settings.redrivePolicyText ?? JSON.stringify(policy)} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`,
    );
  }
}

/** Attribute and tag maps arrive as plain objects of strings (the parsers check the types). */
export function stringMap(value: unknown): Record<string, string> {
  return (value ?? {}) as Record<string, string>;
}
