// `alexnet filters`: the paper's Figure 3 — conv1 kernels by column, with a colour statistic.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { ArrayLoader, Trainer, alexnet } from '../lib/index.js';
import { renderFilters } from '../lib/cli/filters.js';
import { runCli } from './helpers/cli.js';
import { randn, rng } from './helpers/random.js';

describe('alexnet filters', () => {
  it('measures colour per column: grey kernels have chroma 0, coloured ones do not', () => {
    const [o, c, k] = [4, 3, 5];
    const w = new Float32Array(o * c * k * k);
    const r = rng(1);
    for (let i = 0; i < o; i++)
      for (let p = 0; p < k * k; p++) {
        const v = r();
        for (let ch = 0; ch < c; ch++) w[(i * c + ch) * k * k + p] = i < 2 ? v : r(); // column 0 grey, column 1 colour
      }
    const { png, stats } = renderFilters(w, [o, c, k, k], 3, 2);
    expect(stats.columns).to.have.length(2);
    expect(stats.columns[0]!.meanChroma).to.equal(0);
    expect(stats.columns[1]!.meanChroma).to.be.above(0.2);
    const image = PNG.sync.read(png);
    expect(image.width).to.equal(2 * (k * 3 + 2) + 2);
    // The first kernel's first pixel is grey: R = G = B.
    const at = ((14 + 0) * image.width + 2) * 4;
    expect(image.data[at]).to.equal(image.data[at + 1]).and.to.equal(image.data[at + 2]);
  });

  it('writes the PNG of a trained checkpoint and prints both columns; bad input exits non-zero', async () => {
    const out = mkdtempSync(join(tmpdir(), 'alexnet-filters-'));
    const model = alexnet({ numClasses: 3, inChannels: 3, inputSize: 67, width: 0.125, init: 'he', seed: 1 });
    const images = randn(12 * 3 * 67 * 67, rng(2));
    const train = new ArrayLoader({ images, labels: Int32Array.from({ length: 12 }, (_, i) => i % 3), imageShape: [3, 67, 67], batchSize: 4 });
    const { device: _d, ...modelConfig } = model.config;
    await new Trainer({ model, train, epochs: 1, outDir: out, progress: 'none', modelConfig }).fit();
    const r = await runCli(['filters', out, '--out', join(out, 'f.png')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/column 0: 6 kernels 11x11x3, mean chroma 0\.\d+/);
    expect(r.stdout).to.match(/column 1: 6 kernels 11x11x3, mean chroma 0\.\d+/);
    expect(existsSync(join(out, 'f.png'))).to.equal(true);
    expect(PNG.sync.read(readFileSync(join(out, 'f.png'))).width).to.be.above(40);
    const missing = await runCli(['filters', join(out, 'nope.safetensors')]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/nope\.safetensors does not exist/);
    expect((await runCli(['filters'])).code).to.equal(2);
  });
});
