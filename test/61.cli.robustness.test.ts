// The command line given hostile files, impossible flags and signals: each gives a one-line error
// naming what was wrong and an exit status, never a hang, a stack trace or a number that lies.
// Every command runs in a child process with a time limit.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '../lib/index.js';
import { encodeImage, fashionMnist, FASHION_MNIST_DIR } from '../lib/data/index.js';
import { loadCheckpoint, saveCheckpoint, CHECKPOINT_FORMAT, type TrainingState } from '../lib/io/index.js';
import { alexnet, type AlexNet } from '../lib/models/index.js';
import { startCli, waitFor, type CliResult } from './helpers/cli.js';

const haveData = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
const dir = mkdtempSync(join(tmpdir(), 'alexnet-cli-robust-'));

/** Runs the CLI; a run past `ms` is killed and fails the test as a hang. */
async function cli(args: string[], ms = 60_000): Promise<CliResult> {
  const p = startCli(args);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  const r = await p.done;
  clearTimeout(timer);
  expect(r.signal, `alexnet ${args.join(' ')} was killed after ${ms} ms (a hang?)\n${r.stderr}`).to.equal(null);
  return r;
}

/** One line on stderr, no stack trace. */
function oneLine(r: CliResult): string {
  const lines = r.stderr.trim().split('\n');
  expect(r.stderr, 'no stack trace').to.not.match(/\n\s+at /);
  return lines[0]!;
}

// A small network for Fashion-MNIST at 32x32, saved as alexnet train would save it.
const model = { numClasses: 10, inChannels: 1, inputSize: 32, width: 1 / 8, conv1Stride: 1, init: 'he' as const, seed: 3 };
const data = { dataset: 'fashion-mnist', size: 32, crop: 32, pixelScale: 1 / 255, mean: 'none', flip: false, pca: false, channels: 1 };
const classNames = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function state(extra: Partial<TrainingState> = {}): TrainingState {
  return {
    format: CHECKPOINT_FORMAT, epoch: 1, batch: 0, step: 10, lr: 0.01, schedule: { type: 'step', epochsDone: 1 }, seed: 0, rng: 'test',
    bestError: null, bestEpoch: null, epochLoss: { sum: 0, count: 0 }, model: { ...model }, savedAt: 'then',
    training: {
      preset: 'fashion-mnist-quick', dataset: 'fashion-mnist', limit: 64, batchSize: 32, lr: 0.01, momentum: 0.9, weightDecay: 5e-4, epochs: 2,
      schedule: { type: 'step', every: 13, gamma: 0.1 }, seed: 0, model: { ...model }, data, tenCrop: false, classNames,
    },
    ...extra,
  };
}

/** A checkpoint of the small network with some of its tensors replaced. */
async function checkpoint(name: string, replace: (net: AlexNet) => Record<string, Tensor> = () => ({}), extra: Partial<TrainingState> = {}): Promise<string> {
  const net = alexnet(model);
  const [file] = await saveCheckpoint(dir, [name], { ...net.stateDict(), ...replace(net) }, {}, state(extra));
  net.dispose();
  return file!;
}

