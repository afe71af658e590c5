// The op table (native/include/alexnet/op_table.hpp) and what follows from it: lib/binding.ts's
// mirror of it, the core's meta functions as shape queries, tanh (an op added through the table)
// against float64, and the addon's checked conversions of JS numbers to C++ integers.
import { expect } from 'chai';
import { OPTION_FIELDS, UNARY_OPS, native } from '../lib/binding.js';
import { dataBinding, type NativePipelineConfig } from '../lib/data/native.js';
import { Tensor, nn, ops } from '../lib/index.js';
import { testDevices } from './helpers/devices.js';
import { randn, rng } from './helpers/random.js';

describe('the op table', () => {
  it('lib/binding.ts mirrors the native table: elementwise ops and option fields', () => {
    expect([...UNARY_OPS]).to.deep.equal(native.unaryOps);
    expect(JSON.parse(JSON.stringify(OPTION_FIELDS))).to.deep.equal(native.opOptionFields);
    for (const name of UNARY_OPS) {
      expect(native[name], name).to.be.a('function');
      expect(native[`${name}Backward`], `${name}Backward`).to.be.a('function');
    }
  });

  it('options cross as named objects; missing fields take the defaults', async () => {
    const x = Tensor.fromArray(Float32Array.from({ length: 2 * 9 * 9 }, (_, i) => i % 7), [1, 2, 9, 9]);
    // The defaults: kernel 3, stride 2.
    expect(native.maxPool2d(x.native, {}).shape).to.deep.equal([1, 2, 4, 4]);
    expect(native.maxPool2d(x.native, { strideW: 3 }).shape).to.deep.equal([1, 2, 4, 3]);
    const w = Tensor.zeros([4, 2, 3, 3]);
    const g = native.conv2dBackward(native.conv2d(x.native, w.native, null, { padH: 1, padW: 1 }), x.native, w.native,
      { padH: 1, padW: 1, wantDx: false, wantDb: false });
    expect(g.dx).to.equal(null);
    expect(g.db).to.equal(null);
    expect(g.dw.shape).to.deep.equal([4, 2, 3, 3]);
    expect(() => native.maxPool2d(x.native, 3 as never)).to.throw(TypeError, /options must be an object/);
  });

  it('dropout and sgdStep options: named, with the table\'s defaults (p 0.5; lr 0.01, momentum 0.9, weight decay 0.0005)', async () => {
    const x = Tensor.fromArray(Float32Array.from({ length: 64 }, (_, i) => i + 1), [64]);
    const byDefault = await Tensor.wrap(native.dropout(x.native, { seed: 4 }).mask).toArray();
    const explicit = await Tensor.wrap(native.dropout(x.native, { p: 0.5, seed: 4 }).mask).toArray();
    expect([...byDefault]).to.deep.equal([...explicit]);
    expect(new Set(byDefault)).to.deep.equal(new Set([0, 2]));
    expect(() => native.dropout(x.native, { p: 1, seed: 4 })).to.throw(/p must be in \[0, 1\), got 1/);
    const run = async (options: object) => {
      const p = Tensor.fromArray(Float32Array.from([1, -2, 3]), [3]);
      const v = Tensor.fromArray(Float32Array.from([0.5, 0.5, 0.5]), [3]);
      native.sgdStep(p.native, v.native, Tensor.fromArray(Float32Array.from([1, 1, -1]), [3]).native, options);
      return [...await p.toArray(), ...await v.toArray()];
    };
    expect(await run({})).to.deep.equal(await run({ lr: 0.01, momentum: 0.9, weightDecay: 5e-4 }));
    // Plain gradient descent: w - lr g, v = -lr g.
    expect(await run({ lr: 0.5, momentum: 0, weightDecay: 0 })).to.deep.equal([0.5, -2.5, 3.5, -0.5, -0.5, 0.5]);
    expect(() => native.sgdStep(x.native, x.native, Tensor.zeros([3]).native, {})).to.throw(/grad must have shape \[64\], got \[3\]/);
  });

  it('topkCorrect options: k, 1 by default, checked by the core against the classes', async () => {
    const logits = Tensor.fromArray(Float32Array.from([0, 2, 1, 5, 4, 3]), [2, 3]);
    const labels = Tensor.fromArray(Int32Array.from([2, 1]), [2]);
    const count = async (options: object) => (await Tensor.wrap(native.topkCorrect(logits.native, labels.native, options)).toArray())[0];
    expect(await count({})).to.equal(0);
    expect(await count({ k: 2 })).to.equal(2);
    expect(() => native.topkCorrect(logits.native, labels.native, { k: 4 })).to.throw(/k must be in \[1, 3\], got 4/);
    expect(() => native.topkCorrect(logits.native, Tensor.fromArray(Int32Array.from([0]), [1]).native, {}))
      .to.throw(/labels must have shape \[2\] to match logits \[2, 3\], got \[1\]/);
  });
});

