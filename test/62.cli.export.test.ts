// `alexnet export` (weights only; ONNX, run in onnxruntime-node against our forward pass) and
// `alexnet eval`/`predict` of plain state dicts with the architecture from --preset and flags.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeImage, fashionMnist, FASHION_MNIST_DIR } from '../lib/data/index.js';
import { alexnetToOnnx } from '../lib/export/index.js';
import { CHECKPOINT_FORMAT, encodeSafetensors, readWeightsFile, type HostTensor } from '../lib/io/index.js';
import { alexnet, preset } from '../lib/models/index.js';
import { loadModel } from '../lib/train/index.js';
import { runCli } from './helpers/cli.js';
import { randn, rng } from './helpers/random.js';
import { forwardValues as forward } from './helpers/forward.js';

const haveData = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

/** The part of onnxruntime-node's API used here (typed here, so the tests compile without it). */
interface Ort {
  InferenceSession: {
    create(model: Uint8Array): Promise<{
      inputNames: readonly string[];
      outputNames: readonly string[];
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
    }>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}
/** onnxruntime-node (a devDependency), or why it cannot be loaded. */
function loadOrt(): Ort | string {
  try {
    return createRequire(import.meta.url)('onnxruntime-node') as Ort;
  } catch (e) {
    return `onnxruntime-node cannot be loaded (npm install installs it): ${(e as Error).message.split('\n')[0]}`;
  }
}


function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('ONNX export in onnxruntime-node', function () {
  this.timeout(120_000);
  const ort = loadOrt();

  before(function () {
    if (typeof ort === 'string') {
      this.test!.parent!.title += ` — skipped: ${ort}`;
      this.skip();
    }
  });

  // Inputs large enough that LRN's denominator is far from k: a wrong alpha convention shows.
  for (const [what, options] of [
    ['the fashion-mnist-quick architecture', { ...preset('fashion-mnist-quick').model }],
    ['a colour network with non-overlapping pooling, no LRN, conv1 stride 2', { numClasses: 7, inChannels: 3, inputSize: 48, width: 1 / 8, conv1Stride: 2, lrn: false, overlappingPool: false, init: 'he' as const }],
  ] as const) {
    it(`${what}: the same logits as our forward pass (max abs diff <= 1e-4 of the largest)`, async () => {
      const o = ort as Ort;
      const model = alexnet({ ...options, seed: 11 }).eval();
      try {
        const n = 3;
        const [c, h, w] = model.inputShape;
        const x = randn(n * c * h * w, rng(62), 40);
        const ours = await forward(model, x, n);
        const exported = await alexnetToOnnx(model);
        expect(exported.opset).to.be.at.least(17);
        expect(exported.ops).to.not.include('Dropout');
        if (options.lrn !== false) {
          expect(exported.ops.filter((op) => op === 'LRN')).to.have.length(4);  // two layers, two columns each
          // LRN matters for this input: the network without it computes something else.
          const plain = alexnet({ ...options, lrn: false, seed: 11 }).eval();
          const without = await forward(plain, x, n);
          plain.dispose();
          expect(maxDiff(without, ours)).to.be.above(1e-2 * maxAbs(ours));
        }
        const session = await o.InferenceSession.create(exported.bytes);
        expect(session.inputNames).to.deep.equal(['input']);
        expect(session.outputNames).to.deep.equal(['logits']);
        const result = await session.run({ input: new o.Tensor('float32', x, [n, c, h, w]) });
        const theirs = result.logits!.data as Float32Array;
        expect(result.logits!.dims).to.deep.equal([n, model.config.numClasses]);
        expect(maxDiff(theirs, ours)).to.be.at.most(1e-4 * maxAbs(ours));
      } finally {
        model.dispose();
      }
    });
  }

  it('--softmax: "probabilities" that are the softmax of the logits', async () => {
    const o = ort as Ort;
    const model = alexnet({ ...preset('fashion-mnist-quick').model, seed: 3 }).eval();
    try {
      const x = randn(2 * 64 * 64, rng(7), 5);
      const logits = await forward(model, x, 2);
      const session = await o.InferenceSession.create((await alexnetToOnnx(model, { softmax: true })).bytes);
      expect(session.outputNames).to.deep.equal(['probabilities']);
      const p = (await session.run({ input: new o.Tensor('float32', x, [2, 1, 64, 64]) })).probabilities!.data as Float32Array;
      for (let r = 0; r < 2; r++) {
        const row = Array.from(logits.subarray(10 * r, 10 * r + 10));
        const top = Math.max(...row);
        const e = row.map((v) => Math.exp(v - top));
        const sum = e.reduce((a, b) => a + b, 0);
        e.forEach((v, i) => expect(p[10 * r + i]).to.be.closeTo(v / sum, 1e-6));
      }
    } finally {
      model.dispose();
    }
  });
});

describe('alexnet export, and eval/predict of plain state dicts', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-export-'));
  const run = join(dir, 'run');
  const checkpoint = join(run, 'last.safetensors');

  before(async function () {
    if (!haveData) this.skip();
    const r = await runCli(['train', '--limit', '256', '--max-steps', '2', '--out', run, '--progress', 'none']);
    expect(r.code, r.stderr).to.equal(0);
  });

  it('--help, and the command list', async () => {
    const help = await runCli(['export', '--help']);
    expect(help.code).to.equal(0);
    for (const flag of ['--weights-only FILE', '--onnx FILE', '--softmax', '--json', '--preset NAME', '--mean KIND']) expect(help.stdout).to.include(flag);
    expect((await runCli(['--help'])).stdout).to.match(/ {2}export {3}/);
    for (const command of ['eval', 'predict']) expect((await runCli([command, '--help'])).stdout).to.include('--num-classes N');
  });

  it('--weights-only: half the file; eval reads it as the checkpoint; training cannot resume from it', async () => {
    const out = join(dir, 'weights.safetensors');
    const r = await runCli(['export', run, '--weights-only', out, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.weightsOnly.bytes).to.equal(statSync(out).size);
    expect(report.weightsOnly.checkpointBytes).to.equal(statSync(checkpoint).size);
    expect(statSync(out).size).to.be.below(0.52 * statSync(checkpoint).size);
    const weights = await readWeightsFile(out);
    expect(Object.keys(weights.momentum)).to.deep.equal([]);
    expect(Object.keys(weights.extra)).to.include('data.mean_image');
    const [a, b] = await Promise.all([out, checkpoint].map(async (f) => JSON.parse((await runCli(['eval', f, '--limit', '300', '--json'])).stdout)));
    expect([a.loss, a.top1Error]).to.deep.equal([b.loss, b.top1Error]);
    const resumeDir = join(dir, 'resume');
    mkdirSync(resumeDir);
    writeFileSync(join(resumeDir, 'last.safetensors'), readFileSync(out));
    const resumed = await runCli(['train', '--resume', '--out', resumeDir]);
    expect(resumed.code).to.equal(1);
    expect(resumed.stderr).to.match(/cannot be resumed from: it holds weights only, no momentum .*\[BAD_FILE\]/);
  });

  it('--onnx from a checkpoint: the logits of the checkpoint\'s model in onnxruntime-node', async function () {
    const ort = loadOrt();
    const out = join(dir, 'model.onnx');
    const r = await runCli(['export', checkpoint, '--onnx', out, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.onnx).to.deep.include({ file: out, opset: 17, bytes: statSync(out).size });
    expect(report.onnx.output).to.deep.equal({ name: 'logits', shape: ['N', 10] });
    if (typeof ort === 'string') {
      this.test!.title += ` — run part skipped: ${ort}`;
      this.skip();
    }
    const model = await loadModel(checkpoint);
    try {
      const x = randn(4 * 64 * 64, rng(3), 3);
      const ours = await forward(model, x, 4);
      const session = await ort.InferenceSession.create(readFileSync(out));
      const theirs = (await session.run({ input: new ort.Tensor('float32', x, [4, 1, 64, 64]) })).logits!.data as Float32Array;
      expect(maxDiff(theirs, ours)).to.be.at.most(1e-4 * maxAbs(ours));
    } finally {
      model.dispose();
    }
  });

  it('eval and predict of a PyTorch-style state dict (nn.Sequential names, no metadata) with --preset: the checkpoint\'s numbers', async () => {
    const ckpt = await readWeightsFile(checkpoint);
    const layers: Record<string, string> = { conv1: 'features.0', conv2: 'features.4', conv3: 'features.8', conv4: 'features.10', conv5: 'features.12', fc6: 'classifier.1', fc7: 'classifier.4', fc8: 'classifier.6' };
    const renamed: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(ckpt.weights)) {
      const [layer, kind] = name.split('.') as [string, string];
      renamed[`${layers[layer]}.${kind}`] = t;
    }
    const plain = join(dir, 'state_dict.safetensors');
    writeFileSync(plain, encodeSafetensors(renamed, { format: 'pt' }));
    // The reference: the checkpoint itself, told to prepare images without the mean (as --mean none does).
    const state = structuredClone(ckpt.state!);
    (state.training as { data: { mean: string } }).data.mean = 'none';
    const noMean = join(dir, 'no_mean.safetensors');
    writeFileSync(noMean, encodeSafetensors({ ...ckpt.weights, ...ckpt.extra }, { format: CHECKPOINT_FORMAT, 'alexnet.state': JSON.stringify(state) }));

    const evalArgs = ['--limit', '300', '--json'];
    const reference = JSON.parse((await runCli(['eval', noMean, ...evalArgs])).stdout);
    const r = await runCli(['eval', plain, '--preset', 'fashion-mnist-quick', '--mean', 'none', ...evalArgs]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('features.0 as conv1').and.include('classifier.6 as fc8');
    const got = JSON.parse(r.stdout);
    expect([got.loss, got.top1Error, got.top5Error]).to.deep.equal([reference.loss, reference.top1Error, reference.top5Error]);
    expect(got.stateDict.naming).to.equal('sequential');
    // In an ensemble led by one of our checkpoints, a state dict takes its architecture.
    const ensemble = await runCli(['eval', noMean, plain, ...evalArgs]);
    expect(ensemble.code, ensemble.stderr).to.equal(0);
    expect(JSON.parse(ensemble.stdout)).to.include({ models: 2, loss: reference.loss, top1Error: reference.top1Error });
    // The preset's own preparation: the mean image of the training split, computed.
    const withMean = await runCli(['eval', plain, ...evalArgs]);
    expect(withMean.code, withMean.stderr).to.equal(0);
    expect(withMean.stderr).to.include("computing the mean image of fashion-mnist's training split");

    const test = await fashionMnist({ split: 'test' });
    const images = await Promise.all([0, 1].map(async (i) => {
      const file = join(dir, `image${i}.png`);
      const img = await test.image(i, { size: 0 });
      writeFileSync(file, encodeImage(img.pixels, img.width, img.height, 1, { format: 'png' }));
      return file;
    }));
    const p1 = await runCli(['predict', '--checkpoint', noMean, ...images, '--json']);
    const p2 = await runCli(['predict', '--checkpoint', plain, '--mean', 'none', '--dataset', 'fashion-mnist', ...images, '--json']);
    expect(p2.code, p2.stderr).to.equal(0);
    expect(p2.stdout).to.equal(p1.stdout);
  });

  it('bad combinations are usage errors; an architecture that does not fit is BAD_FILE', async () => {
    const plain = join(dir, 'state_dict.safetensors');
    const cases: [string[], number, RegExp][] = [
      [['eval', checkpoint, '--preset', 'paper'], 2, /--preset is for plain state dicts; .* is an alexnet checkpoint/],
      [['predict', '--checkpoint', checkpoint, '--width', '1', 'x.png'], 2, /--width is for plain state dicts/],
      [['export', checkpoint], 2, /give --weights-only FILE, --onnx FILE, or both/],
      [['export', checkpoint, '--weights-only', join(dir, 'x.safetensors'), '--softmax'], 2, /--softmax applies to --onnx/],
      [['export', checkpoint, checkpoint, '--onnx', join(dir, 'x.onnx')], 2, /give one checkpoint/],
      [['export', plain, '--onnx', join(dir, 'x.onnx'), '--preset', 'paper'], 1, /'conv1\.weight' is \[24, 1, 11, 11\] in the file but \[96, 3, 11, 11\].*\[BAD_FILE\]/],
      [['eval', plain, '--mean', 'median'], 2, /--mean must be one of pixel, channel, none/],
      [['eval', plain, '--in-channels', '2'], 2, /--in-channels must be 1 or 3/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = await runCli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(code);
      expect(r.stderr, args.join(' ')).to.match(pattern);
    }
    expect(existsSync(join(dir, 'x.onnx'))).to.equal(false);
  });
});
