// The float16 dtype: every half bit pattern through upload, download and conversion; rounding to
// nearest even checked at every midpoint between neighbouring halves (subnormals included) and at
// the overflow threshold; the host writer of safetensors F16 against the core, bit for bit; the
// mixed-precision ops in float16 against the float64 references where the device computes in it
// (CUDA), with bounds derived from float16's unit roundoff u = 2^-11 as test/20 derives bfloat16's
// (test/helpers/half_ops.ts); and where it does not (the CPU), and for every other op on every
// device, the refusal to take float16: a typed error naming the op, never a number.
import { expect } from 'chai';
import { native } from '../lib/binding.js';
import { AlexNetError, Tensor, decodeSafetensors, encodeSafetensors, fp16Support, nn, ops } from '../lib/index.js';
import { halfBitsFromNumber } from '../lib/io/safetensors.js';
import { testDevices } from './helpers/devices.js';
import { describeHalfOps } from './helpers/half_ops.js';

// The reference: a half's value from its fields, in float64 (independent of the code under test).
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const isNaNBits = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const ALL_BITS = Uint16Array.from({ length: 65536 }, (_, i) => i);

// The positive finite halves in increasing order, their midpoints (exact in float32: 12
// significant bits) and the half each midpoint must round to (ties to even: the even neighbour).
function midpoints(): { values: Float32Array; want: Uint16Array } {
  const values: number[] = [];
  const want: number[] = [];
  for (let h = 0; h < 0x7bff; h++) {
    const mid = (halfValue(h) + halfValue(h + 1)) / 2;
    expect(Math.fround(mid)).to.equal(mid);
    const even = (h & 1) === 0 ? h : h + 1;
    // The midpoint, and the float32 neighbours either side of it.
    const below = nextFloat32(mid, -1);
    const above = nextFloat32(mid, 1);
    values.push(mid, below, above, -mid);
    want.push(even, h, h + 1, even | 0x8000);
  }
  return { values: Float32Array.from(values), want: Uint16Array.from(want) };
}

function nextFloat32(x: number, direction: 1 | -1): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0]! += x > 0 ? direction : -direction;
  return f[0]!;
}

