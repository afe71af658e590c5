// Bad calls throw at once, in TypeScript, with a TypeError/RangeError naming the parameter, what
// was expected and what was received. Failures of queued work reject the awaiting promise with an
// AlexNetError; nothing crashes the process.
import { expect } from 'chai';
import { AlexNetError, Tensor, ops, synchronize, type DeviceName } from '../lib/index.js';

const t = (shape: number[], device: DeviceName = 'cpu') => Tensor.zeros(shape, device);

describe('bad calls', () => {
  it('conv2d: shape mismatches, groups, window, stride, padding', () => {
    const x = t([2, 4, 9, 9]);
    expect(() => ops.conv2d(x, t([8, 3, 3, 3]), null)).to.throw(RangeError, /w must have shape \[O, C \/ groups, KH, KW\] = \[8, 4, KH, KW\].*got \[8, 3, 3, 3\]/);
    expect(() => ops.conv2d(x, t([8, 4, 3, 3]), t([7]))).to.throw(RangeError, /b must have shape \[8\], got \[7\]/);
    expect(() => ops.conv2d(x, t([8, 1, 3, 3]), null, { groups: 3 })).to.throw(RangeError, /groups \(3\) must divide the input channels \(4\)/);
    expect(() => ops.conv2d(x, t([8, 4, 12, 12]), null)).to.throw(RangeError, /kernel 12x12 is larger than the padded input 9x9/);
    expect(() => ops.conv2d(x, t([8, 4, 3, 3]), null, { stride: 1.5 })).to.throw(TypeError, /stride must be an integer, got 1.5/);
    expect(() => ops.conv2d(x, t([8, 4, 3, 3]), null, { stride: 0 })).to.throw(RangeError, /stride must be >= 1, got 0/);
    expect(() => ops.conv2d(x, t([8, 4, 3, 3]), null, { padding: -1 })).to.throw(RangeError, /padding must be >= 0, got -1/);
    expect(() => ops.conv2d(t([4, 9, 9]), t([8, 4, 3, 3]), null)).to.throw(RangeError, /x must have rank 4, got shape \[4, 9, 9\]/);
    expect(() => ops.conv2d(x, 'w' as unknown as Tensor, null)).to.throw(TypeError, /w must be a Tensor, got "w"/);
    expect(() => ops.conv2dBackward(t([2, 8, 8, 8]), x, t([8, 4, 3, 3]))).to.throw(RangeError, /dy must have shape \[2, 8, 7, 7\], got \[2, 8, 8, 8\]/);
  });

  it('pooling and LRN options', () => {
    const x = t([1, 2, 5, 5]);
    expect(() => ops.maxPool2d(x, { kernel: 6 })).to.throw(RangeError, /kernel 6x6 is larger than the input 5x5/);
    expect(() => ops.maxPool2d(x, { stride: [2, 0] })).to.throw(RangeError, /stride\[1\] must be >= 1, got 0/);
    expect(() => ops.maxPool2d(x, { kernel: [3, 3, 3] as unknown as number })).to.throw(TypeError, /kernel must be a number or \[h, w\]/);
    expect(() => ops.localResponseNorm(x, { size: 4 })).to.throw(RangeError, /size must be odd.*got 4/);
    expect(() => ops.localResponseNorm(x, { alpha: -1 })).to.throw(RangeError, /alpha must be in \[0, Infinity\], got -1/);
    expect(() => ops.localResponseNorm(x, { beta: Number.NaN })).to.throw(TypeError, /beta must be a finite number, got NaN/);
    expect(() => ops.localResponseNormBackward(t([1, 2, 5, 4]), x, x)).to.throw(RangeError, /dy must have shape \[1, 2, 5, 5\], got \[1, 2, 5, 4\]/);
  });

  it('linear, losses, dropout and sgd arguments', () => {
    expect(() => ops.linear(t([3, 10]), t([4, 9]), null)).to.throw(RangeError, /w must have shape \[out, 10\] to match x \[3, 10\], got \[4, 9\]/);
    expect(() => ops.softmaxCrossEntropy(t([3, 10]), Tensor.fromArray(new Int32Array([1, 2]), [2]))).to.throw(RangeError, /labels must have shape \[3\]/);
    expect(() => ops.softmaxCrossEntropy(t([2, 10]), t([2]))).to.throw(TypeError, /labels must be an int32 tensor, got float32/);
    expect(() => ops.topkCorrect(t([2, 10]), Tensor.fromArray(new Int32Array([1, 2]), [2]), 11)).to.throw(RangeError, /k must be in \[1, 10\], got 11/);
    expect(() => ops.dropout(t([4]), { p: 1, seed: 1 })).to.throw(RangeError, /p must be in/);
    expect(() => ops.dropout(t([4]), { p: 0.5, seed: -1 })).to.throw(RangeError, /seed must be in \[0, /);
    expect(() => ops.sgdStep(t([3]), t([4]), t([3]), { lr: 0.01 })).to.throw(RangeError, /velocity must have shape \[3\], got \[4\]/);
    expect(() => ops.sgdStep(t([3]), t([3]), t([3]), { lr: Number.POSITIVE_INFINITY })).to.throw(TypeError, /lr must be a finite number/);
  });

  it('tensors: construction and reshape', () => {
    expect(() => Tensor.fromArray([1, 2] as unknown as Float32Array, [2])).to.throw(TypeError, /data must be a Float32Array, an Int32Array or a Uint8Array/);
    expect(() => Tensor.fromArray(new Float32Array(6), [2, 4])).to.throw(RangeError, /data has 6 elements but shape \[2, 4\] needs 8/);
    expect(() => Tensor.fromArray(new Float32Array(6), [2, -3])).to.throw(RangeError, /shape\[1\] must be >= 1, got -3/);
    // @ts-expect-error a wrong name does not compile; untyped callers get the TypeError
    expect(() => Tensor.fromArray(new Float32Array(6), [6], 'tpu')).to.throw(TypeError, /device must be "cpu", "cpu:N", "cuda" or "cuda:N", optionally with a stream "\/L" \("cuda:0\/1"\), got "tpu"/);
    expect(() => t([2, 3]).reshape([4, 2])).to.throw(RangeError, /cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\] \(8 elements\)/);
  });

  it('tensors on different devices', () => {
    expect(() => ops.add(t([2]), t([2], 'cpu:1'))).to.throw(TypeError, /b is on cpu:1 but a is on cpu:0/);
    expect(() => ops.conv2d(t([1, 1, 3, 3]), t([1, 1, 3, 3], 'cpu:1'), null)).to.throw(TypeError, /w is on cpu:1 but x is on cpu:0/);
  });

  it('disposed tensors: use after dispose names the parameter; dispose twice is harmless', async () => {
    const x = t([2, 2]);
    x.dispose();
    x.dispose();
    expect(x.disposed).to.equal(true);
    expect(() => ops.relu(x)).to.throw(TypeError, /x has been disposed/);
    expect(() => ops.linear(t([1, 4]), x, null)).to.throw(TypeError, /w has been disposed/);
    expect(() => x.shape).to.throw(TypeError, /tensor has been disposed/);
    expect(() => x.toArray()).to.throw(TypeError, /disposed/);
    expect(String(x)).to.equal('Tensor(disposed)');
  });

  it('disposing an input while its op is queued is safe (the storage lives until the op ran)', async () => {
    const x = Tensor.fromArray(new Float32Array([1, -1, 2, -2]), [4]);
    const y = ops.relu(x);
    x.dispose();
    expect(Array.from(await y.toArray())).to.deep.equal([1, 0, 2, 0]);
  });

  it('a failure in queued work rejects the awaiting promise with an AlexNetError', async () => {
    const logits = t([2, 3]);
    const labels = Tensor.fromArray(new Int32Array([0, 7]), [2]); // 7 is not a class
    const { loss } = ops.softmaxCrossEntropy(logits, labels);
    try {
      await loss;
      expect.fail('loss should reject');
    } catch (e) {
      expect(e).to.be.instanceOf(AlexNetError);
      expect((e as AlexNetError).code).to.equal('INVALID_ARGUMENT');
      expect((e as Error).message).to.match(/label 7 of row 1 is outside \[0, 3\)/);
    }
    // The stream recovers: later work succeeds.
    await synchronize('cpu');
    expect(Array.from(await ops.relu(Tensor.fromArray(new Float32Array([-1, 1]), [2])).toArray())).to.deep.equal([0, 1]);
  });
});
