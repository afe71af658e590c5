// The plot command's pieces: round tick values, the bitmap font, curves from a metrics file.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { Canvas } from '../lib/cli/canvas.js';
import { ticks } from '../lib/cli/chart.js';
import { glyph, textWidth } from '../lib/cli/font.js';
import { renderCurves } from '../lib/cli/plot.js';
import { runCli } from './helpers/cli.js';

describe('alexnet plot', () => {
  it('ticks are round numbers 1, 2 or 5 × 10^k apart covering the range', () => {
    expect(ticks(0, 1)).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(0.13, 0.91)).to.deep.equal([0.2, 0.4, 0.6, 0.8]);
    expect(ticks(1, 8, 6)).to.deep.equal([2, 4, 6, 8]);
    expect(ticks(0, 2300)).to.deep.equal([0, 500, 1000, 1500, 2000]);
    expect(ticks(3, 3)).to.deep.equal([3]);
  });

  it('the font has every digit and the labels’ letters; text is drawn pixel by pixel', () => {
    for (const ch of '0123456789.-%losstraintesterrorepochtop') expect(glyph(ch).some((r) => r !== 0), ch).to.equal(true);
    expect(textWidth('10%', 2)).to.equal((3 * 6 - 1) * 2);
    const c = new Canvas(20, 10);
    c.text(1, 1, '1', [0, 0, 0]);
    const png = PNG.sync.read(c.toPng());
    // '1' has its vertical stroke in column 2 of the glyph: pixel (3, 3) is ink, (1, 3) paper.
    expect(png.data[(3 * 20 + 3) * 4]).to.equal(0);
    expect(png.data[(3 * 20 + 1) * 4]).to.equal(255);
  });

  it('renders the curves of a metrics file; a run without epochs still gives a picture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-plot-'));
    const file = join(dir, 'metrics.jsonl');
    const lines = [{ type: 'start', time: 't' }];
    for (let e = 0; e < 4; e++) {
      for (let s = 1; s <= 5; s++) lines.push({ type: 'step', time: 't', step: e * 10 + 2 * s, loss: 2 / (1 + e + s / 5) } as never);
      lines.push({ type: 'epoch', time: 't', epoch: e, step: (e + 1) * 10, trainLoss: 1 / (e + 1), valLoss: 1.2 / (e + 1), top1Error: 0.5 / (e + 1), top5Error: 0.1 / (e + 1) } as never);
    }
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"type":"ste'); // a torn last line is ignored
    const png = PNG.sync.read(renderCurves(file, 800, 400));
    expect([png.width, png.height]).to.deep.equal([800, 400]);
    const red = (x0: number, x1: number) => {
      let n = 0;
      for (let y = 0; y < 400; y++) for (let x = x0; x < x1; x++) {
        const i = (y * 800 + x) * 4;
        if (png.data[i]! > 150 && png.data[i + 1]! < 80 && png.data[i + 2]! < 80) n++;
      }
      return n;
    };
    expect(red(400, 800), 'the top-1 error curve is in the right panel').to.be.above(100);
    writeFileSync(join(dir, 'empty.jsonl'), '');
    expect(PNG.sync.read(renderCurves(join(dir, 'empty.jsonl'), 400, 200)).width).to.equal(400);
    const r = await runCli(['plot', dir]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(join(dir, 'curves.png'));
    expect(readFileSync(join(dir, 'curves.png')).subarray(1, 4).toString()).to.equal('PNG');
  });

  it('a missing run gives an error naming it (exit 1)', async () => {
    const r = await runCli(['plot', '/no/such/run']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/\/no\/such\/run: no such file/);
  });
});
