import { frameError } from './errors.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from './spec.js';

/** What a 0-9-1 client sends before its first frame. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** type(1) + channel(2) + size(4) before the payload, frame-end(1) after it. */
export const FRAME_HEADER_SIZE_BYTES = 7;
export const FRAME_OVERHEAD_BYTES = 8;

export type FrameHandler = (type: number, channel: number, payload: Buffer) => void;

const HEARTBEAT_FRAME = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

/** A heartbeat frame (channel 0, empty payload). Shared and must not be mutated. */
export function encodeHeartbeat(): Buffer {
  return HEARTBEAT_FRAME;
}

function isKnownFrameType(type: number): boolean {
  return type === FRAME_METHOD || type === FRAME_HEADER || type === FRAME_BODY || type === FRAME_HEARTBEAT;
}

/**
 * Splits a byte stream (after the protocol header) into frames. A frame lying inside one chunk is
 * delivered as a zero-copy slice of that chunk (which it keeps alive); a frame split across chunks
 * is assembled with at most two concatenations however many chunks it spans. Errors are thrown as
 * AmqpCodecError 501 (the connection must close); after one the parser refuses further input.
 */
export class FrameParser {
  #maxFrameSizeBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes needed in #pending before parsing is worth trying again. */
  #neededBytes = 0;
  #failed = false;

  /** `maxFrameSizeBytes` counts the whole frame, 8 bytes of overhead included (RabbitMQ's frame_max). */
  constructor(maxFrameSizeBytes: number) {
    this.#maxFrameSizeBytes = checkMax(maxFrameSizeBytes);
  }

  get maxFrameSizeBytes(): number {
    return this.#maxFrameSizeBytes;
  }

  /** Lowered or raised after connection.tune-ok. */
  set maxFrameSizeBytes(value: number) {
    this.#maxFrameSizeBytes = checkMax(value);
  }

  /** Bytes buffered for an incomplete frame. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Buffer, onFrame: FrameHandler): void {
    if (this.#failed) throw frameError('frame parser used after a frame error');
    let buf = chunk;
    if (this.#pendingBytes > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes < this.#neededBytes) return;
      buf = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    try {
      this.#parse(buf, onFrame);
    } catch (err) {
      this.#failed = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      throw err;
    }
  }

  #parse(buf: Buffer, onFrame: FrameHandler): void {
    const length = buf.length;
    let off = 0;
    while (length - off >= FRAME_HEADER_SIZE_BYTES) {
      const type = buf[off];
      const size = buf.readUInt32BE(off + 3);
      if (!isKnownFrameType(type)) throw frameError(`unknown frame type ${type}`);
      if (size + FRAME_OVERHEAD_BYTES > this.#maxFrameSizeBytes) {
        throw frameError(
          `frame of ${size + FRAME_OVERHEAD_BYTES} bytes exceeds frame_max ${this.#maxFrameSizeBytes}`,
        );
      }
      const endAt = off + FRAME_HEADER_SIZE_BYTES + size;
      if (endAt >= length) {
        this.#keep(buf, off, size + FRAME_OVERHEAD_BYTES);
        return;
      }
      if (buf[endAt] !== FRAME_END) throw frameError(`bad frame end 0x${buf[endAt].toString(16)}`);
      const channel = buf.readUInt16BE(off + 1);
      const payload = buf.subarray(off + FRAME_HEADER_SIZE_BYTES, endAt);
      off = endAt + 1;
      onFrame(type, channel, payload);
    }
    if (off < length) this.#keep(buf, off, FRAME_HEADER_SIZE_BYTES);
  }

  #keep(buf: Buffer, off: number, neededBytes: number): void {
    const rest = off === 0 ? buf : buf.subarray(off);
    this.#pending = [rest];
    this.#pendingBytes = rest.length;
    this.#neededBytes = neededBytes;
  }
}

function checkMax(value: number): number {
  if (!Number.isInteger(value) || value < FRAME_OVERHEAD_BYTES) {
    throw new RangeError(`maxFrameSizeBytes must be an integer >= ${FRAME_OVERHEAD_BYTES}, got ${value}`);
  }
  return value;
}
