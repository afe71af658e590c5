// bfloat16: conversions, every mixed-precision op against the float64 references, the typed error
// where the CPU cannot compute in bfloat16, and whole training steps in bf16 beside fp32.
//
// Tolerances. bfloat16 keeps 8 significant bits: rounding to it has unit roundoff u = 2^-8, so a
// rounded input carries a relative error of at most u, and a product of two rounded inputs one of
// at most 2u + u^2 < 2.01u (the accumulation is float32, whose 2^-24 is negligible beside it). A
// K-term sum of such products, each at most T = max|a| * max|b| in magnitude, then errs by a sum
// of K independent terms each within 2.01u * T; their standard deviation is below
// 2.01u * T * sqrt(K / 3) (uniform errors), so 3 standard deviations, c * u * sqrt(K) * T with
// c = 3.5, bounds it but for a one-in-a-thousand chance per element (far below for the cases' few
// thousand elements, since the errors are much smaller than the worst case on average). The output
// itself is rounded once more: + u * max|ref|. Elementwise ops (ReLU, pooling's maximum) are exact
// on the rounded input: u * max|ref| each way. A formula bug is far above these bounds: they are
// a few percent of max|ref| at most, and the wrong LRN alpha is 65%.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlexNetError, Tensor, bf16Support, ops, type DeviceName } from '../lib/index.js';
import { testDevices } from './helpers/devices.js';
import { referenceSets, type ReferenceCase } from './helpers/references.js';

const U = 2 ** -8;
const C = 3.5;

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** The bound for a K-term sum of products of terms up to `termMax`, on outputs up to max|ref|. */
function sumBound(k: number, termMax: number, ref: ArrayLike<number>): number {
  return C * U * Math.sqrt(k) * termMax + U * maxAbs(ref);
}

async function expectWithin(got: Tensor | null, ref: ArrayLike<number>, bound: number, what: string): Promise<void> {
  expect(got, what).to.not.equal(null);
  expect(got!.dtype === 'bfloat16' || got!.dtype === 'float32', what).to.equal(true);
  const values = (await got!.toArray()) as Float32Array;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(values[i]! - ref[i]!));
  expect(worst, `${what}: max error ${worst.toExponential(2)} against the bound ${bound.toExponential(2)}`).to.be.at.most(bound);
  // And not vacuous: the bound is a small part of the values.
  expect(bound, `${what}: bound`).to.be.below(0.1 * maxAbs(ref) + 1e-30);
}

/** Max pooling 3/2's backward in float64, the first maximum of each window winning. */
function poolBackwardReference(x: Float32Array, xShape: number[], g: Float32Array, gShape: number[]): Float64Array {
  const [n, ch, h, w] = xShape as [number, number, number, number];
  const [, , oh, ow] = gShape as [number, number, number, number];
  const dx = new Float64Array(x.length);
  for (let p = 0; p < n * ch; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let best = p * h * w + 2 * i * w + 2 * j;
        for (let a = 0; a < 3; a++)
          for (let b = 0; b < 3; b++) {
            const k = p * h * w + (2 * i + a) * w + 2 * j + b;
            if (x[k]! > x[best]!) best = k;
          }
        dx[best]! += g[(p * oh + i) * ow + j]!;
      }
  return dx;
}

function bf16(c: ReferenceCase, name: string, device: DeviceName): Tensor {
  return Tensor.fromArray(c.f32(name), c.get(name).shape, device, 'bfloat16');
}
function f32(c: ReferenceCase, name: string, device: DeviceName): Tensor {
  return Tensor.fromArray(c.f32(name), c.get(name).shape, device);
}

