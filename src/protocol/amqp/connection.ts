import type { Socket } from 'node:net';
import type { VirtualHost } from '../../core/amqp/vhost.js';
import type { BrokerCore } from '../../core/broker-core.js';
import type { Clock } from '../../core/clock.js';
import type { DurabilityBarrier } from '../../core/durability.js';
import type { AmqpStats } from '../../core/stats.js';
import { isDiskFullError, type ResourceAlarms } from '../../resources/resource-monitor.js';
import { ReadBudget } from '../../util/read-budget.js';
import { AmqpAccess } from './access.js';
import { Channel, type ChannelDescription, type ChannelHost } from './channel.js';
import {
  AmqpCodecError,
  type AmqpMethod,
  COPY_BODY_MAX_BYTES,
  classMethodOf,
  decodeMethod,
  decodeTableBody,
  encodeHeartbeat,
  encodeMethodFrame,
  type FieldTable,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  FrameParser,
  PROTOCOL_HEADER,
  ReplyCode,
} from './codec/index.js';
import type { DirectReplyRegistry } from './direct-reply-to.js';
import { AmqpError, connectionError } from './errors.js';
import { PublishThrottle } from './publish-throttle.js';
import { serverProperties } from './server-properties.js';

export interface AmqpLimits {
  /** Largest frame we accept and propose in connection.tune (RabbitMQ default 131072). */
  readonly frameMaxBytes: number;
  /** Highest channel number a client may open (RabbitMQ default 2047). */
  readonly channelMax: number;
  /** Heartbeat interval we propose; the client may lower it or turn it off with 0. */
  readonly heartbeatSeconds: number;
  readonly maxMessageSizeBytes: number;
  /** Time a client has to complete the handshake before we hang up. */
  readonly handshakeTimeoutMs: number;
  /** Open connections the listener allows (RabbitMQ connection_max); Infinity for no limit. */
  readonly maxConnections: number;
  /** Consumers one channel may have (RabbitMQ consumer_max_per_channel); Infinity for no limit. */
  readonly maxConsumersPerChannel: number;
  /** An unacked delivery older than this closes its channel (RabbitMQ consumer_timeout); 0 disables. */
  readonly consumerTimeoutMs: number;
  /**
   * `product` in server-properties. Clients switch semantics on it (kombu: basic.qos per channel
   * only for `RabbitMQ`); default `RabbitMQ`, as Pier implements RabbitMQ's semantics.
   */
  readonly serverProduct: string;
  /** `version` in server-properties: the RabbitMQ version whose semantics Pier implements (3.10.8). */
  readonly serverVersion: string;
}

/** What every connection shares: the broker core, durability and limits. */
export interface ConnectionContext {
  readonly core: BrokerCore;
  readonly durability: DurabilityBarrier;
  readonly clock: Clock;
  readonly limits: AmqpLimits;
  readonly log: (line: string) => void;
  /** Memory and disk alarms: while one is raised, connections that publish are blocked. */
  readonly alarms: ResourceAlarms;
  /** Connections the listener holds now, this one included (for maxConnections). */
  /** Open connections: all, or those opened (connection.open done) into `vhost` or by `user`. */
  readonly connectionCount: (opened?: { vhost?: string; user?: string }) => number;
  /** Channels open over every connection of `user` (for its max-channels limit). */
  readonly channelCountOfUser: (user: string) => number;
  /** Called once the socket is gone, so the server can forget the connection. */
  readonly onClosed: (connection: AmqpConnection) => void;
  /** Reply consumers of every connection on the listener (direct reply-to). */
  readonly directReply: DirectReplyRegistry;
  /**
   * The user a verified TLS client certificate names (ssl_cert_login_from); undefined for a plain
   * connection or one without a verified certificate. Only when it gives a user is EXTERNAL offered.
   */
  readonly externalUser?: ((socket: Socket) => string | undefined) | undefined;
}

enum Phase {
  AwaitingHeader,
  AwaitingStartOk,
  AwaitingTuneOk,
  AwaitingOpen,
  Open,
  /** We sent connection.close: wait for close-ok, ignore everything else. */
  Closing,
  Closed,
}

