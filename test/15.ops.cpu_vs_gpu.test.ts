// CPU against GPU on random inputs at the paper's real layer shapes (batch 32), for every CUDA
// device the suite runs on. Only registered where a CUDA device is in use (`npm run test:gpu`, or
// `npm test` on a machine with a GPU); the oracle suite covers every device everywhere.
//
// Tolerance 1e-4 of max |value|: both sides are strict FP32 (cuDNN with CUDNN_FMA_MATH, no TF32),
// differing only in summation order over up to 3456 terms (conv3's C·K·K), which moves results by
// ~1e-6 relative; a wrong algorithm or layout is off by O(1).
import { expect } from 'chai';
import { Tensor, ops, type DeviceName } from '../lib/index.js';
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
