// The paper's two-column split is the same function as the one-device grouped network: with the
// same weights and dropout seeds, logits, loss and every gradient agree within float32 tolerance,
// in training and evaluation mode, and a few SGD steps leave the same weights. Runs the columns
// on two CPU devices (each its own stream), and on two GPUs / one GPU when the suite runs on cuda.
//
// Tolerance 1e-4 relative: both layouts do the same float32 arithmetic except for the order of
// two-term sums (exchanged gradients) and the GEMM blocking of the halved layers.
import { expect } from 'chai';
import { Tensor, ops, SGD, type DeviceName } from '../lib/index.js';
import { alexnet, type AlexNetOptions } from '../lib/models/alexnet.js';
import { TwoColumnAlexNet, groupedLayout } from '../lib/models/two_column.js';
import type { Module } from '../lib/nn/module.js';
import { relativeError } from './helpers/references.js';
import { testDevices } from './helpers/devices.js';

const TOLERANCE = 1e-4;
const options: AlexNetOptions = { numClasses: 10, inChannels: 3, inputSize: 99, width: 0.25, init: 'he', seed: 5 };

function gradients(model: Module): Record<string, Tensor> {
  return Object.fromEntries(model.namedParameters().map(([n, p]) => [n, p.grad!]));
}

async function expectSameRecords(got: Record<string, Tensor>, want: Record<string, Tensor>, what: string): Promise<void> {
  expect(Object.keys(got).sort()).to.deep.equal(Object.keys(want).sort());
  for (const [name, t] of Object.entries(want)) {
    const err = relativeError(await got[name]!.toArray(), await t.toArray());
    expect(err, `${what} ${name}: ${err.toExponential(2)}`).to.be.below(TOLERANCE);
  }
}

function columnDevices(): [DeviceName, DeviceName][] {
  const base = testDevices()[0]!;
  if (base.startsWith('cuda')) return [['cuda:0', 'cuda:0'], ...(testDevices().includes('cuda:1') ? [['cuda:0', 'cuda:1'] as [DeviceName, DeviceName]] : [])];
  return [['cpu:0', 'cpu:1'], ['cpu:2', 'cpu:2']];
}

