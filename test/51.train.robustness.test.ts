// The trainer, evaluation and checkpoints given what a crash, a full disk or a hostile file leaves:
// outputs that are not numbers, ties, checkpoints that lie about their model or hold NaN, a
// truncated last checkpoint, temporaries of killed runs, a state copy that lags, a loader closed
// mid-epoch.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlexNetError, Tensor } from '../lib/index.js';
import type { Batch, BatchLoader } from '../lib/data/types.js';
import {
  loadCheckpoint, loadResumeCheckpoint, readCheckpointState, repairStateCopies, saveCheckpoint, CHECKPOINT_FORMAT, MAX_HEADER_BYTES, type TrainingState,
} from '../lib/io/index.js';
import { alexnet, alexnetParameterShapes, type AlexNet, type AlexNetOptions } from '../lib/models/index.js';
import { evaluate, Trainer } from '../lib/train/index.js';
import { libUrl, runModule } from './helpers/child.js';
import { toyData, toyLoader } from './helpers/toy_data.js';
import { rejection as rejects } from './helpers/rejection.js';

const SIZE = 32;
const modelOptions = { numClasses: 4, inChannels: 1, inputSize: SIZE, width: 1 / 8, conv1Stride: 1, init: 'he' as const, seed: 11 };
const train = toyData(64, 4, SIZE, 1);
const val = toyData(16, 4, SIZE, 2);
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `alexnet-${name}-`));

function state(extra: Partial<TrainingState> = {}): TrainingState {
  return {
    format: CHECKPOINT_FORMAT, epoch: 1, batch: 0, step: 4, lr: 0.01, schedule: { type: 'plateau', best: 'Infinity', badEpochs: 0, reductions: 0 },
    seed: 0, rng: 'test', bestError: null, bestEpoch: null, epochLoss: { sum: 0, count: 0 },
    model: { ...modelOptions }, training: {}, savedAt: 'then', ...extra,
  };
}

/** The model's weights with `name` replaced by `values` (as a checkpoint would hold them). */
function weightsWith(net: AlexNet, name: string, fill: number): Record<string, Tensor> {
  const w = { ...net.stateDict() };
  w[name] = Tensor.full(w[name]!.shape, fill);
  return w;
}


describe('evaluation that counts honestly', () => {
  it('a tie for the top class is wrong: an all-zero fc8 scores 100% top-1 error, with no non-finite logits', async () => {
    const net = alexnet(modelOptions);
    net.loadStateDict({ ...net.stateDict(), 'fc8.weight': Tensor.zeros(net.stateDict()['fc8.weight']!.shape), 'fc8.bias': Tensor.zeros([4]) });
    const r = await evaluate(net, toyLoader(val, 8, { shuffle: false }));
    expect(r.top1Error).to.equal(1);
    expect(r.nonFiniteLogits).to.equal(0);
    net.dispose();
  });

  it('NaN logits are counted and never correct', async () => {
    const net = alexnet(modelOptions);
    net.loadStateDict({ ...net.stateDict(), 'fc8.bias': Tensor.full([4], NaN) });
    const r = await evaluate(net, toyLoader(val, 8, { shuffle: false }));
    expect(r.nonFiniteLogits).to.equal(16 * 4);
    expect(r.top1Error).to.equal(1);
    expect(r.top5Error).to.equal(1);
    net.dispose();
  });

  it('a loader that ends before its last batch (closed) is an error, not a result on part of the data', async () => {
    const net = alexnet(modelOptions);
    const loader = truncatedLoader(toyLoader(val, 4, { shuffle: false }), 2);
    const e = await rejects(evaluate(net, loader));
    expect(e.code).to.equal('LOADER_CLOSED');
    expect(e.message).to.match(/after 2 of its 4 batches/);
    net.dispose();
  });
});

/** `inner`, but each epoch ends after `after` batches, as an iteration ends when its loader is closed. */
function truncatedLoader(inner: BatchLoader, after: number): BatchLoader {
  return Object.assign(Object.create(inner) as BatchLoader, {
    epoch(epoch: number, options?: { startBatch?: number }) {
      const source = inner.epoch(epoch, options);
      return (async function* () {
        let n = 0;
        for await (const b of source) {
          if (n++ >= after) return;
          yield b as Batch;
        }
      })();
    },
  });
}

