// Preprocessing geometry on images whose pixels encode their own coordinates: resizing, random
// crops and flips, centre crop, ten-crop layout, mean subtraction and pixel scaling.
import { expect } from 'chai';

import { arrayDataset, computeStats, createLoader, type Batch, type DataLoader } from '../lib/data/index.js';

const S = 16;

// Image n: R = 16 y + x, G = 255 - R, B = n (so every pixel says where it came from).
function coordinateImages(count: number): Uint8Array {
  const px = new Uint8Array(count * S * S * 3);
  for (let n = 0; n < count; n++)
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const o = ((n * S + y) * S + x) * 3;
        px[o] = 16 * y + x;
        px[o + 1] = 255 - (16 * y + x);
        px[o + 2] = n;
      }
  return px;
}

const labels = (count: number) => Int32Array.from({ length: count }, (_, i) => i % 4);
const coordinates = (count = 12) => arrayDataset(coordinateImages(count), labels(count), [count, S, S, 3]);

async function collect(loader: DataLoader, epoch = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}

// Channel c, row y, column x of image row `row` of a [N, C, H, W] batch.
function at(b: Batch, row: number, c: number, y: number, x: number): number {
  const [, C, H, W] = b.shape;
  return b.images[((row * C + c) * H + y) * W + x];
}