describe('meta functions: output shapes and checks from the core', () => {
  it('conv2dShape: floor((H + 2p - k) / s) + 1, groups and weights checked', () => {
    expect(native.conv2dShape([2, 3, 227, 227], [96, 3, 11, 11], { strideH: 4, strideW: 4 })).to.deep.equal([2, 96, 55, 55]);
    expect(native.conv2dShape([1, 96, 27, 27], [256, 48, 5, 5], { padH: 2, padW: 2, groups: 2 })).to.deep.equal([1, 256, 27, 27]);
    expect(native.conv2dShape([1, 1, 5, 7], [1, 1, 2, 3], { strideH: 2, strideW: 3, padH: 0, padW: 1 })).to.deep.equal([1, 1, 2, 3]);
    expect(ops.conv2dShape([1, 4, 8, 8], [2, 4, 3, 3], { stride: 2, padding: 1 })).to.deep.equal([1, 2, 4, 4]);
    expect(() => native.conv2dShape([1, 4, 9, 9], [8, 1, 3, 3], { groups: 3 })).to.throw(RangeError, /groups \(3\) must divide the input channels \(4\)/);
    expect(() => native.conv2dShape([1, 4, 9, 9], [8, 3, 3, 3], {})).to.throw(RangeError, /w must have shape \[O, C \/ groups, KH, KW\] = \[8, 4, KH, KW\]/);
    expect(() => native.conv2dShape([1, 4, 9, 9], [8, 4, 12, 12], {})).to.throw(RangeError, /kernel 12x12 is larger than the padded input 9x9/);
    expect(() => native.conv2dShape([4, 9, 9], [8, 4, 3, 3], {})).to.throw(RangeError, /x must have rank 4/);
  });

  it('maxPool2dShape and localResponseNormShape', () => {
    expect(native.maxPool2dShape([1, 96, 55, 55], {})).to.deep.equal([1, 96, 27, 27]);
    expect(native.maxPool2dShape([1, 1, 6, 5], { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2 })).to.deep.equal([1, 1, 3, 2]);
    expect(() => native.maxPool2dShape([1, 1, 2, 2], {})).to.throw(RangeError, /kernel 3x3 is larger than the input 2x2/);
    expect(native.localResponseNormShape([1, 8, 3, 3], { size: 5 })).to.deep.equal([1, 8, 3, 3]);
    expect(() => native.localResponseNormShape([1, 8, 3, 3], { size: 4 })).to.throw(RangeError, /size must be odd/);
  });

  it('linearShape: [N, out] from x [N, ...] flattened and w [out, in]', () => {
    expect(native.linearShape([4, 256, 6, 6], [4096, 9216])).to.deep.equal([4, 4096]);
    expect(ops.linearShape([3, 10], [7, 10])).to.deep.equal([3, 7]);
    expect(() => native.linearShape([3, 10], [4, 9])).to.throw(RangeError, /w must have shape \[out, 10\] to match x \[3, 10\], got \[4, 9\]/);
    expect(() => native.linearShape([3], [4, 3])).to.throw(RangeError, /x must have shape \[N, in\]/);
    expect(() => native.linearShape([3, 10], [40])).to.throw(RangeError, /w must have rank 2/);
    // Features per row beyond an int, at any rank, without overflowing the product.
    const big = 2 ** 31 - 1;
    expect(() => native.linearShape([1, big, big, big, big], [1, 1])).to.throw(RangeError, /more than 2147483647 features per row/);
  });

  it('nn layers take their output shapes from the core', () => {
    const conv = new nn.Conv2d(3, 8, 5, { stride: 2, padding: 1 });
    expect(conv.outputShape([2, 3, 17, 16])).to.deep.equal(ops.conv2dShape([2, 3, 17, 16], [8, 3, 5, 5], { stride: 2, padding: 1 }));
    expect(new nn.MaxPool2d(3, 2).outputShape([1, 4, 13, 13])).to.deep.equal([1, 4, 6, 6]);
    expect(() => new nn.MaxPool2d(4, 1).outputShape([1, 4, 3, 3])).to.throw(RangeError, /kernel 4x4 is larger than the input 3x3/);
  });
});

