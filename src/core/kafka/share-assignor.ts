/**
 * The share-group partition assignment, by the rules of Kafka's SimpleAssignor (KIP-932, as
 * group-coordinator's SimpleHomogeneousAssignmentBuilder and SimpleHeterogeneousAssignmentBuilder
 * define them since Kafka 4.1; Kafka 4.0's early-access assignor gave every member every partition):
 *
 * - Balance first: with M members and P partitions, each partition goes to S = ceil(M / P) members
 *   (one each while there are at least as many partitions as members; shared when there are more
 *   members), and the S·P assignments are spread so that two members' counts differ by at most one
 *   (member i's count is ceil(S·P/M·(i+1)) − ceil(S·P/M·i)).
 * - Then stickiness: a member keeps what it was assigned before, as far as balance allows. Partitions
 *   of topics it no longer subscribes to go first, then shares beyond S (taken first from members
 *   holding more than their count), then the excess of members above their count; what is left
 *   unassigned goes round-robin to the members below their count.
 * - When every member subscribes to the same topics all their partitions are balanced together;
 *   otherwise each topic is balanced on its own over the members subscribed to it (a member on two
 *   topics gets its share of each).
 *
 * Kafka orders members and partitions by Java hash-set iteration, so which member gets which
 * partition can differ from Kafka's; the counts, the sharing and what is kept are the same. Here the
 * members are taken in the order given (the coordinator's join order) and partitions by topic, then
 * index. Pure: no clock, no I/O.
 */

export interface ShareAssignorMember {
  readonly memberId: string;
  /** Topic ids (hex) the member subscribes to that exist. */
  readonly subscribedTopicIds: readonly string[];
  /** Its current (previous target) assignment: topic id (hex) → partition indexes. */
  readonly current: ReadonlyMap<string, readonly number[]>;
}

/** Topic id (hex) → partition indexes, per member id. */
export type ShareAssignment = Map<string, Map<string, number[]>>;

/**
 * The new target assignment for `members` (in this order); `partitionCount(topicId)` gives each
 * subscribed topic's partitions.
 */
export function assignShareGroup(
  members: readonly ShareAssignorMember[],
  partitionCount: (topicId: string) => number,
): ShareAssignment {
  const out: ShareAssignment = new Map(members.map((m) => [m.memberId, new Map()]));
  if (members.length === 0) return out;
  const signature = (m: ShareAssignorMember) => [...m.subscribedTopicIds].sort().join(',');
  const homogeneous = members.every((m) => signature(m) === signature(members[0]!));
  const topicsInOrder = [...new Set(members.flatMap((m) => m.subscribedTopicIds))];
  const place = (memberIndexes: readonly number[], topicIds: readonly string[], overfilledFirst: boolean) => {
    const targets = topicIds.flatMap((t) =>
      Array.from({ length: partitionCount(t) }, (_, p) => partitionKey(t, p)),
    );
    const subscribed = new Set(topicIds);
    const current = memberIndexes.map((i) => {
      const held: string[] = [];
      for (const [topicId, partitions] of members[i]!.current)
        if (subscribed.has(topicId)) for (const p of partitions) held.push(partitionKey(topicId, p));
      return held;
    });
    const result = balance(targets, current, overfilledFirst);
    result.forEach((keys, k) => {
      const assignment = out.get(members[memberIndexes[k]!]!.memberId)!;
      for (const key of keys) {
        const [topicId, p] = splitKey(key);
        const list = assignment.get(topicId) ?? [];
        assignment.set(topicId, list);
        list.push(p);
      }
    });
  };
  if (homogeneous) {
    place(
      members.map((_, i) => i),
      topicsInOrder,
      false,
    );
  } else {
    for (const topicId of topicsInOrder) {
      const subscribers = members.flatMap((m, i) => (m.subscribedTopicIds.includes(topicId) ? [i] : []));
      place(subscribers, [topicId], true);
    }
  }
  for (const assignment of out.values()) for (const list of assignment.values()) list.sort((a, b) => a - b);
  return out;
}

/**
 * Balances `targets` over members 0..current.length-1 whose current holdings are `current` (already
 * limited to assignable topics). Returns each member's partitions.
 */
function balance(
  targets: readonly string[],
  current: readonly string[][],
  overfilledFirst: boolean,
): string[][] {
  const memberCount = current.length;
  const partitionCount = targets.length;
  if (memberCount === 0) return [];
  if (partitionCount === 0) return current.map(() => []);
  const sharing = Math.ceil(memberCount / partitionCount);
  const perMember = (sharing * partitionCount) / memberCount;
  const desired = current.map((_, i) => Math.ceil(perMember * (i + 1)) - Math.ceil(perMember * i));
  const targetSet = new Set(targets);
  // Kept so far, by member (insertion-ordered sets) and by partition (member indexes).
  const held = current.map((list) => new Set(list.filter((k) => targetSet.has(k))));
  const holders = new Map<string, Set<number>>(targets.map((k) => [k, new Set()]));
  held.forEach((keys, i) => {
    for (const k of keys) holders.get(k)!.add(i);
  });
  const drop = (i: number, k: string) => {
    held[i]!.delete(k);
    holders.get(k)!.delete(i);
  };
  const revokeOvershared = () => {
    for (const [k, members] of holders) {
      // Shares beyond `sharing`: first from members above their count, then from the others.
      for (const overfilledOnly of [true, false]) {
        for (const i of [...members]) {
          if (members.size <= sharing) break;
          if (overfilledOnly && held[i]!.size <= desired[i]!) continue;
          drop(i, k);
        }
      }
    }
  };
  const revokeOverfilled = () => {
    held.forEach((keys, i) => {
      // The most recently listed go first: a member keeps its oldest partitions.
      for (const k of [...keys].reverse()) {
        if (keys.size <= desired[i]!) break;
        drop(i, k);
      }
    });
  };
  if (overfilledFirst) {
    revokeOverfilled();
    revokeOvershared();
  } else {
    revokeOvershared();
    revokeOverfilled();
  }
  // Round-robin over the members below their count; the turn carries on from partition to partition.
  const unfilled = held.flatMap((keys, i) => (keys.size < desired[i]! ? [i] : []));
  let turn = 0;
  for (const k of targets) {
    const members = holders.get(k)!;
    let triedWithoutPlacing = 0;
    while (members.size < sharing && unfilled.length > 0 && triedWithoutPlacing < unfilled.length) {
      turn %= unfilled.length;
      const i = unfilled[turn]!;
      if (members.has(i)) {
        turn++;
        triedWithoutPlacing++;
        continue;
      }
      held[i]!.add(k);
      members.add(i);
      triedWithoutPlacing = 0;
      if (held[i]!.size >= desired[i]!) unfilled.splice(turn, 1);
      else turn++;
    }
    if (unfilled.length === 0) break;
  }
  return held.map((keys) => [...keys]);
}

function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

function splitKey(key: string): [string, number] {
  const colon = key.lastIndexOf(':');
  return [key.slice(0, colon), Number(key.slice(colon + 1))];
}