// Every device of the suite (test/helpers/devices.ts): the CPU's oneDNN kernels, and on a GPU the
// CUDA backend's cuDNN, cuBLAS and own kernels, against the same references and bounds.
for (const device of testDevices()) {
  const supported = bf16Support(device).supported;

  describe(`bfloat16 tensors on ${device}`, () => {
    it('round float32 to nearest even, keep NaN and infinities, and widen exactly', async () => {
      // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: even is 1. 1 + 3 * 2^-8 is halfway between
      // 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6. Just above a halfway point rounds up.
      const input = new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -2.5, NaN, Infinity, -Infinity, 3.4e38, 0, -0]);
      const t = Tensor.fromArray(input, [input.length], device, 'bfloat16');
      expect(t.dtype).to.equal('bfloat16');
      const v = (await t.toArray()) as Float32Array;
      expect([...v.slice(0, 5)]).to.deep.equal([1, 1, 1 + 2 ** -6, 1 + 2 ** -7, -2.5]);
      expect(Number.isNaN(v[5])).to.equal(true);
      expect([v[6], v[7], v[8]]).to.deep.equal([Infinity, -Infinity, Infinity]);  // 3.4e38 rounds past the largest bfloat16
      expect(Object.is(v[10], -0)).to.equal(true);
      const bits = await t.toBits();
      expect(bits[0]).to.equal(0x3f80);
      expect(bits[5]! & 0x7fc0).to.equal(0x7fc0);  // a quiet NaN
      // Raw bits back in, the same tensor; and the device-side conversion agrees with the upload's.
      const again = Tensor.fromArray(bits, [bits.length], device, 'bfloat16');
      expect([...(await again.toBits())]).to.deep.equal([...bits]);
      const onDevice = Tensor.fromArray(input, [input.length], device).to('bfloat16');
      expect([...(await onDevice.toBits())]).to.deep.equal([...bits]);
      const widened = t.to('float32');
      expect(widened.dtype).to.equal('float32');
      expect([...((await widened.toArray()) as Float32Array).slice(0, 5)]).to.deep.equal([...v.slice(0, 5)]);
    });

    it('reject what they cannot hold, naming the parameter', () => {
      expect(() => Tensor.fromArray(new Int32Array(2), [2], device, 'bfloat16')).to.throw(TypeError, /bfloat16 data/);
      expect(() => Tensor.fromArray(new Uint16Array(2), [2], device)).to.throw(TypeError, /data must be/);
      expect(() => Tensor.fromArray(new Int32Array(2), [2], device).to('bfloat16')).to.throw(TypeError, /converts float32, bfloat16 and float16 tensors, not int32/);
      expect(() => Tensor.fromArray(new Float32Array(2), [2], device).toBits()).to.throw(TypeError, /toBits/);
      const a = Tensor.fromArray(new Float32Array(4), [1, 1, 2, 2], device);
      const b = Tensor.fromArray(new Float32Array(4), [1, 1, 2, 2], device, 'bfloat16');
      expect(() => ops.conv2d(b, a, null)).to.throw(TypeError, /w is float32 but x is bfloat16/);
      expect(() => ops.tanh(b)).to.throw(TypeError, /x must be float32/);
    });
  });

  describe(`bfloat16 ops against the float64 references on ${device}`, function () {
    before(function () {
      if (!supported) this.skip();
    });
    const set = referenceSets()[0]!;

    for (const name of set.casesOf('conv2d')) {
      it(`conv2d ${name}: forward, dx, dw, db`, async () => {
        const c = set.read(name);
        const a = c.attrs as { stride: number; pad: number; groups: number };
        const o = { stride: a.stride, padding: a.pad, groups: a.groups };
        const [, cin, ,] = c.get('x').shape as [number, number, number, number];
        const [cout, , kh, kw] = c.get('weight').shape as [number, number, number, number];
        const [n, , oh, ow] = c.get('out').shape as [number, number, number, number];
        const x = bf16(c, 'x', device), w = bf16(c, 'weight', device), g = bf16(c, 'g', device);
        const xm = maxAbs(c.get('x').data), wm = maxAbs(c.get('weight').data), gm = maxAbs(c.get('g').data);
        const y = ops.conv2d(x, w, f32(c, 'bias', device), o);
        expect(y.dtype).to.equal('bfloat16');
        await expectWithin(y, c.get('out').data, sumBound((cin / a.groups) * kh * kw, xm * wm, c.get('out').data), `${name} out`);
        const grads = ops.conv2dBackward(g, x, w, o);
        expect(grads.dw.dtype).to.equal('float32');
        expect(grads.dx!.dtype).to.equal('bfloat16');
        // dx: each input element is reached by at most (cout / groups) * ceil(kh / s) * ceil(kw / s) terms.
        const kdx = (cout / a.groups) * Math.ceil(kh / a.stride) * Math.ceil(kw / a.stride);
        await expectWithin(grads.dx, c.get('grad_x').data, sumBound(kdx, gm * wm, c.get('grad_x').data), `${name} grad_x`);
        await expectWithin(grads.dw, c.get('grad_weight').data, sumBound(n * oh * ow, xm * gm, c.get('grad_weight').data), `${name} grad_weight`);
        await expectWithin(grads.db, c.get('grad_bias').data, sumBound(n * oh * ow, gm, c.get('grad_bias').data), `${name} grad_bias`);
      });
    }

    for (const name of set.casesOf('linear')) {
      it(`linear ${name}: forward, dx, dw, db`, async () => {
        const c = set.read(name);
        const [n, inF] = c.get('x').shape as [number, number];
        const [outF] = c.get('weight').shape as [number];
        const x = bf16(c, 'x', device), w = bf16(c, 'weight', device), g = bf16(c, 'g', device);
        const xm = maxAbs(c.get('x').data), wm = maxAbs(c.get('weight').data), gm = maxAbs(c.get('g').data);
        await expectWithin(ops.linear(x, w, f32(c, 'bias', device)), c.get('out').data, sumBound(inF, xm * wm, c.get('out').data), `${name} out`);
        const grads = ops.linearBackward(g, x, w);
        await expectWithin(grads.dx, c.get('grad_x').data, sumBound(outF, gm * wm, c.get('grad_x').data), `${name} grad_x`);
        await expectWithin(grads.dw, c.get('grad_weight').data, sumBound(n, xm * gm, c.get('grad_weight').data), `${name} grad_weight`);
        await expectWithin(grads.db, c.get('grad_bias').data, sumBound(n, gm, c.get('grad_bias').data), `${name} grad_bias`);
      });
    }

    for (const name of set.casesOf('lrn_across_channels')) {
      it(`localResponseNorm ${name}: forward and backward`, async () => {
        const c = set.read(name);
        const a = c.attrs as { k: number; n: number; alpha: number; beta: number };
        const o = { size: a.n, alpha: a.alpha, beta: a.beta, k: a.k };
        const x = bf16(c, 'x', device), g = bf16(c, 'g', device);
        const y = ops.localResponseNorm(x, o);
        // y = x * s^-beta with s from n squares: the input's u, the output's u, and a small share
        // of the window's; as a sum of n terms of size up to max|ref|.
        await expectWithin(y, c.get('out').data, sumBound(a.n, maxAbs(c.get('out').data), c.get('out').data), `${name} out`);
        // dx = dy s^-beta - 2 alpha beta x sum_window(dy y / s): n + 1 products of rounded values.
        const dx = ops.localResponseNormBackward(g, x, y, o);
        await expectWithin(dx, c.get('grad_x').data, sumBound(a.n + 1, maxAbs(c.get('grad_x').data), c.get('grad_x').data), `${name} grad_x`);
      });
    }

    for (const name of set.casesOf('maxpool2d')) {
      it(`maxPool2d ${name}: forward and backward`, async () => {
        const c = set.read(name);
        const x = bf16(c, 'x', device), g = bf16(c, 'g', device);
        const y = ops.maxPool2d(x);
        // The maximum of rounded values is the rounded maximum (rounding is monotonic).
        await expectWithin(y, c.get('out').data, U * maxAbs(c.get('out').data), `${name} out`);
        // The reference's distinct inputs can round to equal bfloat16 values, and then the first
        // maximum wins (the contract's tie rule) where float64 saw another: the backward is checked
        // against the same routing in float64 on the rounded input. An input wins at most 4
        // overlapping 3x3/2 windows: a sum of up to 4 rounded gradients.
        const want = poolBackwardReference((await x.toArray()) as Float32Array, c.get('x').shape, c.f32('g'), c.get('g').shape);
        await expectWithin(ops.maxPool2dBackward(g, x, y), want, sumBound(4, maxAbs(c.get('g').data), want), `${name} grad_x`);
      });
    }

    it('relu: exact on the rounded input, NaN passing, and its gradient', async () => {
      const input = new Float32Array([-1.5, -0, 0, 2.3, NaN, -Infinity, 7e-39]);
      const x = Tensor.fromArray(input, [input.length], device, 'bfloat16');
      const y = ops.relu(x);
      const v = (await y.toArray()) as Float32Array;
      const rounded = (await x.toArray()) as Float32Array;
      expect([v[0], v[2], v[3], v[5]]).to.deep.equal([0, 0, rounded[3], 0]);
      expect(Number.isNaN(v[4])).to.equal(true);
      const dy = Tensor.fromArray(new Float32Array(input.length).fill(3), [input.length], device, 'bfloat16');
      expect([...((await ops.reluBackward(dy, y).toArray()) as Float32Array)]).to.deep.equal([0, 0, 0, 3, 0, 0, 3]);
    });
  });

}

