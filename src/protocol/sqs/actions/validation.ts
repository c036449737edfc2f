// Shared by the queue-management actions: queue-attributes.ts's validation results as SqsErrors.
import { SqsError } from '../errors.js';
import type { SqsValidationError } from '../queue-attributes.js';

export function validationError(error: SqsValidationError): SqsError {
  return new SqsError(error.code, error.message);
}
