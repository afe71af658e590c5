// Mixed-precision (bf16) training beside float32: the same small AlexNet from the same weights on
// the same batches, a few SGD steps each. The float32 master weights and update mean the two runs
// differ only by bfloat16's rounding of activations and weight copies (unit roundoff 2^-8): the
// first forward pass agrees within 2 u, the first gradients within half their norm (rounding
// switches ReLUs and pooling winners), the later losses within 25% (precision_steps.ts says why);
// a layer that lost its gradient or its update (or applied it in bfloat16) would show at once.
// fp16 the same on devices that compute in float16 (CUDA), with float16's u = 2^-11; its range
// (largest finite 65504) is why it trains with loss scaling.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArrayLoader, Trainer, alexnet, bf16Support, fp16Support, type DeviceName } from '../lib/index.js';
import { testDevices } from './helpers/devices.js';
import { expectFollowsFloat32, trainSteps, type StepRecord } from './helpers/precision_steps.js';

/** The quick preset's network from fixed weights, in `precision`, trained a few steps on `device`. */
function quickSteps(device: DeviceName, precision: 'fp32' | 'bf16' | 'fp16', steps: number, lossScale?: number): Promise<StepRecord> {
  const model = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', seed: 3, device });
  return trainSteps(model.setPrecision(precision), steps, device, lossScale);
}

/**
 * One epoch of the Trainer in `precision` on 64 synthetic images: the model and Trainer report the
 * precision, the loss is finite and the state float32; `before` and `after` check more.
 */
async function trainOneEpoch(device: DeviceName, precision: 'bf16' | 'fp16', before: (t: Trainer) => void,
  after: (t: Trainer) => void = () => undefined): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `alexnet-${precision}-`));
  try {
    const images = new Float32Array(64 * 64 * 64).map((_, i) => Math.sin(i * 0.37));
    const labels = Int32Array.from({ length: 64 }, (_, i) => i % 10);
    const train = new ArrayLoader({ images, labels, imageShape: [1, 64, 64], batchSize: 16, shuffle: true, seed: 1 });
    const model = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', device });
    const trainer = new Trainer({ model, train, epochs: 1, outDir: dir, precision, progress: 'none' });
    expect(trainer.precision).to.equal(precision);
    expect(model.precision).to.equal(precision);
    before(trainer);
    const result = await trainer.fit();
    expect(result.epochs[0]!.trainLoss).to.be.a('number').and.satisfy(Number.isFinite);
    after(trainer);
    expect(Object.values(model.stateDict()).every((t) => t.dtype === 'float32')).to.equal(true);
    model.dispose();
    trainer.optimizer.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// On every device of the suite (test/helpers/devices.ts): the CPU, and on a GPU the CUDA backend.
for (const device of testDevices()) {
  describe(`bf16 mixed-precision training on ${device}`, function () {
    before(function () {
      if (!bf16Support(device).supported) this.skip();
    });

    it('follows float32 step for step (precision_steps.ts), with float32 master weights and gradients', async () => {
      const steps = 6;
      const fp32 = await quickSteps(device, 'fp32', steps);
      const bf16 = await quickSteps(device, 'bf16', steps);
      expectFollowsFloat32(bf16, fp32);
    });

    it('the Trainer: precision bf16 on the model, a finite loss, float32 state', async () => {
      await trainOneEpoch(device, 'bf16', () => undefined);
    });
  });
}

describe('bf16 precision choices (CPU)', () => {
  it('rejects an unknown precision and tf32 on a CPU trains in fp32 with a warning', () => {
    const images = new Float32Array(16 * 64 * 64);
    const train = new ArrayLoader({ images, labels: new Int32Array(16), imageShape: [1, 64, 64], batchSize: 16 });
    const model = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', device: 'cpu' });
    expect(() => new Trainer({ model, train, epochs: 1, precision: 'fp8' as never })).to.throw(RangeError, /precision must be one of fp32, tf32, bf16, fp16, got "fp8"/);
    const warnings: string[] = [];
    const t = new Trainer({ model, train, epochs: 1, precision: 'tf32', onWarning: (m) => warnings.push(m) });
    expect(t.precision).to.equal('fp32');
    expect(warnings.join()).to.match(/tf32 exists only on CUDA/);
    model.dispose();
  });
});

// fp16 where the device computes in float16 (CUDA); elsewhere skipped, saying why.
for (const device of testDevices()) {
  describe(`fp16 mixed-precision training on ${device}`, function () {
    before(function () {
      const support = fp16Support(device);
      if (support.supported) return;
      console.log(`      fp16 training skipped on ${device}: ${support.reason}`);
      this.skip();
    });

    it('follows float32 step for step (precision_steps.ts) with a loss scale; master weights and gradients float32', async () => {
      const steps = 6;
      const fp32 = await quickSteps(device, 'fp32', steps);
      // A fixed power-of-two scale (exact): small gradients keep their digits in float16, and no
      // gradient of this small network comes near 65504 (a skipped step would fail the rule).
      const fp16 = await quickSteps(device, 'fp16', steps, 2 ** 8);
      expectFollowsFloat32(fp16, fp32, 2 ** -11);
    });

    it('the Trainer: precision fp16 on the model, dynamic loss scaling by default, a finite loss, float32 state', async () => {
      await trainOneEpoch(device, 'fp16', (trainer) => {
        expect(trainer.lossScaler?.dynamic).to.equal(true);
      }, (trainer) => {
        // Dynamic from 2^16: each step with an overflow was skipped and halved the scale (growth
        // comes only after 2000 clean steps).
        const skipped = trainer.lossScaler!.skippedSteps;
        expect(trainer.lossScaler!.scale).to.equal(2 ** (16 - skipped));
      });
    });
  });
}
