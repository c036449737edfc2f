// Types for the two pure-JavaScript codec packages that ship none (fzstd ships its own).
declare module 'snappyjs' {
  /** Raw (unframed) Snappy; throws on malformed input or when the result exceeds maxLength. */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
  export function compress(uncompressed: Uint8Array): Uint8Array;
}

declare module 'lz4js' {
  /** An LZ4 frame (magic 0x184D2204); throws on malformed input. */
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  export function compress(src: Uint8Array, maxSize?: number): Uint8Array;
  export function decompressBound(src: Uint8Array): number;
}