for (const device of testDevices()) {
  it(`normal with an offset draws a slice of a longer draw on ${device}`, async () => {
    const whole = (await Tensor.normal([3, 50], { seed: 9, std: 0.5, device }).toArray()) as Float32Array;
    const rows = Tensor.zeros([2, 50], device);
    ops.normal(rows, { seed: 9, std: 0.5, offset: 50 });
    const got = (await rows.toArray()) as Float32Array;
    expect(Buffer.from(got.buffer).equals(Buffer.from(whole.slice(50).buffer))).to.equal(true);
  });

  describe(`tanh on ${device}`, () => {
    it('forward and backward match float64 tanh and dy * (1 - y^2)', async () => {
      const r = rng(21);
      const x = Float32Array.from(randn(200, r), (v, i) => (i < 4 ? [0, -30, 30, 1e-8][i]! : 3 * v));
      const dy = randn(200, r);
      const X = Tensor.fromArray(x, [4, 50], device);
      const y = ops.tanh(X);
      const yv = (await y.toArray()) as Float32Array;
      const dx = (await ops.tanhBackward(Tensor.fromArray(dy, [4, 50], device), y).toArray()) as Float32Array;
      for (let i = 0; i < x.length; i++) {
        const want = Math.tanh(x[i]!);
        expect(Math.abs(yv[i]! - want), `tanh(${x[i]})`).to.be.at.most(2e-7 + 1e-6 * Math.abs(want));
        // 1 - y^2 in float32 from a float32 y is off by up to ~2 ulp(1) where |y| is near 1.
        const g = dy[i]! * (1 - want * want);
        expect(Math.abs(dx[i]! - g), `dx[${i}]`).to.be.at.most(5e-7 * Math.abs(dy[i]!) + 1e-6 * Math.abs(g));
      }
      expect(yv[1]).to.equal(-1);
      expect(yv[2]).to.equal(1);
      expect(dx[1]).to.equal(0);
    });

    it('NaN passes through; shapes, dtypes and devices are checked', async () => {
      const y = ops.tanh(Tensor.fromArray(new Float32Array([NaN, 0]), [2], device));
      expect(Array.from((await y.toArray()) as Float32Array)).to.deep.equal([NaN, 0]);
      expect(() => ops.tanhBackward(Tensor.zeros([3], device), y)).to.throw(RangeError, /dy must have shape \[2\], got \[3\]/);
      expect(() => ops.tanh(Tensor.fromArray(new Int32Array(2), [2], device))).to.throw(TypeError, /x must be float32/);
    });

    it('the Tanh layer', async () => {
      const layer = new nn.Tanh();
      const x = Tensor.fromArray(new Float32Array([-1, 0, 0.5, 2]), [2, 2], device);
      const y = (await layer.forward(x).toArray()) as Float32Array;
      expect(Array.from(y).map((v) => +v.toFixed(6))).to.deep.equal([-1, 0, 0.5, 2].map((v) => +Math.tanh(v).toFixed(6)));
      const dx = (await layer.backward(Tensor.fromArray(new Float32Array([1, 1, 1, 1]), [2, 2], device))!.toArray()) as Float32Array;
      for (let i = 0; i < 4; i++) expect(dx[i]).to.be.closeTo(1 - y[i]! * y[i]!, 1e-6);
      expect(layer.outputShape([2, 2])).to.deep.equal([2, 2]);
    });
  });
}

