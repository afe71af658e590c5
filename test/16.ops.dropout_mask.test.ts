// Dropout's mask is a pure function of (seed, counter) (native/include/alexnet/random.hpp): element
// (row r, column c) keeps x * 1/(1 - p) when the uniform of counter offset + r * rowStride + c is at
// least p. Here the generator is written again with BigInt and every mask element of the CPU op is
// checked against it, for rows whose length is not a multiple of any vector width, with and without
// a row stride (the hybrid's column slices), so a vectorized or re-partitioned loop that draws a
// different counter, or converts the bits differently, fails here rather than in a training run.
import { expect } from 'chai';
import { Tensor, ops } from '../lib/index.js';

const M64 = (1n << 64n) - 1n;
function mix64(z: bigint): bigint {
  z = (z + 0x9E3779B97F4A7C15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & M64;
  return z ^ (z >> 31n);
}
/** Uniform in [0, 1) from the top 24 bits of the mixed counter (exact in float32). */
function counterUniform(seed: number, i: number): number {
  return Number(mix64(mix64(BigInt(seed)) ^ BigInt(i)) >> 40n) / 16777216;
}

describe('dropout: the mask is the counter-based generator\'s, element by element (CPU)', () => {
  for (const [rows, length, offset, rowStride] of [[3, 37, 1000, 50], [5, 131, 0, 0], [2, 1, 7, 3], [4, 64, 2 ** 40, 0]] as const) {
    it(`[${rows}, ${length}], offset ${offset}, rowStride ${rowStride}`, async () => {
      const p = 0.3;
      const seed = 12345;
      const x = Tensor.fromArray(Float32Array.from({ length: rows * length }, (_, i) => 1 + (i % 7)), [rows, length]);
      const { y, mask } = ops.dropout(x, { p, seed, offset, rowStride });
      const [ys, ms] = [await y.toArray(), await mask.toArray()];
      const keep = Math.fround(1 / Math.fround(1 - Math.fround(p)));
      let kept = 0;
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < length; c++) {
          const i = r * length + c;
          const counter = offset + r * (rowStride || length) + c;
          const want = counterUniform(seed, counter) >= Math.fround(p) ? keep : 0;
          expect(ms[i], `mask at row ${r}, column ${c} (counter ${counter})`).to.equal(want);
          expect(ys[i], `y at row ${r}, column ${c}`).to.equal(Math.fround((1 + (i % 7)) * want));
          if (want) kept++;
        }
      if (rows * length > 100) expect(kept / (rows * length)).to.be.within(0.55, 0.85);
      for (const t of [x, y, mask]) t.dispose();
    });
  }
});
