// The mixed-precision ops (conv2d, linear, LRN, max pooling, ReLU, dropout) in a 16-bit dtype against the
// float64 references, with bounds derived from the dtype's unit roundoff u: bfloat16 (u = 2^-8,
// test/20) and float16 (u = 2^-11, test/21) run the same cases under the same derivation.
//
// Tolerances. Rounding to the 16-bit type has unit roundoff u, so a rounded input carries a
// relative error of at most u, and a product of two rounded inputs one of at most 2u + u^2 < 2.01u
// (the accumulation is float32, whose 2^-24 is negligible beside it). A K-term sum of such
// products, each at most T = max|a| * max|b| in magnitude, then errs by a sum of K independent
// terms each within 2.01u * T; their standard deviation is below 2.01u * T * sqrt(K / 3) (uniform
// errors), so 3 standard deviations, c * u * sqrt(K) * T with c = 3.5, bounds it but for a
// one-in-a-thousand chance per element (far below for the cases' few thousand elements, since the
// errors are much smaller than the worst case on average). The output itself is rounded once more:
// + u * max|ref|. Elementwise ops (ReLU, pooling's maximum) are exact on the rounded input:
// u * max|ref| each way. A formula bug is far above these bounds: they are a few percent of
// max|ref| at most for bfloat16 (an eighth of that for float16), and the wrong LRN alpha is 65%.
// float16's range (largest finite 65504) holds every value of these cases.
import { expect } from 'chai';
import { Tensor, ops, type DeviceName } from '../../lib/index.js';
import { referenceSets, type ReferenceCase } from './references.js';

export type HalfDType = 'bfloat16' | 'float16';

/** Unit roundoff of each 16-bit dtype: 8 and 11 significant bits. */
export const UNIT_ROUNDOFF: Record<HalfDType, number> = { bfloat16: 2 ** -8, float16: 2 ** -11 };
const C = 3.5;

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** The bound for a K-term sum of products of terms up to `termMax`, on outputs up to max|ref|, for unit roundoff u. */
export function sumBound(u: number, k: number, termMax: number, ref: ArrayLike<number>): number {
  return C * u * Math.sqrt(k) * termMax + u * maxAbs(ref);
}

async function expectWithin(got: Tensor | null, ref: ArrayLike<number>, bound: number, what: string): Promise<void> {
  expect(got, what).to.not.equal(null);
  const values = (await got!.toArray()) as Float32Array;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(values[i]! - ref[i]!));
  expect(worst, `${what}: max error ${worst.toExponential(2)} against the bound ${bound.toExponential(2)}`).to.be.at.most(bound);
  // And not vacuous: the bound is a small part of the values.
  expect(bound, `${what}: bound`).to.be.below(0.1 * maxAbs(ref) + 1e-30);
}

/** Max pooling 3/2's backward in float64, the first maximum of each window winning. */
function poolBackwardReference(x: Float32Array, xShape: number[], g: Float32Array, gShape: number[]): Float64Array {
  const [n, ch, h, w] = xShape as [number, number, number, number];
  const [, , oh, ow] = gShape as [number, number, number, number];
  const dx = new Float64Array(x.length);
  for (let p = 0; p < n * ch; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let best = p * h * w + 2 * i * w + 2 * j;
        for (let a = 0; a < 3; a++)
          for (let b = 0; b < 3; b++) {
            const k = p * h * w + (2 * i + a) * w + 2 * j + b;
            if (x[k]! > x[best]!) best = k;
          }
        dx[best]! += g[(p * oh + i) * ow + j]!;
      }
  return dx;
}

function f32(c: ReferenceCase, name: string, device: DeviceName): Tensor {
  return Tensor.fromArray(c.f32(name), c.get(name).shape, device);
}

/**
 * The suite of the ops in `dtype` on `device`, skipped (saying why once) where the device does
 * not compute in it.
 */
