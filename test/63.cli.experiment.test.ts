// `alexnet experiment`: the quick form runs end to end and writes its results and figure; bad
// flags are refused with the flag named before any data is read. The conclusions are not tested
// here (a few iterations on random pixels decide nothing); docs/EXPERIMENTS.md reports them.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { iterationsToReach, summarise } from '../lib/experiments/index.js';
import { refusesEach, runCli } from './helpers/cli.js';
import { fakeCifar } from './helpers/fake_cifar.js';

describe('alexnet experiment', function () {
  this.timeout(180_000);

  it('--help lists the experiments and the options', async () => {
    const r = await runCli(['experiment', '--help']);
    expect(r.code).to.equal(0);
    for (const name of ['relu-vs-tanh', 'two-columns', 'lrn', 'overlapping-pool', 'pca-colour', 'dropout', 'ten-crop']) expect(r.stdout).to.contain(name);
    for (const flag of ['--seeds', '--out', '--data-dir', '--dataset', '--limit', '--epochs', '--json', '--quick', '--test-limit', '--lr', '--devices']) expect(r.stdout).to.contain(flag);
    expect((await runCli(['--help'])).stdout).to.match(/experiment\s+re-measures/);
  });

  it('relu-vs-tanh --quick trains both activations and writes results.json and figure.png', async () => {
    const data = fakeCifar(60);
    const out = join(mkdtempSync(join(tmpdir(), 'alexnet-experiment-out-')), 'fig1');
    const r = await runCli(['experiment', 'relu-vs-tanh', '--quick', '--dataset', 'cifar10', '--data-dir', data, '--limit', '128', '--out', out, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const printed = JSON.parse(r.stdout);
    const saved = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(saved.experiment).to.equal('relu-vs-tanh');
    expect(saved.data).to.deep.equal(printed.data);
    expect(saved.data).to.deep.include({ images: 128, shape: [3, 32, 32], classes: 10 });
    expect(saved.settings).to.deep.include({ seeds: 1, epochs: 1, batchSize: 32, threshold: 0.25, iterationsPerEpoch: 4, rates: [0.01, 0.03] });
    for (const a of ['relu', 'tanh']) {
      const x = saved.activations[a];
      expect(x.sweep.map((s: { lr: number }) => s.lr)).to.deep.equal([0.01, 0.03]);
      expect([0.01, 0.03]).to.include(x.bestLr);
      expect(x.runs).to.have.length(1);
      const run = x.runs[0];
      if (!run.diverged) expect(run.curve).to.have.length(4);
      for (const [it, err] of run.curve) {
        expect(it).to.be.within(1, 4);
        expect(err).to.be.within(0, 1);
      }
    }
    expect(saved.ratio.perSeed).to.have.length(1);
    const png = PNG.sync.read(readFileSync(join(out, 'figure.png')));
    expect(png.width).to.be.above(400);
  });

  // The ablations, each in its quick form on random CIFAR-10-like images (three channels, so PCA
  // colour noise has colours to work on): they run, and write what they promise.
  const ABLATION_NAMES = ['two-columns', 'lrn', 'overlapping-pool', 'pca-colour', 'dropout', 'ten-crop'];
  let ablationData: string | undefined;
  for (const name of ABLATION_NAMES) {
    it(`${name} --quick trains its variants and writes results.json and figure.png`, async () => {
      ablationData ??= fakeCifar(40);
      const out = join(mkdtempSync(join(tmpdir(), 'alexnet-experiment-out-')), name);
      const r = await runCli(['experiment', name, '--quick', '--dataset', 'cifar10', '--data-dir', ablationData, '--out', out, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const printed = JSON.parse(r.stdout);
      const saved = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      expect(saved.experiment).to.equal(name);
      expect(saved.command).to.contain(`experiment ${name} --quick`);
      expect(saved.rows).to.deep.equal(printed.rows);
      expect(saved.data).to.deep.include({ trainImages: 96, testImages: 40, classes: 10 });
      expect(saved.settings).to.deep.include({ seeds: 1, epochs: 1, batchSize: 32, iterationsPerEpoch: 3, crop: 64, size: 72 });
      expect(saved.variants).to.have.length(name === 'ten-crop' ? 1 : 2);
      expect(saved.rows).to.have.length(2);
      for (const v of saved.variants) {
        expect(v.parameters).to.be.above(0);
        expect(v.runs).to.have.length(1);
        const run = v.runs[0];
        expect(run.curve.length).to.be.within(1, 3);
        expect(run.test).to.have.length(1);
        for (const e of saved.settings.evaluations) expect(run.final.test[e]).to.be.within(0, 1);
        expect(run.final.train).to.be.within(0, 1);
      }
      for (const row of saved.rows) {
        expect(row.testError.n).to.equal(1);
        expect(row.gap.mean).to.be.closeTo(row.testError.mean - row.trainError.mean, 1e-5);  // summaries keep 6 digits
      }
      if (name === 'ten-crop') expect(saved.rows.map((row: { evaluation: string }) => row.evaluation)).to.deep.equal(['ten-crop', 'centre']);
      if (name === 'two-columns') {
        const [two, one] = saved.variants;
        expect(one.parameters / two.parameters).to.be.within(0.85, 1.0);
      }
      const png = PNG.sync.read(readFileSync(join(out, 'figure.png')));
      expect(png.width).to.be.above(1000);
    });
  }

  refusesEach('experiment', [
    [[], /give one experiment name/],
    [['lrn', '--rates', '0.1'], /--rates is not an option of lrn/],
    [['dropout', '--threshold', '20'], /--threshold is not an option of dropout/],
    [['relu-vs-tanh', '--lr', '0.1'], /--lr is not an option of relu-vs-tanh/],
    [['two-columns', '--devices', 'cpu:0'], /--devices must be two device names/],
    [['two-columns', '--devices', 'cpu:0,tpu'], /--devices must be two device names/],
    [['lrn', '--lr', '0'], /--lr must be a positive number/],
    [['lrn', '--test-limit', '0'], /--test-limit must be an integer/],
    [['nonesuch'], /unknown experiment "nonesuch".*relu-vs-tanh/],
    [['relu-vs-tanh', '--seeds', '0'], /--seeds must be an integer/],
    [['relu-vs-tanh', '--epochs', '1.5'], /--epochs must be an integer/],
    [['relu-vs-tanh', '--limit', '-3'], /--limit must be an integer/],
    [['relu-vs-tanh', '--rates', '0.1,,0.2'], /--rates must be/],
    [['relu-vs-tanh', '--rates', '-1'], /--rates must be/],
    [['relu-vs-tanh', '--threshold', '100'], /--threshold must be a percentage/],
    [['relu-vs-tanh', '--dataset', 'imagenet'], /--dataset must be one of fashion-mnist, cifar10/],
    [['relu-vs-tanh', '--device', 'tpu'], /--device must be cpu or cuda/],
    [['relu-vs-tanh', '--bogus'], /Unknown option '--bogus'/],
  ] as [string[], RegExp][], 'never');

  it('a --data-dir without the data set is an error naming the file, and nothing is written', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'alexnet-experiment-empty-'));
    const out = join(empty, 'out');
    const r = await runCli(['experiment', 'relu-vs-tanh', '--dataset', 'cifar10', '--data-dir', empty, '--out', out]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(empty);
    expect(existsSync(out)).to.equal(false);
  });

  it('the threshold crossing is the first curve point at or below it; summaries over seeds', () => {
    const curve = { points: [[10, 0.5], [20, 0.3], [30, 0.2], [40, 0.25]] as [number, number][], iterations: 40, diverged: false, seconds: 0 };
    expect(iterationsToReach(curve, 0.25)).to.equal(30);
    expect(iterationsToReach(curve, 0.3)).to.equal(20);
    expect(iterationsToReach(curve, 0.1)).to.equal(null);
    expect(summarise([])).to.equal(null);
    expect(summarise([2, 4, 6])).to.deep.equal({ n: 3, mean: 4, sd: 2, min: 2, max: 6 });
  });
});
