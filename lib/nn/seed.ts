// Deterministic seed derivation. Every random draw in training (init, dropout masks, data order)
// is a pure function of (seed, …indices), so a resumed run draws exactly what an uninterrupted run
// would, on every device.

const TWO_32 = 0x1_0000_0000;

function mix32(h: number): number {
  // The murmur3 finaliser: a cheap avalanche over 32 bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A seed in [0, 2^53) derived from `base` and any number of non-negative integer `parts`.
 * Different part lists give unrelated seeds; the same list always gives the same seed.
 */
export function deriveSeed(base: number, ...parts: number[]): number {
  let lo = 0x9e3779b9;
  let hi = 0x7f4a7c15;
  for (const value of [base, ...parts]) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`seed parts must be integers in [0, 2^53), got ${value}`);
    const vLo = value % TWO_32;
    const vHi = Math.floor(value / TWO_32);
    lo = mix32((lo ^ vLo) + Math.imul(hi, 0x27d4eb2f));
    hi = mix32((hi ^ vHi) + Math.imul(lo, 0x165667b1) + 0x61c88647);
  }
  // 21 high bits and 32 low bits: a safe integer.
  return (hi & 0x1fffff) * TWO_32 + lo;
}
