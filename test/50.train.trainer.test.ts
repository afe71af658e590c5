// The training loop: exact resume, stop(), NaN handling, metrics, evaluation (ten-crop, ensembles),
// and memory that stays flat across steps.
import { expect } from 'chai';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlexNetError, Tensor, allocatorStats, disposeAll, synchronize } from '../lib/index.js';
import type { Batch, BatchLoader } from '../lib/data/types.js';
import { loadCheckpoint } from '../lib/io/index.js';
import { alexnet, type AlexNet } from '../lib/models/index.js';
import { Flatten, Linear, Sequential } from '../lib/nn/index.js';
import { ArrayLoader, Trainer, averageProbabilities, evaluate, readMetrics } from '../lib/train/index.js';
import { toyData, toyLoader } from './helpers/toy_data.js';

const SIZE = 32;
const modelOptions = { numClasses: 4, inChannels: 1, inputSize: SIZE, width: 1 / 8, conv1Stride: 1, init: 'he' as const, seed: 11 };
const tiny = (): AlexNet => alexnet(modelOptions);
const train = toyData(96, 4, SIZE, 1);
const val = toyData(32, 4, SIZE, 2);
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `alexnet-${name}-`));

async function weightsOf(net: AlexNet): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [n, t] of Object.entries(net.stateDict())) out[n] = Array.from(await t.toArray());
  return out;
}

/** Wraps a loader to run `hook` (awaited) before each batch is handed out. */
function tapped(inner: BatchLoader, hook: (epoch: number, batch: number, b: Batch) => Batch | void | Promise<void>): BatchLoader {
  return Object.assign(Object.create(inner) as BatchLoader, {
    epoch(epoch: number, options?: { startBatch?: number }) {
      const source = inner.epoch(epoch, options);
      return (async function* () {
        let i = options?.startBatch ?? 0;
        for await (const b of source) {
          const replaced = await hook(epoch, i++, b);
          yield replaced ?? b;
        }
      })();
    },
  });
}

