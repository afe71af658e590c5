// The paper's network: layer shapes, options, presets, initialisation.
import { expect } from 'chai';
import { Tensor, disposeAll, ops } from '../lib/index.js';
import { alexnet, alexnetParameterShapes, preset, presets, resolveAlexNetOptions } from '../lib/models/index.js';
import { Conv2d, Dropout, LocalResponseNorm, MaxPool2d } from '../lib/nn/index.js';
import { SGD } from '../lib/optim/index.js';
import { randn, rng } from './helpers/random.js';
import { testDevices } from './helpers/devices.js';

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean) };
}

describe('alexnet', () => {
  let paper: ReturnType<typeof alexnet>;
  before(() => {
    paper = alexnet();
  });
  after(() => paper.dispose());

  it('is the paper network: 224 → 55 → 27 → 13 → 6, 96-256-384-384-256, 4096-4096-1000', () => {
    const shapes = Object.fromEntries(paper.layerShapes.map(([n, s]) => [n, s.slice(1)]));
    expect(shapes.conv1).to.deep.equal([96, 55, 55]);
    expect(shapes.pool1).to.deep.equal([96, 27, 27]);
    expect(shapes.conv2).to.deep.equal([256, 27, 27]);
    expect(shapes.pool2).to.deep.equal([256, 13, 13]);
    expect(shapes.conv3).to.deep.equal([384, 13, 13]);
    expect(shapes.conv4).to.deep.equal([384, 13, 13]);
    expect(shapes.conv5).to.deep.equal([256, 13, 13]);
    expect(shapes.pool5).to.deep.equal([256, 6, 6]);
    expect(shapes.flatten).to.deep.equal([9216]);
    expect(shapes.fc6).to.deep.equal([4096]);
    expect(shapes.fc7).to.deep.equal([4096]);
    expect(shapes.fc8).to.deep.equal([1000]);
    expect(paper.children().map(([n]) => n)).to.deep.equal([
      'conv1', 'relu1', 'lrn1', 'pool1', 'conv2', 'relu2', 'lrn2', 'pool2', 'conv3', 'relu3', 'conv4', 'relu4',
      'conv5', 'relu5', 'pool5', 'flatten', 'fc6', 'relu6', 'drop6', 'fc7', 'relu7', 'drop7', 'fc8']);
    const groups = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'].map((n) => (paper.get(n) as Conv2d).groups);
    expect(groups).to.deep.equal([1, 2, 1, 2, 2]);
    const conv1 = paper.get('conv1') as Conv2d;
    expect([conv1.kernel, conv1.stride, conv1.padding]).to.deep.equal([[11, 11], [4, 4], [2, 2]]);
    const lrn = paper.get('lrn1') as LocalResponseNorm;
    expect([lrn.size, lrn.alpha, lrn.beta, lrn.k]).to.deep.equal([5, 1e-4, 0.75, 2]);
    expect((paper.get('pool1') as MaxPool2d).kernel).to.deep.equal([3, 3]);
    expect((paper.get('drop6') as Dropout).p).to.equal(0.5);
    const count = paper.parameters().reduce((a, p) => a + p.value.size, 0);
    // 60,965,224 parameters: the "60 million" of the paper (grouped conv2/4/5).
    expect(count).to.equal(60965224);
  });

  it("'paper' init: weights N(0, 0.01²); biases 1 in conv2/4/5 and the FC layers, 0 in conv1 and conv3", async () => {
    const sd = paper.stateDict();
    const w = stats((await sd['conv2.weight']!.toArray()) as Float32Array);
    expect(w.mean).to.be.closeTo(0, 2e-4);
    expect(w.std).to.be.closeTo(0.01, 2e-4);
    const fc = stats((await sd['fc6.weight']!.toArray()) as Float32Array);
    expect(fc.std).to.be.closeTo(0.01, 1e-4);
    for (const [name, value] of [['conv1', 0], ['conv2', 1], ['conv3', 0], ['conv4', 1], ['conv5', 1], ['fc6', 1], ['fc7', 1], ['fc8', 1]] as const) {
      const b = (await sd[`${name}.bias`]!.toArray()) as Float32Array;
      expect(b.every((v) => v === value), `${name}.bias`).to.equal(true);
    }
  });

  it("'he' init: N(0, 2/fan_in) weights and zero biases", async () => {
    const net = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, init: 'he' });
    const sd = net.stateDict();
    const conv3 = net.get('conv3') as Conv2d;
    const fanIn = conv3.inChannels * 9;
    expect(stats((await sd['conv3.weight']!.toArray()) as Float32Array).std).to.be.closeTo(Math.sqrt(2 / fanIn), 0.003);
    expect(((await sd['conv2.bias']!.toArray()) as Float32Array).every((v) => v === 0)).to.equal(true);
    net.dispose();
  });

  it('the same seed gives the same weights, another seed other weights; switches keep the weights', async () => {
    const opts = { numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, init: 'he' as const };
    const a = alexnet({ ...opts, seed: 3 });
    const b = alexnet({ ...opts, seed: 3, lrn: false, dropout: false });
    const c = alexnet({ ...opts, seed: 4 });
    const w = async (n: typeof a) => Array.from(await n.stateDict()['conv4.weight']!.toArray());
    expect(await w(b)).to.deep.equal(await w(a));
    expect(await w(c)).to.not.deep.equal(await w(a));
    expect(b.children().some(([n]) => n.startsWith('lrn') || n.startsWith('drop'))).to.equal(false);
    [a, b, c].forEach((n) => n.dispose());
  });

  it('options: width, conv1Stride, overlappingPool, dropout probability', () => {
    const net = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, overlappingPool: false, dropout: 0.3 });
    const shapes = Object.fromEntries(net.layerShapes.map(([n, s]) => [n, s.slice(1)]));
    expect(shapes.conv1).to.deep.equal([24, 15, 15]);
    expect(shapes.pool1).to.deep.equal([24, 7, 7]);
    expect(shapes.conv3).to.deep.equal([96, 3, 3]);
    expect(shapes.fc7).to.deep.equal([1024]);
    expect((net.get('pool1') as MaxPool2d).kernel).to.deep.equal([2, 2]);
    expect((net.get('drop7') as Dropout).p).to.equal(0.3);
    expect(net.inputShape).to.deep.equal([1, 64, 64]);
    net.dispose();
  });

  it("singleColumn: the paper's one-column comparison network (half the kernels in conv1-conv4, no grouping, conv5 and FC whole)", () => {
    const base = { numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he' as const };
    const two = Object.fromEntries(alexnetParameterShapes(base));
    const one = Object.fromEntries(alexnetParameterShapes({ ...base, singleColumn: true }));
    expect(two['conv2.weight']).to.deep.equal([64, 12, 5, 5]);  // groups 2: each kernel sees its column's 12 maps
    expect(one['conv1.weight']).to.deep.equal([12, 1, 11, 11]);
    expect(one['conv2.weight']).to.deep.equal([32, 12, 5, 5]);  // half the kernels, each sees every map
    expect(one['conv3.weight']).to.deep.equal([48, 32, 3, 3]);
    expect(one['conv4.weight']).to.deep.equal([48, 48, 3, 3]);
    expect(one['conv5.weight']).to.deep.equal([64, 48, 3, 3]);  // conv5 keeps its width ...
    expect(one['fc6.weight']).to.deep.equal(two['fc6.weight']);  // ... so fc6 does too
    const count = (shapes: Record<string, readonly number[]>) => Object.values(shapes).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    expect(count(one) / count(two)).to.be.within(0.9, 1);  // about as many parameters
    const net = alexnet({ ...base, singleColumn: true });
    expect((net.get('lrn1') as LocalResponseNorm).groups).to.equal(1);
    expect((net.get('conv2') as Conv2d).groups).to.equal(1);
    expect(net.forward(Tensor.zeros([2, 1, 64, 64])).shape).to.deep.equal([2, 10]);
    net.dispose();
    expect(() => alexnet({ ...base, singleColumn: true, columns: 2, devices: ['cpu:0', 'cpu:1'] })).to.throw(RangeError, /singleColumn .*one device/);
    expect(() => resolveAlexNetOptions({ singleColumn: 1 as never })).to.throw(TypeError, /singleColumn must be a boolean/);
  });

  it('rejects input sizes that do not fit, with the computed shapes in the message', () => {
    expect(() => alexnet({ inputSize: 32 })).to.throw(RangeError,
      /inputSize 32 does not fit AlexNet .*pool5: .*larger than the input 1x1.*conv1 \[1, 96, 7, 7\].*pool2 \[1, 256, 1, 1\]/);
    expect(() => alexnet({ inputSize: 28, inChannels: 1, numClasses: 10, width: 0.25 })).to.throw(RangeError, /pool2: .*conv1 \[1, 24, 6, 6\]/);
  });

  it('validates options, naming the option', () => {
    expect(() => resolveAlexNetOptions({ numClasses: 1 })).to.throw(RangeError, /numClasses/);
    expect(() => resolveAlexNetOptions({ init: 'xavier' as never })).to.throw(TypeError, /init must be 'paper' or 'he', got "xavier"/);
    expect(() => resolveAlexNetOptions({ lrn: 'yes' as never })).to.throw(TypeError, /lrn must be a boolean/);
    expect(() => resolveAlexNetOptions({ widht: 2 } as never)).to.throw(TypeError, /unknown option 'widht'/);
    expect(() => resolveAlexNetOptions({ width: 0 })).to.throw(RangeError, /width/);
    // @ts-expect-error a wrong name does not compile; untyped callers get the TypeError
    expect(() => alexnet({ device: 'gpu' })).to.throw(TypeError, /gpu/);
  });
});