/** Bytes buffered for the socket above which deliveries pause until it drains. */
const WRITE_HIGH_WATER_BYTES = 4 * 1024 * 1024;
/**
 * Many small frames (deliveries, confirms) are cheaper to copy into one buffer than to hand to
 * writev one iovec each: output batches up to this size are written as one buffer when they hold
 * no large piece. Large bodies' slices (encodeContentMethod references them) go to writev as they
 * are, between the small frames around them copied together: copying a 64 KiB body once more per
 * delivery cost large-message consumers a tenth of the broker's time.
 */
const COALESCE_MAX_BYTES = 1024 * 1024;
/** A piece at least this large is written by reference, never copied into a coalesced buffer. */
const LARGE_PIECE_BYTES = COPY_BODY_MAX_BYTES;
/** Bytes a connection is read per event-loop turn before others get theirs (util/read-budget.ts). */
const READ_BYTES_PER_TURN = 256 * 1024;
/** How long to wait for close-ok after sending connection.close before hanging up. */
const CLOSE_TIMEOUT_MS = 3000;

/**
 * One AMQP 0-9-1 connection: the handshake (header, start/tune/open), authentication, heartbeats,
 * the frame dispatch to channels, and the connection-level exceptions.
 */
export class AmqpConnection implements ChannelHost {
  private phase = Phase.AwaitingHeader;
  private headerBytes = Buffer.alloc(0);
  private readonly parser: FrameParser;
  private readonly channels = new Map<number, Channel>();
  private outbox: Buffer[] = [];
  private outboxBytes = 0;
  private flushScheduled = false;
  private writesPaused = false;

  private vhostRef: VirtualHost | undefined;
  access!: AmqpAccess;
  private username = '';
  private clientProperties: FieldTable = {};
  frameMaxBytes: number;
  private channelMax: number;
  private heartbeatSeconds = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private lastReceivedAtMs = Date.now();
  private sentSinceHeartbeat = false;
  consumerCancelNotify = false;
  private authenticationFailureClose = false;
  /** The client announced the connection.blocked capability. */
  private blockedNotifications = false;
  private readonly throttle: PublishThrottle;
  private readonly readBudget: ReadBudget;

  readonly maxMessageSizeBytes: number;
  readonly maxConsumersPerChannel: number;
  readonly consumerTimeoutMs: number;
  readonly durability: DurabilityBarrier;
  readonly clock: Clock;
  readonly directReply: DirectReplyRegistry;
  readonly stats: AmqpStats;
  readonly owner = this;
  /** The user a verified TLS client certificate names, for EXTERNAL; undefined otherwise. */
  private readonly certificateUser: string | undefined;

