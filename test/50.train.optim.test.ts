// SGD with the paper's rule against the oracle (g1, g2) and the learning-rate schedules.
import { expect } from 'chai';
import { Tensor, disposeAll, ops } from '../lib/index.js';
import { Linear, Sequential } from '../lib/nn/index.js';
import { ReduceOnPlateau, SGD, StepSchedule, makeSchedule } from '../lib/optim/index.js';
import { referenceSets, relativeError } from './helpers/references.js';
import { testDevices } from './helpers/devices.js';

// Two float32 steps of a few hundred values: rounding stays near 1e-7 relative.
const TOLERANCE = 1e-5;

for (const device of testDevices()) {
  describe(`SGD, the paper's rule (${device})`, () => {
    for (const refs of referenceSets()) it(`g2 (${refs.label}): two steps of a linear softmax classifier (lr 0.01 then 0.001, non-zero initial velocity)`, async () => {
      const c = refs.read('g2_sgd_linear_softmax');
      const t = (n: string) => Tensor.fromArray(c.f32(n), c.get(n).shape, device);
      const net = new Sequential([['fc', new Linear(20, 10, { device })]]);
      const init = { 'fc.weight': t('W0'), 'fc.bias': t('b0') };
      net.loadStateDict(init);
      const sgd = new SGD(net, { lr: 0.01 });
      const velocity = { 'momentum.fc.weight': t('vW0'), 'momentum.fc.bias': t('vb0') };
      sgd.loadStateDict(velocity);
      disposeAll(init, velocity);
      const x = t('X');
      const labels = Tensor.fromArray(c.get('labels').data as Int32Array, [8], device);
      const errors: Record<string, number> = {};
      for (const [i, lr] of [[1, 0.01], [2, 0.001]] as const) {
        sgd.lr = lr;
        const logits = net.forward(x);
        const { loss, dlogits } = ops.softmaxCrossEntropy(logits, labels);
        net.backward(dlogits);
        sgd.step();
        errors[`loss${i}`] = relativeError([await loss], c.get(`loss${i}`).data);
        const sd = net.stateDict();
        const v = sgd.stateDict();
        errors[`W${i}`] = relativeError(await sd['fc.weight']!.toArray(), c.get(`W${i}`).data);
        errors[`b${i}`] = relativeError(await sd['fc.bias']!.toArray(), c.get(`b${i}`).data);
        errors[`vW${i}`] = relativeError(await v['momentum.fc.weight']!.toArray(), c.get(`vW${i}`).data);
        errors[`vb${i}`] = relativeError(await v['momentum.fc.bias']!.toArray(), c.get(`vb${i}`).data);
        disposeAll(logits, dlogits);
      }
      expect(Object.entries(errors).filter(([, e]) => !(e <= TOLERANCE)), JSON.stringify(errors)).to.deep.equal([]);
      disposeAll(x, labels);
      sgd.dispose();
      net.dispose();
    });

    it('skips parameters without a gradient and validates its options', async () => {
      const net = new Sequential([['fc', new Linear(2, 2, { device })]]);
      ops.fill(net.stateDict()['fc.weight']!, 1);
      const sgd = new SGD(net);
      sgd.step();
      expect(Array.from(await net.stateDict()['fc.weight']!.toArray())).to.deep.equal([1, 1, 1, 1]);
      expect(Object.keys(sgd.stateDict())).to.deep.equal(['momentum.fc.weight', 'momentum.fc.bias']);
      expect(() => new SGD(net, { lr: -1 })).to.throw(RangeError, /lr/);
      expect(() => new SGD(net, { momentum: 2 })).to.throw(RangeError, /momentum/);
      expect(() => sgd.loadStateDict({})).to.throw(RangeError, /missing momentum\.fc\.weight/);
      sgd.dispose();
      net.dispose();
    });

    it('loads a state holding its own live velocities without losing them', async () => {
      const net = new Sequential([['fc', new Linear(2, 2, { device })]]);
      const sgd = new SGD(net);
      ops.fill(sgd.stateDict()['momentum.fc.weight']!, 0.5);
      sgd.loadStateDict(sgd.stateDict());
      expect(Array.from(await sgd.stateDict()['momentum.fc.weight']!.toArray())).to.deep.equal([0.5, 0.5, 0.5, 0.5]);
      sgd.dispose();
      net.dispose();
    });
  });
}

describe('learning-rate schedules', () => {
  it('plateau: divides by 10 after `patience` epochs without improvement, at most maxReductions times', () => {
    const s = new ReduceOnPlateau(0.01, { patience: 2, maxReductions: 2 });
    const lrs = [0.5, 0.4, 0.4, 0.45, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3].map((err, e) => s.update(e, err));
    expect(lrs.map((v) => +v.toPrecision(6))).to.deep.equal([0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.0001, 0.0001, 0.0001, 0.0001]);
  });

  it('plateau: its state round-trips (a resumed run continues the same schedule)', () => {
    const a = new ReduceOnPlateau(0.01, { patience: 1 });
    a.update(0, 0.5);
    a.update(1, 0.6);
    const b = new ReduceOnPlateau(0.01, { patience: 1 });
    b.load(JSON.parse(JSON.stringify(a.state())));
    expect(b.lr).to.equal(a.lr);
    expect(b.update(2, 0.55)).to.equal(a.update(2, 0.55));
    expect(() => b.load({ type: 'step', epochsDone: 1 })).to.throw(TypeError, /not 'plateau'/);
    expect(new ReduceOnPlateau(0.01).state().best).to.equal('Infinity');
  });

  it('step: multiplies by gamma every `every` epochs', () => {
    const s = new StepSchedule(0.1, { every: 2, gamma: 0.5 });
    expect([0, 1, 2, 3, 4].map((e) => s.update(e))).to.deep.equal([0.1, 0.05, 0.05, 0.025, 0.025]);
    expect(makeSchedule(0.1, { type: 'step', every: 1 }).update(0, 0)).to.be.closeTo(0.01, 1e-12);
    expect(() => makeSchedule(0.1, { type: 'cosine' } as never)).to.throw(TypeError, /schedule must be/);
    expect(() => new ReduceOnPlateau(0.1, { patience: 0 })).to.throw(RangeError, /patience/);
  });
});
