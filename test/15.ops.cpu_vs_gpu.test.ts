// CPU against GPU on random inputs at the paper's real layer shapes (batch 32), for every CUDA
// device the suite runs on. Only registered where a CUDA device is in use (`npm run test:gpu`, or
// `npm test` on a machine with a GPU); the oracle suite covers every device everywhere.
//
// Tolerance 1e-4 of max |value|: both sides are strict FP32 (cuDNN with CUDNN_FMA_MATH, no TF32),
// differing only in summation order over up to 3456 terms (conv3's C·K·K), which moves results by
// ~1e-6 relative; a wrong algorithm or layout is off by O(1).
import { expect } from 'chai';
import { Tensor, bf16Support, ops, type DeviceName } from '../lib/index.js';
import { alexnetCases } from '../bench/layers.js';
import { relativeError } from './helpers/references.js';
import { testDevices } from './helpers/devices.js';

const TOLERANCE = 1e-4;

async function same(name: string, cpu: Tensor | null, gpu: Tensor | null): Promise<void> {
  const err = relativeError(await gpu!.toArray(), await cpu!.toArray());
  expect(err, `${name}: ${err.toExponential(2)}`).to.be.below(TOLERANCE);
  cpu!.dispose();
  gpu!.dispose();
}

for (const gpu of testDevices().filter((d) => d.startsWith('cuda'))) {
  describe(`cpu and ${gpu} agree at the paper's layer shapes (batch 32)`, () => {
    for (const c of alexnetCases(32)) {
      it(`${c.name} forward and backward`, async () => {
        const on = (device: DeviceName) => {
          const rand = (shape: number[], seed: number, std = 1) => Tensor.normal(shape, { seed, std, device });
          if (c.kind === 'conv') {
            const x = rand([c.n, c.c, c.h, c.h], 1), w = rand([c.o, c.c / c.groups, c.k, c.k], 2, 0.01), b = rand([c.o], 3);
            const opts = { stride: c.stride, padding: c.pad, groups: c.groups };
            const y = ops.conv2d(x, w, b, opts);
            const g = ops.conv2dBackward(y, x, w, opts);
            return [y, g.dx, g.dw, g.db];
          }
          if (c.kind === 'linear') {
            const x = rand([c.n, c.in], 1), w = rand([c.out, c.in], 2, 0.01), b = rand([c.out], 3);
            const y = ops.linear(x, w, b);
            const g = ops.linearBackward(y, x, w);
            return [y, g.dx, g.dw, g.db];
          }
          const x = rand([c.n, c.c, c.h, c.h], 1, c.kind === 'lrn' ? 30 : 1);
          if (c.kind === 'lrn') {
            const y = ops.localResponseNorm(x);
            return [y, ops.localResponseNormBackward(y, x, y)];
          }
          const y = ops.maxPool2d(x);
          return [y, ops.maxPool2dBackward(y, x, y)];
        };
        const cpu = on('cpu');
        const cuda = on(gpu);
        // Normal init draws the same inputs on both devices (counter-based generator).
        for (const [i, t] of cpu.entries()) await same(`${c.name} output ${i}`, t, cuda[i]!);
      });
    }

    // bfloat16 on the GPU against float32 on the CPU fed the same rounded inputs: a product of two
    // bfloat16 values is exact in float32, so what remains is the accumulation order (~1e-6) and
    // the roundings of the results to bfloat16 (unit roundoff u = 2^-8 each: the output, then the
    // output with the float32 bias added; dx; dw from cuDNN's bfloat16 staging). 3u of max |ref|
    // bounds them; an algorithm that rounds its partial sums or transformed tiles to 16 bits, or a
    // wrong layout, is far outside.
    const U = 2 ** -8;
    for (const c of alexnetCases(32).filter((c) => c.kind === 'conv' || c.kind === 'linear')) {
      it(`${c.name} in bfloat16: forward and backward within 3u of float32 on the rounded inputs`, async function () {
        if (!bf16Support(gpu).supported) this.skip();
        const shapes = c.kind === 'conv'
          ? { x: [c.n, c.c, c.h, c.h], w: [c.o, c.c / c.groups, c.k, c.k], b: [c.o] }
          : { x: [c.n, c.in], w: [c.out, c.in], b: [c.out] };
        const draw = (shape: number[], seed: number, std: number) => {
          const t = Tensor.normal(shape, { seed, std, device: gpu });
          const half = t.to('bfloat16');
          t.dispose();
          return half;
        };
        const x = draw(shapes.x, 1, 1), w = draw(shapes.w, 2, 0.01);
        const b = Tensor.normal(shapes.b, { seed: 3, device: gpu });
        const opts = c.kind === 'conv' ? { stride: c.stride, padding: c.pad, groups: c.groups } : undefined;
        const forward = (xi: Tensor, wi: Tensor, bi: Tensor) => (opts ? ops.conv2d(xi, wi, bi, opts) : ops.linear(xi, wi, bi));
        const backward = (g: Tensor, xi: Tensor, wi: Tensor) => (opts ? ops.conv2dBackward(g, xi, wi, opts) : ops.linearBackward(g, xi, wi));
        const y = forward(x, w, b);
        expect(y.dtype).to.equal('bfloat16');
        const grads = backward(y, x, w);
        // The CPU's float32 on the same values: the rounded inputs and the GPU's rounded output as dy.
        const onCpu = (t: Tensor) => {
          const there = t.to('cpu');
          if (there.dtype === 'float32') return there;
          const wide = there.to('float32');
          there.dispose();
          return wide;
        };
        const [xc, wc, bc, gc] = [x, w, b, y].map(onCpu);
        const yc = forward(xc!, wc!, bc!);
        const gradsC = backward(gc!, xc!, wc!);
        const within = async (name: string, got: Tensor, ref: Tensor) => {
          const wide = got.dtype === 'float32' ? got : got.to('float32');
          const a = await wide.toArray(), r = await ref.toArray();
          if (wide !== got) wide.dispose();
          let worst = 0, top = 0;
          for (let i = 0; i < r.length; i++) {
            worst = Math.max(worst, Math.abs(a[i]! - r[i]!));
            top = Math.max(top, Math.abs(r[i]!));
          }
          expect(worst / top, `${c.name} ${name}: ${(worst / top).toExponential(2)} of max`).to.be.at.most(3 * U);
        };
        await within('output', y, yc);
        await within('dx', grads.dx!, gradsC.dx!);
        await within('dw', grads.dw, gradsC.dw);
        await within('db', grads.db!, gradsC.db!);
        for (const t of [x, w, b, y, grads.dx!, grads.dw, grads.db, xc!, wc!, bc!, gc!, yc, gradsC.dx!, gradsC.dw, gradsC.db]) t?.dispose();
      });
    }

    it('normal init and dropout masks are the same numbers on both devices (counter-based RNG)', async () => {
      const a = Tensor.normal([4096], { seed: 7, device: 'cpu' });
      const b = Tensor.normal([4096], { seed: 7, device: gpu });
      // The GPU's double log/cos may differ from glibc's by an ulp in rare elements.
      await same('normal', a, b);
      const x = (d: DeviceName) => Tensor.full([32, 4096], 1, d);
      const mc = ops.dropout(x('cpu'), { p: 0.5, seed: 11 }).mask;
      const mg = ops.dropout(x(gpu), { p: 0.5, seed: 11 }).mask;
      expect(Array.from(await mg.toArray())).to.deep.equal(Array.from(await mc.toArray()));
    });

    it('softmax cross-entropy, top-k and the SGD step', async () => {
      const make = (d: DeviceName) => ({
        logits: Tensor.normal([128, 1000], { seed: 5, std: 30, device: d }),
        labels: Tensor.fromArray(Int32Array.from({ length: 128 }, (_, i) => (i * 37) % 1000), [128], d),
      });
      const c = make('cpu');
      const g = make(gpu);
      const rc = ops.softmaxCrossEntropy(c.logits, c.labels);
      const rg = ops.softmaxCrossEntropy(g.logits, g.labels);
      expect(Math.abs((await rg.loss) - (await rc.loss)) / (await rc.loss)).to.be.below(1e-5);
      await same('dlogits', rc.dlogits, rg.dlogits);
      expect(await ops.topkCorrect(g.logits, g.labels, 5)).to.equal(await ops.topkCorrect(c.logits, c.labels, 5));
      const state = (d: DeviceName) => [1, 2, 3].map((seed) => Tensor.normal([1000], { seed, device: d }));
      const [wc, vc, gc] = state('cpu');
      const [wg, vg, gg] = state(gpu);
      ops.sgdStep(wc!, vc!, gc!, { lr: 0.01 });
      ops.sgdStep(wg!, vg!, gg!, { lr: 0.01 });
      await same('sgd w', wc!, wg!);
      await same('sgd v', vc!, vg!);
    });
  });
}
