// Models own their checkpoint names: exportState/importState map a model's per-parameter tensors
// (weights, velocities) to and from the names a checkpoint stores, so that the Trainer saves and
// resumes any model without knowing its layout. The two-column model exports the one-device names,
// and its initial weights are exactly those of the one-device model with the same seed.
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SGD, Tensor, Trainer, alexnet, alexnetParameterShapes, nn, ops, type AlexNetOptions, type DeviceName } from '../lib/index.js';
import { loadCheckpoint } from '../lib/io/index.js';
import { TwoColumnAlexNet } from '../lib/models/two_column.js';
import { disposeDerived, type StateDict } from '../lib/nn/module.js';
import { relativeError } from './helpers/references.js';
import { toyData, toyLoader } from './helpers/toy_data.js';

const options: AlexNetOptions = { numClasses: 10, inChannels: 3, inputSize: 67, width: 0.125, init: 'he', seed: 5 };
const devices: [DeviceName, DeviceName] = ['cpu:0', 'cpu:1'];

/** Every tensor of `got` holds exactly the values of the same-named tensor of `want`. */
async function expectIdentical(got: StateDict, want: StateDict, what: string): Promise<void> {
  expect(Object.keys(got).sort(), what).to.deep.equal(Object.keys(want).sort());
  for (const [name, t] of Object.entries(want)) {
    expect(got[name]!.shape, `${what} ${name}`).to.deep.equal(t.shape);
    const [a, b] = [await got[name]!.toArray(), await t.toArray()];
    expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${what} ${name}`).to.equal(true);
  }
}

describe('model state names', () => {
  it('the one-device model exports and imports its parameter names as they are, sharing the tensors', () => {
    const one = alexnet({ ...options, device: 'cpu' });
    const live = one.stateDict();
    expect(Object.keys(live)).to.deep.equal(one.namedParameters().map(([n]) => n));
    expect(live['conv1.weight']).to.equal(one.namedParameters()[0]![1].value);
    const sgd = new SGD(one);
    const velocities = sgd.stateDict();
    const exported = one.exportState(velocities, 'momentum.');
    expect(exported).to.deep.equal(velocities);
    expect(one.importState(exported, 'momentum.')).to.deep.equal(velocities);
    sgd.dispose();
    one.dispose();
  });

  it('the two-column model draws exactly the one-device weights for the same seed, and exports them under the one-device names', async () => {
    const one = alexnet({ ...options, device: devices[0] });
    const two = new TwoColumnAlexNet({ ...options, devices });
    const weights = two.stateDict();
    await expectIdentical(weights, one.stateDict(), 'initial weight');
    disposeDerived(weights, Object.fromEntries(two.namedParameters().map(([n, p]) => [n, p.value])));
    // Column k holds rows [k·n, (k+1)·n) of the one-device weight.
    const conv3 = two.namedParameters().find(([n]) => n === 'conv3.weight#1')![1];
    const full = await one.stateDict()['conv3.weight']!.toArray();
    const rows = conv3.shape[0]!;
    const perRow = full.length / (2 * rows);
    expect(Array.from(await conv3.value.toArray())).to.deep.equal(Array.from(full.subarray(rows * perRow)));
    one.dispose();
    two.dispose();
  });

  it('the two-column model maps velocities (any prefix) to the one-device names and back', async () => {
    const two = new TwoColumnAlexNet({ ...options, devices });
    const sgd = new SGD(two);
    // Distinct values in every velocity, so that a wrong split or merge shows.
    Object.values(sgd.stateDict()).forEach((v, i) => ops.normal(v, { seed: i }));
    const velocities = sgd.stateDict();
    const exported = two.exportState(velocities, 'momentum.');
    expect(Object.keys(exported).sort()).to.deep.equal(alexnetParameterShapes(options).map(([n]) => `momentum.${n}`).sort());
    const imported = two.importState(exported, 'momentum.');
    await expectIdentical(imported, velocities, 'velocity round trip');
    disposeDerived(imported, exported);
    disposeDerived(exported, velocities);
    sgd.dispose();
    two.dispose();
  });

  it('a two-column state goes through a one-device model and back unchanged', async () => {
    const two = new TwoColumnAlexNet({ ...options, seed: 11, devices });
    const original = two.stateDict();
    const one = alexnet({ ...options, seed: 12, device: 'cpu' });
    one.loadStateDict(original);
    const back = new TwoColumnAlexNet({ ...options, seed: 13, devices });
    back.loadStateDict(one.stateDict());
    await expectIdentical(back.stateDict(), original, 'weight after two columns -> one device -> two columns');
    // Its own names load too.
    const own = Object.fromEntries(two.namedParameters().map(([n, p]) => [n, p.value]));
    const again = new TwoColumnAlexNet({ ...options, seed: 14, devices });
    again.loadStateDict(own);
    await expectIdentical(again.stateDict(), original, 'weight loaded under the column names');
    expect(() => again.loadStateDict({ ...original, 'conv1.weight': Tensor.zeros([3, 3, 11, 11]) })).to.throw(RangeError, /conv1.weight has shape \[3, 3, 11, 11\]; a column needs half/);
    [two, one, back, again].forEach((m) => m.dispose());
  });

  it('without dropout and LRN the columns are cut elsewhere and still give the grouped model\'s logits and gradients', async () => {
    const plain = { ...options, dropout: false, lrn: false };
    const one = alexnet({ ...plain, device: devices[0] });
    const two = new TwoColumnAlexNet({ ...plain, devices });
    expect(two.children().map(([n]) => n)).to.deep.equal(['column0.conv1-pool2', 'column0.conv3-flatten', 'column0.fc6-relu6', 'column0.fc7-relu7',
      'column1.conv1-pool2', 'column1.conv3-flatten', 'column1.fc6-relu6', 'column1.fc7-relu7', 'fc8']);
    one.inputGrad = false;
    const x = Tensor.normal([2, 3, 67, 67], { seed: 4, device: devices[0] });
    const labels = Tensor.fromArray(Int32Array.from([3, 8]), [2], devices[0]);
    const grads: StateDict[] = [];
    const logits: Float32Array[] = [];
    for (const m of [one, two]) {
      const y = m.forward(x);
      logits.push((await y.toArray()) as Float32Array);
      m.backward(ops.softmaxCrossEntropy(y, labels).dlogits);
      grads.push(m.exportState(Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.grad!]))));
    }
    expect(relativeError(logits[1]!, logits[0]!)).to.be.below(1e-4);
    for (const [name, g] of Object.entries(grads[0]!))
      expect(relativeError(await grads[1]![name]!.toArray(), await g.toArray()), name).to.be.below(1e-4);
    one.dispose();
    two.dispose();
  });

  it('the Trainer saves and resumes under whatever names the model exports', async () => {
    // A model that stores its one layer under another name than its parameters have.
    class Renamed extends nn.Sequential {
      override exportState(tensors: StateDict, prefix = ''): StateDict {
        return Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n.replace(`${prefix}fc.`, `${prefix}classifier.`), t]));
      }
      override importState(saved: StateDict, prefix = ''): StateDict {
        return Object.fromEntries(Object.entries(saved).map(([n, t]) => [n.replace(`${prefix}classifier.`, `${prefix}fc.`), t]));
      }
    }
    const build = () => {
      const model = new Renamed([['flatten', new nn.Flatten()], ['fc', new nn.Linear(64, 4)]]);
      const w = Tensor.normal([4, 64], { seed: 1, std: 0.1 });
      model.loadStateDict({ 'classifier.weight': w, 'classifier.bias': Tensor.zeros([4]) });
      w.dispose();
      return model;
    };
    const data = toyData(32, 4, 8);
    const out = mkdtempSync(join(tmpdir(), 'alexnet-state-names-'));
    const model = build();
    const trainer = new Trainer({ model, train: toyLoader(data, 8), epochs: 1, outDir: out, progress: 'none', seed: 2, maxSteps: 3 });
    await trainer.fit();
    const ckpt = await loadCheckpoint(join(out, 'last.safetensors'));
    expect(Object.keys(ckpt.weights).sort()).to.deep.equal(['classifier.bias', 'classifier.weight']);
    expect(Object.keys(ckpt.momentum).sort()).to.deep.equal(['momentum.classifier.bias', 'momentum.classifier.weight']);
    const again = build();
    const resumed = new Trainer({ model: again, train: toyLoader(data, 8), epochs: 1, outDir: out, progress: 'none', seed: 2 });
    await resumed.restore(out);
    await expectIdentical(again.stateDict(), model.stateDict(), 'restored weight');
    await expectIdentical(resumed.optimizer.stateDict(), trainer.optimizer.stateDict(), 'restored velocity');
  });
});
