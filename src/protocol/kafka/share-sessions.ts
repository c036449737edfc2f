/**
 * Share sessions (KIP-932), as Kafka's SharePartitionManager.newContext keeps them: one per (group,
 * member), holding the share-partitions the member fetches from. Epoch 0 opens a session (replacing
 * the member's old one; acknowledgements are not allowed in it), -1 closes it (a closing ShareFetch
 * may only acknowledge), any other epoch must be the session's expected one
 * (INVALID_SHARE_SESSION_EPOCH) on an existing session (SHARE_SESSION_NOT_FOUND). A session belongs
 * to the connection that opened it: when that connection closes, the session goes and the records
 * its member holds in its partitions are released, as Kafka does on a disconnect.
 */

import type { KafkaSession } from './kafka-api.js';
import { untilSessionCloses } from './session-close.js';

export const SHARE_INITIAL_EPOCH = 0;
export const SHARE_FINAL_EPOCH = -1;

/** The epoch after `epoch` (wraps past the int32 maximum to 1, as ShareRequestMetadata.nextEpoch). */
export function nextShareEpoch(epoch: number): number {
  return epoch === 0x7fffffff ? 1 : epoch + 1;
}

export interface ShareSessionPartition {
  readonly topicIdHex: string;
  readonly partition: number;
}

export class ShareSession {
  epoch = nextShareEpoch(SHARE_INITIAL_EPOCH);
  /** key `topicIdHex:partition` → the partition, in the order first asked for. */
  readonly partitions = new Map<string, ShareSessionPartition>();
  stopWatchingConnection: () => void = () => {};

  constructor(
    readonly groupId: string,
    readonly memberId: string,
    readonly connection: KafkaSession,
  ) {}

  add(topicIdHex: string, partition: number): void {
    this.partitions.set(`${topicIdHex}:${partition}`, { topicIdHex, partition });
  }

  forget(topicIdHex: string, partition: number): void {
    this.partitions.delete(`${topicIdHex}:${partition}`);
  }
}

export type ShareSessionError = 'SHARE_SESSION_NOT_FOUND' | 'INVALID_SHARE_SESSION_EPOCH';

export class ShareSessionCache {
  private readonly sessions = new Map<string, ShareSession>();

  /** @param onClosed releases what the member holds in the session's partitions. */
  constructor(private readonly onClosed: (session: ShareSession) => void) {}

  get(groupId: string, memberId: string): ShareSession | undefined {
    return this.sessions.get(key(groupId, memberId));
  }

  /** Epoch 0: a new session, closing the member's previous one. */
  open(groupId: string, memberId: string, connection: KafkaSession): ShareSession {
    const previous = this.get(groupId, memberId);
    if (previous) this.close(previous);
    const session = new ShareSession(groupId, memberId, connection);
    this.sessions.set(key(groupId, memberId), session);
    session.stopWatchingConnection = untilSessionCloses(connection, () => {
      if (this.sessions.get(key(groupId, memberId)) === session) this.close(session);
    });
    return session;
  }

  /** A request with a non-zero epoch on an existing session: checks and (unless -1) advances the epoch. */
  use(groupId: string, memberId: string, epoch: number): ShareSession | ShareSessionError {
    const session = this.get(groupId, memberId);
    if (!session) return 'SHARE_SESSION_NOT_FOUND';
    if (epoch === SHARE_FINAL_EPOCH) return session;
    if (epoch !== session.epoch) return 'INVALID_SHARE_SESSION_EPOCH';
    session.epoch = nextShareEpoch(session.epoch);
    return session;
  }

  close(session: ShareSession): void {
    if (this.sessions.get(key(session.groupId, session.memberId)) !== session) return;
    this.sessions.delete(key(session.groupId, session.memberId));
    session.stopWatchingConnection();
    this.onClosed(session);
  }

  get size(): number {
    return this.sessions.size;
  }
}

function key(groupId: string, memberId: string): string {
  return `${groupId}\0${memberId}`;
}
