import { connect } from 'node:net';

/**
 * Mutations of a valid conversation (a list of frames) shared by the protocol fuzz tests: each takes
 * the frames and a seeded random source and returns a damaged list to send.
 */
export type Mutation = (frames: Buffer[], random: () => number) => Buffer[];

export const pick = <T>(items: readonly T[], random: () => number): T =>
  items[Math.floor(random() * items.length)]!;

/** Applies a mutation to one frame, chosen at random. */
export function mutateOneFrame(
  frames: Buffer[],
  random: () => number,
  mutate: (frame: Buffer) => void,
): Buffer[] {
  const index = Math.floor(random() * frames.length);
  const frame = Buffer.from(frames[index]!);
  mutate(frame);
  return frames.map((f, i) => (i === index ? frame : f));
}

export const GENERIC_MUTATIONS: readonly Mutation[] = [
  // Flip a few random bytes in one frame.
  (frames, random) =>
    mutateOneFrame(frames, random, (frame) => {
      for (let n = 1 + Math.floor(random() * 4); n > 0; n--)
        frame[Math.floor(random() * frame.length)]! ^= 1 + Math.floor(random() * 255);
    }),
  // Truncate the stream at a random byte.
  (frames, random) => {
    const all = Buffer.concat(frames);
    return [all.subarray(0, Math.floor(random() * all.length))];
  },
  // Insert random bytes between frames.
  (frames, random) => {
    const at = Math.floor(random() * frames.length);
    const noise = Buffer.from(
      Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)),
    );
    return [...frames.slice(0, at), noise, ...frames.slice(at)];
  },
  // Duplicate or drop a frame.
  (frames, random) => {
    const at = Math.floor(random() * frames.length);
    return random() < 0.5
      ? [...frames.slice(0, at), frames[at]!, ...frames.slice(at)]
      : frames.filter((_, i) => i !== at);
  },
  // Swap two frames (requests out of order).
  (frames, random) => {
    const copy = [...frames];
    const a = Math.floor(random() * copy.length);
    const b = Math.floor(random() * copy.length);
    [copy[a], copy[b]] = [copy[b]!, copy[a]!];
    return copy;
  },
];

/** Random bytes of up to `maxBytes`. */
export function noise(random: () => number, maxBytes: number): Buffer {
  return Buffer.from(
    Array.from({ length: Math.floor(random() * maxBytes) }, () => Math.floor(random() * 256)),
  );
}

/** Sends bytes on a raw socket, half-closes, and waits until the broker closes its side. */
export function converse(port: number, bytes: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.write(bytes, () => socket.end());
  });
}

/** Values of the wrong type, size or shape that JSON decoders must refuse cleanly. */
export const STRANGE_VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  2 ** 60,
  '',
  'x'.repeat(2000),
  '__proto__',
  true,
  [],
  [null],
  {},
  { __proto__: null, constructor: 1 },
  '\u0000\ud800',
];

/** Replaces one value somewhere in a JSON document with a value of another type. */
export function mutateJsonValue(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || random() < 0.2) return pick(STRANGE_VALUES, random);
    const copy = [...value];
    const i = Math.floor(random() * copy.length);
    copy[i] = mutateJsonValue(copy[i], random);
    return copy;
  }
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0 || random() < 0.2) return pick(STRANGE_VALUES, random);
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const key = pick(keys, random);
    if (random() < 0.15) delete copy[key];
    else copy[key] = mutateJsonValue(copy[key], random);
    return copy;
  }
  return pick(STRANGE_VALUES, random);
}
