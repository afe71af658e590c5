// NaN, ties and huge values in the ops that rank, pool and normalise: a NaN or a tie never counts as
// a correct prediction, a NaN anywhere in a pooling window gives NaN, and one large channel does
// not disturb LRN at channels whose window does not contain it (checked against float64).
import { expect } from 'chai';
import { testDevices } from './helpers/devices.js';
import { randn, rng } from './helpers/random.js';
import { Tensor, bf16Support, ops } from '../lib/index.js';

describe('topkCorrect: ties and NaN count against the label', () => {
  for (const device of testDevices()) {
    it(`${device}: a row is correct iff its label's logit is not NaN and fewer than k others are >= it or NaN`, async () => {
      const N = Number.NaN;
      const rows = [
        [[1, 2, 3, 4], 3],   // clear winner
        [[N, 0, 0, 5], 3],   // a NaN elsewhere ranks above the label
        [[1, N, 2, 0], 1],   // the label's logit is NaN: never correct
        [[2, 2, 2, 2], 0],   // all tied (fc8 all zeros)
        [[0, 5, 5, 1], 2],   // tied with an earlier logit
        [[0, 5, 5, 1], 1],   // tied with a later logit
      ] as const;
      const logits = Tensor.fromArray(Float32Array.from(rows.flatMap(([z]) => z)), [rows.length, 4], device);
      const labels = Tensor.fromArray(Int32Array.from(rows.map(([, l]) => l)), [rows.length], device);
      const counts = [];
      for (const k of [1, 2, 3, 4]) counts.push(await ops.topkCorrect(logits, labels, k));
      expect(counts).to.deep.equal([1, 4, 4, 5]);
    });

    it(`${device}: a model whose logits are all NaN or all equal scores 0`, async () => {
      const labels = Tensor.fromArray(new Int32Array([0, 1, 2]), [3], device);
      expect(await ops.topkCorrect(Tensor.full([3, 10], Number.NaN, device), labels, 5)).to.equal(0);
      expect(await ops.topkCorrect(Tensor.zeros([3, 10], device), labels, 5)).to.equal(0);
      expect(await ops.topkCorrect(Tensor.zeros([3, 10], device), labels, 10)).to.equal(3);
    });
  }
});

describe('max pooling propagates NaN from any window position', () => {
  it('cpu: forward gives NaN when any value of the window is NaN; backward routes to the first NaN', async () => {
    const N = Number.NaN;
    const x = Tensor.fromArray(new Float32Array([0, 1, N, 3, N, 5, 6, 7, 8]), [1, 1, 3, 3]);
    const whole = ops.maxPool2d(x, { kernel: 3, stride: 1 });
    expect(Array.from(await whole.toArray()).map(String)).to.deep.equal(['NaN']);
    const dx = ops.maxPool2dBackward(Tensor.full([1, 1, 1, 1], 1), x, whole, { kernel: 3, stride: 1 });
    expect(Array.from(await dx.toArray())).to.deep.equal([0, 0, 1, 0, 0, 0, 0, 0, 0]);

    const y = Tensor.fromArray(new Float32Array([0, 1, 2, 3, N, 5, 6, 7, 8]), [1, 1, 3, 3]);
    const pooled = ops.maxPool2d(y, { kernel: 2, stride: 1 });
    expect(Array.from(await pooled.toArray()).map(String)).to.deep.equal(['NaN', 'NaN', 'NaN', 'NaN']);
    const dy = ops.maxPool2dBackward(Tensor.full([1, 1, 2, 2], 1), y, pooled, { kernel: 2, stride: 1 });
    expect(Array.from(await dy.toArray())).to.deep.equal([0, 0, 0, 0, 4, 0, 0, 0, 0]);

    const clean = Tensor.fromArray(new Float32Array([0, 9, 2, 3, 4, 5, 6, 7, 9]), [1, 1, 3, 3]);
    expect(Array.from(await ops.maxPool2d(clean, { kernel: 3, stride: 1 }).toArray())).to.deep.equal([9]);
  });
});