  constructor(
    readonly socket: Socket,
    private readonly context: ConnectionContext,
  ) {
    const limits = context.limits;
    this.parser = new FrameParser(limits.frameMaxBytes);
    this.frameMaxBytes = limits.frameMaxBytes;
    this.channelMax = limits.channelMax;
    this.maxMessageSizeBytes = limits.maxMessageSizeBytes;
    this.maxConsumersPerChannel = limits.maxConsumersPerChannel;
    this.consumerTimeoutMs = limits.consumerTimeoutMs;
    this.durability = context.durability;
    this.clock = context.clock;
    this.directReply = context.directReply;
    this.stats = context.core.stats;
    this.certificateUser = context.externalUser?.(socket);
    this.onFrame = this.onFrame.bind(this);
    this.throttle = new PublishThrottle({
      get alarms() {
        return context.alarms.active;
      },
      sendBlocked: (reason) => {
        if (this.blockedNotifications)
          this.send(encodeMethodFrame(0, { method: 'connection.blocked', reason }));
      },
      sendUnblocked: () => {
        if (this.blockedNotifications) this.send(encodeMethodFrame(0, { method: 'connection.unblocked' }));
      },
      pauseReading: () => socket.pause(),
      resumeReading: () => {
        this.lastReceivedAtMs = Date.now();
        socket.resume();
      },
      processFrame: this.onFrame,
    });
    this.readBudget = new ReadBudget(
      socket,
      READ_BYTES_PER_TURN,
      () => this.phase !== Phase.Closed && !this.throttle.isBlocked,
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => {}); // 'close' follows; nothing else to do
    socket.on('close', () => this.onSocketClosed());
    this.handshakeTimer = setTimeout(() => {
      if (this.phase < Phase.Open) this.socket.destroy();
    }, limits.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  get vhost(): VirtualHost {
    return this.vhostRef!;
  }

  get user(): string {
    return this.username;
  }

  /** The user who opened this connection, undefined before connection.open succeeded. */
  get openedBy(): string | undefined {
    return this.vhostRef === undefined ? undefined : this.username;
  }

  /** The vhost this connection opened, undefined before connection.open succeeded. */
  get openedVhost(): string | undefined {
    return this.vhostRef?.name;
  }

  /** Closed or closing: no longer counts toward maxConnections. */
  get isClosing(): boolean {
    return this.phase >= Phase.Closing;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  // ---- input -----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.lastReceivedAtMs = Date.now();
    if (this.phase === Phase.Closed) return;
    if (this.phase === Phase.AwaitingHeader) {
      chunk = this.readProtocolHeader(chunk);
      if (chunk.length === 0) return;
    }
    try {
      // Definition changes this read makes (declares, binds, deletes) are synced once, before the
      // answers are written (flush): one fdatasync per turn for every channel, not one per change.
      const definitions = this.context.core.definitions;
      if (definitions.deferSyncs) definitions.deferSyncs(() => this.parser.push(chunk, this.onFrame));
      else this.parser.push(chunk, this.onFrame);
    } catch (error) {
      this.handleError(error, 0, 0, 0);
    }
    this.readBudget.spent(chunk.length);
  }

  /** Checks the 8-byte protocol header; a wrong one gets ours back and the socket closed (spec 4.2.2). */
  private readProtocolHeader(chunk: Buffer): Buffer {
    const needed = 8 - this.headerBytes.length;
    this.headerBytes = Buffer.concat([this.headerBytes, chunk.subarray(0, needed)]);
    if (this.headerBytes.length < 8) return Buffer.alloc(0);
    if (!this.headerBytes.equals(PROTOCOL_HEADER)) {
      this.phase = Phase.Closed;
      this.socket.end(PROTOCOL_HEADER);
      return Buffer.alloc(0);
    }
    this.phase = Phase.AwaitingStartOk;
    this.sendStart();
    return chunk.subarray(needed);
  }

  private onFrame(type: number, channelId: number, payload: Buffer): void {
    if (this.phase === Phase.Closed) return;
    if (this.throttle.isBlocked) {
      this.throttle.hold(type, channelId, payload);
      return;
    }
    if (type === FRAME_HEARTBEAT) {
      if (channelId !== 0) {
        this.handleError(
          connectionError(ReplyCode.FRAME_ERROR, `heartbeat frame on channel ${channelId}`),
          0,
          0,
          0,
        );
      }
      return;
    }
    if (this.phase === Phase.Closing) {
      if (channelId === 0 && type === FRAME_METHOD) {
        const method = decodeMethod(payload);
        if (method.method === 'connection.close-ok') this.socket.destroy();
        else if (method.method === 'connection.close')
          this.send(encodeMethodFrame(0, { method: 'connection.close-ok' }));
      }
      return;
    }
    try {
      if (channelId === 0) this.onConnectionFrame(type, payload);
      else {
        this.onChannelFrame(type, channelId, payload);
        if (type === FRAME_HEADER || type === FRAME_BODY) this.throttle.publishReceived();
      }
    } catch (error) {
      // Content frames belong to basic.publish (60, 40), the only method a client sends content with.
      const { classId, methodId } =
        type === FRAME_METHOD
          ? classMethodOf(payload)
          : type === FRAME_HEADER || type === FRAME_BODY
            ? { classId: 60, methodId: 40 }
            : { classId: 0, methodId: 0 };
      this.handleError(error, channelId, classId, methodId);
    }
  }

  private onChannelFrame(type: number, channelId: number, payload: Buffer): void {
    if (this.phase !== Phase.Open) {
      throw connectionError(
        ReplyCode.COMMAND_INVALID,
        `frame on channel ${channelId} before the connection was opened`,
      );
    }
    const channel = this.channels.get(channelId);
    if (channel) {
      channel.handleFrame(type, payload);
      return;
    }
    if (type !== FRAME_METHOD) throw connectionError(ReplyCode.CHANNEL_ERROR, `expected 'channel.open'`);
    const method = decodeMethod(payload);
    if (method.method !== 'channel.open')
      throw connectionError(ReplyCode.CHANNEL_ERROR, `expected 'channel.open'`);
    // As RabbitMQ: the number of open channels is limited, not the channel numbers.
    if (this.channels.size >= this.channelMax) {
      throw connectionError(
        ReplyCode.NOT_ALLOWED,
        `number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`,
      );
    }
    const maxUserChannels = this.context.core.users.get(this.username)?.limits?.['max-channels'];
    if (maxUserChannels !== undefined && maxUserChannels >= 0) {
      if (this.context.channelCountOfUser(this.username) >= maxUserChannels) {
        throw connectionError(
          ReplyCode.NOT_ALLOWED,
          `number of channels opened for user '${this.username}' has reached the maximum allowed user limit of (${maxUserChannels})`,
        );
      }
    }
    this.channels.set(channelId, new Channel(channelId, this));
    this.stats.channelsOpened++;
    this.send(encodeMethodFrame(channelId, { method: 'channel.open-ok' }));
  }

  private onConnectionFrame(type: number, payload: Buffer): void {
    if (type !== FRAME_METHOD) {
      throw connectionError(
        ReplyCode.UNEXPECTED_FRAME,
        `expected method frame on channel 0, got frame type ${type}`,
      );
    }
    const method = decodeMethod(payload);
    switch (this.phase) {
      case Phase.AwaitingStartOk:
        this.onStartOk(expect(method, 'connection.start-ok'));
        return;
      case Phase.AwaitingTuneOk:
        this.onTuneOk(expect(method, 'connection.tune-ok'));
        return;
      case Phase.AwaitingOpen:
        this.onOpen(expect(method, 'connection.open'));
        return;
      default:
        this.onOpenConnectionMethod(method);
    }
  }

  // ---- handshake -------------------------------------------------------------------------

  private sendStart(): void {
    this.send(
      encodeMethodFrame(0, {
        method: 'connection.start',
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: serverProperties({
          product: this.context.limits.serverProduct,
          version: this.context.limits.serverVersion,
        }),
        // RabbitMQ offers EXTERNAL (rabbitmq_auth_mechanism_ssl) only where a certificate was verified.
        mechanisms: this.certificateUser === undefined ? 'PLAIN AMQPLAIN' : 'PLAIN AMQPLAIN EXTERNAL',
        locales: 'en_US',
      }),
    );
  }

  private onStartOk(m: Extract<AmqpMethod, { method: 'connection.start-ok' }>): void {
    this.clientProperties = m.clientProperties;
    const capabilities = (m.clientProperties.capabilities ?? {}) as FieldTable;
    this.consumerCancelNotify = capabilities.consumer_cancel_notify === true;
    this.blockedNotifications = capabilities['connection.blocked'] === true;
    this.authenticationFailureClose = capabilities.authentication_failure_close === true;
    if (m.mechanism === 'EXTERNAL') {
      this.onExternalLogin();
      return;
    }
    const credentials = parseCredentials(m.mechanism, m.response);
    if (!credentials) {
      this.refuseLogin(`unsupported authentication mechanism '${m.mechanism}' or malformed response`);
      return;
    }
    const result = this.context.core.authenticate(
      credentials.username,
      credentials.password,
      this.socket.remoteAddress,
    );
    if (!result.ok) {
      this.refuseLogin(result.reason.replace('PLAIN', m.mechanism));
      return;
    }
    this.loggedIn(credentials.username);
  }

  /** EXTERNAL: the user is the one the verified client certificate names; no password is asked. */
  private onExternalLogin(): void {
    const username = this.certificateUser;
    if (username === undefined) {
      this.refuseLogin(
        'EXTERNAL login needs a TLS connection with a verified client certificate (--tls-client-cert optional|required)',
      );
      return;
    }
    const result = this.context.core.authenticateExternal(username, this.socket.remoteAddress);
    if (!result.ok) {
      this.refuseLogin(result.reason);
      return;
    }
    this.loggedIn(username);
  }

  private loggedIn(username: string): void {
    this.username = username;
    this.phase = Phase.AwaitingTuneOk;
    this.send(
      encodeMethodFrame(0, {
        method: 'connection.tune',
        channelMax: this.context.limits.channelMax,
        frameMax: this.context.limits.frameMaxBytes,
        heartbeat: this.context.limits.heartbeatSeconds,
      }),
    );
  }

  /** Clients that announced authentication_failure_close get a 403; others are just disconnected. */
  private refuseLogin(reason: string): void {
    this.context.log(`amqp: login refused for ${this.remoteAddress}: ${reason}`);
    if (this.authenticationFailureClose) {
      this.closeConnection(connectionError(ReplyCode.ACCESS_REFUSED, reason), 10, 11);
    } else {
      this.phase = Phase.Closed;
      this.flush();
      this.socket.end();
    }
  }

  private onTuneOk(m: Extract<AmqpMethod, { method: 'connection.tune-ok' }>): void {
    const limits = this.context.limits;
    if (m.frameMax !== 0 && m.frameMax < FRAME_MIN_SIZE) {
      throw connectionError(ReplyCode.NOT_ALLOWED, `frame_max=${m.frameMax} < ${FRAME_MIN_SIZE} min size`);
    }
    if (m.frameMax > limits.frameMaxBytes) {
      throw connectionError(
        ReplyCode.NOT_ALLOWED,
        `frame_max=${m.frameMax} > ${limits.frameMaxBytes} max size`,
      );
    }
    if (m.channelMax > limits.channelMax) {
      throw connectionError(ReplyCode.NOT_ALLOWED, `channel_max=${m.channelMax} > ${limits.channelMax} max`);
    }
    this.frameMaxBytes = m.frameMax === 0 ? limits.frameMaxBytes : m.frameMax;
    this.parser.maxFrameSizeBytes = this.frameMaxBytes;
    this.channelMax = m.channelMax === 0 ? limits.channelMax : m.channelMax;
    this.heartbeatSeconds = m.heartbeat;
    this.phase = Phase.AwaitingOpen;
    this.startHeartbeats();
  }

  private onOpen(m: Extract<AmqpMethod, { method: 'connection.open' }>): void {
    const maxConnections = this.context.limits.maxConnections;
    if (this.context.connectionCount() > maxConnections) {
      throw connectionError(
        ReplyCode.NOT_ALLOWED,
        `connection refused: node connection limit (${maxConnections}) is reached`,
      );
    }
    const vhost = m.virtualHost;
    // 530 unless permitted and under the vhost's and the user's connection limits
    this.access = AmqpAccess.open(
      this.context.core,
      this.username,
      vhost,
      {
        inVhost: () => this.context.connectionCount({ vhost }),
        ofUser: () => this.context.connectionCount({ user: this.username }),
      },
      this.socket.remoteAddress ?? '',
    );
    this.vhostRef = this.access.vhost;
    this.phase = Phase.Open;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.send(encodeMethodFrame(0, { method: 'connection.open-ok' }));
  }

  private onOpenConnectionMethod(m: AmqpMethod): void {
    switch (m.method) {
      case 'connection.close':
        this.send(encodeMethodFrame(0, { method: 'connection.close-ok' }));
        this.flush();
        this.phase = Phase.Closed;
        this.releaseChannels();
        this.socket.end();
        return;
      case 'connection.close-ok':
        this.socket.destroy();
        return;
      case 'connection.update-secret':
        this.send(encodeMethodFrame(0, { method: 'connection.update-secret-ok' }));
        return;
      case 'connection.blocked':
      case 'connection.unblocked':
        return;
      default:
        throw connectionError(ReplyCode.COMMAND_INVALID, `unexpected method ${m.method} on channel 0`);
    }
  }

  // ---- heartbeats ------------------------------------------------------------------------

  private startHeartbeats(): void {
    if (this.heartbeatSeconds <= 0) return;
    const intervalMs = (this.heartbeatSeconds * 1000) / 2;
    this.heartbeatTimer = setInterval(() => {
      // A peer silent for two intervals is dead (RabbitMQ: "missed heartbeats from client"); a
      // blocked connection is not read, so its silence proves nothing.
      if (!this.throttle.isBlocked && Date.now() - this.lastReceivedAtMs > this.heartbeatSeconds * 2000) {
        this.context.log(
          `amqp: closing ${this.remoteAddress}: missed heartbeats from client, timeout: ${this.heartbeatSeconds}s`,
        );
        this.socket.destroy();
        return;
      }
      if (!this.sentSinceHeartbeat) this.send(encodeHeartbeat());
      this.sentSinceHeartbeat = false;
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  // ---- errors and closing ----------------------------------------------------------------

  private handleError(error: unknown, channelId: number, classId: number, methodId: number): void {
    let amqpError: AmqpError;
    if (error instanceof AmqpError) amqpError = error;
    else if (error instanceof AmqpCodecError)
      amqpError = new AmqpError(error.replyCode, stripName(error.message), true);
    else if (isStorageRefusal(error)) {
      // A full disk refused a new segment file, or storage stopped after a failed fdatasync: the
      // publish is not stored and its confirm never comes; the disk alarm blocks publishers now.
      this.context.log(`amqp: ${this.remoteAddress}: publish refused: ${(error as Error).message}`);
      amqpError = connectionError(
        ReplyCode.INTERNAL_ERROR,
        // reply-text is a shortstr: the code, not the path-laden message (which is logged).
        isOutOfFileDescriptors(error as Error)
          ? `cannot store the message (${(error as NodeJS.ErrnoException).code}: too many open files); publish again once connections are fewer`
          : `cannot store the message (${(error as NodeJS.ErrnoException).code ?? (error as Error).name}); publish again once disk space is freed`,
      );
    } else {
      this.context.log(`amqp: internal error on ${this.remoteAddress}: ${(error as Error)?.stack ?? error}`);
      amqpError = connectionError(ReplyCode.INTERNAL_ERROR, 'internal error');
    }
    const channel = channelId === 0 ? undefined : this.channels.get(channelId);
    if (!amqpError.connectionLevel && channel) channel.closeWithError(amqpError, classId, methodId);
    else this.closeConnection(amqpError, classId, methodId);
  }

  /** Raises a connection exception: connection.close, then hang up after close-ok or a timeout. */
  closeConnection(error: AmqpError, classId = 0, methodId = 0): void {
    if (this.phase === Phase.Closing || this.phase === Phase.Closed) return;
    this.phase = Phase.Closing;
    this.throttle.release();
    this.releaseChannels();
    this.send(
      encodeMethodFrame(0, {
        method: 'connection.close',
        replyCode: error.replyCode,
        replyText: error.replyText,
        classId,
        methodId,
      }),
    );
    this.flush();
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  }

  /** Server shutdown: 320 CONNECTION_FORCED, as RabbitMQ sends when it stops. */
  forceClose(reason: string): void {
    if (this.phase === Phase.Open) {
      this.closeConnection(connectionError(ReplyCode.CONNECTION_FORCED, reason));
    } else {
      this.socket.destroy();
    }
  }

  private releaseChannels(): void {
    for (const channel of this.channels.values()) channel.releaseResources();
    this.stats.channelsClosed += this.channels.size;
    this.channels.clear();
    this.vhostRef?.removeQueuesOwnedBy(this);
  }

  private onSocketClosed(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.phase !== Phase.Closed) {
      this.phase = Phase.Closed;
      this.releaseChannels();
    }
    this.outbox = [];
    this.context.onClosed(this);
  }

  channelClosed(id: number): void {
    if (this.channels.delete(id)) this.stats.channelsClosed++;
  }

  /** Every open channel's state, by channel number (for the management API). */
  describeChannels(): ChannelDescription[] {
    return [...this.channels.values()].map((c) => c.describe()).sort((a, b) => a.number - b.number);
  }

  /** Open channels (rabbitmq_channels). */
  get channelCount(): number {
    return this.channels.size;
  }

  log(line: string): void {
    this.context.log(`amqp: ${this.remoteAddress}: ${line}`);
  }

  /** A resource alarm was raised or cleared: a blocked connection resumes once none is left. */
  resourceAlarmsChanged(): void {
    if (this.phase !== Phase.Closed) this.throttle.alarmsChanged();
  }

  // ---- output ----------------------------------------------------------------------------

  send(frame: Buffer): void {
    this.outbox.push(frame);
    this.outboxBytes += frame.length;
    this.scheduleFlush();
  }

  sendAll(frames: Buffer[]): void {
    for (const frame of frames) {
      this.outbox.push(frame);
      this.outboxBytes += frame.length;
    }
    this.scheduleFlush();
  }

  isWritable(): boolean {
    return !this.writesPaused && this.outboxBytes < WRITE_HIGH_WATER_BYTES;
  }

  /** Writes are batched per event-loop turn into one writev. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0) return;
    try {
      this.context.core.definitions.syncDeferred?.();
    } catch {
      // Storage has stopped (fail-stop): answers that may cover unsynced changes never leave.
      this.outbox = [];
      this.outboxBytes = 0;
      this.socket.destroy();
      return;
    }
    const frames = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    if (this.socket.destroyed) return;
    this.sentSinceHeartbeat = true;
    const pieces = frames.length === 1 ? frames : coalesceSmall(frames);
    let ok: boolean;
    if (pieces.length === 1) ok = this.socket.write(pieces[0]!);
    else {
      this.socket.cork();
      ok = true;
      for (const piece of pieces) ok = this.socket.write(piece);
      this.socket.uncork();
    }
    if (!ok || this.socket.writableLength > WRITE_HIGH_WATER_BYTES) this.writesPaused = true;
  }

  private onDrain(): void {
    if (!this.writesPaused) return;
    this.writesPaused = false;
    for (const channel of this.channels.values()) channel.scheduleDispatchAll();
  }

  describe(): { user: string; vhost: string; peer: string; clientProperties: FieldTable; channels: number } {
    return {
      user: this.username,
      vhost: this.vhostRef?.name ?? '',
      peer: this.remoteAddress,
      clientProperties: this.clientProperties,
      channels: this.channels.size,
    };
  }
}

function expect<N extends AmqpMethod['method']>(
  method: AmqpMethod,
  name: N,
): Extract<AmqpMethod, { method: N }> {
  if (method.method !== name) {
    throw connectionError(ReplyCode.COMMAND_INVALID, `expected '${name}', got '${method.method}'`);
  }
  return method as Extract<AmqpMethod, { method: N }>;
}

function stripName(message: string): string {
  const dash = message.indexOf(' - ');
  return dash >= 0 ? message.slice(dash + 3) : message;
}

/** PLAIN: "\0user\0password"; AMQPLAIN: a field table (without its length) with LOGIN and PASSWORD. */
function parseCredentials(
  mechanism: string,
  response: Buffer,
): { username: string; password: string } | undefined {
  if (mechanism === 'PLAIN') {
    const parts = response.toString('utf8').split('\0');
    if (parts.length !== 3) return undefined;
    return { username: parts[1]!, password: parts[2]! };
  }
  if (mechanism === 'AMQPLAIN') {
    try {
      const table = decodeTableBody(response, 0, response.length);
      const username = table.LOGIN;
      const password = table.PASSWORD;
      if (typeof username !== 'string' || typeof password !== 'string') return undefined;
      return { username, password };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A write refused by a full disk (ENOSPC, EDQUOT) or by storage stopped after a failed fdatasync. */
function isStorageRefusal(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'StorageFailedError' || isDiskFullError(error) || isOutOfFileDescriptors(error);
}

/** The process (EMFILE) or the system (ENFILE) has no file descriptor left to open a segment with. */
function isOutOfFileDescriptors(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * `frames` with each run of small pieces (up to COALESCE_MAX_BYTES) joined into one buffer and
 * large pieces left as they are: a batch of small frames only becomes one buffer.
 */
function coalesceSmall(frames: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let runStart = 0;
  let runBytes = 0;
  const endRun = (end: number): void => {
    if (end - runStart === 1) out.push(frames[runStart]!);
    else if (end > runStart) out.push(Buffer.concat(frames.slice(runStart, end), runBytes));
    runBytes = 0;
  };
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    if (frame.length < LARGE_PIECE_BYTES && runBytes + frame.length <= COALESCE_MAX_BYTES) {
      if (runBytes === 0) runStart = i;
      runBytes += frame.length;
      continue;
    }
    endRun(i);
    if (frame.length < LARGE_PIECE_BYTES) {
      runStart = i;
      runBytes = frame.length;
    } else {
      out.push(frame);
      runStart = i + 1;
    }
  }
  endRun(frames.length);
  return out;
}