describe('alexnet CLI: hostile files and flags', function () {
  this.timeout(180_000);

  it('plot on a metrics file with epoch 1e17 stops with an error naming the file (exit 1), not a loop', async () => {
    const file = join(dir, 'huge.jsonl');
    writeFileSync(file, [{ type: 'epoch', epoch: 0, step: 10, trainLoss: 1 }, { type: 'epoch', epoch: 1e17, step: 20, trainLoss: 0.5 }]
      .map((l) => JSON.stringify({ time: 't', ...l })).join('\n') + '\n');
    const r = await cli(['plot', file, '--out', join(dir, 'huge.png')], 30_000);
    expect(r.code, r.stderr).to.equal(1);
    expect(oneLine(r)).to.include(file).and.include('has epoch 100000000000000000').and.include('BAD_FILE');
    const big = await cli(['plot', file, '--width', '1000000']);
    expect(big.code).to.equal(2);
    expect(oneLine(big)).to.equal('alexnet plot: --width must be an integer from 400 to 10000, got "1000000"');
  });

  it('eval of /dev/zero or a FIFO is refused at once (BAD_FILE naming it), without reading it', async () => {
    const fifo = join(dir, 'fifo.safetensors');
    execFileSync('mkfifo', [fifo]);
    for (const file of ['/dev/zero', fifo]) {
      const r = await cli(['eval', file], 30_000);
      expect(r.code, r.stderr).to.equal(1);
      expect(oneLine(r)).to.equal(`alexnet: checkpoint ${file} is not a regular file (a checkpoint is a .safetensors file) [BAD_FILE]`);
    }
  });

  it('eval of a checkpoint whose metadata describes a far bigger model than its tensors: BAD_FILE naming the mismatch, nothing built', async () => {
    for (const [name, change, expected] of [
      ['wide', { inputSize: 2000, width: 1 }, /'conv1\.weight' is \[12, 1, 11, 11\] in the file but \[96, 1, 11, 11\] in the model/],
      ['classes', { numClasses: 250000 }, /'fc8\.weight' is \[10, 512\] in the file but \[250000, 512\]/],
    ] as const) {
      const file = await checkpoint(name, () => ({}), { model: { ...model, ...change } });
      const r = await cli(['eval', file], 60_000);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include(file).and.match(expected).and.include('BAD_FILE');
    }
  });

  it('eval of a checkpoint with a NaN parameter is refused at load, naming the tensor', async () => {
    const file = await checkpoint('nan-bias', () => ({ 'fc8.bias': Tensor.full([10], NaN) }));
    const r = await cli(['eval', file]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include(file).and.include("tensor 'fc8.bias' holds 10 non-finite values");
  });

  it('negative numbers after flags are their values, range-checked naming the flag', async () => {
    for (const [args, message] of [
      [['train', '--lr', '-1'], 'alexnet train: --lr must be a number >= 0, got "-1"'],
      [['train', '--epochs', '-3'], 'alexnet train: --epochs must be an integer >= 1, got "-3"'],
      [['train', '--momentum', '-.5'], 'alexnet train: --momentum must be a number >= 0, got "-.5"'],
      [['eval', 'x', '--limit', '-1'], 'alexnet eval: --limit must be an integer >= 1, got "-1"'],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, r.stderr).to.equal(2);
      expect(oneLine(r)).to.equal(message);
    }
  });

  it('--out at a file (or in a read-only directory) is a one-line error with exit status 1', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const out of [file, join(file, 'below')]) {
      const r = await cli(['train', '--out', out, '--limit', '64']);
      expect(r.code, r.stderr).to.equal(1);
      expect(oneLine(r)).to.equal(`alexnet: the output directory ${out} is a file (or lies under one), not a directory [IO_ERROR, mkdir]`);
    }
    if (process.getuid?.() === 0) return; // root writes anywhere
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly);
    chmodSync(readOnly, 0o555);
    const r = await cli(['train', '--out', join(readOnly, 'run'), '--limit', '64']);
    expect(r.code, r.stderr).to.equal(1);
    expect(oneLine(r)).to.match(/^alexnet: the output directory .*read-only\/run cannot be created: EACCES/);
  });

  it('--resume of a checkpoint without a schedule: BAD_FILE naming the file and the field', async () => {
    const run = join(dir, 'no-schedule');
    mkdirSync(run);
    const net = alexnet(model);
    const broken = state() as Partial<TrainingState>;
    delete broken.schedule;
    await saveCheckpoint(run, ['last'], net.stateDict(), {}, broken as TrainingState);
    net.dispose();
    const r = await cli(['train', '--resume', '--out', run]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include(join(run, 'last.safetensors')).and.include("training state's schedule is missing").and.not.include('Cannot read properties');
  });
});