for (const devices of columnDevices()) {
  describe(`two-column AlexNet on ${devices.join(' + ')}`, () => {
    const [d0] = devices;
    const x = () => Tensor.normal([3, 3, 99, 99], { seed: 9, std: 50, device: d0 });
    const labels = () => Tensor.fromArray(Int32Array.from([1, 7, 3]), [3], d0);

    it('has the one-device network\'s weights for the same seed, and its checkpoint names', async () => {
      const one = alexnet({ ...options, device: d0 });
      const two = new TwoColumnAlexNet({ ...options, devices });
      const viaFactory = alexnet({ ...options, columns: 2, devices });
      expect(viaFactory).to.be.instanceOf(TwoColumnAlexNet);
      await expectSameRecords(viaFactory.stateDict(), one.stateDict(), 'weight (alexnet({ columns: 2 }))');
      viaFactory.dispose();
      expect(() => alexnet({ ...options, columns: 3 } as never)).to.throw(RangeError, /options.columns must be 1 or 2, got 3/);
      // The same device twice: the second column runs on another stream of it.
      if (devices[0] === devices[1]) expect(two.devices).to.deep.equal([devices[0], `${devices[0]}/1`]);
      await expectSameRecords(two.stateDict(), one.stateDict(), 'weight');
      expect(two.namedParameters().map(([n]) => n)).to.include.members(['conv1.weight#0', 'conv1.weight#1', 'fc8.weight']);
    });

    for (const mode of ['train', 'eval'] as const) {
      it(`gives the same logits, loss and gradients as the grouped model (${mode} mode)`, async () => {
        const one = alexnet({ ...options, device: d0 });
        const two = new TwoColumnAlexNet({ ...options, devices });
        for (const m of [one, two]) {
          m.train(mode === 'train');
          m.reseed(123); // same dropout masks in both layouts
        }
        one.inputGrad = false;
        const l1 = one.forward(x());
        const l2 = two.forward(x());
        const e = relativeError(await l2.toArray(), await l1.toArray());
        expect(e, `logits ${e.toExponential(2)}`).to.be.below(TOLERANCE);
        if (mode === 'eval') return;
        const r1 = ops.softmaxCrossEntropy(l1, labels());
        const r2 = ops.softmaxCrossEntropy(l2, labels());
        expect(Math.abs((await r2.loss) - (await r1.loss))).to.be.below(1e-5 * Math.abs(await r1.loss) + 1e-6);
        one.backward(r1.dlogits);
        two.backward(r2.dlogits);
        await expectSameRecords(groupedLayout(gradients(two)), gradients(one), 'gradient');
      });
    }

    it('a few SGD steps give the same weights in both layouts, and the state loads across layouts', async () => {
      const one = alexnet({ ...options, device: d0 });
      const two = new TwoColumnAlexNet({ ...options, devices });
      // A small rate: with these inputs (std 50, so that LRN matters) lr 0.01 diverges (loss 125
      // -> 3.9e13 in three steps), and a diverging run amplifies rounding differences without bound.
      const sgd = [new SGD(one, { lr: 1e-4 }), new SGD(two, { lr: 1e-4 })];
      one.inputGrad = false;
      for (let step = 0; step < 3; step++) {
        [one, two].forEach((m, i) => {
          m.reseed(step);
          const logits = m.forward(x());
          const { dlogits } = ops.softmaxCrossEntropy(logits, labels());
          m.backward(dlogits);
          sgd[i]!.step();
        });
      }
      await expectSameRecords(two.stateDict(), one.stateDict(), 'weight after 3 steps');
      await expectSameRecords(groupedLayout(sgd[1]!.stateDict()), sgd[0]!.stateDict(), 'momentum after 3 steps');
      // A one-device state loads into the columns and back.
      const fresh = new TwoColumnAlexNet({ ...options, seed: 99, devices });
      fresh.loadStateDict(one.stateDict());
      await expectSameRecords(fresh.stateDict(), one.stateDict(), 'reloaded weight');
      const back = alexnet({ ...options, seed: 98, device: d0 });
      back.loadStateDict(fresh.stateDict());
      await expectSameRecords(back.stateDict(), one.stateDict(), 'weight loaded back into one device');
    });

    it('rejects bad devices and odd fully connected widths', () => {
      expect(() => new TwoColumnAlexNet({ ...options, devices: ['cpu:0'] as unknown as [DeviceName, DeviceName] })).to.throw(TypeError, /devices must be two device names/);
      // @ts-expect-error a wrong name does not compile; untyped callers get the TypeError
      expect(() => new TwoColumnAlexNet({ ...options, devices: ['cpu:0', 'gpu'] })).to.throw(TypeError, /"gpu"/);
    });
  });
}

describe('two-column training with the Trainer', () => {
  it('trains on cpu:0 + cpu:1, checkpoints with the one-device names, and resumes', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Trainer, loadModel } = await import('../lib/index.js');
    const { toyData, toyLoader } = await import('./helpers/toy_data.js');
    const small: AlexNetOptions = { numClasses: 4, inChannels: 1, inputSize: 67, width: 0.125, init: 'he', seed: 3 };
    const data = toyData(32, 4, 67);
    const out = mkdtempSync(join(tmpdir(), 'alexnet-two-column-'));
    const model = new TwoColumnAlexNet({ ...small, devices: ['cpu:0', 'cpu:1'] });
    const { device: _device, ...modelConfig } = model.config;
    const trainer = new Trainer({ model, train: toyLoader(data, 8), epochs: 1, outDir: out, progress: 'none', seed: 3, modelConfig });
    const result = await trainer.fit();
    expect(result.epochs).to.have.length(1);
    // The checkpoint loads into a one-device model with the same weights.
    const one = await loadModel(join(out, 'last.safetensors'), 'cpu');
    await expectSameRecords(one.stateDict(), model.stateDict(), 'checkpointed weight');
    // And back into a two-column model through resume (momentum split into the columns).
    const again = new TwoColumnAlexNet({ ...small, seed: 3, devices: ['cpu:0', 'cpu:1'] });
    const resumed = new Trainer({ model: again, train: toyLoader(data, 8), epochs: 1, outDir: out, resume: true, progress: 'none', seed: 3 });
    await resumed.restore(out);
    await expectSameRecords(again.stateDict(), model.stateDict(), 'restored weight');
    await expectSameRecords(groupedLayout(resumed.optimizer.stateDict()), groupedLayout(trainer.optimizer.stateDict()), 'restored momentum');
  });
});
