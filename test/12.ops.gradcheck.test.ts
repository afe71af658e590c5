// Central finite differences on fresh random shapes: each backward op must be the derivative of
// its forward op. The loss is L = Σ out·g in float64 over float32 outputs; with O(1) inputs and a
// step of 1e-2 the float32 rounding of L stays ~1e-6 relative, so 2e-2 of max |grad| separates a
// correct gradient from a wrong one (a wrong formula is off by O(1)).
import { expect } from 'chai';
import { Tensor, ops, type DeviceName } from '../lib/index.js';
import { randint, randn, rng } from './helpers/random.js';
import { testDevices } from './helpers/devices.js';

const STEP = 1e-2;
const TOLERANCE = 2e-2;
const COORDINATES = 12;

async function lossOf(out: Tensor, g: Float32Array): Promise<number> {
  const values = await out.toArray();
  let s = 0;
  for (let i = 0; i < g.length; i++) s += values[i]! * g[i]!;
  out.dispose();
  return s;
}

/** Compares analytic dL/dinput with central differences at random coordinates. */
async function check(name: string, data: Float32Array, shape: number[], forward: (t: Tensor) => Tensor,
  g: Float32Array, analytic: Float32Array, random: () => number, device: DeviceName): Promise<void> {
  const scale = Math.max(...analytic.map(Math.abs), 1e-3);
  for (let k = 0; k < COORDINATES; k++) {
    const i = Math.floor(random() * data.length);
    const plus = Float32Array.from(data);
    const minus = Float32Array.from(data);
    plus[i]! += STEP;
    minus[i]! -= STEP;
    const lp = await lossOf(forward(Tensor.fromArray(plus, shape, device)), g);
    const lm = await lossOf(forward(Tensor.fromArray(minus, shape, device)), g);
    const numeric = (lp - lm) / (2 * STEP);
    expect(Math.abs(numeric - analytic[i]!) / scale, `${name}[${i}]: numeric ${numeric} analytic ${analytic[i]}`).to.be.below(TOLERANCE);
  }
}

