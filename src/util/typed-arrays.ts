/**
 * Growing the typed-array tables that hold one slot per message (the SQS index and the SQS store's
 * record table): no object per message, so a deep queue costs bytes, not heap objects.
 */

/** Typed arrays a table grows. */
export type SlotArray = Float64Array | Uint32Array | Int32Array | Uint8Array;

/**
 * The next capacity: doubling up to 2^20 slots, then by half, so a deep table does not hold
 * twice its size in slack; never below `minCapacity` or `floor`.
 */
export function grownCapacity(capacity: number, minCapacity: number, floor: number): number {
  return Math.max(floor, minCapacity, capacity < 1 << 20 ? capacity * 2 : Math.ceil(capacity * 1.5));
}

/** A copy of `array` with `capacity` slots (the new ones zero). */
export function grownArray<T extends SlotArray>(array: T, capacity: number): T {
  const grown = new (array.constructor as new (length: number) => T)(capacity);
  grown.set(array);
  return grown;
}
