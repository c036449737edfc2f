/**
 * Sets a key taken from a request as an own data property. Plain assignment would call the
 * `__proto__` setter for a map key named "__proto__" (a valid message attribute name) and replace
 * the object's prototype instead of storing the entry.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
