/**
 * Writes an answer made of many Buffers (a scrape of 10,000 queues is megabytes in hundreds of
 * pieces) to an HTTP response without joining them: corked, so the socket sends them with
 * writev, each piece referenced rather than copied.
 */
import type { ServerResponse } from 'node:http';

export function byteLength(pieces: readonly Buffer[]): number {
  let total = 0;
  for (const piece of pieces) total += piece.length;
  return total;
}

/** Writes the pieces and ends the response (its Content-Length set by the caller). */
export function writePieces(response: ServerResponse, pieces: readonly Buffer[]): void {
  response.cork();
  for (const piece of pieces) if (piece.length > 0) response.write(piece);
  response.end();
  response.uncork();
}