for (const device of testDevices()) {
  describe(`finite-difference gradient checks on ${device}`, () => {
    for (const seed of [1, 2, 3]) {
      it(`conv2d with random geometry (seed ${seed})`, async () => {
        const r = rng(seed);
        const groups = randint(r, 1, 2);
        const n = randint(r, 1, 2), c = groups * randint(r, 1, 3), o = groups * randint(r, 1, 3);
        const k = randint(r, 1, 5), stride = randint(r, 1, 3), pad = randint(r, 0, 2);
        const h = randint(r, k, k + 8), w = randint(r, k, k + 8);
        const opts = { stride, padding: pad, groups };
        const xs = [n, c, h, w], ws = [o, c / groups, k, k];
        const x = randn(xs.reduce((a, b) => a * b), r), wt = randn(ws.reduce((a, b) => a * b), r), b = randn(o, r);
        const y = ops.conv2d(Tensor.fromArray(x, xs, device), Tensor.fromArray(wt, ws, device), Tensor.fromArray(b, [o], device), opts);
        const g = randn(y.size, r);
        const grads = ops.conv2dBackward(Tensor.fromArray(g, y.shape, device), Tensor.fromArray(x, xs, device), Tensor.fromArray(wt, ws, device), opts);
        const W = Tensor.fromArray(wt, ws, device), B = Tensor.fromArray(b, [o], device), X = Tensor.fromArray(x, xs, device);
        await check('dx', x, xs, (t) => ops.conv2d(t, W, B, opts), g, (await grads.dx!.toArray()) as Float32Array, r, device);
        await check('dw', wt, ws, (t) => ops.conv2d(X, t, B, opts), g, (await grads.dw.toArray()) as Float32Array, r, device);
        await check('db', b, [o], (t) => ops.conv2d(X, W, t, opts), g, (await grads.db!.toArray()) as Float32Array, r, device);
      });
    }

    it('linear', async () => {
      const r = rng(7);
      const n = 3, inF = 17, out = 9;
      const x = randn(n * inF, r), w = randn(out * inF, r), b = randn(out, r), g = randn(n * out, r);
      const X = Tensor.fromArray(x, [n, inF], device), W = Tensor.fromArray(w, [out, inF], device), B = Tensor.fromArray(b, [out], device);
      const grads = ops.linearBackward(Tensor.fromArray(g, [n, out], device), X, W);
      await check('dx', x, [n, inF], (t) => ops.linear(t, W, B), g, (await grads.dx!.toArray()) as Float32Array, r, device);
      await check('dw', w, [out, inF], (t) => ops.linear(X, t, B), g, (await grads.dw.toArray()) as Float32Array, r, device);
      await check('db', b, [out], (t) => ops.linear(X, W, t), g, (await grads.db!.toArray()) as Float32Array, r, device);
    });

    for (const [size, alpha, beta, k] of [[5, 1e-4, 0.75, 2], [3, 0.3, 0.6, 1.5], [7, 0.05, 0.5, 1]] as const) {
      it(`localResponseNorm size ${size} alpha ${alpha} beta ${beta} k ${k}`, async () => {
        const r = rng(size);
        const shape = [2, 9, 3, 4];
        const x = randn(2 * 9 * 12, r, size === 5 ? 40 : 2);
        const X = Tensor.fromArray(x, shape, device);
        const opts = { size, alpha, beta, k };
        const y = ops.localResponseNorm(X, opts);
        const g = randn(y.size, r);
        const dx = ops.localResponseNormBackward(Tensor.fromArray(g, shape, device), X, y, opts);
        await check('dx', x, shape, (t) => ops.localResponseNorm(t, opts), g, (await dx.toArray()) as Float32Array, r, device);
      });
    }

    it('maxPool2d with distinct, well-separated inputs', async () => {
      const r = rng(11);
      const shape = [2, 3, 11, 9];
      const count = 2 * 3 * 11 * 9;
      const perm = Array.from({ length: count }, (_, i) => i).sort(() => r() - 0.5);
      const x = Float32Array.from(perm, (v) => v * 0.1); // neighbours differ by >= 0.1 >> STEP
      const X = Tensor.fromArray(x, shape, device);
      const y = ops.maxPool2d(X);
      const g = randn(y.size, r);
      const dx = ops.maxPool2dBackward(Tensor.fromArray(g, y.shape, device), X, y);
      await check('dx', x, shape, (t) => ops.maxPool2d(t), g, (await dx.toArray()) as Float32Array, r, device);
    });

    it('relu away from zero', async () => {
      const r = rng(12);
      const x = randn(50, r).map((v) => (Math.abs(v) < 0.1 ? v + Math.sign(v || 1) * 0.2 : v));
      const X = Tensor.fromArray(x, [5, 10], device);
      const y = ops.relu(X);
      const g = randn(50, r);
      const dx = ops.reluBackward(Tensor.fromArray(g, [5, 10], device), y);
      await check('dx', x, [5, 10], (t) => ops.relu(t), g, (await dx.toArray()) as Float32Array, r, device);
    });

    it('tanh', async () => {
      const r = rng(9);
      const x = randn(50, r);
      const X = Tensor.fromArray(x, [5, 10], device);
      const y = ops.tanh(X);
      const g = randn(50, r);
      const dx = ops.tanhBackward(Tensor.fromArray(g, [5, 10], device), y);
      await check('dx', x, [5, 10], (t) => ops.tanh(t), g, (await dx.toArray()) as Float32Array, r, device);
    });

    it('softmaxCrossEntropy', async () => {
      const r = rng(13);
      const logits = randn(4 * 7, r, 3);
      const labels = Tensor.fromArray(Int32Array.from([0, 6, 3, 3]), [4], device);
      const { dlogits } = ops.softmaxCrossEntropy(Tensor.fromArray(logits, [4, 7], device), labels);
      // Differentiate the scalar loss directly.
      const analytic = (await dlogits.toArray()) as Float32Array;
      for (let k = 0; k < COORDINATES; k++) {
        const i = Math.floor(r() * logits.length);
        const plus = Float32Array.from(logits), minus = Float32Array.from(logits);
        plus[i]! += STEP;
        minus[i]! -= STEP;
        const lp = await ops.softmaxCrossEntropy(Tensor.fromArray(plus, [4, 7], device), labels).loss;
        const lm = await ops.softmaxCrossEntropy(Tensor.fromArray(minus, [4, 7], device), labels).loss;
        expect(Math.abs((lp - lm) / (2 * STEP) - analytic[i]!)).to.be.below(TOLERANCE * Math.max(...analytic.map(Math.abs)));
      }
    });

    it('dropout: the gradient uses the forward mask', async () => {
      const r = rng(14);
      const x = randn(200, r);
      const X = Tensor.fromArray(x, [4, 50], device);
      const { y, mask } = ops.dropout(X, { p: 0.5, seed: 99 });
      const g = randn(200, r);
      const dx = ops.dropoutBackward(Tensor.fromArray(g, [4, 50], device), mask);
      await check('dx', x, [4, 50], (t) => ops.dropout(t, { p: 0.5, seed: 99 }).y, g, (await dx.toArray()) as Float32Array, r, device);
      const m = await mask.toArray();
      const kept = Array.from(m).filter((v) => v !== 0);
      expect(kept.every((v) => v === 2)).to.equal(true);
      expect(kept.length).to.be.within(60, 140); // ~Binomial(200, 0.5)
      const yv = await y.toArray();
      yv.forEach((v, i) => expect(v).to.equal(x[i]! * m[i]!));
    });
  });
}