for (const device of testDevices()) {
  describe(`float16 tensors on ${device}`, () => {
    it('every bit pattern: uploaded as bits, read back exactly as float32, and its value rounds back to the same bits', async () => {
      const t = Tensor.fromArray(ALL_BITS, [65536], device, 'float16');
      expect(t.dtype).to.equal('float16');
      const values = (await t.toArray()) as Float32Array;
      expect(Array.from(await t.toBits())).to.deep.equal(Array.from(ALL_BITS));
      for (let h = 0; h < 65536; h++) {
        if (isNaNBits(h)) expect(Number.isNaN(values[h]), `0x${h.toString(16)}`).to.equal(true);
        else expect(values[h], `0x${h.toString(16)}`).to.equal(halfValue(h));
      }
      const back = await Tensor.fromArray(values, [65536], device, 'float16').toBits();
      for (let h = 0; h < 65536; h++) {
        // NaN comes back as the quiet NaN of its sign.
        const want = isNaNBits(h) ? (h & 0x8000) | 0x7e00 : h;
        if (back[h] !== want) expect.fail(`0x${h.toString(16)} came back as 0x${back[h]!.toString(16)}`);
      }
      t.dispose();
    });

    it('rounds to nearest even at every midpoint, subnormals included, and overflows from 65520', async () => {
      const { values, want } = midpoints();
      const got = await Tensor.fromArray(values, [values.length], device, 'float16').toBits();
      for (let i = 0; i < values.length; i++)
        if (got[i] !== want[i]) expect.fail(`${values[i]} rounded to 0x${got[i]!.toString(16)}, not 0x${want[i]!.toString(16)}`);
      const edge = Float32Array.from([65504, nextFloat32(65520, -1), 65520, 1e30, -65520, 2 ** -25, nextFloat32(2 ** -25, 1), 2 ** -26, 1e-45, -0]);
      const bits = await Tensor.fromArray(edge, [edge.length], device, 'float16').toBits();
      expect(Array.from(bits)).to.deep.equal([0x7bff, 0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x0000, 0x0001, 0x0000, 0x0000, 0x8000]);
    });

    it("to('float16') and back; float16 <-> bfloat16 through float32; the core's rounding equals the host's", async () => {
      const { values } = midpoints();
      const x = Tensor.fromArray(values, [values.length], device);
      const half = x.to('float16');
      expect(half.dtype).to.equal('float16');
      const uploaded = await Tensor.fromArray(values, [values.length], device, 'float16').toBits();
      expect(Buffer.from((await half.toBits()).buffer).equals(Buffer.from(uploaded.buffer))).to.equal(true);
      const wide = half.to('float32');
      expect(wide.dtype).to.equal('float32');
      const wideValues = (await wide.toArray()) as Float32Array;
      for (let i = 0; i < values.length; i += 97) expect(wideValues[i]).to.equal(halfValue(uploaded[i]!));
      const bf = half.to('bfloat16');
      expect(bf.dtype).to.equal('bfloat16');
      const viaFloat = await wide.to('bfloat16').toBits();
      expect(Array.from(await bf.toBits())).to.deep.equal(Array.from(viaFloat));
      expect((await bf.to('float16').to('float32').toArray())[1]).to.be.a('number');
      for (const t of [x, half, wide, bf]) t.dispose();
    });

    it('the ops without float16 kernels here refuse float16 with FLOAT16_UNSUPPORTED naming the op; clone copies it', async () => {
      const support = fp16Support(device);
      const h = Tensor.fromArray(new Float32Array(2 * 3 * 8 * 8).fill(0.5), [2, 3, 8, 8], device, 'float16');
      const f = Tensor.full([2, 3, 8, 8], 1, device);
      const w = Tensor.full([4, 3, 3, 3], 0.1, device);
      const refuses = (op: string, fn: () => unknown, why?: RegExp): void => {
        let error: unknown;
        try {
          fn();
        } catch (e) {
          error = e;
        }
        expect(error, op).to.be.instanceOf(AlexNetError);
        expect((error as AlexNetError).code, op).to.equal('FLOAT16_UNSUPPORTED');
        expect((error as Error).message, op).to.include(op).and.to.include('float16');
        if (why) expect((error as Error).message, op).to.match(why);
      };
      // The op table's float16 ops: refused where the device has no float16 kernels, with its reason.
      const tableOps: [string, () => unknown][] = [
        ['conv2d', () => ops.conv2d(h, w, null)],
        ['conv2d', () => ops.conv2d(f, w.to('float16'), null)],
        ['conv2dBackward', () => ops.conv2dBackward(Tensor.full([2, 4, 6, 6], 1, device).to('float16'), h, w.to('float16'))],
        ['relu', () => ops.relu(h)],
        ['reluBackward', () => ops.reluBackward(h, h)],
        ['maxPool2d', () => ops.maxPool2d(h)],
        ['maxPool2dBackward', () => ops.maxPool2dBackward(Tensor.full([2, 3, 3, 3], 1, device).to('float16'), h, Tensor.full([2, 3, 3, 3], 1, device).to('float16'))],
        ['localResponseNorm', () => ops.localResponseNorm(h)],
        ['localResponseNormBackward', () => ops.localResponseNormBackward(h, h, h)],
        ['linear', () => ops.linear(h.reshape([2, 192]), Tensor.full([5, 192], 1, device), null)],
        ['linearBackward', () => ops.linearBackward(Tensor.full([2, 5], 1, device).to('float16'), h.reshape([2, 192]), Tensor.full([5, 192], 1, device).to('float16'))],
      ];
      if (!support.supported) {
        for (const [op, fn] of tableOps) refuses(op, fn, new RegExp(`on ${device}`));
        // The CPU says why: no float16 kernels (oneDNN's float16 needs AVX512_FP16 or AMX-FP16).
        if (device.startsWith('cpu')) refuses('relu', () => ops.relu(h), /the CPU backend has no float16 kernels/);
      } else {
        // Computed here; a float16 input beside a float32 weight is a typed error, not a number.
        expect(ops.relu(h).dtype).to.equal('float16');
        expect(() => ops.conv2d(f, w.to('float16'), null)).to.throw(/w is float16 but x is float32/);
      }
      // Every other op refuses float16 on every device.
      refuses('tanh', () => ops.tanh(h));
      refuses('softmaxCrossEntropy', () => ops.softmaxCrossEntropy(h.reshape([2, 192]), Tensor.fromArray(Int32Array.of(0, 1), [2], device)));
      refuses('sgdStep', () => ops.sgdStep(h, f, f, { lr: 0.1 }));
      refuses('sgdStep', () => ops.sgdStep(f, f, h, { lr: 0.1 }));
      refuses('axpy', () => ops.axpy(1, h, f));
      refuses('add', () => ops.add(f, h));
      refuses('scale', () => ops.scale(h, 2));
      refuses('fill', () => ops.fill(h, 1));
      refuses('dropout', () => ops.dropout(h, { p: 0.5, seed: 1 }));
      refuses('concatChannels', () => ops.concatChannels([f, h]));
      refuses('unscaleGradients', () => ops.unscaleGradients([f, h], 2));
      // The raw bindings too (what lib/ops checks first cannot be bypassed into a wrong number).
      refuses('sgdStep', () => native.sgdStep(h.native, h.native, h.native, {}));
      refuses('axpy', () => native.axpy(h.native, h.native, {}));
      const copy = ops.clone(h);
      expect(copy.dtype).to.equal('float16');
      expect(Array.from(await copy.toBits())).to.deep.equal(Array.from(await h.toBits()));
      for (const t of [h, f, w, copy]) t.dispose();
    });
  });

  describeHalfOps('float16', device, fp16Support(device));
}