describe('bfloat16 where the CPU cannot compute in it', () => {
  it('raises BF16_UNSUPPORTED (a typed AlexNetError) at the op and in the Trainer before it writes, while conversions still work', () => {
    // oneDNN reads ONEDNN_MAX_CPU_ISA once per process: a child without AVX512_BF16.
    const script = `
      import { Tensor, ops, bf16Support, AlexNetError } from ${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)};
      const out = { support: bf16Support('cpu') };
      const x = Tensor.fromArray(new Float32Array(16), [1, 1, 4, 4], 'cpu', 'bfloat16');
      out.converted = Array.from(await x.to('float32').toArray()).length;
      try { ops.maxPool2d(x); out.error = null; } catch (e) { out.error = { code: e.code, isAlexNetError: e instanceof AlexNetError, message: e.message }; }
      // The Trainer refuses before it writes anything.
      const { ArrayLoader, Trainer, alexnet } = await import(${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)});
      const { existsSync } = await import('node:fs');
      const outDir = ${JSON.stringify(join(tmpdir(), `alexnet-bf16-refused-${process.pid}`))};
      const model = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', device: 'cpu' });
      const train = new ArrayLoader({ images: new Float32Array(16 * 64 * 64), labels: new Int32Array(16), imageShape: [1, 64, 64], batchSize: 16 });
      try { new Trainer({ model, train, epochs: 1, outDir, precision: 'bf16' }); out.trainer = 'constructed'; }
      catch (e) { out.trainer = e.code; }
      out.outDirWritten = existsSync(outDir);
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ONEDNN_MAX_CPU_ISA: 'AVX512_CORE' }, encoding: 'utf8', timeout: 60_000,
    });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      support: { supported: boolean; reason: string }; converted: number; error: { code: string; isAlexNetError: boolean; message: string } | null;
      trainer: string; outDirWritten: boolean;
    };
    expect(out.support.supported).to.equal(false);
    expect(out.support.reason).to.match(/AVX512_BF16/);
    expect(out.converted).to.equal(16);
    expect(out.error?.code).to.equal('BF16_UNSUPPORTED');
    expect(out.error?.isAlexNetError).to.equal(true);
    expect(out.trainer).to.equal('BF16_UNSUPPORTED');
    expect(out.outDirWritten).to.equal(false);
  });

  it('is reported as an AlexNetError code', () => {
    expect(new AlexNetError('x', 'BF16_UNSUPPORTED').code).to.equal('BF16_UNSUPPORTED');
  });
});

