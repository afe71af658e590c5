// Byte-level mutations of file contents: the blind part of the file fuzzers (the structured part,
// header edits that keep a file parseable up to the field being tested, lives with each format).
import type { Rng } from './prng.js';

/** Values that often sit on a boundary of a size or offset check. */
export const INTERESTING_U32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff] as const;

export type ByteMutation = 'bitflip' | 'truncate' | 'overwrite' | 'interesting' | 'splice' | 'extend' | 'zero-range';

export function mutateBytes(rng: Rng, input: Uint8Array, kind: ByteMutation): Buffer {
  let b: Buffer = Buffer.from(input);
  const pos = () => rng.int(0, Math.max(0, b.length - 1));
  switch (kind) {
    case 'bitflip': {
      const flips = rng.weighted([[6, 1], [3, rng.int(2, 8)], [1, rng.int(9, 64)]] as const);
      for (let i = 0; i < flips && b.length > 0; i++) b[pos()]! ^= 1 << rng.int(0, 7);
      return b;
    }
    case 'truncate':
      // Mostly near the start (headers) or the end (the last record), sometimes anywhere.
      return b.subarray(0, rng.weighted([[3, rng.int(0, Math.min(64, b.length))], [3, Math.max(0, b.length - rng.int(1, 64))],
        [4, rng.int(0, b.length)]] as const));
    case 'overwrite': {
      const n = rng.int(1, 16);
      const at = pos();
      for (let i = 0; i < n && at + i < b.length; i++) b[at + i] = rng.int(0, 255);
      return b;
    }
    case 'interesting': {
      if (b.length < 4) return b;
      const at = rng.int(0, b.length - 4);
      const v = rng.pick(INTERESTING_U32);
      if (rng.chance(0.5)) b.writeUInt32BE(v, at);
      else b.writeUInt32LE(v, at);
      return b;
    }
    case 'splice': {
      // A block repeated or moved: duplicated headers, overlapping records.
      const from = pos();
      const len = rng.int(1, Math.min(256, b.length - from));
      const to = pos();
      const block = Buffer.from(b.subarray(from, from + len));
      b = rng.chance(0.5)
        ? Buffer.concat([b.subarray(0, to), block, b.subarray(to)])
        : Buffer.concat([b.subarray(0, to), block, b.subarray(Math.min(b.length, to + len))]);
      return b;
    }
    case 'extend':
      return Buffer.concat([b, Buffer.alloc(rng.int(1, 4096), rng.int(0, 255))]);
    case 'zero-range': {
      const at = pos();
      b.fill(0, at, Math.min(b.length, at + rng.int(1, 64)));
      return b;
    }
  }
}

export const BYTE_MUTATIONS: readonly ByteMutation[] = ['bitflip', 'truncate', 'overwrite', 'interesting', 'splice', 'extend', 'zero-range'];

/** One to three byte mutations in a row. */
export function mutateBlindly(rng: Rng, input: Uint8Array): { bytes: Buffer; steps: ByteMutation[] } {
  const steps: ByteMutation[] = [];
  let bytes: Buffer = Buffer.from(input);
  const n = rng.weighted([[6, 1], [3, 2], [1, 3]] as const);
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(BYTE_MUTATIONS);
    steps.push(kind);
    bytes = mutateBytes(rng, bytes, kind);
  }
  return { bytes, steps };
}