describe('checked conversions of JS numbers to C++ integers in the addon', () => {
  const x = Tensor.zeros([2, 4, 3, 3]);

  it('integer arguments and option fields: NaN, fractions and out-of-range values are RangeErrors naming them', () => {
    for (const bad of [NaN, 1.5, 2 ** 31, -(2 ** 31), Infinity, 1e300]) {
      expect(() => native.sliceChannels(x.native, { start: bad, count: 1 }), `start ${bad}`).to.throw(RangeError, /^options\.start must be/);
      expect(() => native.maxPool2d(x.native, { kernelH: bad }), `kernelH ${bad}`).to.throw(RangeError, /^options\.kernelH must be/);
      expect(() => native.conv2dShape([1, 1, 3, 3], [1, 1, 1, 1], { groups: bad }), `groups ${bad}`).to.throw(RangeError, /^options\.groups must be/);
    }
    expect(() => native.sliceChannels(x.native, { start: 1.5, count: 1 })).to.throw(RangeError, /options\.start must be an integer, got 1\.5/);
    expect(() => native.sliceChannels(x.native, { start: NaN, count: 1 })).to.throw(RangeError, /options\.start must be in \[-2147483647, 2147483647\], got NaN/);
    expect(() => native.sliceChannels(x.native, { start: '1' as never, count: 1 })).to.throw(TypeError, /options\.start must be a number/);
    expect(() => native.empty([2, 2.5], 'float32', 'cpu')).to.throw(RangeError, /shape\[1\] must be an integer, got 2\.5/);
  });

  it('seeds and element offsets: integers in [0, 2^53)', () => {
    const t = Tensor.zeros([4]);
    for (const bad of [NaN, -1, 0.5, 2 ** 53, Infinity]) {
      expect(() => native.normal(t.native, { seed: bad }), `seed ${bad}`).to.throw(RangeError, /^options\.seed must be/);
      expect(() => native.normal(t.native, { seed: 1, offset: bad }), `offset ${bad}`).to.throw(RangeError, /^options\.offset must be/);
    }
    // The last elements of the counter range: offset + 4 may not pass 2^53.
    expect(() => native.normal(t.native, { seed: 1, offset: 2 ** 53 - 2 })).to.throw(/offset 9007199254740990 plus the 4 elements of the tensor exceeds 2\^53/);
    expect(() => ops.normal(t, { seed: 1, offset: -1 })).to.throw(RangeError, /offset/);
    expect(() => native.dropout(t.native, { p: 0.5, seed: 2 ** 64 })).to.throw(RangeError, /options\.seed must be in \[0, 9007199254740991\]/);
  });

  it('the data pipeline config and arguments', async () => {
    const data = dataBinding();
    const info = data.dataArraySource(new Uint8Array(4 * 8 * 8), 4, 8, 8, 1, new Int32Array(4), 'tiny');
    const config: NativePipelineConfig = {
      batchSize: 2, workers: 1, prefetch: 1, size: 8, channels: 1, cropHeight: 8, cropWidth: 8, crop: 'centre',
      randomFlip: false, shuffle: false, dropLast: false, skipBad: false, scale: 1, mean: 'none', meanData: null,
      pcaStd: 0, eigvec: null, eigval: null, seed: 1, output: 'float', shardIndex: 0, shardCount: 1,
    };
    const refused = (patch: Partial<NativePipelineConfig>, type: ErrorConstructor, pattern: RegExp) => {
      let pipeline: { close(): Promise<void> } | undefined;
      try {
        expect(() => { pipeline = new data.DataPipeline(info.source, { ...config, ...patch }); }, JSON.stringify(patch)).to.throw(type, pattern);
      } finally {
        void pipeline?.close();
      }
    };
    for (const bad of [NaN, 1.5, 1e300, -Infinity]) {
      refused({ batchSize: bad }, RangeError, /^config\.batchSize must be/);
      refused({ seed: bad }, RangeError, /^config\.seed must be/);
    }
    refused({ seed: -1 }, RangeError, /config\.seed must be in \[0, 9007199254740991\], got -1/);
    refused({ workers: 'two' as never }, TypeError, /config\.workers must be a number/);
    // A bigint that does not fit 64 bits is refused, not wrapped.
    expect(() => data.dataWritePacked(info.source, '/nonexistent/packed', 8, 1, -1n, 1, false))
      .to.throw(RangeError, /fingerprint must be in \[0, 2\^64\), got -1/);
    const pipeline = new data.DataPipeline(info.source, config);
    try {
      expect(() => pipeline.start(NaN, 0)).to.throw(RangeError, /^epoch must be/);
      expect(() => pipeline.draws(0, 0.5)).to.throw(RangeError, /^position must be an integer/);
      expect(() => pipeline.order(2 ** 60)).to.throw(RangeError, /^epoch must be in/);
    } finally {
      await pipeline.close();
    }
  });
});