describe('float16 layers where the device cannot compute in it (the CPU)', () => {
  it("a model set to 'fp16' refuses at its first layer with FLOAT16_UNSUPPORTED naming the op; the float32 weights are untouched", async () => {
    expect(fp16Support('cpu').supported).to.equal(false);
    const conv = new nn.Conv2d(1, 2, 3, { device: 'cpu' }).setPrecision('fp16');
    expect(conv.precision).to.equal('fp16');
    const before = Array.from((await conv.weight.value.toArray()) as Float32Array);
    const x = Tensor.full([1, 1, 5, 5], 1, 'cpu');
    let error: unknown;
    try {
      conv.forward(x);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(AlexNetError);
    expect((error as AlexNetError).code).to.equal('FLOAT16_UNSUPPORTED');
    expect((error as Error).message).to.include('conv2d').and.to.include('float16 on cpu');
    expect(conv.weight.value.dtype).to.equal('float32');
    expect(Array.from((await conv.weight.value.toArray()) as Float32Array)).to.deep.equal(before);
    expect(() => conv.setPrecision('fp8' as never)).to.throw(RangeError, /precision must be one of fp32, bf16, fp16, got "fp8"/);
    x.dispose();
    conv.dispose();
  });
});

describe('float16 arguments and files', () => {
  it('fromArray, to and toBits: typed errors for the wrong arrays and dtypes', () => {
    expect(() => Tensor.fromArray(new Int32Array(2), [2], 'cpu', 'float16')).to.throw(TypeError, /float16 data must be a Float32Array .* or a Uint16Array/);
    expect(() => Tensor.fromArray(new Uint16Array(3), [2], 'cpu', 'float16')).to.throw(RangeError, /3 elements but shape \[2\] needs 2/);
    expect(() => Tensor.fromArray(new Float32Array(2), [2], 'cpu', 'float64' as never)).to.throw(TypeError, /dtype must be "bfloat16", "float16" or left out/);
    expect(() => Tensor.fromArray(Int32Array.of(1), [1]).to('float16')).to.throw(TypeError, /converts float32, bfloat16 and float16 tensors, not int32/);
    expect(() => Tensor.fromArray(Float32Array.of(1), [1]).toBits()).to.throw(TypeError, /reads bfloat16 and float16 tensors, got float32/);
    const t = Tensor.fromArray(Float32Array.of(1), [1], 'cpu', 'float16');
    t.dispose();
    expect(() => t.to('float32')).to.throw(TypeError, /has been disposed/);
  });

  it("safetensors: float32 saved as F16 holds the core's float16 bits and reads back widened to float32", async () => {
    const { values } = midpoints();
    const sample = Float32Array.from([...values.subarray(0, 4000), ...values.subarray(values.length - 4000), 1e6, -1e6, NaN, Infinity, 0, -0, 3.14159]);
    const coreBits = await Tensor.fromArray(sample, [sample.length], 'cpu', 'float16').toBits();
    for (let i = 0; i < sample.length; i++)
      if (halfBitsFromNumber(sample[i]!) !== coreBits[i]) expect.fail(`${sample[i]}: host 0x${halfBitsFromNumber(sample[i]!).toString(16)}, core 0x${coreBits[i]!.toString(16)}`);
    const file = encodeSafetensors({ w: { data: sample, shape: [sample.length], saveAs: 'F16' }, b: { data: Float32Array.of(1.5), shape: [1] } });
    const read = decodeSafetensors(file, 'half.safetensors');
    expect(read.tensors.w!.dtype).to.equal('F16');
    expect(read.tensors.b!.dtype).to.equal('F32');
    const widened = read.tensors.w!.data as Float32Array;
    expect(widened).to.be.instanceOf(Float32Array);
    const want = (await Tensor.fromArray(coreBits, [coreBits.length], 'cpu', 'float16').toArray()) as Float32Array;
    expect(Buffer.from(widened.buffer).equals(Buffer.from(want.buffer))).to.equal(true);
    expect(() => encodeSafetensors({ w: { data: Float64Array.of(1), shape: [1], saveAs: 'F16' } })).to.throw(TypeError, /saveAs 'F16' needs Float32Array data/);
    expect(() => encodeSafetensors({ w: { data: Float32Array.of(1), shape: [1], saveAs: 'BF16' as never } })).to.throw(TypeError, /saveAs must be 'F32' or 'F16'/);
  });
});