describe('data: preprocessing geometry', () => {
  it('random crops and flips take the window and mirror the draws say, and vary', async () => {
    const ds = coordinates(40);
    const loader = await createLoader(ds, { batchSize: 8, seed: 7, workers: 2, crop: 10, mean: 'none', pca: false });
    const batches = await collect(loader, 3);
    const ys = new Set<number>(), xs = new Set<number>(), flips = new Set<boolean>();
    batches.forEach((b, bi) => {
      expect(b.shape).to.deep.equal([8, 3, 10, 10]);
      for (let row = 0; row < 8; row++) {
        const d = loader.augmentation(3, bi * 8 + row);
        ys.add(d.cropY); xs.add(d.cropX); flips.add(d.flip);
        expect(d.cropY).to.be.within(0, S - 10);
        expect(d.cropX).to.be.within(0, S - 10);
        for (let y = 0; y < 10; y++)
          for (let x = 0; x < 10; x++) {
            const sx = d.flip ? d.cropX + 9 - x : d.cropX + x;
            expect(at(b, row, 0, y, x)).to.equal(16 * (d.cropY + y) + sx);
            expect(at(b, row, 1, y, x)).to.equal(255 - (16 * (d.cropY + y) + sx));
            expect(at(b, row, 2, y, x)).to.equal(b.indices[row]);
          }
        // Independently of the draws: a window is contiguous, mirrored or not.
        const step = at(b, row, 0, 0, 1) - at(b, row, 0, 0, 0);
        expect(Math.abs(step)).to.equal(1);
        expect(at(b, row, 0, 1, 0) - at(b, row, 0, 0, 0)).to.equal(16);
      }
    });
    expect(ys.size).to.be.greaterThan(3);
    expect(xs.size).to.be.greaterThan(3);
    expect([...flips].sort()).to.deep.equal([false, true]);
    await loader.close();
  });

  it('evaluation takes the centre crop, unflipped, in dataset order', async () => {
    const ds = coordinates(5);
    const loader = await createLoader(ds, { batchSize: 5, train: false, crop: 10, mean: 'none' });
    const [b] = await collect(loader);
    expect(Array.from(b.indices)).to.deep.equal([0, 1, 2, 3, 4]);
    for (let row = 0; row < 5; row++)
      for (let y = 0; y < 10; y++)
        for (let x = 0; x < 10; x++) expect(at(b, row, 0, y, x)).to.equal(16 * (3 + y) + 3 + x);
    await loader.close();
  });

  it('ten-crop: corners, centre, then the same five flipped, ten rows per image', async () => {
    const ds = coordinates(3);
    const loader = await createLoader(ds, { batchSize: 2, train: false, tenCrop: true, crop: [10, 8], mean: 'none' });
    expect(loader.crops).to.equal(10);
    const batches = await collect(loader);
    expect(batches.map((b) => b.shape)).to.deep.equal([[20, 3, 10, 8], [10, 3, 10, 8]]);
    expect(batches.map((b) => b.crops)).to.deep.equal([10, 10]);
    expect(Array.from(batches[0].labels)).to.deep.equal([0, 1]);
    const corners: [number, number][] = [[0, 0], [0, 8], [6, 0], [6, 8], [3, 4]];
    for (const b of batches)
      for (let image = 0; image < b.labels.length; image++)
        for (let k = 0; k < 10; k++) {
          const [y0, x0] = corners[k % 5];
          const flip = k >= 5;
          for (let y = 0; y < 10; y++)
            for (let x = 0; x < 8; x++) {
              const sx = flip ? x0 + 7 - x : x0 + x;
              expect(at(b, image * 10 + k, 0, y, x), `crop ${k} (${y}, ${x})`).to.equal(16 * (y0 + y) + sx);
              expect(at(b, image * 10 + k, 2, y, x)).to.equal(b.indices[image]);
            }
        }
    await loader.close();
  });

  it('subtracts the mean image at the source pixel, or the channel mean, after scaling', async () => {
    const count = 6;
    const px = new Uint8Array(count * 8 * 8 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 5) * 11) % 256;
    const ds = arrayDataset(px, labels(count), [count, 8, 8, 3]);
    const stats = await computeStats(ds);
    // The mean image by hand, [C, H, W].
    const mean = new Float64Array(3 * 64);
    for (let n = 0; n < count; n++)
      for (let q = 0; q < 64; q++) for (let c = 0; c < 3; c++) mean[c * 64 + q] += px[(n * 64 + q) * 3 + c] / count;
    stats.meanImage.forEach((v, i) => expect(v).to.be.closeTo(mean[i], 1e-9));
    const chMean = [0, 1, 2].map((c) => mean.slice(c * 64, c * 64 + 64).reduce((a, b) => a + b) / 64);
    stats.channelMean.forEach((v, c) => expect(v).to.be.closeTo(chMean[c], 1e-9));

    const scale = 1 / 255;
    for (const mode of ['pixel', 'channel'] as const) {
      const loader = await createLoader(ds, { batchSize: count, train: false, crop: 6, mean: mode, stats, pixelScale: scale });
      const [b] = await collect(loader);
      for (let row = 0; row < count; row++)
        for (let c = 0; c < 3; c++)
          for (let y = 0; y < 6; y++)
            for (let x = 0; x < 6; x++) {
              const sy = y + 1, sx = x + 1;
              const pixel = px[((row * 8 + sy) * 8 + sx) * 3 + c];
              const m = mode === 'pixel' ? mean[c * 64 + sy * 8 + sx] : chMean[c];
              expect(at(b, row, c, y, x)).to.be.closeTo(Math.fround(pixel * scale) - m * scale, 1e-6);
            }
      await loader.close();
    }
  });

  it('resizes the shorter side and keeps the centre square, preserving ramps and constants', async () => {
    // 20 x 40 image: R is a horizontal ramp 6x, G is constant 77, B a vertical ramp 10y.
    const h = 20, w = 40;
    const px = new Uint8Array(h * w * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) px.set([6 * x, 77, 10 * y], (y * w + x) * 3);
    const ds = arrayDataset(px, new Int32Array([0]), [1, h, w, 3]);
    const img = await ds.image(0, { size: 10 });
    expect([img.height, img.width, img.channels]).to.deep.equal([10, 10, 3]);
    // Halving: output column o of the full 20-wide resize sits at source x = 2o + 0.5, and the
    // centre crop starts at o = 5. The triangle filter reproduces a ramp away from the edges.
    for (let y = 1; y < 9; y++)
      for (let x = 0; x < 10; x++) {
        const p = (y * 10 + x) * 3;
        expect(img.pixels[p]).to.be.closeTo(6 * (2 * (x + 5) + 0.5), 0.51);
        expect(img.pixels[p + 1]).to.equal(77);
        expect(img.pixels[p + 2]).to.be.closeTo(10 * (2 * y + 0.5), 0.51);
      }
    // Enlarging (bilinear) a constant image stays constant; grey is repeated into RGB.
    const grey = arrayDataset(new Uint8Array(5 * 7).fill(123), new Int32Array([0]), [1, 5, 7, 1]);
    const big = await grey.image(0, { size: 32, channels: 3 });
    expect([big.height, big.width, big.channels]).to.deep.equal([32, 32, 3]);
    expect(big.pixels.every((v) => v === 123)).to.equal(true);
  });

  it('a loader resizes grey images and repeats them into three channels', async () => {
    const grey = arrayDataset(Uint8Array.from({ length: 4 * 14 * 14 }, (_, i) => i % 251), labels(4), [4, 14, 14, 1]);
    const loader = await createLoader(grey, { batchSize: 4, train: false, size: 28, crop: 24, channels: 3, mean: 'none' });
    const [b] = await collect(loader);
    expect(b.shape).to.deep.equal([4, 3, 24, 24]);
    const plane = 24 * 24;
    for (let row = 0; row < 4; row++)
      for (let q = 0; q < plane; q++) {
        const r = b.images[(row * 3) * plane + q];
        expect(b.images[(row * 3 + 1) * plane + q]).to.equal(r);
        expect(b.images[(row * 3 + 2) * plane + q]).to.equal(r);
      }
    await loader.close();
  });
});
