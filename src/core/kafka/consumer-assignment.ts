/**
 * The partitions a consumer-group member was assigned, read from the opaque assignment bytes its
 * leader sent in SyncGroup. Only groups of protocol type 'consumer' use Kafka's ConsumerProtocol
 * layout (every version 0-3 starts the same: i16 version, then [topic string, [i32 partition]]);
 * other protocol types (Connect, Streams' own) are not read. Monitoring uses this to show which
 * member reads a partition and to count partitions assigned but never committed.
 */

export interface AssignedTopic {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/** Bounds an assignment from a misbehaving client: more entries than this is not a real one. */
const MAX_ENTRIES = 100_000;

/** The assigned topic partitions, or undefined when the bytes are not a ConsumerProtocol assignment. */
export function decodeConsumerAssignment(bytes: Buffer): AssignedTopic[] | undefined {
  if (bytes.length < 6) return undefined;
  let position = 2; // version: the prefix read here is the same in versions 0-3
  const int32 = (): number | undefined => {
    if (position + 4 > bytes.length) return undefined;
    const value = bytes.readInt32BE(position);
    position += 4;
    return value;
  };
  const topicCount = int32();
  if (topicCount === undefined || topicCount < 0 || topicCount > MAX_ENTRIES) return undefined;
  const topics: AssignedTopic[] = [];
  for (let t = 0; t < topicCount; t++) {
    if (position + 2 > bytes.length) return undefined;
    const nameLength = bytes.readInt16BE(position);
    position += 2;
    if (nameLength < 0 || position + nameLength > bytes.length) return undefined;
    const topic = bytes.toString('utf8', position, position + nameLength);
    position += nameLength;
    const partitionCount = int32();
    if (partitionCount === undefined || partitionCount < 0 || partitionCount > MAX_ENTRIES) return undefined;
    const partitions: number[] = [];
    for (let p = 0; p < partitionCount; p++) {
      const partition = int32();
      if (partition === undefined) return undefined;
      partitions.push(partition);
    }
    topics.push({ topic, partitions });
  }
  return topics;
}

/**
 * The topics a member subscribes to, read from its ConsumerProtocol subscription metadata (JoinGroup's
 * protocol metadata; versions 0-3 start the same: i16 version, then [topic string]). Undefined when
 * the bytes are not a ConsumerProtocol subscription.
 */
export function decodeConsumerSubscription(bytes: Buffer): string[] | undefined {
  if (bytes.length < 6) return undefined;
  let position = 2;
  const topicCount = bytes.readInt32BE(position);
  position += 4;
  if (topicCount < 0 || topicCount > MAX_ENTRIES) return undefined;
  const topics: string[] = [];
  for (let t = 0; t < topicCount; t++) {
    if (position + 2 > bytes.length) return undefined;
    const nameLength = bytes.readInt16BE(position);
    position += 2;
    if (nameLength < 0 || position + nameLength > bytes.length) return undefined;
    topics.push(bytes.toString('utf8', position, position + nameLength));
    position += nameLength;
  }
  return topics;
}
