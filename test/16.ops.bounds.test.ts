// Sizes computed from user input are checked against stated maxima (each dimension at most
// 2^31 - 1, at most 2^40 elements, padded and pooled sizes within 2^31 - 1) in TypeScript and again
// in the native core, so no size wraps into a small allocation that an op then overruns. Scalars
// must be representable as float32. Each crashing case runs in a child process.
import { expect } from 'chai';
import { runChild } from './helpers/child_ops.js';
import { native } from '../lib/binding.js';
import { MAX_DIMENSION, MAX_ELEMENTS, Tensor, ops } from '../lib/index.js';

describe('bounds on sizes', () => {
  it('states its maxima', () => {
    expect(MAX_DIMENSION).to.equal(2 ** 31 - 1);
    expect(MAX_ELEMENTS).to.equal(2 ** 40);
  });

  it('a shape whose element count overflows is a RangeError, never a wrapped count (child process)', async () => {
    const r = await runChild(`
      const { Tensor, ops } = lib;
      report(outcome(() => {
        const x = Tensor.zeros([65536, 65536, 65536, 65536]);
        ops.maxPool2d(x, { kernel: 1, stride: 1 });
      }));
      report(outcome(() => {
        const x = Tensor.full([3, 6148914691236517888], 1);
        ops.softmax(x);
      }));
      report(outcome(() => Tensor.zeros([2 ** 31])));
      report(outcome(() => Tensor.zeros([2 ** 31 - 1, 2 ** 10, 2])));
      report(outcome(() => Tensor.fromArray(new Float32Array(4), [4]).reshape([65536, 65536, 65536, 65536])));
    `);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.reports[0]).to.match(/^RangeError: shape \[65536, 65536, 65536, 65536\] has 18446744073709552000 elements, more than the maximum 2\^40/);
    expect(r.reports[1]).to.match(/^RangeError: shape\[1\] must be in \[1, 2147483647\], got 6148914691236518000/);
    expect(r.reports[2]).to.match(/^RangeError: shape\[0\] must be in \[1, 2147483647\], got 2147483648/);
    expect(r.reports[3]).to.match(/^RangeError: shape \[2147483647, 1024, 2\] has 4398046509056 elements, more than the maximum 2\^40/);
    expect(r.reports[4]).to.match(/^RangeError: shape \[65536, 65536, 65536, 65536\] has .* elements, more than the maximum 2\^40/);
  });

  it('the native core checks sizes itself (C++ callers are protected too) (child process)', async () => {
    const r = await runChild(`
      report(outcome(() => native.empty([65536, 65536, 65536, 65536], 'float32', 'cpu')));
      report(outcome(() => native.empty([3, 6148914691236517888], 'float32', 'cpu')));
      const x = native.empty([1, 1, 1, 1], 'float32', 'cpu');
      report(outcome(() => native.conv2d(x, x, null, { padH: 1500000000 })));
      report(outcome(() => x.reshape([65536, 65536, 65536, 65536])));
    `);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.code, r.stderr).to.equal(0);
    // The core's own checks arrive as TypeErrors (a synchronous INVALID_ARGUMENT), the binding's
    // range checks as RangeErrors.
    expect(r.reports[0]).to.match(/^TypeError: shape \[65536, 65536, 65536, 65536\] has more than the maximum 2\^40 elements/);
    expect(r.reports[1]).to.match(/^RangeError: shape\[1\] must be in \[1, 2147483647\], got 6148914691236518000/);
    expect(r.reports[2]).to.match(/^TypeError: padding 1500000000x0 makes the padded input 3000000001x1, more than 2147483647/);
    expect(r.reports[3]).to.match(/^TypeError: shape \[65536, 65536, 65536, 65536\] has more than the maximum 2\^40 elements/);
  });

  it('padding, kernels, strides and crops beyond 2^31 - 1 are RangeErrors naming the option', () => {
    const x = Tensor.zeros([1, 1, 1, 1]);
    expect(() => ops.conv2d(x, x, null, { padding: 1.5e9 })).to.throw(RangeError, /padding 1500000000 makes the padded input 3000000001x3000000001, more than 2147483647/);
    expect(() => ops.conv2d(x, x, null, { padding: [0, 1.2e9] })).to.throw(RangeError, /padding 0x1200000000 makes the padded input 1x2400000001/);
    expect(() => ops.conv2d(x, x, null, { padding: 2 ** 40 })).to.throw(RangeError, /padding must be in \[0, 2147483647\], got 1099511627776/);
    expect(() => ops.conv2d(x, x, null, { stride: 2 ** 31 })).to.throw(RangeError, /stride must be in \[1, 2147483647\], got 2147483648/);
    expect(() => ops.maxPool2d(x, { kernel: 2 ** 32 })).to.throw(RangeError, /kernel must be in \[1, 2147483647\]/);
    expect(() => ops.localResponseNorm(x, { size: 2 ** 31 + 1 })).to.throw(RangeError, /size must be in \[1, 2147483647\]/);
    const images = Tensor.fromArray(new Uint8Array(12), [1, 2, 2, 3]);
    const params = Tensor.zeros([1, 6]);
    expect(() => ops.cropImages(images, params, { crop: 2 ** 31 })).to.throw(RangeError, /crop must be in \[1, 2147483647\]/);
  });

  it('a padded size within the bounds still computes', async () => {
    const x = Tensor.fromArray(new Float32Array([2]), [1, 1, 1, 1]);
    const y = ops.conv2d(x, x, null, { padding: 1, stride: 3 });
    expect(y.shape).to.deep.equal([1, 1, 1, 1]);
    expect(Array.from(await y.toArray())).to.deep.equal([0]);
  });
});

