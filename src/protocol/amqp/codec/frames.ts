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
 * is copied once into a buffer of exactly its size, and the frames after it in the last chunk are
 * slices again. (Copying the pending bytes and the whole new chunk together, as before, copied most
 * bytes of a stream of 64 KiB bodies, which never fit one 64 KiB socket read, once or twice.)
 * Errors are thrown as AmqpCodecError 501 (the connection must close); after one the parser
 * refuses further input.
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
    try {
      let rest = chunk;
      if (this.#pendingBytes > 0) {
        this.#pending.push(chunk);
        this.#pendingBytes += chunk.length;
        if (this.#pendingBytes < this.#neededBytes) return;
        if (this.#neededBytes === FRAME_HEADER_SIZE_BYTES) {
          // Only now is the frame's size known; its end is still in the newest chunk, because
          // every frame is at least as long as the header that was incomplete without it.
          this.#neededBytes = this.#frameBytes(this.#gatherHeader(), 0);
          if (this.#pendingBytes < this.#neededBytes) return;
        }
        rest = this.#assemble(onFrame);
      }
      this.#parse(rest, onFrame);
    } catch (err) {
      this.#failed = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      throw err;
    }
  }

  /** Copies the one frame that spans the pending chunks out of them; returns what follows it. */
  #assemble(onFrame: FrameHandler): Buffer {
    const frameBytes = this.#neededBytes;
    const pieces = this.#pending;
    const last = pieces[pieces.length - 1];
    const frame = Buffer.allocUnsafe(frameBytes);
    let filled = 0;
    for (let i = 0; i < pieces.length - 1; i++) filled += pieces[i].copy(frame, filled);
    const takenFromLast = frameBytes - filled;
    last.copy(frame, filled, 0, takenFromLast);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#parse(frame, onFrame);
    return last.subarray(takenFromLast);
  }

  /** The first FRAME_HEADER_SIZE_BYTES pending bytes, which may lie in several chunks. */
  #gatherHeader(): Buffer {
    const header = Buffer.allocUnsafe(FRAME_HEADER_SIZE_BYTES);
    let filled = 0;
    for (const piece of this.#pending) {
      filled += piece.copy(header, filled, 0, Math.min(piece.length, FRAME_HEADER_SIZE_BYTES - filled));
      if (filled === FRAME_HEADER_SIZE_BYTES) break;
    }
    return header;
  }

  /** Checks the header at `off` and returns the whole frame's length, end octet included. */
  #frameBytes(buf: Buffer, off: number): number {
    const type = buf[off];
    const size = buf.readUInt32BE(off + 3);
    if (!isKnownFrameType(type)) throw frameError(`unknown frame type ${type}`);
    if (size + FRAME_OVERHEAD_BYTES > this.#maxFrameSizeBytes) {
      throw frameError(
        `frame of ${size + FRAME_OVERHEAD_BYTES} bytes exceeds frame_max ${this.#maxFrameSizeBytes}`,
      );
    }
    return size + FRAME_OVERHEAD_BYTES;
  }

  #parse(buf: Buffer, onFrame: FrameHandler): void {
    const length = buf.length;
    let off = 0;
    while (length - off >= FRAME_HEADER_SIZE_BYTES) {
      const frameBytes = this.#frameBytes(buf, off);
      const endAt = off + frameBytes - 1;
      if (endAt >= length) {
        this.#keep(buf, off, frameBytes);
        return;
      }
      if (buf[endAt] !== FRAME_END) throw frameError(`bad frame end 0x${buf[endAt].toString(16)}`);
      const type = buf[off];
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