export function describeHalfOps(dtype: HalfDType, device: DeviceName, support: { supported: boolean; reason: string }): void {
  const U = UNIT_ROUNDOFF[dtype];
  const bound = (k: number, termMax: number, ref: ArrayLike<number>): number => sumBound(U, k, termMax, ref);
  const half = (c: ReferenceCase, name: string, on: DeviceName): Tensor => Tensor.fromArray(c.f32(name), c.get(name).shape, on, dtype);
  // The smallest positive subnormal of the dtype: ReLU passes it and its gradient.
  const tiny = dtype === 'bfloat16' ? 7e-39 : 2 ** -24;

  describe(`${dtype} ops against the float64 references on ${device}`, function () {
    before(function () {
      if (support.supported) return;
      console.log(`      ${dtype} ops skipped on ${device}: ${support.reason}`);
      this.skip();
    });
    const set = referenceSets()[0]!;

    for (const name of set.casesOf('conv2d')) {
      it(`conv2d ${name}: forward, dx, dw, db`, async () => {
        const c = set.read(name);
        const a = c.attrs as { stride: number; pad: number; groups: number };
        const o = { stride: a.stride, padding: a.pad, groups: a.groups };
        const [, cin, ,] = c.get('x').shape as [number, number, number, number];
        const [cout, , kh, kw] = c.get('weight').shape as [number, number, number, number];
        const [n, , oh, ow] = c.get('out').shape as [number, number, number, number];
        const x = half(c, 'x', device), w = half(c, 'weight', device), g = half(c, 'g', device);
        const xm = maxAbs(c.get('x').data), wm = maxAbs(c.get('weight').data), gm = maxAbs(c.get('g').data);
        const y = ops.conv2d(x, w, f32(c, 'bias', device), o);
        expect(y.dtype).to.equal(dtype);
        await expectWithin(y, c.get('out').data, bound((cin / a.groups) * kh * kw, xm * wm, c.get('out').data), `${name} out`);
        const grads = ops.conv2dBackward(g, x, w, o);
        expect(grads.dw.dtype).to.equal('float32');
        expect(grads.dx!.dtype).to.equal(dtype);
        // dx: each input element is reached by at most (cout / groups) * ceil(kh / s) * ceil(kw / s) terms.
        const kdx = (cout / a.groups) * Math.ceil(kh / a.stride) * Math.ceil(kw / a.stride);
        await expectWithin(grads.dx, c.get('grad_x').data, bound(kdx, gm * wm, c.get('grad_x').data), `${name} grad_x`);
        await expectWithin(grads.dw, c.get('grad_weight').data, bound(n * oh * ow, xm * gm, c.get('grad_weight').data), `${name} grad_weight`);
        await expectWithin(grads.db, c.get('grad_bias').data, bound(n * oh * ow, gm, c.get('grad_bias').data), `${name} grad_bias`);
      });
    }

    for (const name of set.casesOf('linear')) {
      it(`linear ${name}: forward, dx, dw, db`, async () => {
        const c = set.read(name);
        const [n, inF] = c.get('x').shape as [number, number];
        const [outF] = c.get('weight').shape as [number];
        const x = half(c, 'x', device), w = half(c, 'weight', device), g = half(c, 'g', device);
        const xm = maxAbs(c.get('x').data), wm = maxAbs(c.get('weight').data), gm = maxAbs(c.get('g').data);
        await expectWithin(ops.linear(x, w, f32(c, 'bias', device)), c.get('out').data, bound(inF, xm * wm, c.get('out').data), `${name} out`);
        const grads = ops.linearBackward(g, x, w);
        await expectWithin(grads.dx, c.get('grad_x').data, bound(outF, gm * wm, c.get('grad_x').data), `${name} grad_x`);
        await expectWithin(grads.dw, c.get('grad_weight').data, bound(n, xm * gm, c.get('grad_weight').data), `${name} grad_weight`);
        await expectWithin(grads.db, c.get('grad_bias').data, bound(n, gm, c.get('grad_bias').data), `${name} grad_bias`);
      });
    }

    for (const name of set.casesOf('lrn_across_channels')) {
      it(`localResponseNorm ${name}: forward and backward`, async () => {
        const c = set.read(name);
        const a = c.attrs as { k: number; n: number; alpha: number; beta: number };
        const o = { size: a.n, alpha: a.alpha, beta: a.beta, k: a.k };
        const x = half(c, 'x', device), g = half(c, 'g', device);
        const y = ops.localResponseNorm(x, o);
        // y = x * s^-beta with s from n squares: the input's u, the output's u, and a small share
        // of the window's; as a sum of n terms of size up to max|ref|.
        await expectWithin(y, c.get('out').data, bound(a.n, maxAbs(c.get('out').data), c.get('out').data), `${name} out`);
        // dx = dy s^-beta - 2 alpha beta x sum_window(dy y / s): n + 1 products of rounded values.
        const dx = ops.localResponseNormBackward(g, x, y, o);
        await expectWithin(dx, c.get('grad_x').data, bound(a.n + 1, maxAbs(c.get('grad_x').data), c.get('grad_x').data), `${name} grad_x`);
      });
    }

    for (const name of set.casesOf('maxpool2d')) {
      it(`maxPool2d ${name}: forward and backward`, async () => {
        const c = set.read(name);
        const x = half(c, 'x', device), g = half(c, 'g', device);
        const y = ops.maxPool2d(x);
        // The maximum of rounded values is the rounded maximum (rounding is monotonic).
        await expectWithin(y, c.get('out').data, U * maxAbs(c.get('out').data), `${name} out`);
        // The reference's distinct inputs can round to equal 16-bit values, and then the first
        // maximum wins (the contract's tie rule) where float64 saw another: the backward is checked
        // against the same routing in float64 on the rounded input. An input wins at most 4
        // overlapping 3x3/2 windows: a sum of up to 4 rounded gradients.
        const want = poolBackwardReference((await x.toArray()) as Float32Array, c.get('x').shape, c.f32('g'), c.get('g').shape);
        await expectWithin(ops.maxPool2dBackward(g, x, y), want, bound(4, maxAbs(c.get('g').data), want), `${name} grad_x`);
      });
    }

    it('relu: exact on the rounded input, NaN passing, and its gradient', async () => {
      const input = new Float32Array([-1.5, -0, 0, 2.3, NaN, -Infinity, tiny]);
      const x = Tensor.fromArray(input, [input.length], device, dtype);
      const y = ops.relu(x);
      const v = (await y.toArray()) as Float32Array;
      const rounded = (await x.toArray()) as Float32Array;
      expect([v[0], v[2], v[3], v[5]]).to.deep.equal([0, 0, rounded[3], 0]);
      expect(Number.isNaN(v[4])).to.equal(true);
      const dy = Tensor.fromArray(new Float32Array(input.length).fill(3), [input.length], device, dtype);
      expect([...((await ops.reluBackward(dy, y).toArray()) as Float32Array)]).to.deep.equal([0, 0, 0, 3, 0, 0, 3]);
    });

    it('dropout: the float32 mask, the float32 product rounded once, and its gradient the same way', async () => {
      // 40,000 elements (either side of the CPU's thread split), rows of 100 drawn with an offset and
      // a row stride; p = 0.3 keeps with 1/0.7, which is inexact, so the rounding shows; specials too.
      const values = new Float32Array(40_000);
      for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 12.9898) * 2 ** ((i % 41) - 20);
      values.set([NaN, Infinity, -Infinity, -0, 0, tiny, dtype === 'bfloat16' ? 3e38 : 60000], 9);
      const x = Tensor.fromArray(values, [400, 100], device, dtype);
      const dy = Tensor.fromArray(values.map((v, i) => (i % 3) - 1 + v / 7), [400, 100], device, dtype);
      const options = { p: 0.3, seed: 7, offset: 5, rowStride: 130 };
      const [xWide, dyWide] = [x, dy].map((t) => t.to('float32'));
      const half = ops.dropout(x, options);
      const wide = ops.dropout(xWide!, options);
      expect(half.y.dtype).to.equal(dtype);
      expect(half.mask.dtype).to.equal('float32');
      const sameBits = async (got: Tensor, want: Tensor, what: string) => {
        const a = Buffer.from((await got.toBits()).buffer), b = Buffer.from((await want.toBits()).buffer);
        expect(a.equals(b), `${what}: first difference at element ${[...a].findIndex((v, i) => v !== b[i]) >> 1}`).to.equal(true);
      };
      const maskBits = async (t: Tensor) => Buffer.from(((await t.toArray()) as Float32Array).buffer);
      expect((await maskBits(half.mask)).equals(await maskBits(wide.mask)), 'the mask').to.equal(true);
      const yRounded = wide.y.to(dtype);
      await sameBits(half.y, yRounded, 'y');
      const dx = ops.dropoutBackward(dy, half.mask);
      expect(dx.dtype).to.equal(dtype);
      const dxRounded = ops.dropoutBackward(dyWide!, wide.mask).to(dtype);
      await sameBits(dx, dxRounded, 'dx');
      for (const t of [x, dy, xWide!, dyWide!, half.y, half.mask, wide.y, wide.mask, yRounded, dx, dxRounded]) t.dispose();
    });
  });
}