describe('scalars must be float32 values', () => {
  it('fill and Tensor.full: a finite value beyond float32 is a RangeError; NaN and ±Infinity are kept on purpose', async () => {
    const t = Tensor.zeros([3]);
    expect(() => ops.fill(t, 1e300)).to.throw(RangeError, /value 1e\+300 is not representable as a float32 \(largest finite magnitude 3\.4028234663852886e\+38\)/);
    expect(() => ops.fill(t, -1e39)).to.throw(RangeError, /value -1e\+39 is not representable as a float32/);
    expect(() => Tensor.full([2], 1e300)).to.throw(RangeError, /value 1e\+300 is not representable as a float32/);
    ops.fill(t, 3.4028235e38); // rounds to the largest float32
    expect(Array.from(await t.toArray())).to.deep.equal([3.4028234663852886e38, 3.4028234663852886e38, 3.4028234663852886e38]);
    ops.fill(t, Number.NaN);
    expect(Array.from(await t.toArray()).every(Number.isNaN)).to.equal(true);
    expect(Array.from(await Tensor.full([2], -Infinity).toArray())).to.deep.equal([-Infinity, -Infinity]);
  });

  it('scale, axpy, normal and options: out-of-range factors are RangeErrors naming the parameter', () => {
    const t = Tensor.zeros([3]);
    expect(() => ops.scale(t, 1e300)).to.throw(RangeError, /alpha 1e\+300 is not representable as a float32/);
    expect(() => ops.axpy(-1e40, t, t)).to.throw(RangeError, /alpha -1e\+40 is not representable as a float32/);
    expect(() => ops.normal(t, { seed: 1, std: 1e39 })).to.throw(RangeError, /std 1e\+39 is not representable as a float32/);
    expect(() => ops.localResponseNorm(Tensor.zeros([1, 1, 1, 1]), { k: 1e39 })).to.throw(RangeError, /k 1e\+39 is not representable as a float32/);
  });

  it('the native bindings check float arguments too', () => {
    const t = Tensor.zeros([3]);
    // Straight to the addon, as a caller bypassing lib/ops would.
    expect(() => native.fill(t.native, { value: 5e38 })).to.throw(RangeError, /options\.value 5e\+38 is not representable as a float32/);
    expect(() => native.scale(t.native, { alpha: -1e300 })).to.throw(RangeError, /options\.alpha -1e\+300 is not representable as a float32/);
    expect(() => native.axpy(t.native, t.native, { alpha: 1e39 })).to.throw(RangeError, /options\.alpha 1e\+39 is not representable as a float32/);
  });
});

describe('Tensor.fromArray sources', () => {
  it('accepts views of a SharedArrayBuffer (the values are read once, at the call)', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(24), 4, 4);
    shared.set([1, -2, 3, -4]);
    const t = Tensor.fromArray(shared, [2, 2]);
    shared[0] = 99;
    expect(Array.from(await t.toArray())).to.deep.equal([1, -2, 3, -4]);
    const bytes = new Uint8Array(new SharedArrayBuffer(3));
    bytes.set([7, 8, 9]);
    expect(Array.from(await Tensor.fromArray(bytes, [3]).toArray())).to.deep.equal([7, 8, 9]);
  });

  it('says what it accepts otherwise', () => {
    expect(() => Tensor.fromArray(new Float64Array(2) as unknown as Float32Array, [2])).to.throw(TypeError, /data must be a Float32Array, an Int32Array or a Uint8Array \(over an ArrayBuffer or a SharedArrayBuffer\), got Float64Array/);
  });
});
