// Shared by the queue-management actions: queue-attributes.ts's validation results as SqsErrors.
import { SqsError } from '../errors.js';
import type { SqsValidationError } from '../queue-attributes.js';

export function validationError(error: SqsValidationError): SqsError {
  return new SqsError(error.code, error.message);
}

/** Attribute and tag maps arrive as plain objects of strings (the parsers check the types). */
export function stringMap(value: unknown): Record<string, string> {
  return (value ?? {}) as Record<string, string>;
}
