// Dynamic loss scaling: the unscale op (values, the found-inf flag, typed errors), the LossScaler's
// rule (growth, backoff, fixed scales, state), and the Trainer with it: a forced overflow skips
// steps without touching weights or momentum and halves the scale until the gradients are finite,
// then trains (forced by the largest scale, 2^126, and inputs of amplitude 20: this small model's
// true gradients then exceed 2^128 / 2^126 = 4 for a few halvings; at 2^120 with unit inputs its
// gradients stay below 2^8 and nothing overflows); a clean run with a power-of-two scale computes the unscaled run's weights; resuming
// restores the scale and continues as the uninterrupted run; metrics and the progress line count
// the skipped steps.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { AlexNetError, ArrayLoader, LossScaler, Tensor, Trainer, alexnet, bf16Support, ops, type LossScaleConfig, type TrainingPrecision } from '../lib/index.js';
import { testDevices } from './helpers/devices.js';

for (const device of testDevices()) {
  describe(`unscaleGradients on ${device}`, () => {
    it('multiplies every gradient by 1 / scale in place; the flag is 0 when all are finite', async () => {
      const a = Tensor.fromArray(Float32Array.of(1024, -3, 0.5, 1e-30), [4], device);
      const b = Tensor.fromArray(Float32Array.of(2 ** 40, 7), [2], device);
      const flag = ops.unscaleGradients([a, b], 1024);
      expect(flag.shape).to.deep.equal([1]);
      expect(Array.from(await flag.toArray())).to.deep.equal([0]);
      expect(Array.from(await a.toArray())).to.deep.equal([1, -3 / 1024, 0.5 / 1024, Math.fround(Math.fround(1e-30) / 1024)]);
      expect(Array.from(await b.toArray())).to.deep.equal([2 ** 30, 7 / 1024]);
    });

    it('the flag is 1 when any gradient holds an infinity or NaN, or overflows when multiplied (scale < 1)', async () => {
      for (const bad of [Infinity, -Infinity, NaN]) {
        const big = Tensor.fromArray(new Float32Array(100_000).fill(1), [100_000], device);
        const odd = Tensor.fromArray(Float32Array.of(1, bad, 2), [3], device);
        const flag = ops.unscaleGradients([big, odd], 2);
        expect(Array.from(await flag.toArray()), String(bad)).to.deep.equal([1]);
        expect((await big.toArray())[99_999]).to.equal(0.5);
      }
      const near = Tensor.fromArray(Float32Array.of(3e38), [1], device);
      expect(Array.from(await ops.unscaleGradients([near], 0.5).toArray())).to.deep.equal([1]);
    });

    it('typed errors: wrong dtype, disposed, listed twice, bad scale, empty list', () => {
      const g = Tensor.zeros([3], device);
      expect(() => ops.unscaleGradients([g, Tensor.fromArray(Int32Array.of(1), [1], device)], 2)).to.throw(TypeError, /grads\[1\] must be float32, got int32/);
      expect(() => ops.unscaleGradients([g, g.reshape([1, 3])], 2)).to.throw(TypeError, /grads\[1\] shares its storage with grads\[0\]/);
      expect(() => ops.unscaleGradients([g], 0)).to.throw(RangeError, /scale must be in/);
      expect(() => ops.unscaleGradients([g], 2 ** 127)).to.throw(RangeError, /scale must be in/);
      expect(() => ops.unscaleGradients([g], NaN)).to.throw(TypeError, /scale must be a finite number/);
      expect(() => ops.unscaleGradients([], 2)).to.throw(TypeError, /grads must be a non-empty array/);
      expect(() => ops.unscaleGradients([g, 3 as never], 2)).to.throw(TypeError, /grads\[1\] must be a Tensor/);
      const gone = Tensor.zeros([2], device);
      gone.dispose();
      expect(() => ops.unscaleGradients([g, gone], 2)).to.throw(TypeError, /grads\[1\] has been disposed/);
      expect(() => ops.unscaleGradients([g.to('bfloat16')], 2)).to.throw(TypeError, /grads\[0\] must be float32, got bfloat16/);
    });
  });
}

