// Weight and bias gradients of grouped convolutions whose input channels per group are not a
// multiple of 16 (the quick preset's conv2: 24 channels in 2 groups). The CPU backend computes them
// group by group, as ungrouped convolutions over each group's channel slices (oneDNN has only its
// slow gemm kernel for the grouped shape), so a slice taken at the wrong offset or a gradient
// written into the wrong group's block would show here: float32 against a float64 loop, bfloat16
// against the float32 op on the same (bfloat16-exact) values, whose products are the same and
// whose sums differ only in order.
import { expect } from 'chai';
import { Tensor, bf16Support, ops } from '../lib/index.js';
import { relativeError } from './helpers/references.js';

interface Shape { n: number; c: number; h: number; o: number; k: number; pad: number; groups: number }
const SHAPES: Shape[] = [
  { n: 4, c: 24, h: 7, o: 64, k: 5, pad: 2, groups: 2 },   // the quick preset's conv2 at batch 4
  { n: 3, c: 20, h: 9, o: 10, k: 3, pad: 1, groups: 2 },   // 10 channels and 5 kernels per group
  { n: 2, c: 36, h: 6, o: 24, k: 3, pad: 0, groups: 3 },   // three groups of 12
];

/** dw [o, c/g, k, k] and db [o] of a stride-1 grouped convolution, in float64. */
function reference(s: Shape, x: Float32Array, dy: Float32Array): { dw: Float64Array; db: Float64Array } {
  const [cg, og, out] = [s.c / s.groups, s.o / s.groups, s.h + 2 * s.pad - s.k + 1];
  const dw = new Float64Array(s.o * cg * s.k * s.k);
  const db = new Float64Array(s.o);
  for (let n = 0; n < s.n; n++)
    for (let o = 0; o < s.o; o++) {
      const group = Math.floor(o / og);
      for (let i = 0; i < out; i++)
        for (let j = 0; j < out; j++) {
          const g = dy[((n * s.o + o) * out + i) * out + j]!;
          db[o]! += g;
          for (let c = 0; c < cg; c++)
            for (let a = 0; a < s.k; a++)
              for (let b = 0; b < s.k; b++) {
                const [y, xx] = [i + a - s.pad, j + b - s.pad];
                if (y < 0 || y >= s.h || xx < 0 || xx >= s.h) continue;
                dw[((o * cg + c) * s.k + a) * s.k + b]! += g * x[((n * s.c + group * cg + c) * s.h + y) * s.h + xx]!;
              }
        }
    }
  return { dw, db };
}

describe('conv2d weight gradients with groups of channels off the 16-block (CPU, group by group)', () => {
  for (const s of SHAPES) {
    const name = `[${s.n}, ${s.c}, ${s.h}, ${s.h}] -> ${s.o} kernels ${s.k}x${s.k} in ${s.groups} groups`;
    const out = s.h + 2 * s.pad - s.k + 1;
    const opts = { stride: 1, padding: s.pad, groups: s.groups };

    it(`${name}: float32 against a float64 loop`, async () => {
      const x = Tensor.normal([s.n, s.c, s.h, s.h], { seed: 1 });
      const w = Tensor.normal([s.o, s.c / s.groups, s.k, s.k], { seed: 2, std: 0.1 });
      const dy = Tensor.normal([s.n, s.o, out, out], { seed: 3 });
      const g = ops.conv2dBackward(dy, x, w, opts);
      const want = reference(s, await x.toArray() as Float32Array, await dy.toArray() as Float32Array);
      expect(relativeError(await g.dw.toArray(), want.dw), 'dw').to.be.below(1e-5);
      expect(relativeError(await g.db!.toArray(), want.db), 'db').to.be.below(1e-5);
      for (const t of [x, w, dy, g.dx, g.dw, g.db]) t?.dispose();
    });

    it(`${name}: bfloat16 against float32 on the same values`, async function () {
      if (!bf16Support('cpu').supported) this.skip();
      const x = Tensor.normal([s.n, s.c, s.h, s.h], { seed: 1 }).to('bfloat16');
      const w = Tensor.normal([s.o, s.c / s.groups, s.k, s.k], { seed: 2, std: 0.1 }).to('bfloat16');
      const dy = Tensor.normal([s.n, s.o, out, out], { seed: 3 }).to('bfloat16');
      const half = ops.conv2dBackward(dy, x, w, opts);
      const [x32, w32, dy32] = [x, w, dy].map((t) => t.to('float32'));
      const full = ops.conv2dBackward(dy32!, x32!, w32!, opts);
      expect(half.dw.dtype).to.equal('float32');
      expect(relativeError(await half.dw.toArray(), await full.dw.toArray()), 'dw').to.be.below(1e-5);
      expect(relativeError(await half.db!.toArray(), await full.db!.toArray()), 'db').to.be.below(1e-5);
      for (const t of [x, w, dy, x32, w32, dy32, half.dx, half.dw, half.db, full.dx, full.dw, full.db]) t?.dispose();
    });
  }
});
