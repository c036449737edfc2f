import { EntryRun, type SqsEntry } from './entry.js';

/** One MessageGroupId: its waiting messages in order, and how many of its messages are in flight. */
class FifoGroup {
  readonly waiting = new EntryRun();
  inFlight = 0;
  constructor(readonly id: string) {}
}

/**
 * A FIFO queue's message groups. A group can hand out messages only while none of its messages is
 * in flight and its oldest waiting message is visible (not delayed): that is what keeps a group in
 * strict order. `ready` holds those groups, oldest readiness first.
 */
export class FifoGroups {
  private readonly groups = new Map<string, FifoGroup>();
  private readonly ready = new Set<FifoGroup>();

  /** A new message (delayed or visible) joins the end of its group. */
  add(entry: SqsEntry): void {
    const group = this.groupOf(entry);
    group.waiting.insert(entry);
    this.refresh(group);
  }

  /** A waiting message's delay passed. */
  becameVisible(entry: SqsEntry): void {
    this.refresh(this.groupOf(entry));
  }

  /** An in-flight message is visible again: back to its place in the group. */
  returned(entry: SqsEntry): void {
    const group = this.groupOf(entry);
    group.inFlight--;
    group.waiting.insert(entry);
    this.refresh(group);
  }

  /** A message left the queue (deleted, expired, purged, moved) from `state`. */
  removed(entry: SqsEntry, wasInFlight: boolean): void {
    const group = this.groupOf(entry);
    if (wasInFlight) group.inFlight--;
    else group.waiting.remove(entry);
    this.refresh(group);
  }

  /**
   * Takes up to `max` messages for one receive, as many as possible from each ready group in turn
   * (SQS returns messages of the same group together). `consider` is asked about each head in
   * order: 'take' leases it (the group is then blocked), 'drop' means it left the queue (dead-
   * lettered) and the next one is considered.
   */
  take(max: number, consider: (entry: SqsEntry) => 'take' | 'drop'): SqsEntry[] {
    const taken: SqsEntry[] = [];
    for (const group of this.ready) {
      if (taken.length >= max) break;
      let head = group.waiting.first();
      while (head !== undefined && head.state === 'visible' && taken.length < max) {
        group.waiting.shift();
        if (consider(head) === 'take') {
          group.inFlight++;
          taken.push(head);
        }
        head = group.waiting.first();
      }
      this.refresh(group);
    }
    return taken;
  }

  /** The group's id string if the group exists (new entries share it instead of their own copy). */
  internId(id: string): string {
    return this.groups.get(id)?.id ?? id;
  }

  get readyCount(): number {
    return this.ready.size;
  }

  clear(): void {
    this.groups.clear();
    this.ready.clear();
  }

  private groupOf(entry: SqsEntry): FifoGroup {
    const id = entry.groupId ?? '';
    let group = this.groups.get(id);
    if (!group) {
      group = new FifoGroup(id);
      this.groups.set(id, group);
    }
    return group;
  }

  private refresh(group: FifoGroup): void {
    const head = group.waiting.first();
    if (group.inFlight === 0 && head !== undefined && head.state === 'visible') this.ready.add(group);
    else this.ready.delete(group);
    if (group.inFlight === 0 && head === undefined) this.groups.delete(group.id);
  }
}