describe('checkpoints that describe a model', () => {
  const configs: AlexNetOptions[] = [
    modelOptions,
    { ...modelOptions, overlappingPool: false, inputSize: 40 },
    { numClasses: 7, inChannels: 3, inputSize: 67, width: 0.3, conv1Stride: 4 },
    { numClasses: 1000, inChannels: 3, inputSize: 224, lrn: false, dropout: false },
  ];
  for (const config of configs) {
    it(`alexnetParameterShapes matches the built network (${JSON.stringify(config)})`, () => {
      const net = alexnet(config);
      expect(alexnetParameterShapes(config)).to.deep.equal(net.namedParameters().map(([n, p]) => [n, p.shape]));
      net.dispose();
    });
  }

  it('metadata describing a bigger model than the tensors is refused before the model is built, naming the file and the mismatch', async () => {
    const dir = tmp('lying');
    const net = alexnet(modelOptions);
    const cases = [
      [{ ...modelOptions, inputSize: 2000, width: 1 }, /'conv1\.weight' is \[12, 1, 11, 11\] in the file but \[96, 1, 11, 11\] in the model \(.*inputSize 2000, width 1.*has \d+ parameters, the file holds \d+\)/],
      [{ ...modelOptions, numClasses: 250000 }, /'fc8\.weight' is \[4, 512\] in the file but \[250000, 512\]/],
      [{ ...modelOptions, inputSize: 8 }, /inputSize 8 does not fit AlexNet/],
    ] as const;
    const files: string[] = [];
    for (const [model] of cases)
      files.push((await saveCheckpoint(dir, [`lying${files.length}`], net.stateDict(), {}, state({ model: model as Record<string, unknown> })))[0]!);
    net.dispose();
    // In a child process with a bounded heap: building the described model first would take gigabytes.
    const r = await runModule(`
      import { loadModel } from ${JSON.stringify(libUrl('train/index.js'))};
      for (const f of ${JSON.stringify(files)}) {
        try { await loadModel(f); console.log(JSON.stringify({ loaded: f })); }
        catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
      }`, 60_000);
    expect(r.timedOut, r.stderr).to.equal(false);
    expect(r.code, r.stderr).to.equal(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { code?: string; message?: string });
    expect(rows).to.have.length(cases.length);
    rows.forEach((row, i) => {
      expect(row.code).to.equal('BAD_FILE');
      expect(row.message).to.include(files[i]!).and.match(cases[i]![1]);
    });
  });

  it('a tensor holding NaN or infinity is refused at load, naming it', async () => {
    const dir = tmp('nan');
    const net = alexnet(modelOptions);
    const [file] = await saveCheckpoint(dir, ['nan'], weightsWith(net, 'fc8.bias', NaN), {}, state());
    const e = await rejects(loadCheckpoint(file!));
    expect(e.code).to.equal('BAD_FILE');
    expect(e.message).to.include(file!).and.include("tensor 'fc8.bias' holds 4 non-finite values");
    const [inf] = await saveCheckpoint(dir, ['inf'], net.stateDict(), { 'momentum.fc7.bias': Tensor.full([512], Infinity) }, state());
    expect((await rejects(loadCheckpoint(inf!))).message).to.include("tensor 'momentum.fc7.bias' holds 512");
    net.dispose();
  });

  it('a header length beyond the stated maximum is refused before the header is read', async () => {
    const dir = tmp('header');
    const file = join(dir, 'big.safetensors');
    const bytes = Buffer.alloc(64);
    bytes.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES) + 1n, 0);
    writeFileSync(file, bytes);
    const e = await rejects(loadCheckpoint(file));
    expect(e.code).to.equal('BAD_FILE');
    expect(e.message).to.include(file).and.include(`exceeds the maximum of ${MAX_HEADER_BYTES} bytes`);
    const notFile = await rejects(loadCheckpoint(dir));
    expect(notFile.message).to.include(`checkpoint ${dir} is not a regular file`);
  });
});

