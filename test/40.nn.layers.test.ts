// The layer contract: parameters and state dicts, train/eval, ownership and lifetimes.
import { expect } from 'chai';
import { allocatorStats, checkDevice, synchronize, Tensor, disposeAll, ops, type DeviceName } from '../lib/index.js';
import { Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, Module, ReLU, Sequential, deriveSeed } from '../lib/nn/index.js';
import { randn, rng } from './helpers/random.js';
import { testDevices } from './helpers/devices.js';

function smallNet(device: DeviceName): Sequential {
  return new Sequential([
    ['conv1', new Conv2d(3, 8, 3, { padding: 1, device })],
    ['relu1', new ReLU()],
    ['lrn1', new LocalResponseNorm()],
    ['pool1', new MaxPool2d(3, 2)],
    ['conv2', new Conv2d(8, 16, 3, { padding: 1, groups: 2, device })],
    ['relu2', new ReLU()],
    ['flatten', new Flatten()],
    ['fc', new Linear(16 * 3 * 3, 10, { device })],
    ['drop', new Dropout(0.5)],
  ]);
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.toArray());
}

for (const outerDevice of testDevices()) {
  const device = outerDevice;
  describe(`nn layers (${device})`, () => {
    it('names parameters as in the state dict (conv1.weight …) with the right shapes', () => {
      const net = smallNet(device);
      const sd = net.stateDict();
      expect(Object.keys(sd)).to.deep.equal(['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'fc.weight', 'fc.bias']);
      expect(sd['conv2.weight']!.shape).to.deep.equal([16, 4, 3, 3]);
      expect(sd['fc.weight']!.shape).to.deep.equal([10, 144]);
      expect(net.parameters()).to.have.length(6);
      expect(net.device).to.equal(checkDevice(device));  // the canonical name: cpu:0, cuda:0
      net.dispose();
    });

    it('computes output shapes and names the layer that does not fit', () => {
      const net = smallNet(device);
      expect(net.outputShape([2, 3, 7, 7])).to.deep.equal([2, 10]);
      expect(() => net.shapes([2, 3, 2, 2])).to.throw(RangeError, /pool1: .*larger than the input 2x2.*conv1 \[2, 8, 2, 2\]/);
      expect(() => net.shapes([2, 4, 7, 7])).to.throw(RangeError, /conv1: Conv2d expects \[N, 3, H, W\]/);
      net.dispose();
    });

    it('loadStateDict copies values, checks names and shapes, and leaves the module unchanged on error', async () => {
      const a = smallNet(device);
      const b = smallNet(device);
      const r = rng(1);
      for (const p of a.parameters()) p.setValue(Tensor.fromArray(randn(p.value.size, r), p.shape, device));
      b.loadStateDict(a.stateDict());
      for (const [name, t] of Object.entries(b.stateDict())) expect(await values(t), name).to.deep.equal(await values(a.stateDict()[name]!));
      // A copy, not shared storage: changing a does not change b.
      ops.fill(a.stateDict()['fc.bias']!, 7);
      expect((await values(b.stateDict()['fc.bias']!))[0]).to.not.equal(7);

      const before = await values(b.stateDict()['conv1.weight']!);
      const bad = { ...a.stateDict(), 'fc.bias': Tensor.zeros([11], device) };
      expect(() => b.loadStateDict(bad)).to.throw(RangeError, /fc\.bias.*\[11\].*\[10\]/);
      expect(await values(b.stateDict()['conv1.weight']!)).to.deep.equal(before);
      const missing = { ...a.stateDict() } as Record<string, Tensor>;
      delete missing['conv2.bias'];
      expect(() => b.loadStateDict(missing)).to.throw(RangeError, /missing conv2\.bias/);
      const extra = { ...a.stateDict(), 'fc.gamma': Tensor.zeros([1], device) };
      expect(() => b.loadStateDict(extra)).to.throw(RangeError, /unexpected entries fc\.gamma/);
      b.loadStateDict(extra, { strict: false });
      expect(() => b.loadStateDict({ ...a.stateDict(), 'fc.bias': 3 } as never)).to.throw(TypeError, /state\['fc\.bias'\] must be a Tensor/);
      disposeAll(bad['fc.bias'], extra['fc.gamma']);
      a.dispose();
      b.dispose();
    });

    it('backward sets every gradient; backward without a training forward throws', () => {
      const net = smallNet(device);
      const x = Tensor.fromArray(randn(2 * 3 * 7 * 7, rng(2)), [2, 3, 7, 7], device);
      const y = net.forward(x);
      const dx = net.backward(Tensor.full(y.shape, 1, device));
      expect(dx!.shape).to.deep.equal([2, 3, 7, 7]);
      expect(net.parameters().every((p) => p.grad !== null && p.grad.shape.join() === p.shape.join())).to.equal(true);
      expect(() => net.backward(y)).to.throw(Error, /backward called without a training-mode forward/);
      net.eval();
      const z = net.forward(x);
      expect(() => net.backward(z)).to.throw(Error, /without a training-mode forward/);
      disposeAll(x, y, dx, z);
      net.dispose();
    });

    it('inputGrad = false skips dL/dx on the first layer only', () => {
      const net = smallNet(device);
      net.inputGrad = false;
      expect(net.get('conv1').inputGrad).to.equal(false);
      expect(net.get('relu1').inputGrad).to.equal(true);
      const x = Tensor.fromArray(randn(2 * 3 * 7 * 7, rng(3)), [2, 3, 7, 7], device);
      const y = net.forward(x);
      const dy = Tensor.full(y.shape, 1, device);
      expect(net.backward(dy)).to.equal(null);
      expect((net.get('conv1') as Conv2d).weight.grad).to.not.equal(null);
      disposeAll(x, y, dy);
      net.dispose();
    });

    it('dropout: masks depend on the seed, eval is the identity, reseed reproduces a mask', async () => {
      const d = new Dropout(0.5);
      const x = Tensor.full([4, 256], 1, device);
      d.reseed(deriveSeed(5, 1));
      const a = await values(d.forward(x));
      expect(a.every((v) => v === 0 || v === 2)).to.equal(true);
      const kept = a.filter((v) => v === 2).length / a.length;
      expect(kept).to.be.within(0.4, 0.6);
      const b = await values(d.forward(x));
      expect(b, 'the next forward draws a new mask').to.not.deep.equal(a);
      d.reseed(deriveSeed(5, 1));
      expect(await values(d.forward(x)), 'same seed, same mask').to.deep.equal(a);
      const g = await values(d.backward(Tensor.full([4, 256], 3, device))!);
      expect(g.map((v, i) => (a[i] === 0 ? v === 0 : v === 6)).every(Boolean)).to.equal(true);
      d.eval();
      expect(await values(d.forward(x))).to.deep.equal(new Array(1024).fill(1));
      d.dispose();
      x.dispose();
    });

    it('disposing inputs and outputs right after forward is safe: layers keep their own references', async () => {
      const net = smallNet(device);
      const make = () => Tensor.fromArray(randn(2 * 3 * 7 * 7, rng(4)), [2, 3, 7, 7], device);
      net.reseed(1);
      const x1 = make();
      const y1 = net.forward(x1);
      const dx1 = await values(net.backward(Tensor.full([2, 10], 1, device))!);
      net.reseed(1);
      const x2 = make();
      const y2 = net.forward(x2);
      x2.dispose();
      y2.dispose();
      const dx2 = await values(net.backward(Tensor.full([2, 10], 1, device))!);
      expect(dx2).to.deep.equal(dx1);
      disposeAll(x1, y1);
      net.dispose();
    });

    it('train()/eval() set the mode on every layer and eval releases kept activations', () => {
      const net = smallNet(device);
      net.eval();
      expect(net.modules().every((m) => !m.training)).to.equal(true);
      net.train();
      expect(net.modules().every((m) => m.training)).to.equal(true);
      expect(net.modules().filter((m) => m instanceof Module)).to.have.length(10);
      net.dispose();
    });

    it('a training step in steady state keeps device memory constant (nothing leaks per step)', async function () {
      // On CPU a device of its own, so tensors other tests left to the GC cannot move the counts.
      const device = outerDevice === 'cpu' ? 'cpu:6' : outerDevice;
      const net = smallNet(device);
      net.inputGrad = false;
      const x = Tensor.fromArray(randn(8 * 3 * 7 * 7, rng(5)), [8, 3, 7, 7], device);
      const labels = Tensor.fromArray(Int32Array.from({ length: 8 }, (_, i) => i % 10), [8], device);
      const step = async () => {
        const logits = net.forward(x);
        const { loss, dlogits } = ops.softmaxCrossEntropy(logits, labels);
        net.backward(dlogits);
        disposeAll(logits, dlogits);
        await loss;
        await synchronize(device);
      };
      for (let i = 0; i < 3; i++) await step();
      const before = allocatorStats(device);
      for (let i = 0; i < 20; i++) await step();
      const after = allocatorStats(device);
      expect(after.bytesInUse).to.equal(before.bytesInUse);
      // Blocks are allocated when work is queued and freed when the stream has run it, so a step's
      // peak depends on how far the stream lags behind and may need a new block now and then; a
      // leak or a per-step allocation would show as one or more per step (>= 20 here).
      expect(after.systemAllocations - before.systemAllocations).to.be.at.most(4);
      disposeAll(x, labels);
      net.dispose();
    });

    it('constructors validate their arguments, naming the parameter', () => {
      expect(() => new Conv2d(3, 8, 0)).to.throw(RangeError, /kernel/);
      expect(() => new Conv2d(3, 8, 3, { groups: 2 })).to.throw(RangeError, /groups \(2\) must divide inChannels \(3\)/);
      expect(() => new Linear(0, 3)).to.throw(RangeError, /inFeatures/);
      expect(() => new Dropout(1.5)).to.throw(RangeError, /p must be/);
      expect(() => new Sequential([['a.b', new ReLU()]])).to.throw(TypeError, /without '\.'/);
      expect(() => new Sequential([['a', new ReLU()], ['a', new ReLU()]])).to.throw(RangeError, /duplicate name 'a'/);
      expect(() => new Sequential([['a', {} as Module]])).to.throw(TypeError, /must be a Module/);
    });
  });
}

describe('deriveSeed', () => {
  it('is deterministic, a safe integer, and differs across part lists', () => {
    expect(deriveSeed(1, 2, 3)).to.equal(deriveSeed(1, 2, 3));
    const seeds = new Set<number>();
    for (let e = 0; e < 20; e++) for (let s = 0; s < 50; s++) seeds.add(deriveSeed(42, e, s));
    expect(seeds.size).to.equal(1000);
    expect(Number.isSafeInteger(deriveSeed(2 ** 52, 7))).to.equal(true);
    expect(deriveSeed(1, 2)).to.not.equal(deriveSeed(2, 1));
    expect(() => deriveSeed(-1)).to.throw(RangeError);
  });
});