// Max pooling by the contract, element by element: the window's first maximum in row-major order
// wins, a NaN beats every number and the first NaN wins; overlapping windows add.
function poolReference(x: Float32Array, shape: number[], dy: Float32Array, k: [number, number], s: [number, number]) {
  const [n, c, h, w] = shape as [number, number, number, number];
  const oh = Math.floor((h - k[0]) / s[0]) + 1, ow = Math.floor((w - k[1]) / s[1]) + 1;
  const y = new Float32Array(n * c * oh * ow);
  const dx = new Float64Array(x.length);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let best = -1;
        for (let a = 0; a < k[0]; a++)
          for (let b = 0; b < k[1]; b++) {
            const at = p * h * w + (i * s[0] + a) * w + j * s[1] + b;
            const v = x[at]!, bv = best < 0 ? Number.NaN : x[best]!;
            if (best < 0 || v > bv || (Number.isNaN(v) && !Number.isNaN(bv))) best = at;
          }
        const out = (p * oh + i) * ow + j;
        y[out] = x[best]!;
        dx[best] += dy[out]!;
      }
  return { y, dx, outShape: [n, c, oh, ow] };
}

describe('max pooling against the contract for every window size and stride, with ties and NaN', () => {
  const windows: Array<[[number, number], [number, number]]> = [
    [[3, 3], [2, 2]], [[3, 3], [1, 1]], [[3, 3], [3, 3]], [[2, 2], [2, 2]], [[2, 2], [1, 1]],
    [[3, 2], [2, 1]], [[4, 4], [2, 3]], [[1, 1], [1, 1]], [[5, 3], [1, 2]],
  ];
  for (const device of testDevices()) {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      it(`${device} ${dtype}: forward and backward equal the element-by-element rule exactly`, async function () {
        if (dtype === 'bfloat16' && !bf16Support(device).supported) this.skip();
        const random = rng(7);
        // The CPU pools rows narrower than 16 outputs sixteen planes at a time: 6 planes (one
        // short group) and 17 (a full group and a group of one) take that path, rows of 60 the
        // row kernels.
        for (const shape of [[2, 3, 13, 11], [1, 17, 13, 11], [1, 2, 7, 60]])
        for (const [k, s] of windows) {
          // Small integers make ties common; a few NaNs land anywhere in the windows. bfloat16
          // holds these values exactly, so both dtypes have the same reference.
          const xs = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (random() < 0.03 ? Number.NaN : Math.floor(random() * 6) - 2));
          const x32 = Tensor.fromArray(xs, shape, device);
          const x = dtype === 'float32' ? x32 : x32.to(dtype);
          const ref = poolReference(xs, shape, new Float32Array(0), k, s);
          const g = Float32Array.from({ length: ref.y.length }, () => Math.floor(random() * 8) - 4);
          const want = poolReference(xs, shape, g, k, s);
          const y = ops.maxPool2d(x, { kernel: k, stride: s });
          expect(y.shape, `${shape}, kernel ${k} stride ${s}`).to.deep.equal(want.outShape);
          expect(Array.from(await y.toArray()).map(String), `${shape} forward, kernel ${k} stride ${s}`).to.deep.equal(Array.from(want.y).map(String));
          const dy32 = Tensor.fromArray(g, want.outShape, device);
          const dy = dtype === 'float32' ? dy32 : dy32.to(dtype);
          const dx = ops.maxPool2dBackward(dy, x, y, { kernel: k, stride: s });
          expect(Array.from(await dx.toArray()), `${shape} backward, kernel ${k} stride ${s}`).to.deep.equal(Array.from(want.dx));
          for (const t of [x32, x, y, dy32, dy, dx]) if (!t.disposed) t.dispose();
        }
      });
    }
  }
});

// Float64 LRN in the contract's convention: s_c = k + alpha * sum_{|j - c| <= size/2} x_j^2.
function lrnReference(x: Float32Array, shape: number[], dy: Float32Array | null, o = { size: 5, alpha: 1e-4, beta: 0.75, k: 2 }) {
  const [n, c, h, w] = shape as [number, number, number, number];
  const plane = h * w;
  const half = Math.floor(o.size / 2);
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < plane; p++) {
      const at = (ch: number) => (b * c + ch) * plane + p;
      const s: number[] = [];
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let j = Math.max(0, ch - half); j <= Math.min(c - 1, ch + half); j++) sum += x[at(j)]! * x[at(j)]!;
        s.push(o.k + o.alpha * sum);
        y[at(ch)] = x[at(ch)]! * s[ch]! ** -o.beta;
      }
      if (!dy) continue;
      for (let i = 0; i < c; i++) {
        let sum = 0;
        for (let ch = Math.max(0, i - half); ch <= Math.min(c - 1, i + half); ch++) sum += dy[at(ch)]! * y[at(ch)]! / s[ch]!;
        dx[at(i)] = dy[at(i)]! * s[i]! ** -o.beta - 2 * o.alpha * o.beta * x[at(i)]! * sum;
      }
    }
  }
  return { y, dx };
}

