// `alexnet neighbours` (the paper's Figure 4, right): a checkpoint trained for a few steps on
// random images finds, for test images of different classes, their nearest training images in fc7
// space and draws them as one grid; the search itself is checked on vectors whose answer is known.
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { nearest } from '../lib/cli/neighbours.js';
import { refusesEach, runCli } from './helpers/cli.js';
import { fakeCifar } from './helpers/fake_cifar.js';

describe('alexnet neighbours', function () {
  this.timeout(180_000);

  it('nearest: the k closest rows by Euclidean distance, nearest first, ties by index', () => {
    const base = Float32Array.from([0, 0, 3, 4, 1, 0, 0, 1, 10, 10]);
    const query = Float32Array.from([9, 9, 0, 0]);
    expect(nearest(query, 0, base, 2, 2)).to.deep.equal([{ index: 4, distance: Math.SQRT2 }, { index: 1, distance: Math.sqrt(61) }]);
    expect(nearest(query, 1, base, 2, 3).map((n) => n.index)).to.deep.equal([0, 2, 3]);
    expect(nearest(query, 1, base, 2, 9)).to.have.length(5);
  });

  it('draws the grid of a trained checkpoint: one row per test image, its neighbours beside it', async () => {
    const data = fakeCifar(30, 777);
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-neighbours-'));
    const run = join(dir, 'run');
    const t = await runCli(['train', '--dataset', 'cifar10', '--data-dir', data, '--limit', '64', '--epochs', '1', '--batch-size', '32',
      '--out', run, '--progress', 'none', '--device', 'cpu']);
    expect(t.code, t.stderr).to.equal(0);
    const out = join(dir, 'grid.png');
    const r = await runCli(['neighbours', run, '--data-dir', data, '--queries', '3', '--neighbours', '4', '--limit', '50', '--out', out, '--json', '--device', 'cpu']);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout);
    expect(result).to.deep.include({ layer: 'fc7', width: 1024, searched: 50 });
    expect(result.queries.map((q: { label: number }) => q.label)).to.deep.equal([0, 1, 2]);  // one per class
    for (const q of result.queries) {
      expect(q.neighbours).to.have.length(4);
      const d = q.neighbours.map((n: { distance: number }) => n.distance);
      expect(d).to.deep.equal([...d].sort((a: number, b: number) => a - b));
      for (const n of q.neighbours) expect(n.index).to.be.within(0, 49);
    }
    const png = PNG.sync.read(readFileSync(out));
    expect(png.height).to.be.above(3 * 84);
    expect(png.width).to.be.above(5 * 84);
  });

  refusesEach('neighbours', [
    [[], /give one checkpoint/],
    [['x', '--layer', 'conv5'], /--layer must be one of fc7, fc6/],
    [['x', '--queries', '0'], /--queries must be an integer from 1 to 50/],
    [['x', '--neighbours', '21'], /--neighbours must be an integer from 1 to 20/],
  ] as [string[], RegExp][], 'never.png');

  it('a missing checkpoint is an error naming it', async () => {
    const r = await runCli(['neighbours', '/nonexistent/run.safetensors']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('/nonexistent/run.safetensors');
  });
});
