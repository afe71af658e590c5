// The CPU backend's elementwise ops run on one thread below a cut-off (32 Ki elements) and above it
// split the range into one contiguous chunk per thread, through kernels compiled for AVX-512, AVX2
// and the baseline. Whatever the split and the instruction set, every element must follow the
// op's rule exactly: here sizes just below and above the cut-off and an odd large one, against the
// rule computed element by element in JavaScript with float32 rounding (Math.fround).
import { expect } from 'chai';
import { Tensor, ops } from '../lib/index.js';

const CUT = 1 << 15;
const SIZES = [CUT - 1, CUT + 13, 100_003];

/** Values with both signs, zeros, ties to even for bfloat16, and a NaN and infinities. */
function values(n: number, salt: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = (i * 2654435761 + salt * 40503) >>> 0;
    v[i] = k % 97 === 0 ? 0 : ((k % 2001) - 1000) / 37 * (1 + 2 ** -8 * (k % 3));
  }
  v[n >> 1] = Number.NaN;
  v[(n >> 2) + 1] = Number.POSITIVE_INFINITY;
  v[n - 1] = Number.NEGATIVE_INFINITY;
  return v;
}

/** float32 to bfloat16 bits: round to nearest even, NaN kept quiet (alexnet/bfloat16.hpp). */
function bf16Bits(f: number): number {
  const u = new Uint32Array(new Float32Array([f]).buffer)[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).to.equal(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i} is ${got[i]}, the rule gives ${want[i]}`);
}

describe('CPU elementwise ops follow their rule exactly on either side of the thread split', () => {
  for (const n of SIZES) {
    it(`${n} elements: ReLU and its gradient, the bfloat16 casts, SGD, axpy, scale, fill`, async () => {
      const xs = values(n, 1), gs = values(n, 2), vs = values(n, 3).map((v) => (Number.isFinite(v) ? v : 0.5));
      const x = Tensor.fromArray(xs, [n]);
      const g = Tensor.fromArray(gs, [n]);

      const y = ops.relu(x);
      const ys = (await y.toArray()) as Float32Array;
      expectSame(ys, xs.map((v) => (v < 0 ? 0 : v)), 'relu');
      const dx = ops.reluBackward(g, y);
      expectSame((await dx.toArray()) as Float32Array, gs.map((d, i) => (ys[i]! > 0 ? d : 0)), 'relu backward');

      const half = x.to('bfloat16');
      expectSame(await half.toBits(), Array.from(xs, bf16Bits), 'cast to bfloat16');
      const back = (await half.to('float32').toArray()) as Float32Array;
      const widened = Array.from(await half.toBits(), (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!);
      expectSame(back, widened, 'cast to float32');
      const halfY = ops.relu(half);
      expectSame(await halfY.toBits(), Array.from(xs, (v) => bf16Bits(v < 0 ? 0 : v)), 'relu in bfloat16');

      // SGD on finite values: v <- m v - (wd lr) w - lr g, w <- w + v, each operation rounded to float32.
      const f = Math.fround;
      const ws = vs.map((v) => v / 3), gFinite = gs.map((v) => (Number.isFinite(v) ? v : -0.25));
      const w = Tensor.fromArray(ws, [n]), v = Tensor.fromArray(vs, [n]), grad = Tensor.fromArray(gFinite, [n]);
      const lr = 0.01, momentum = 0.9, weightDecay = 5e-4;
      ops.sgdStep(w, v, grad, { lr, momentum, weightDecay });
      const decay = f(f(weightDecay) * f(lr));
      const vWant = vs.map((vi, i) => f(f(f(f(momentum) * vi) - f(decay * ws[i]!)) - f(f(lr) * gFinite[i]!)));
      expectSame((await v.toArray()) as Float32Array, vWant, 'sgd velocity');
      expectSame((await w.toArray()) as Float32Array, ws.map((wi, i) => f(wi + vWant[i]!)), 'sgd weights');

      const acc = Tensor.fromArray(ws, [n]);
      ops.axpy(-1.5, grad, acc);
      expectSame((await acc.toArray()) as Float32Array, ws.map((wi, i) => f(wi + f(-1.5 * gFinite[i]!))), 'axpy');
      expectSame((await ops.scale(grad, 0.75).toArray()) as Float32Array, gFinite.map((gi) => f(0.75 * gi)), 'scale');
      ops.fill(acc, -2.5);
      expectSame((await acc.toArray()) as Float32Array, new Float32Array(n).fill(-2.5), 'fill');
    });
  }
});
