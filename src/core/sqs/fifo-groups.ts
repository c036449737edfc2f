import { EntryRun, NONE, type SqsEntryTable, VISIBLE } from './entry.js';

/** One MessageGroupId: its waiting messages in order, and how many of its messages are in flight. */
class FifoGroup {
  readonly waiting: EntryRun;
  inFlight = 0;
  constructor(
    readonly id: string,
    readonly number: number,
    table: SqsEntryTable,
  ) {
    this.waiting = new EntryRun(table);
  }
}

/**
 * A FIFO queue's message groups. A group can hand out messages only while none of its messages is
 * in flight and its oldest waiting message is visible (not delayed): that is what keeps a group in
 * strict order. `ready` holds those groups, oldest readiness first. Each message's slot holds its
 * group's number (the group's id string is kept once, here), and a number is reused once its group
 * has no messages left.
 */
export class FifoGroups {
  private readonly groups = new Map<string, FifoGroup>();
  private readonly byNumber: Array<FifoGroup | undefined> = [];
  private readonly freeNumbers: number[] = [];
  private readonly ready = new Set<FifoGroup>();

  constructor(private readonly table: SqsEntryTable) {}

  /** The number of the group `id` (made if new): store it in the message's slot before add(). */
  numberOf(id: string): number {
    let group = this.groups.get(id);
    if (!group) {
      const number = this.freeNumbers.pop() ?? this.byNumber.length;
      group = new FifoGroup(id, number, this.table);
      this.groups.set(id, group);
      this.byNumber[number] = group;
    }
    return group.number;
  }

  /** A new message (delayed or visible) joins the end of its group. */
  add(slot: number): void {
    const group = this.groupOf(slot);
    group.waiting.insert(slot);
    this.refresh(group);
  }

  /** A waiting message's delay passed. */
  becameVisible(slot: number): void {
    this.refresh(this.groupOf(slot));
  }

  /** An in-flight message is visible again: back to its place in the group. */
  returned(slot: number): void {
    const group = this.groupOf(slot);
    group.inFlight--;
    group.waiting.insert(slot);
    this.refresh(group);
  }

  /** A message left the queue (deleted, expired, purged, moved); call before its slot is released. */
  removed(slot: number, wasInFlight: boolean): void {
    const group = this.groupOf(slot);
    if (wasInFlight) group.inFlight--;
    else group.waiting.remove(slot);
    this.refresh(group);
  }

  /**
   * Takes up to `max` messages for one receive, as many as possible from each ready group in turn
   * (SQS returns messages of the same group together). `consider` is asked about each head in
   * order: 'take' leases it (the group is then blocked), 'drop' means it left the queue (dead-
   * lettered) and the next one is considered.
   */
  take(max: number, consider: (slot: number) => 'take' | 'drop'): number[] {
    const taken: number[] = [];
    const state = this.table.state;
    for (const group of this.ready) {
      if (taken.length >= max) break;
      let head = group.waiting.first();
      while (head !== NONE && state[head] === VISIBLE && taken.length < max) {
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

  /** The MessageGroupId of a group number. */
  idOf(number: number): string {
    return this.byNumber[number]?.id ?? '';
  }

  get readyCount(): number {
    return this.ready.size;
  }

  clear(): void {
    this.groups.clear();
    this.byNumber.length = 0;
    this.freeNumbers.length = 0;
    this.ready.clear();
  }

  private groupOf(slot: number): FifoGroup {
    return this.byNumber[this.table.group[slot]!]!;
  }

  private refresh(group: FifoGroup): void {
    const head = group.waiting.first();
    if (group.inFlight === 0 && head !== NONE && this.table.state[head] === VISIBLE) this.ready.add(group);
    else this.ready.delete(group);
    if (group.inFlight === 0 && head === NONE) {
      this.groups.delete(group.id);
      this.byNumber[group.number] = undefined;
      this.freeNumbers.push(group.number);
    }
  }
}