describe('LossScaler', () => {
  it('grows by growthFactor after growthInterval clean steps, backs off on an overflow, and restarts the count', () => {
    const s = new LossScaler({ initScale: 8, growthInterval: 3 });
    expect([s.update(true), s.update(true)]).to.deep.equal([true, true]);
    expect(s.scale).to.equal(8);
    s.update(true);
    expect(s.scale).to.equal(16);
    expect(s.update(false)).to.equal(false);
    expect(s.scale).to.equal(8);
    s.update(true);
    s.update(true);
    expect(s.scale).to.equal(8);
    s.update(true);
    expect(s.scale).to.equal(16);
    expect(s.skippedSteps).to.equal(1);
    const copy = new LossScaler({ growthInterval: 3 });
    copy.load(JSON.parse(JSON.stringify(s.state())));
    expect(copy.state()).to.deep.equal(s.state());
  });

  it('the defaults are 2^16, x2 every 2000, x0.5; a fixed scale never moves; bad options and states are typed errors', () => {
    const s = new LossScaler();
    expect([s.scale, s.growthFactor, s.backoffFactor, s.growthInterval, s.dynamic]).to.deep.equal([65536, 2, 0.5, 2000, true]);
    const fixed = new LossScaler({ initScale: 128, dynamic: false, growthInterval: 1 });
    fixed.update(false);
    fixed.update(true);
    expect(fixed.scale).to.equal(128);
    expect(fixed.skippedSteps).to.equal(1);
    expect(() => new LossScaler({ initScale: 0 })).to.throw(RangeError, /initScale/);
    expect(() => new LossScaler({ backoffFactor: 1 })).to.throw(RangeError, /backoffFactor must be in \(0, 1\)/);
    expect(() => new LossScaler({ growthInterval: 0 })).to.throw(RangeError, /growthInterval/);
    expect(() => s.load({ scale: -1, growthTracker: 0, skippedSteps: 0, dynamic: true })).to.throw(RangeError, /lossScale.scale/);
  });
});

const STEPS_PER_EPOCH = 4;

function loader(amplitude = 1): ArrayLoader {
  const images = new Float32Array(16 * STEPS_PER_EPOCH * 64 * 64).map((_, i) => amplitude * Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: 16 * STEPS_PER_EPOCH }, (_, i) => i % 10);
  return new ArrayLoader({ images, labels, imageShape: [1, 64, 64], batchSize: 16, shuffle: true, seed: 1 });
}

interface Run {
  weights: Record<string, Float32Array>;
  momentum: Record<string, Float32Array>;
  trainer: Trainer;
  initial: Record<string, Float32Array>;
}

interface RunOptions {
  lossScale?: LossScaleConfig; maxSteps: number; outDir?: string; resume?: boolean; precision?: TrainingPrecision; progress?: PassThrough;
  amplitude?: number; lr?: number;
}

// The forced overflow: see the top of the file.
const OVERFLOW = { lossScale: { initScale: 2 ** 126 }, amplitude: 20, lr: 5e-4 };

async function run(options: RunOptions): Promise<Run> {
  const model = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', seed: 5, device: 'cpu' });
  const read = async (tensors: Record<string, Tensor>): Promise<Record<string, Float32Array>> =>
    Object.fromEntries(await Promise.all(Object.entries(tensors).map(async ([n, t]) => [n, (await t.toArray()) as Float32Array])));
  const initial = await read(model.stateDict());
  const trainer = new Trainer({
    model, train: loader(options.amplitude), epochs: 3, seed: 2, lr: options.lr ?? 0.01, maxSteps: options.maxSteps, lossScale: options.lossScale,
    outDir: options.outDir, resume: options.resume, precision: options.precision,
    progress: options.progress ? 'plain' : 'none', progressStream: options.progress,
  });
  if (options.resume) await trainer.restore(options.outDir!);
  await trainer.fit();
  const weights = await read(model.stateDict());
  const momentum = await read(trainer.optimizer.stateDict());
  model.dispose();
  trainer.optimizer.dispose();
  return { weights, momentum, trainer, initial };
}

function maxRelativeDifference(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let worst = 0;
  for (const [name, x] of Object.entries(a)) {
    const y = b[name]!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(Math.abs(y[i]!), 1e-3));
  }
  return worst;
}

const sameBits = (a: Record<string, Float32Array>, b: Record<string, Float32Array>): boolean =>
  Object.keys(a).every((n) => Buffer.from(a[n]!.buffer).equals(Buffer.from(b[n]!.buffer)));

const precisions: TrainingPrecision[] = bf16Support('cpu').supported ? ['fp32', 'bf16'] : ['fp32'];

