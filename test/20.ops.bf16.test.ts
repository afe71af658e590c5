// bfloat16: conversions, every mixed-precision op against the float64 references, the typed error
// where the CPU cannot compute in bfloat16, and whole training steps in bf16 beside fp32.
//
// Tolerances: bfloat16 keeps 8 significant bits (unit roundoff u = 2^-8); the bounds derived from
// u, and the op cases, are in test/helpers/half_ops.ts, shared with float16 (test/21).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlexNetError, Tensor, bf16Support, ops } from '../lib/index.js';
import { testDevices } from './helpers/devices.js';
import { describeHalfOps } from './helpers/half_ops.js';

// Every device of the suite (test/helpers/devices.ts): the CPU's oneDNN kernels, and on a GPU the
// CUDA backend's cuDNN, cuBLAS and own kernels, against the same references and bounds.
for (const device of testDevices()) {

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

  describeHalfOps('bfloat16', device, bf16Support(device));
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