function expectClose(actual: Float32Array, expected: Float64Array, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      expect(a, `${what}[${i}]`).to.be.NaN;
      continue;
    }
    expect(Math.abs(a - e), `${what}[${i}]: ${a} vs ${e}`).to.be.at.most(1e-5 * Math.abs(e) + 1e-6);
  }
}

describe('LRN with channel counts off oneDNN blocks (the direct loops)', () => {
  const shape = [2, 9, 2, 3];
  const count = 2 * 9 * 2 * 3;
  const withChannel0 = (value: number) => {
    const x = new Float32Array(count).fill(1);
    for (let b = 0; b < 2; b++) for (let p = 0; p < 6; p++) x[b * 54 + p] = value;
    return x;
  };

  for (const big of [1e5, 1e20, Number.NaN]) {
    it(`cpu: channel 0 = ${big} leaves the channels whose window excludes it exact (forward and backward)`, async () => {
      const x = withChannel0(big);
      const dy = randn(count, rng(7));
      const ref = lrnReference(x, shape, dy);
      const xt = Tensor.fromArray(x, shape);
      const y = ops.localResponseNorm(xt);
      const dx = ops.localResponseNormBackward(Tensor.fromArray(dy, shape), xt, y);
      const yv = (await y.toArray()) as Float32Array;
      // Channel 5 of the first pixel: its window is channels 3..7, all ones.
      expect(yv[5 * 6]).to.be.closeTo(0.5944921, 1e-7);
      expectClose(yv, ref.y, 'y');
      expectClose((await dx.toArray()) as Float32Array, ref.dx, 'dx');
    });
  }

  // In bfloat16 the CPU takes s^-3/4 from reciprocal square root estimates, whose edge cases differ
  // (rsqrt of infinity is 0, then of 0 infinity, and 0 * infinity is NaN): where s is infinite the
  // exact formula must take over, giving 0 as in float32.
  it('cpu bfloat16: an infinite window sum (channel 0 = 1e20) gives float32\'s outputs, not NaN', async function () {
    if (!bf16Support('cpu').supported) this.skip();
    const x32 = Tensor.fromArray(withChannel0(1e20), shape);
    const x = x32.to('bfloat16');
    const want = (await ops.localResponseNorm(x.to('float32')).toArray()) as Float32Array;
    const got = (await ops.localResponseNorm(x).toArray()) as Float32Array;
    // Channels 0..2 of each pixel see channel 0: s = inf, s^-3/4 = 0.
    for (let b = 0; b < 2; b++)
      for (let ch = 0; ch < 3; ch++)
        for (let p = 0; p < 6; p++) {
          const i = b * 54 + ch * 6 + p;
          expect(got[i], `channel ${ch}`).to.equal(0);
          expect(want[i]).to.equal(0);
        }
    // The others are finite, within bfloat16's rounding of float32's.
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want[i]!)).to.be.at.most(2 ** -8 * Math.abs(want[i]!));
  });

  for (const channels of [9, 20, 3]) {
    it(`cpu: random input with ${channels} channels and window sizes 1, 5 and 7 matches float64`, async () => {
      const s = [3, channels, 5, 4];
      const n = s.reduce((a, b) => a * b, 1);
      const random = rng(channels);
      const x = randn(n, random, 30);
      const dy = randn(n, random);
      for (const size of [1, 5, 7]) {
        const o = { size, alpha: 1e-3, beta: 0.75, k: 2 };
        const ref = lrnReference(x, s, dy, o);
        const xt = Tensor.fromArray(x, s);
        const y = ops.localResponseNorm(xt, o);
        const dx = ops.localResponseNormBackward(Tensor.fromArray(dy, s), xt, y, o);
        expectClose((await y.toArray()) as Float32Array, ref.y, `y (size ${size})`);
        expectClose((await dx.toArray()) as Float32Array, ref.dx, `dx (size ${size})`);
      }
    });
  }
});
