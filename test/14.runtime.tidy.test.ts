// tidy() scopes dispose what a block made except what it returns or keeps; layers, parameters and
// optimiser state survive them.
import { expect } from 'chai';
import { SGD, Tensor, alexnet, keep, nn, ops, setDeterministic, tidy } from '../lib/index.js';
import { testDevices } from './helpers/devices.js';

const device = testDevices()[0]!;
const ones = (shape: number[]) => Tensor.full(shape, 1, device);

describe('tidy and keep', () => {
  it('disposes the intermediates and keeps what fn returns, directly or in arrays and plain objects', async () => {
    const made: Tensor[] = [];
    const x = ones([2, 3]);
    const out = tidy(() => {
      const a = ops.scale(x, 2);
      const b = ops.add(a, a);
      const c = ops.scale(b, 3);
      made.push(a, b, c);
      return { sum: c, parts: [b], label: 'not a tensor' };
    });
    expect(made[0]!.disposed, 'an intermediate').to.equal(true);
    expect(out.parts[0]).to.equal(made[1]);
    expect(made[1]!.disposed).to.equal(false);
    expect(out.label).to.equal('not a tensor');
    expect(Array.from(await out.sum.toArray())).to.deep.equal([12, 12, 12, 12, 12, 12]);
    expect(x.disposed, 'a tensor made before the scope').to.equal(false);
    [x, out.sum, ...out.parts].forEach((t) => t.dispose());
    expect(tidy(() => 7)).to.equal(7);
  });

  it('keep() exempts a tensor from every enclosing scope', () => {
    let kept: Tensor | undefined;
    let lost: Tensor | undefined;
    tidy(() => {
      tidy(() => {
        kept = keep(ones([2]));
        lost = ones([2]);
      });
    });
    expect(kept!.disposed).to.equal(false);
    expect(lost!.disposed).to.equal(true);
    kept!.dispose();
  });

  it('nests: a tensor an inner scope returns belongs to the outer scope', () => {
    let inner: Tensor | undefined;
    let returned: Tensor | undefined;
    const result = tidy(() => {
      inner = tidy(() => ops.scale(ones([3]), 2));
      expect(inner.disposed, 'returned from the inner scope').to.equal(false);
      returned = tidy(() => ops.scale(ones([3]), 3));
      return returned;
    });
    expect(inner!.disposed, 'not returned from the outer scope').to.equal(true);
    expect(result).to.equal(returned);
    expect(result.disposed).to.equal(false);
    result.dispose();
  });

  it('tolerates tensors disposed by hand inside the scope', () => {
    const t = tidy(() => {
      const a = ones([2]);
      a.dispose();
      return ones([2]);
    });
    t.dispose();
  });

  it('disposes everything fn made when it throws, and passes the error on', () => {
    let made: Tensor | undefined;
    expect(() => tidy(() => {
      made = ones([2]);
      throw new RangeError('boom');
    })).to.throw(RangeError, 'boom');
    expect(made!.disposed).to.equal(true);
    // The scope is closed: tensors made afterwards are nobody's.
    const after = ones([1]);
    tidy(() => undefined);
    expect(after.disposed).to.equal(false);
    after.dispose();
  });

  it('refuses async functions with a TypeError that says why, disposing what was made before the await', async () => {
    let made: Tensor | undefined;
    let resume: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { resume = resolve; });
    expect(() => tidy(async () => {
      made = ones([2]);
      await gate;
      throw new Error('a rejection nobody awaits must not end the process');
    })).to.throw(TypeError, /tidy\(fn\): fn returned a promise; tidy supports only synchronous functions/);
    expect(made!.disposed).to.equal(true);
    resume();
    await new Promise((r) => setTimeout(r, 10));
  });

  it('rejects arguments that are not a function or a tensor, naming them', () => {
    expect(() => tidy(5 as never)).to.throw(TypeError, /tidy\(fn\): fn must be a function, got 5/);
    expect(() => keep(null as never)).to.throw(TypeError, /keep\(tensor\): tensor must be a Tensor, got null/);
  });

  it('a layer\'s saved activations, its gradients and the optimiser\'s velocities outlive the scope they were made in', async () => {
    const layer = new nn.Linear(4, 3, { device });
    const sgd = tidy(() => new SGD(layer, { lr: 0.1 }));
    const x = ones([2, 4]);
    const y = tidy(() => layer.forward(x));
    const dx = tidy(() => layer.backward(ones([2, 3])));
    expect(layer.weight.grad!.disposed).to.equal(false);
    tidy(() => sgd.step());
    for (const v of await layer.bias!.value.toArray()) expect(v).to.be.closeTo(-0.2, 1e-6); // -lr · (sum of dy over the batch)
    [x, y, dx!].forEach((t) => t.dispose());
    layer.dispose();
    sgd.dispose();
  });

  it('a model built and run inside scopes trains as outside them', async () => {
    // Bit for bit needs the same summation order in both runs (on CUDA, deterministic algorithms).
    setDeterministic(device, true);
    try {
      const options = { numClasses: 4, inChannels: 1, inputSize: 67, width: 0.125, init: 'he' as const, seed: 3, device };
      const inside = tidy(() => alexnet(options));
      const outside = alexnet(options);
      const x = Tensor.normal([2, 1, 67, 67], { seed: 1, device });
      const labels = Tensor.fromArray(Int32Array.from([0, 3]), [2], device);
      for (const m of [inside, outside]) m.reseed(5);
      const { loss } = tidy(() => {
        const { loss, dlogits } = ops.softmaxCrossEntropy(inside.forward(x), labels);
        inside.backward(dlogits);
        return { loss }; // a promise, not a tensor: tidy refuses a bare one
      });
      const reference = ops.softmaxCrossEntropy(outside.forward(x), labels);
      outside.backward(reference.dlogits)?.dispose();
      expect(await loss).to.equal(await reference.loss);
      const grads = inside.namedParameters();
      for (const [name, p] of outside.namedParameters()) {
        const mine = grads.find(([n]) => n === name)![1];
        expect(Array.from(await mine.grad!.toArray()), name).to.deep.equal(Array.from(await p.grad!.toArray()));
      }
      [inside, outside].forEach((m) => m.dispose());
      [x, labels, reference.dlogits].forEach((t) => t.dispose());
    } finally {
      setDeterministic(device, false);
    }
  });
});
