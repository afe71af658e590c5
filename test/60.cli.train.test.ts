// The command line end to end on Fashion-MNIST (Debian's dataset-fashion-mnist): a short CI
// training run that must beat 70% test accuracy, SIGINT → checkpoint + exit 130 → exact resume,
// eval (ten-crop, ensembles), predict on image files, plot.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { encodeImage, fashionMnist, FASHION_MNIST_DIR } from '../lib/data/index.js';
import { loadCheckpoint } from '../lib/io/index.js';
import { runCli, startCli, waitFor } from './helpers/cli.js';

const haveData = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

describe('alexnet train / eval / predict / plot on Fashion-MNIST', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-cli-'));
  const run = join(dir, 'ci');

  before(function () {
    // The data set is a Debian package (apt-get install dataset-fashion-mnist); CI installs it.
    if (!haveData) this.skip();
  });

  it('CI run: 12000 training images, 3 epochs of the quick preset beat 70% test accuracy', async () => {
    const r = await runCli(['train', '--limit', '12000', '--epochs', '3', '--out', run, '--progress', 'plain', '--seed', '1']);
    expect(r.code, r.stderr).to.equal(0);
    const m = /test accuracy (\d+\.\d+)%/.exec(r.stdout);
    expect(m, r.stdout).to.not.equal(null);
    expect(Number(m![1])).to.be.above(70);
    for (const f of ['last.safetensors', 'best.safetensors', 'last.json', 'metrics.jsonl']) expect(existsSync(join(run, f)), f).to.equal(true);
    const ckpt = await loadCheckpoint(join(run, 'last.safetensors'));
    expect(ckpt.state).to.include({ epoch: 3, batch: 0 });
    expect(Object.keys(ckpt.extra)).to.include('data.mean_image');
  });

  it('eval reports the same accuracy; an ensemble of the run with itself too; ten-crop works', async () => {
    const last = join(run, 'last.safetensors');
    const one = JSON.parse((await runCli(['eval', last, '--json'])).stdout);
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const final = metrics.filter((l) => l.type === 'epoch').at(-1);
    expect(one.top1Error).to.be.closeTo(final.top1Error, 1e-9);
    expect(one.images).to.equal(10000);
    const two = JSON.parse((await runCli(['eval', last, last, '--json', '--limit', '2000'])).stdout);
    expect(two.models).to.equal(2);
    const ten = await runCli(['eval', run, '--ten-crop', '--limit', '500']);
    expect(ten.code, ten.stderr).to.equal(0);
    expect(ten.stdout).to.match(/top-1 error .* on 500 images, ten crops/);
    // Crops and the mean applied on the device (--augment-on; the CPU's default is the host): the same numbers.
    const args = ['eval', last, '--json', '--ten-crop', '--limit', '500'];
    const [host, device] = [JSON.parse((await runCli(args)).stdout), JSON.parse((await runCli([...args, '--augment-on', 'device'])).stdout)];
    expect([host.augmentOn, device.augmentOn]).to.deep.equal(['host', 'device']);
    expect(device.loss).to.equal(host.loss);
    expect(device.top1Error).to.equal(host.top1Error);
  });

  it('--devices with the same device twice trains the two columns on two streams of it; one device evaluates the result', async () => {
    const cols = join(dir, 'columns');
    const r = await runCli(['train', '--devices', 'cpu:0,cpu:0', '--limit', '1024', '--epochs', '1', '--out', cols, '--progress', 'plain']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/two columns on cpu:0 \+ cpu:0\/1/);
    const m = /test accuracy (\d+\.\d+)%/.exec(r.stdout);
    const e = await runCli(['eval', join(cols, 'last.safetensors'), '--json']);
    expect(e.code, e.stderr).to.equal(0);
    expect(100 * (1 - JSON.parse(e.stdout).top1Error)).to.be.closeTo(Number(m![1]), 0.006);
  });

  it('predict gives the top-5 classes of image files with probabilities', async () => {
    const test = await fashionMnist({ split: 'test' });
    const files: string[] = [];
    for (const i of [0, 1, 2]) {
      const img = await test.image(i, { size: 0 });
      const file = join(dir, `test${i}.png`);
      writeFileSync(file, encodeImage(img.pixels, img.width, img.height, 1, { format: 'png' }));
      files.push(file);
    }
    const r = await runCli(['predict', '--checkpoint', run, ...files, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => x.file)).to.deep.equal(files);
    for (const row of rows) {
      expect(row.top).to.have.length(5);
      const ps = row.top.map((t: { probability: number }) => t.probability);
      expect(ps).to.deep.equal([...ps].sort((a, b) => b - a));
      expect(ps.reduce((a: number, b: number) => a + b, 0)).to.be.within(0, 1.0001);
    }
    // Most test images of a 70%+ model are classified right; the first three are easy ones.
    const right = rows.filter((row, i) => row.top[0].class === test.labels[i]).length;
    expect(right).to.be.at.least(2);
    expect(rows[0].top[0].name).to.equal(test.classNames[rows[0].top[0].class]);
    const text = await runCli(['predict', '-c', run, files[0]!]);
    expect(text.stdout).to.match(/test0\.png\n( +\d+\.\d\d% .+ \(\d\)\n){5}/);
    // The crop and the mean applied on the device: the same probabilities.
    const onDevice = await runCli(['predict', '--checkpoint', run, ...files, '--json', '--augment-on', 'device']);
    expect(onDevice.stdout).to.equal(r.stdout);
  });

  it('plot draws the curves as a PNG', async () => {
    const out = join(dir, 'curves.png');
    const r = await runCli(['plot', run, '--out', out, '--width', '900', '--height', '400']);
    expect(r.code, r.stderr).to.equal(0);
    const png = PNG.sync.read(readFileSync(out));
    expect([png.width, png.height]).to.deep.equal([900, 400]);
    let coloured = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] !== png.data[i + 1] || png.data[i + 1] !== png.data[i + 2]) coloured++;
    expect(coloured, 'curve pixels').to.be.above(500);
  });

  it('SIGINT saves a checkpoint and exits 130; --resume finishes the run', async () => {
    const out = join(dir, 'interrupted');
    const p = startCli(['train', '--limit', '4096', '--epochs', '1', '--out', out, '--progress', 'plain', '--seed', '2']);
    await waitFor(() => /epoch 1\/1 batch [1-9]/.test(p.stderr()), 120_000);
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code, r.stderr).to.equal(130);
    expect(r.stderr).to.match(/interrupted: saving a checkpoint/);
    const ckpt = await loadCheckpoint(join(out, 'last.safetensors'));
    expect(ckpt.state.epoch).to.equal(0);
    expect(ckpt.state.batch).to.be.above(0);
    const resumed = await runCli(['train', '--resume', '--out', out, '--progress', 'none']);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stdout).to.match(/test accuracy/);
    expect((await loadCheckpoint(join(out, 'last.safetensors'))).state).to.include({ epoch: 1, batch: 0, step: 32 });
  });

  it('a data directory without Fashion-MNIST gives an error naming the file (exit 1)', async () => {
    const r = await runCli(['train', '--data-dir', join(dir, 'nothing-here')]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/nothing-here\/train-images-idx3-ubyte\.gz: no such file/);
  });
});