describe('alexnet CLI on Fashion-MNIST: honest eval, partial predict, SIGTERM, resume from best', function () {
  this.timeout(300_000);

  before(function () {
    if (!haveData) this.skip();
  });

  it('eval counts a tie as wrong: an all-zero fc8 has 100% top-1 error, not 100% accuracy', async () => {
    const file = await checkpoint('zero-fc8', (net) => ({ 'fc8.weight': Tensor.zeros(net.stateDict()['fc8.weight']!.shape), 'fc8.bias': Tensor.zeros([10]) }));
    const r = await cli(['eval', file, '--limit', '64', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ top1Error: 1, nonFiniteLogits: 0, images: 64 });
  });

  it('eval reports non-finite logits (text and JSON) and fails with NON_FINITE_OUTPUT', async () => {
    // Finite parameters whose outputs overflow float32.
    const file = await checkpoint('overflow', (net) => ({ 'fc8.weight': Tensor.full(net.stateDict()['fc8.weight']!.shape, 3e38), 'fc8.bias': Tensor.full([10], 3e38) }));
    const json = await cli(['eval', file, '--limit', '64', '--json']);
    expect(json.code, json.stderr).to.equal(1);
    const result = JSON.parse(json.stdout);
    expect(result.nonFiniteLogits).to.be.above(0);
    expect(json.stderr).to.match(/outputs were not finite: \d+ NaN or infinite logits on 64 images.*\[NON_FINITE_OUTPUT\]/s);
    const text = await cli(['eval', file, '--limit', '64']);
    expect(text.code).to.equal(1);
    expect(text.stdout).to.include(`${result.nonFiniteLogits} non-finite logits`);
  });

  it('predict with one bad image and a FIFO predicts the others, reports the bad ones and exits 1', async () => {
    const file = await checkpoint('predict');
    const test = await fashionMnist({ split: 'test' });
    const good: string[] = [];
    for (const i of [0, 1]) {
      const img = await test.image(i, { size: 0 });
      good.push(join(dir, `good${i}.png`));
      writeFileSync(good.at(-1)!, encodeImage(img.pixels, img.width, img.height, 1, { format: 'png' }));
    }
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, Buffer.concat([readFileSync(good[0]!).subarray(0, 40), Buffer.alloc(100, 7)]));
    const fifo = join(dir, 'image-fifo.png');
    execFileSync('mkfifo', [fifo]);
    const r = await cli(['predict', '--checkpoint', file, good[0]!, bad, fifo, good[1]!, '--json'], 60_000);
    expect(r.code, r.stderr).to.equal(1);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => x.file)).to.deep.equal([good[0], bad, fifo, good[1]]);
    expect(rows[0].top).to.have.length(5);
    expect(rows[3].top).to.have.length(5);
    expect(rows[1].error).to.be.a('string');
    expect(rows[2].error).to.equal('not a regular file');
    expect(r.stderr).to.include(`alexnet predict: ${bad}: `).and.include(`alexnet predict: ${fifo}: not a regular file`);
  });

  it('SIGTERM saves the step in progress and exits 143, like SIGINT', async () => {
    const out = join(dir, 'terminated');
    const p = startCli(['train', '--limit', '4096', '--epochs', '1', '--out', out, '--progress', 'plain', '--seed', '2']);
    await waitFor(() => /epoch 1\/1 batch [1-9]/.test(p.stderr()), 120_000);
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.stderr).to.equal(143);
    expect(r.stderr).to.match(/interrupted \(SIGTERM\): saving a checkpoint/);
    const ckpt = await loadCheckpoint(join(out, 'last.safetensors'));
    expect(ckpt.state.epoch).to.equal(0);
    expect(ckpt.state.batch).to.be.above(0);
  });

  it('--resume with a truncated last checkpoint continues from best, with a warning naming what was wrong', async () => {
    const out = join(dir, 'truncated');
    const first = await cli(['train', '--limit', '256', '--epochs', '1', '--out', out, '--progress', 'none'], 200_000);
    expect(first.code, first.stderr).to.equal(0);
    const last = join(out, 'last.safetensors');
    writeFileSync(last, readFileSync(last).subarray(0, 4096));
    const r = await cli(['train', '--resume', '--out', out, '--epochs', '2', '--progress', 'none'], 200_000);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include(`warning: cannot resume from ${last}: ${last} is not a valid safetensors file`)
      .and.include(`resuming from ${join(out, 'best.safetensors')} instead`);
    expect((await loadCheckpoint(last)).state.epoch).to.equal(2);
  });
});