describe('presets', () => {
  for (const name of Object.keys(presets)) {
    it(`${name}: builds with the shapes it promises`, () => {
      const p = preset(name);
      const net = alexnet(p.model);
      expect(net.layerShapes.at(-1)![1]).to.deep.equal([1, p.model.numClasses]);
      expect(p.training.batchSize).to.equal(128);
      expect(p.training.lr).to.equal(0.01);
      expect(p.training.momentum).to.equal(0.9);
      expect(p.training.weightDecay).to.equal(5e-4);
      net.dispose();
    });
  }

  it('paper uses the paper init; the Fashion-MNIST presets He init on one channel', () => {
    expect(preset('paper').model.init).to.equal('paper');
    expect(preset('fashion-mnist').model).to.include({ inChannels: 1, inputSize: 224, numClasses: 10, init: 'he' });
    expect(preset('fashion-mnist-quick').model).to.include({ inChannels: 1, numClasses: 10, init: 'he' });
  });

  it('unknown presets are rejected naming the known ones; presets are copies', () => {
    expect(() => preset('imagenet')).to.throw(RangeError, /preset must be one of paper, fashion-mnist, fashion-mnist-quick, got "imagenet"/);
    preset('paper').model.numClasses = 3;
    expect(preset('paper').model.numClasses).to.equal(1000);
  });
});

for (const device of testDevices()) {
  describe(`a tiny AlexNet overfits one batch (${device})`, () => {
    it('reaches loss < 0.05 within 150 steps', async () => {
      const net = alexnet({ numClasses: 4, inChannels: 1, inputSize: 32, width: 1 / 8, conv1Stride: 1, dropout: false, init: 'he', seed: 1, device });
      net.inputGrad = false;
      const r = rng(7);
      const n = 16;
      const x = Tensor.fromArray(randn(n * 32 * 32, r), [n, 1, 32, 32], device);
      const labels = Tensor.fromArray(Int32Array.from({ length: n }, (_, i) => i % 4), [n], device);
      const sgd = new SGD(net, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
      let loss = Infinity;
      let steps = 0;
      for (; steps < 150 && loss >= 0.05; steps++) {
        const logits = net.forward(x);
        const out = ops.softmaxCrossEntropy(logits, labels);
        net.backward(out.dlogits);
        sgd.step();
        disposeAll(logits, out.dlogits);
        loss = await out.loss;
      }
      expect(loss, `after ${steps} steps`).to.be.below(0.05);
      disposeAll(x, labels);
      sgd.dispose();
      net.dispose();
    });
  });
}