describe('resuming what a killed run left', () => {
  const options = { epochs: 2, seed: 0, progress: 'none' as const };

  async function finishedRun(dir: string): Promise<void> {
    const net = alexnet(modelOptions);
    await new Trainer({ ...options, epochs: 1, model: net, train: toyLoader(train, 16), val: toyLoader(val, 16, { shuffle: false }), outDir: dir }).fit();
    net.dispose();
  }

  it('a truncated last checkpoint falls back to best with a warning that says what was wrong', async () => {
    const dir = tmp('truncated');
    await finishedRun(dir);
    const last = join(dir, 'last.safetensors');
    writeFileSync(last, readFileSync(last).subarray(0, 5000));
    const warnings: string[] = [];
    const net = alexnet(modelOptions);
    const result = await new Trainer({ ...options, model: net, train: toyLoader(train, 16), outDir: dir, resume: true, onWarning: (m) => warnings.push(m) }).fit();
    expect(warnings.join('\n')).to.include(`cannot resume from ${last}`).and.include('not a valid safetensors file').and.include('best.safetensors instead');
    expect(result.state.epoch).to.equal(2);
    net.dispose();
  });

  it('a checkpoint without a schedule is refused naming the file and the field (no TypeError from inside)', async () => {
    const dir = tmp('noschedule');
    const net = alexnet(modelOptions);
    const broken = state() as Partial<TrainingState>;
    delete broken.schedule;
    const [file] = await saveCheckpoint(dir, ['last'], net.stateDict(), {}, broken as TrainingState);
    const e = await rejects(new Trainer({ ...options, model: net, train: toyLoader(train, 16), resume: file }).fit());
    expect(e.code).to.equal('BAD_FILE');
    expect(e.message).to.include(file!).and.include("training state's schedule is missing");
    // Without a best checkpoint to fall back to, a run directory's bad last checkpoint is the error.
    await rejects(loadResumeCheckpoint(dir, () => expect.fail('no fallback without best')));
    net.dispose();
  });

  it('temporaries of a killed writer are deleted when a run starts there; a live writer\'s are kept', async () => {
    const dir = tmp('stale');
    // Process ids on Linux stay below 2^22: this writer is certainly gone.
    const stale = join(dir, '.last.safetensors.999999999.1700000000000.tmp');
    const live = join(dir, `.last.safetensors.${process.pid}.1700000000000.tmp`);
    writeFileSync(stale, 'x'.repeat(1000));
    writeFileSync(live, 'y');
    const warnings: string[] = [];
    const net = alexnet(modelOptions);
    new Trainer({ ...options, model: net, train: toyLoader(train, 16), outDir: dir, onWarning: (m) => warnings.push(m) });
    expect(existsSync(stale)).to.equal(false);
    expect(existsSync(live)).to.equal(true);
    expect(warnings.join()).to.match(/deleted 1 temporary file/);
    net.dispose();
  });

  it('a last.json one save behind its checkpoint is rewritten from the state inside the checkpoint', async () => {
    const dir = tmp('lag');
    await finishedRun(dir);
    const inside = await readCheckpointState(join(dir, 'last.safetensors'));
    expect(inside?.epoch).to.equal(1);
    // A kill between the two renames: the copy still shows the save before.
    writeFileSync(join(dir, 'last.json'), JSON.stringify({ ...inside, epoch: 0, batch: 2, savedAt: 'before' }));
    expect(await repairStateCopies(dir)).to.deep.equal([join(dir, 'last.json')]);
    expect(JSON.parse(readFileSync(join(dir, 'last.json'), 'utf8'))).to.deep.equal(inside);
    expect(await repairStateCopies(dir)).to.deep.equal([]);
  });

  it('a training loader closed during an epoch fails the run (LOADER_CLOSED) instead of finishing the epoch', async () => {
    const dir = tmp('closed');
    const net = alexnet(modelOptions);
    const trainer = new Trainer({ ...options, model: net, train: truncatedLoader(toyLoader(train, 16), 2), outDir: dir });
    const e = await rejects(trainer.fit());
    expect(e.code).to.equal('LOADER_CLOSED');
    expect(e.message).to.match(/ended epoch 1 after 2 of its 4 batches/);
    expect(existsSync(join(dir, 'best.safetensors')), 'no epoch was recorded as finished').to.equal(false);
    expect(trainer.trainingState.epoch).to.equal(0);
    net.dispose();
  });
});

describe('plot ticks', () => {
  it('a range finer than float64 can step through gives a few ticks, never an endless loop', async () => {
    // 1e17 + 5 rounds back to 1e17: a loop that adds the step never ends (run apart, with a bounded heap).
    const r = await runModule(`
      import { ticks } from ${JSON.stringify(libUrl('cli/chart.js'))};
      console.log(JSON.stringify([ticks(1e17, 1e17 + 16), ticks(0, 1e17, 6), ticks(-Infinity, 1), ticks(0, Number.MAX_VALUE)]));`, 30_000, 256);
    expect(r.timedOut, 'ticks returned').to.equal(false);
    expect(r.code, r.stderr).to.equal(0);
    const [fine, wide, infinite, huge] = JSON.parse(r.stdout) as number[][];
    expect(fine!.length).to.be.within(1, 100);
    expect(wide).to.deep.equal([0, 2e16, 4e16, 6e16, 8e16, 1e17]);
    expect(infinite).to.deep.equal([]);
    expect(huge!.length).to.be.within(1, 100);
  });
});

describe('a real loader closed during an epoch', () => {
  it('close() while the trainer waits for a batch ends in LOADER_CLOSED, not a finished epoch', async () => {
    const { arrayDataset, createLoader } = await import('../lib/data/index.js');
    const count = 64;
    const pixels = new Uint8Array(count * SIZE * SIZE);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31) % 251;
    const ds = arrayDataset(pixels, Int32Array.from({ length: count }, (_, i) => i % 4), [count, SIZE, SIZE, 1]);
    const loader = await createLoader(ds, { batchSize: 8, workers: 1, size: SIZE, crop: SIZE, mean: 'none', pixelScale: 1 / 255, flip: false, pca: false });
    // Close it (without waiting) as soon as the second batch is handed out: the trainer is then
    // waiting on the third.
    let handed = 0;
    const closing = Object.assign(Object.create(loader) as BatchLoader, {
      epoch(epoch: number, options?: { startBatch?: number }) {
        const source = loader.epoch(epoch, options);
        return (async function* () {
          for await (const b of source) {
            if (++handed === 2) void loader.close();
            yield b as Batch;
          }
        })();
      },
    });
    const net = alexnet(modelOptions);
    const trainer = new Trainer({ epochs: 1, progress: 'none', model: net, train: closing, outDir: tmp('real-close') });
    let error: unknown;
    await trainer.fit().catch((e) => { error = e; });
    expect(error, 'fit must not resolve as if the epoch were done').to.be.instanceOf(AlexNetError);
    expect((error as AlexNetError).code).to.equal('LOADER_CLOSED');
    expect(trainer.trainingState.epoch).to.equal(0);
    await loader.close();
    net.dispose();
  });
});
