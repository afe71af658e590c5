// A seeded permutation for the data order of one epoch: a pure function of (seed, epoch).
import { deriveSeed } from '../nn/seed.js';

/** mulberry32: a small, fast 32-bit generator; plenty for shuffling. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** A permutation of 0..n-1 (Fisher–Yates) determined by (seed, epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const next = generator(deriveSeed(seed, 0x5eed, epoch) % 0x1_0000_0000);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