for (const precision of precisions) {
  describe(`the Trainer with loss scaling (${precision}, CPU)`, function () {
    this.timeout(300_000);

    it('a forced overflow (initial scale 2^126) skips steps, weights and momentum untouched, halving the scale until finite, then trains', async () => {
      const progress = new PassThrough();
      let printed = '';
      progress.on('data', (chunk) => { printed += String(chunk); });
      const dir = mkdtempSync(join(tmpdir(), 'alexnet-loss-scale-'));
      try {
        const long = await run({ ...OVERFLOW, maxSteps: 10, precision, outDir: dir, progress });
        const skipped = long.trainer.lossScaler!.skippedSteps;
        expect(skipped, 'the scale of 2^126 overflowed').to.be.at.least(2);
        expect(skipped, 'and was backed off until it did not').to.be.below(8);
        expect(long.trainer.lossScaler!.scale).to.equal(2 ** (126 - skipped));
        expect(sameBits(long.weights, long.initial), 'then it trained').to.equal(false);
        for (const w of Object.values(long.weights)) expect(w.every(Number.isFinite)).to.equal(true);
        const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        expect(lines.some((l) => l.skippedSteps === skipped && l.lossScale === 2 ** (126 - skipped))).to.equal(true);
        // The plain progress line (drawn after the first step, which overflowed).
        expect(printed).to.match(/ loss (-|[0-9.]+)  lr 0\.000500  scale 2\^125  skipped 1  ETA /);
        // Only the skipped steps: nothing changes but the scale.
        const only = await run({ ...OVERFLOW, maxSteps: skipped, precision });
        expect(only.trainer.lossScaler!.skippedSteps).to.equal(skipped);
        expect(sameBits(only.weights, only.initial), 'weights untouched').to.equal(true);
        expect(Object.values(only.momentum).every((v) => v.every((x) => x === 0)), 'momentum untouched').to.equal(true);
        expect(only.trainer.trainingState.step).to.equal(skipped);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a clean run scaled by 2^16 gives the unscaled run\'s weights (to rounding: the scale is a power of two)', async () => {
      const plain = await run({ lossScale: 'none', maxSteps: 6, precision });
      const scaled = await run({ lossScale: 'dynamic', maxSteps: 6, precision });
      expect(scaled.trainer.lossScaler!.skippedSteps).to.equal(0);
      expect(scaled.trainer.lossScaler!.scale).to.equal(2 ** 16);
      expect(plain.trainer.lossScaler).to.equal(null);
      expect(sameBits(plain.weights, plain.initial)).to.equal(false);
      expect(maxRelativeDifference(scaled.weights, plain.weights)).to.be.below(1e-5);
      expect(maxRelativeDifference(scaled.momentum, plain.momentum)).to.be.below(1e-4);
    });
  });
}

describe('the Trainer with loss scaling: checkpoints and options', function () {
  this.timeout(300_000);

  it('resume restores the scale and its counts and continues as the uninterrupted run', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'alexnet-loss-scale-'));
    const split = mkdtempSync(join(tmpdir(), 'alexnet-loss-scale-'));
    try {
      const config = { ...OVERFLOW, lossScale: { initScale: 2 ** 126, growthInterval: 3 } };
      const uninterrupted = await run({ ...config, maxSteps: 11, outDir: whole });
      const first = await run({ ...config, maxSteps: 5, outDir: split });
      const saved = JSON.parse(readFileSync(join(split, 'last.json'), 'utf8'));
      expect(saved.lossScale).to.deep.equal(first.trainer.lossScaler!.state());
      const resumed = await run({ ...config, maxSteps: 11, outDir: split, resume: true });
      expect(resumed.trainer.lossScaler!.state()).to.deep.equal(uninterrupted.trainer.lossScaler!.state());
      expect(uninterrupted.trainer.lossScaler!.skippedSteps).to.be.at.least(1);
      expect(sameBits(resumed.weights, uninterrupted.weights)).to.equal(true);
      // Continued without scaling: its checkpoints no longer carry the old scale.
      await run({ ...config, lossScale: 'none', maxSteps: 12, outDir: split, resume: true });
      expect(JSON.parse(readFileSync(join(split, 'last.json'), 'utf8'))).to.include({ step: 12 }).and.not.have.property('lossScale');
    } finally {
      rmSync(whole, { recursive: true, force: true });
      rmSync(split, { recursive: true, force: true });
    }
  });

  it('precision fp16 is FLOAT16_UNSUPPORTED before anything is written; a bad lossScale is a typed error', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'alexnet-loss-scale-')), 'run');
    const model = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, device: 'cpu' });
    try {
      let error: unknown;
      try {
        new Trainer({ model, train: loader(), epochs: 1, outDir: dir, precision: 'fp16', progress: 'none' });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(AlexNetError);
      expect((error as AlexNetError).code).to.equal('FLOAT16_UNSUPPORTED');
      expect((error as Error).message).to.match(/precision fp16 is not available on cpu(:0)?: .*the CPU backend has no float16 kernels/);
      expect(() => readFileSync(join(dir, 'metrics.jsonl'))).to.throw(/ENOENT/);
      expect(() => new Trainer({ model, train: loader(), epochs: 1, lossScale: 'always' as never, progress: 'none' })).to.throw(TypeError, /lossScale must be 'dynamic', 'none', a number or an options object/);
      expect(() => new Trainer({ model, train: loader(), epochs: 1, lossScale: -2, progress: 'none' })).to.throw(RangeError, /lossScale must be in/);
    } finally {
      model.dispose();
    }
  });
});
