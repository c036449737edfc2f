import type { ResourceAlarm } from '../../resources/resource-monitor.js';

/** What the throttle needs from its connection. */
export interface ThrottledConnection {
  /** Resource alarms raised now (memory, disk). */
  readonly alarms: ReadonlySet<ResourceAlarm>;
  /** Sends connection.blocked (to clients that announced the capability). */
  sendBlocked(reason: string): void;
  sendUnblocked(): void;
  /** Stops and restarts reading the socket. */
  pauseReading(): void;
  resumeReading(): void;
  /** Handles a frame that arrived while blocked, now that the connection is unblocked. */
  processFrame(type: number, channelId: number, payload: Buffer): void;
}

interface HeldFrame {
  readonly type: number;
  readonly channelId: number;
  readonly payload: Buffer;
}

/**
 * Blocks publishing connections while a resource alarm is raised, as RabbitMQ's reader does: a
 * connection is blocked when it sends content (a publish) during an alarm — not before, so a
 * connection that only consumes and acks keeps working. Blocked, it is not read at all: frames
 * already parsed from the last socket chunk are held and processed, in order, once every alarm
 * has cleared. connection.blocked goes out once per blocking, connection.unblocked at the end.
 */
export class PublishThrottle {
  private blocked = false;
  private notified = false;
  private held: HeldFrame[] = [];

  constructor(private readonly connection: ThrottledConnection) {}

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** A frame that arrived after blocking: processed after unblocking. */
  hold(type: number, channelId: number, payload: Buffer): void {
    this.held.push({ type, channelId, payload });
  }

  /** Called after each content header or body frame. */
  publishReceived(): void {
    if (this.blocked || this.connection.alarms.size === 0) return;
    this.blocked = true;
    this.connection.pauseReading();
    this.connection.sendBlocked(blockedReason(this.connection.alarms));
    this.notified = true;
  }

  /** Called when alarms are raised or cleared: unblocks once none is left. */
  alarmsChanged(): void {
    if (!this.blocked || this.connection.alarms.size > 0) return;
    this.blocked = false;
    if (this.notified) this.connection.sendUnblocked();
    this.notified = false;
    const held = this.held;
    this.held = [];
    for (const frame of held) {
      // A held frame may block again only if an alarm was raised meanwhile; keep the rest held.
      if (this.blocked) this.held.push(frame);
      else this.connection.processFrame(frame.type, frame.channelId, frame.payload);
    }
    if (!this.blocked) this.connection.resumeReading();
  }

  /** The connection is closing: nothing held matters any more; read again so close-ok arrives. */
  release(): void {
    const wasBlocked = this.blocked;
    this.blocked = false;
    this.notified = false;
    this.held = [];
    if (wasBlocked) this.connection.resumeReading();
  }
}

/** RabbitMQ's reason text: `low on memory`, `low on disk`, `low on memory & disk`. */
export function blockedReason(alarms: ReadonlySet<ResourceAlarm>): string {
  const names = (['memory', 'disk'] as const).filter((alarm) => alarms.has(alarm));
  return `low on ${names.join(' & ')}`;
}
