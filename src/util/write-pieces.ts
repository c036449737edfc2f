/**
 * The size of an answer made of many Buffers (a scrape of 10,000 queues is megabytes in hundreds of
 * pieces), which util/http-body.ts writes without joining them.
 */
export function byteLength(pieces: readonly Buffer[]): number {
  let total = 0;
  for (const piece of pieces) total += piece.length;
  return total;
}
