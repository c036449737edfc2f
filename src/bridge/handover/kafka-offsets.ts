/**
 * The record-by-record offset map of one partition copied by `pier handover kafka`, pure. The copy
 * writes the source's records in order to an otherwise unwritten target partition, so the map is a
 * list of runs (source offsets and target offsets both contiguous); compaction or transaction
 * markers at the source start a new run. A committed group offset C (the next record to read) is
 * translated to the target offset of the first copied record at or after C.
 */

/** [source offset, target offset, records] of a contiguous run. */
export type Run = [number, number, number];

export interface PartitionProgress {
  /** The next source offset to copy. */
  sourceNext: number;
  /** The target's offset after the last record copied (its end when the copy began, if none yet). */
  targetNext: number;
  runs: Run[];
}

export function emptyProgress(sourceStart: number, targetStart: number): PartitionProgress {
  return { sourceNext: sourceStart, targetNext: targetStart, runs: [] };
}

/** Records that source record `sourceOffset` was written at `targetOffset`. In order only. */
export function recordCopied(progress: PartitionProgress, sourceOffset: number, targetOffset: number): void {
  const last = progress.runs.at(-1);
  if (last && last[0] + last[2] === sourceOffset && last[1] + last[2] === targetOffset) last[2]++;
  else progress.runs.push([sourceOffset, targetOffset, 1]);
  progress.sourceNext = sourceOffset + 1;
  progress.targetNext = targetOffset + 1;
}

/**
 * The target offset for a committed source offset, or undefined when the group is ahead of the
 * copy (records it already read are not copied yet).
 */
export function translateOffset(
  progress: PartitionProgress,
  committed: number,
  /** The source's end offset when the copy reached it: offsets up to it are all copied. */
  copiedTo?: number,
): number | undefined {
  for (const [sourceFrom, targetFrom, count] of progress.runs) {
    if (committed < sourceFrom) return targetFrom;
    if (committed < sourceFrom + count) return targetFrom + (committed - sourceFrom);
  }
  return committed <= Math.max(progress.sourceNext, copiedTo ?? 0) ? progress.targetNext : undefined;
}