describe('Trainer', () => {
  it('an interrupted and resumed run ends with the same weights as an uninterrupted one', async () => {
    const common = { epochs: 2, seed: 3, lr: 0.01, progress: 'none' as const, logEvery: 2 };
    const whole = tiny();
    const full = await new Trainer({ ...common, model: whole, train: toyLoader(train, 16, { seed: 3 }), val: toyLoader(val, 16, { shuffle: false }), outDir: tmp('whole') }).fit();
    expect(full.interrupted).to.equal(false);
    expect(full.epochs).to.have.length(2);

    const dir = tmp('resume');
    const first = tiny();
    const part = await new Trainer({ ...common, model: first, train: toyLoader(train, 16, { seed: 3 }), val: toyLoader(val, 16, { shuffle: false }), outDir: dir, maxSteps: 8 }).fit();
    expect(part.interrupted).to.equal(true);
    expect(part.state).to.include({ epoch: 1, batch: 2, step: 8 });
    const second = alexnet({ ...modelOptions, seed: 999 }); // other initial weights: all must come from the checkpoint
    const rest = await new Trainer({ ...common, model: second, train: toyLoader(train, 16, { seed: 3 }), val: toyLoader(val, 16, { shuffle: false }), outDir: dir, resume: true }).fit();
    expect(rest.interrupted).to.equal(false);
    expect(rest.state.step).to.equal(12);
    expect(await weightsOf(second)).to.deep.equal(await weightsOf(whole));
    // Same metrics for the epoch that was cut in two.
    expect(rest.epochs[0]!.trainLoss).to.equal(full.epochs[1]!.trainLoss);
    expect(rest.epochs[0]!.val).to.deep.include({ top1Error: full.epochs[1]!.val!.top1Error, loss: full.epochs[1]!.val!.loss });
    const lines = readMetrics(join(dir, 'metrics.jsonl'));
    expect(lines.map((l) => l.type)).to.include.members(['start', 'step', 'epoch', 'interrupted', 'end']);
    [whole, first, second].forEach((m) => m.dispose());
  });

  it('learns the toy data, evaluates every epoch, keeps last and best, and writes metrics lines', async () => {
    const dir = tmp('fit');
    const model = tiny();
    const result = await new Trainer({ model, train: toyLoader(toyData(256, 4, SIZE, 1), 16, { seed: 1 }), val: toyLoader(val, 16, { shuffle: false }), epochs: 5, seed: 1, outDir: dir, progress: 'none' }).fit();
    const last = result.epochs.at(-1)!;
    expect(last.val!.top1Error).to.be.below(0.3);
    expect(last.val!.top5Error).to.equal(0); // 4 classes: top-5 is always right
    expect(last.imagesPerSecond).to.be.above(0);
    for (const f of ['last.safetensors', 'last.json', 'best.safetensors', 'best.json', 'metrics.jsonl']) expect(existsSync(join(dir, f)), f).to.equal(true);
    const best = await loadCheckpoint(join(dir, 'best.safetensors'));
    expect(best.state.bestEpoch).to.equal(best.state.epoch - 1);
    const epochs = readMetrics(join(dir, 'metrics.jsonl')).filter((l) => l.type === 'epoch');
    expect(epochs).to.have.length(5);
    expect(epochs[4]).to.include.keys('trainLoss', 'valLoss', 'top1Error', 'top5Error', 'lr', 'imagesPerSecond', 'seconds');
    model.dispose();
  });

  it('stop() finishes the step in progress, saves a checkpoint there and resolves with interrupted', async () => {
    const dir = tmp('stop');
    const model = tiny();
    let trainer: Trainer | undefined;
    const loader = tapped(toyLoader(train, 16), (e, b) => { if (e === 0 && b === 3) trainer!.stop(); });
    trainer = new Trainer({ model, train: loader, epochs: 2, outDir: dir, progress: 'none' });
    const result = await trainer.fit();
    expect(result.interrupted).to.equal(true);
    expect(result.checkpoint).to.equal(join(dir, 'last.safetensors'));
    const ckpt = await loadCheckpoint(result.checkpoint!);
    // Asked while batch 3 was being fetched: batch 3 is trained, the run resumes at batch 4.
    expect(ckpt.state).to.include({ epoch: 0, batch: 4, step: 4 });
    model.dispose();
  });

  it('a NaN loss stops the run with NON_FINITE_LOSS and keeps the last good checkpoint', async () => {
    const dir = tmp('nan');
    const model = tiny();
    // Diverged weights, as a too-large learning rate leaves them (NaN in the input itself is
    // zeroed by the first ReLU).
    const loader = tapped(toyLoader(train, 16), (e, b) => {
      if (e === 1 && b === 2) (model.get('fc8') as Linear).bias!.setValue(Tensor.fromArray(new Float32Array(4).fill(NaN), [4]));
    });
    const trainer = new Trainer({ model, train: loader, epochs: 3, outDir: dir, progress: 'none' });
    try {
      await trainer.fit();
      expect.fail('fit should reject');
    } catch (e) {
      expect(e).to.be.instanceOf(AlexNetError);
      expect((e as AlexNetError).code).to.equal('NON_FINITE_LOSS');
      expect((e as Error).message).to.match(/loss became NaN at epoch 2, batch 2/);
    }
    const ckpt = await loadCheckpoint(join(dir, 'last.safetensors'));
    expect(ckpt.state).to.include({ epoch: 1, batch: 0, step: 6 });
    expect(Object.values(ckpt.weights).every((t) => t.data.every(Number.isFinite))).to.equal(true);
    await synchronize();
    model.dispose();
  });

  it('training does not grow device memory from epoch to epoch', async () => {
    // A device of its own: tensors other tests left to the garbage collector live on 'cpu', and
    // their release mid-test would move its counts.
    const device = 'cpu:5';
    const model = alexnet({ ...modelOptions, device });
    const samples: number[][] = [];
    const atEpochStart: number[] = [];
    const loader = tapped(toyLoader(train, 16), async (e, b) => {
      const s = allocatorStats(device);
      if (e >= 1) samples.push([s.systemAllocations, s.bytesInUse]);
      if (b === 0) {
        // Quiescent: the previous epoch, its evaluation and its loss reads are all done.
        await synchronize(device);
        await new Promise((r) => setImmediate(r));
        atEpochStart.push(allocatorStats(device).bytesInUse);
      }
    });
    await new Trainer({ model, train: loader, val: toyLoader(val, 16, { shuffle: false }), epochs: 4, progress: 'none', maxInFlight: 1 }).fit();
    expect(samples.length).to.equal(18);
    // At a quiescent point every epoch holds exactly the memory the one before held: nothing a
    // step or an evaluation allocates outlives it. (Bytes in use at other moments depend on how
    // far the device has got with the queued steps.)
    expect(atEpochStart.slice(1), JSON.stringify(atEpochStart)).to.deep.equal([atEpochStart[1], atEpochStart[1], atEpochStart[1]]);
    // The caching allocator stops asking the system for memory once it holds the blocks of the
    // deepest overlap of queued steps. On a loaded machine the stream can fall one step further
    // behind once, later than epoch 1, and then holds one more step's blocks (18 here): bounded
    // by one step, never growing with the epochs.
    const allocations = samples.map(([a]) => a!);
    expect(allocations.at(-1)! - allocations[0]!, JSON.stringify(samples)).to.be.at.most(24);
    model.dispose();
  });

  it('validates its options, naming them', () => {
    const model = tiny();
    const loader = toyLoader(train, 16);
    expect(() => new Trainer({ model, train: loader, epochs: 0 })).to.throw(RangeError, /epochs/);
    expect(() => new Trainer({ model: {} as never, train: loader, epochs: 1 })).to.throw(TypeError, /model must be a Module/);
    expect(() => new Trainer({ model, train: [] as never, epochs: 1 })).to.throw(TypeError, /train must be a BatchLoader/);
    expect(() => new Trainer({ model, train: loader, epochs: 1, lr: -1 })).to.throw(RangeError, /lr/);
    expect(() => new Trainer({ model, train: loader, epochs: 1, schedule: { type: 'x' } as never })).to.throw(TypeError, /schedule must be/);
    model.dispose();
  });

  it('resume refuses another seed (the continuation would not be exact)', async () => {
    const dir = tmp('seed');
    const model = tiny();
    await new Trainer({ model, train: toyLoader(train, 16), epochs: 1, seed: 1, outDir: dir, progress: 'none', maxSteps: 1 }).fit();
    const t = new Trainer({ model, train: toyLoader(train, 16), epochs: 1, seed: 2, outDir: dir, progress: 'none', resume: true });
    let error: unknown;
    await t.fit().catch((e) => { error = e; });
    expect(error).to.be.instanceOf(RangeError);
    expect((error as Error).message).to.match(/seed 2 differs from the checkpoint's 1/);
    model.dispose();
  });
});

describe('evaluate', () => {
  // A linear model whose logits we control: log-probabilities as weights on a one-hot input.
  function fixedModel(logProbs: number[][]): Sequential {
    const classes = logProbs[0]!.length;
    const inputs = logProbs.length;
    const net = new Sequential([['flatten', new Flatten()], ['fc', new Linear(inputs, classes)]]);
    const w = new Float32Array(classes * inputs);
    logProbs.forEach((row, i) => row.forEach((v, k) => { w[k * inputs + i] = v; }));
    const state = { 'fc.weight': Tensor.fromArray(w, [classes, inputs]), 'fc.bias': Tensor.zeros([classes]) };
    net.loadStateDict(state);
    disposeAll(state);
    return net;
  }
  const oneHot = (rows: number[], inputs: number) => {
    const out = new Float32Array(rows.length * inputs);
    rows.forEach((r, i) => { out[i * inputs + r] = 1; });
    return out;
  };

  it('averages the softmax over ten crops per image and over an ensemble of models', async () => {
    // Two images, ten crops each. Row pattern r selects logits = log p for one of 3 patterns.
    const patterns = [[0.6, 0.3, 0.1, 0, 0, 0], [0.1, 0.2, 0.7, 0, 0, 0], [0.2, 0.5, 0.3, 0, 0, 0]].map((p) => p.map((v) => Math.log(v + 1e-12)));
    const crops = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]; // image 0: 4×p0 + 6×p1; image 1: 9×p2 + 1×p1
    const loader: BatchLoader = {
      batchSize: 2, batchesPerEpoch: 1, imagesPerEpoch: 2, imageShape: [3, 1, 1], numClasses: 6, classNames: ['a', 'b', 'c', 'd', 'e', 'f'],
      async *epoch() {
        yield { images: oneHot(crops, 3), labels: Int32Array.from([2, 1]), shape: [20, 3, 1, 1], crops: 10, indices: Int32Array.from([0, 1]) } as Batch;
      },
      stats: () => ({ imagesPerSecond: 0, waitMs: 0, batches: 1, images: 2, skipped: 0 }),
      close() {},
    };
    const m = fixedModel(patterns);
    const r = await evaluate(m, loader);
    // image 0: mean = 0.4 p0 + 0.6 p1 = [0.3, 0.24, 0.46]: label 2 correct. image 1: 0.9 p2 + 0.1 p1 = [0.19, 0.47, 0.34]: label 1 correct.
    expect(r).to.include({ images: 2, crops: 10, models: 1, top1Error: 0, top5Error: 0 });
    expect(r.loss).to.be.closeTo(-(Math.log(0.46) + Math.log(0.47)) / 2, 1e-5);
    // An ensemble with a model that always says class 0 with p 0.9.
    const other = fixedModel([0, 1, 2].map(() => [0.9, 0.02, 0.02, 0.02, 0.02, 0.02].map(Math.log)));
    const e = await evaluate([m, other], loader);
    // image 0: (0.46 + 0.02)/2 = 0.24 for label 2 vs (0.3 + 0.9)/2 = 0.6 for class 0: wrong.
    expect(e.models).to.equal(2);
    expect(e.top1Error).to.equal(1);
    expect(e.loss).to.be.closeTo(-(Math.log(0.24) + Math.log(0.245)) / 2, 1e-5);
    m.dispose();
    other.dispose();
  });

  it('accounts batches in the loader\'s order when their reads finish out of order', async () => {
    // Batch 0 is all label 0, batch 1 all label 1. The reads of batch 0 (the first two toArray
    // calls) are held back so that batch 1's finish first.
    const images = oneHot([0, 1, 2, 0, 1, 2], 3);
    const loader = new ArrayLoader({ images, labels: Int32Array.from([0, 0, 0, 1, 1, 1]), imageShape: [3, 1, 1], batchSize: 3, shuffle: false, numClasses: 3 });
    const m = fixedModel([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]].map((p) => p.map(Math.log)));
    const original = Tensor.prototype.toArray;
    let calls = 0;
    Tensor.prototype.toArray = function (this: Tensor) {
      const read = original.call(this);
      return ++calls <= 2 ? read.then((v) => new Promise((r) => setTimeout(() => r(v), 50))) : read;
    };
    const seen: number[] = [];
    try {
      await evaluate(m, loader, { onProbabilities: (_p, batch) => seen.push(batch.labels[0]!) });
    } finally {
      Tensor.prototype.toArray = original;
      m.dispose();
    }
    expect(calls).to.equal(4);
    expect(seen).to.deep.equal([0, 1]);
  });

  it('averageProbabilities averages rows per image, over crops and models', () => {
    const a = Float32Array.from([1, 0, 0, 1]); // 1 image × 2 crops × 2 classes
    const b = Float32Array.from([0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(averageProbabilities([a, b], 2, 2))).to.deep.equal([0.5, 0.5]);
  });

  it('top-1 and top-5 error on an ordinary loader; the model returns to training mode after', async () => {
    const model = tiny();
    const loader = new ArrayLoader({ images: val.images, labels: val.labels, imageShape: val.shape, batchSize: 10, shuffle: false });
    const r = await evaluate(model, loader);
    expect(r.images).to.equal(32);
    expect(r.top1Error).to.be.within(0, 1);
    expect(r.top5Error).to.equal(0);
    expect(model.training).to.equal(true);
    model.dispose();
  });
});
