// Image folders (JPEG and PNG, class folders or a label file), the packed cache, and every kind
// of bad input: each becomes an AlexNetError naming the file, or is skipped and counted.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import {
  arrayDataset, cacheDataset, cifar10, computeStats, createLoader, encodeImage, fashionMnist, imageFiles, imageFolder, loadStats, openCache,
  type Batch, type DataLoader,
} from '../lib/data/index.js';
import { rejection } from './helpers/rejection.js';

// A smooth colour image (JPEG keeps it within a few levels), distinct per seed.
function picture(w: number, h: number, seed: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const r = 128 + 100 * Math.sin(x / 7 + seed), g = 128 + 100 * Math.cos(y / 5 + seed);
      px.set([r, g, (r + g) / 2], (y * w + x) * 3);
    }
  return px;
}

async function collect(loader: DataLoader, epoch = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}


describe('data: image folders, cache and bad input', function () {
  let root: string;
  before(() => { root = mkdtempSync(join(tmpdir(), 'alexnet-data-')); });
  after(() => rmSync(root, { recursive: true, force: true }));

  // <dir>/<class>/<name>: `count` images per class, alternately JPEG and PNG.
  function makeFolder(dir: string, classes: string[], count: number, w = 40, h = 30): void {
    classes.forEach((c, ci) => {
      mkdirSync(join(dir, c), { recursive: true });
      for (let i = 0; i < count; i++) {
        const px = picture(w, h, ci * 10 + i);
        const png = i % 2 === 1;
        writeFileSync(join(dir, c, `img${i}.${png ? 'png' : 'JPG'}`), encodeImage(px, w, h, 3, { format: png ? 'png' : 'jpeg', quality: 95 }));
      }
    });
  }

  it('lists sorted class folders, decodes PNG exactly and JPEG closely', async () => {
    const dir = join(root, 'folder');
    makeFolder(dir, ['zebra', 'apple'], 3);
    writeFileSync(join(dir, 'apple', 'notes.txt'), 'not an image');
    const ds = await imageFolder(dir);
    expect(ds.classNames).to.deep.equal(['apple', 'zebra']);
    expect(ds.size).to.equal(6);
    expect(Array.from(ds.labels)).to.deep.equal([0, 0, 0, 1, 1, 1]);
    expect(ds.paths![1]).to.match(/apple\/img1\.png$/);
    const png = await ds.image(1, { size: 0 });  // apple/img1.png, written with seed 10 + 1
    expect([png.width, png.height, png.channels]).to.deep.equal([40, 30, 3]);
    expect(Buffer.from(png.pixels).equals(Buffer.from(picture(40, 30, 11)))).to.equal(true);
    const jpeg = await ds.image(0, { size: 0 });
    const want = picture(40, 30, 10);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(jpeg.pixels[i] - want[i]));
    expect(worst).to.be.below(12);
    const grey = await ds.image(1, { size: 0, channels: 1 });
    expect(grey.channels).to.equal(1);
    expect(grey.pixels).to.have.length(40 * 30);
  });

  it('a landscape JPEG decoded only where the resize reads equals the full decode resized', async () => {
    const dir = join(root, 'window');
    mkdirSync(join(dir, 'c'), { recursive: true });
    writeFileSync(join(dir, 'c', 'wide.jpg'), encodeImage(picture(160, 48, 3), 160, 48, 3, { quality: 95 }));
    const ds = await imageFolder(dir);
    const full = await ds.image(0, { size: 0 });
    const resizedFull = await arrayDataset(full.pixels, new Int32Array(1), [1, 48, 160, 3]).image(0, { size: 32 });
    const windowed = await ds.image(0, { size: 32 });
    let worst = 0;
    for (let i = 0; i < windowed.pixels.length; i++) worst = Math.max(worst, Math.abs(windowed.pixels[i] - resizedFull.pixels[i]));
    // Only chroma upsampling at the window's edge may differ.
    expect(worst).to.be.at.most(4);
  });

  it('a loader over a folder: shapes, labels, determinism across workers', async () => {
    const dir = join(root, 'folder2');
    makeFolder(dir, ['a', 'b', 'c'], 6, 50, 37);
    const ds = await imageFolder(dir);
    const runs: Batch[][] = [];
    for (const workers of [1, 2]) {
      const loader = await createLoader(ds, { batchSize: 4, seed: 3, workers, size: 32, crop: 28 });
      runs.push(await collect(loader));
      expect(loader.stats().images).to.equal(16);
      await loader.close();
    }
    expect(runs[0]).to.have.length(4);
    runs[0].forEach((b, i) => {
      expect(b.shape).to.deep.equal([4, 3, 28, 28]);
      expect(Buffer.from(b.images.buffer).equals(Buffer.from(runs[1][i].images.buffer))).to.equal(true);
      b.indices.forEach((index, k) => expect(b.labels[k]).to.equal(ds.labels[index]));
    });
  });

  it('a flat folder with a label file (names or indices, optional header and extensions)', async () => {
    const dir = join(root, 'val');
    mkdirSync(dir);
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `v${i}.png`), encodeImage(picture(8, 8, i), 8, 8, 3, { format: 'png' }));
    const labels = join(root, 'val.csv');
    writeFileSync(labels, 'ImageId,PredictionString\nv2,dog 1 2 3 4\nv0.png,cat\n# a comment\nv3 dog\nv1 0\n');
    const ds = await imageFolder(dir, { labelFile: labels, classNames: ['cat', 'dog'] });
    expect(ds.paths!.map((p) => p.slice(-6))).to.deep.equal(['v2.png', 'v0.png', 'v3.png', 'v1.png']);
    expect(Array.from(ds.labels)).to.deep.equal([1, 0, 1, 0]);
    writeFileSync(labels, 'v0.png cat\nv9.png dog\n');
    const missing = await rejection(imageFolder(dir, { labelFile: labels, classNames: ['cat', 'dog'] }));
    expect(missing.code).to.equal('BAD_FILE');
    expect(missing.message).to.contain('val.csv:2').and.contain('v9.png');
    writeFileSync(labels, 'v0.png cat\nv1.png horse\n');
    expect((await rejection(imageFolder(dir, { labelFile: labels, classNames: ['cat', 'dog'] }))).message).to.contain('unknown label "horse"');
  });

  it('the packed cache gives the same batches and makes later runs skip decoding', async () => {
    const dir = join(root, 'cached');
    makeFolder(dir, ['a', 'b'], 5, 48, 36);
    const ds = await imageFolder(dir);
    const file = join(root, 'cache.bin');
    const opts = { batchSize: 5, seed: 9, size: 32, crop: 24 } as const;
    const direct = await createLoader(ds, opts);
    const cachedLoader = await createLoader(ds, { ...opts, cache: file });
    expect(cachedLoader.dataset.kind).to.equal('packed');
    const a = await collect(direct), b = await collect(cachedLoader);
    a.forEach((x, i) => expect(Buffer.from(x.images.buffer).equals(Buffer.from(b[i].images.buffer))).to.equal(true));
    await Promise.all([direct.close(), cachedLoader.close()]);
    // Reopened, not rebuilt: the images are no longer needed.
    const built = statSync(file).mtimeMs;
    rmSync(join(dir, 'a', 'img0.JPG'));
    const again = await cacheDataset(ds, file, { size: 32 });
    expect(statSync(file).mtimeMs).to.equal(built);
    expect(Buffer.from((await again.image(0)).pixels).equals(Buffer.from((await (await cacheDataset(ds, file, { size: 32 })).image(0)).pixels))).to.equal(true);
    // Another size is another cache: rebuilding needs the missing file.
    const rebuild = await rejection(cacheDataset(ds, file, { size: 16 }));
    expect(rebuild.code).to.equal('IO_ERROR');
    expect(rebuild.message).to.contain('img0.JPG');
  });

  it('subsets and lists of files are data sets too', async () => {
    const dir = join(root, 'subset');
    makeFolder(dir, ['a', 'b'], 3, 20, 20);
    const ds = await imageFolder(dir);
    const sub = ds.subset([4, 1]);
    expect(sub.size).to.equal(2);
    expect(Array.from(sub.labels)).to.deep.equal([1, 0]);
    expect(sub.paths).to.deep.equal([ds.paths![4], ds.paths![1]]);
    expect(Buffer.from((await sub.image(0)).pixels).equals(Buffer.from((await ds.image(4)).pixels))).to.equal(true);
    expect(() => ds.subset([6])).to.throw(RangeError, /indices\[0\] must be in \[0, 5\], got 6/);
    const files = await imageFiles([ds.paths![2], ds.paths![0]], { labels: [1, 0], classNames: ['x', 'y'] });
    expect(files.size).to.equal(2);
    expect(Buffer.from((await files.image(0)).pixels).equals(Buffer.from((await ds.image(2)).pixels))).to.equal(true);
    const missing = await rejection(imageFiles([join(dir, 'nope.jpg')]));
    expect(missing.code).to.equal('IO_ERROR');
    expect(missing.message).to.contain('nope.jpg');
  });

  it('statistics are computed once and cached in a file', async () => {
    const dir = join(root, 'statsfolder');
    makeFolder(dir, ['a'], 4, 24, 24);
    const ds = await imageFolder(dir);
    const file = join(root, 'stats.json');
    const first = await computeStats(ds, { size: 16, file });
    const written = statSync(file).mtimeMs;
    const again = await computeStats(ds, { size: 16, file });
    expect(statSync(file).mtimeMs).to.equal(written);
    expect(Array.from(again.meanImage)).to.deep.equal(Array.from(first.meanImage));
    expect(Array.from(again.covariance)).to.deep.equal(Array.from(first.covariance));
    const other = await computeStats(ds, { size: 8, file });  // another size: recomputed, replaced
    expect(other.size).to.equal(8);
    expect((await loadStats(file)).size).to.equal(8);
    writeFileSync(file, '{ not json');
    expect((await computeStats(ds, { size: 16, file })).images).to.equal(4);
  });

  describe('bad input', () => {
    let good: Buffer;
    before(() => { good = encodeImage(picture(64, 48, 1), 64, 48, 3, { format: 'jpeg', quality: 90 }); });

    function badFolder(name: string, bad: Buffer | null, goodCount = 11): string {
      const dir = join(root, name);
      mkdirSync(join(dir, 'c'), { recursive: true });
      for (let i = 0; i < goodCount; i++) writeFileSync(join(dir, 'c', `good${String(i).padStart(2, '0')}.jpg`), good);
      if (bad) writeFileSync(join(dir, 'c', 'bad.jpg'), bad);
      return dir;
    }

    const corrupt = () => { const b = Buffer.from(good); for (let i = 200; i < b.length - 2; i += 7) b[i] = 0xff; return b; };
    const truncated = () => good.subarray(0, Math.floor(good.length / 2));

    for (const [what, bytes] of [['corrupt', corrupt], ['truncated', truncated], ['non-image', () => Buffer.from('hello')]] as const) {
      it(`a ${what} JPEG: BAD_FILE naming the file, surfaced to the awaiting consumer`, async () => {
        const ds = await imageFolder(badFolder(`bad-${what}`, bytes()));
        const loader = await createLoader(ds, { batchSize: 4, train: false, size: 32, crop: 32, mean: 'none', workers: 2 });
        const e = await rejection(collect(loader));
        expect(e.code).to.equal('BAD_FILE');
        expect(e.message).to.contain(join(`bad-${what}`, 'c', 'bad.jpg'));
        await loader.close();
        const stats = await rejection(computeStats(ds, { size: 32 }));
        expect(stats.message).to.contain('bad.jpg');
      });
    }

    it('a truncated PNG: BAD_FILE naming the file', async () => {
      const png = encodeImage(picture(30, 20, 2), 30, 20, 3, { format: 'png' });
      const dir = join(root, 'badpng');
      mkdirSync(join(dir, 'c'), { recursive: true });
      writeFileSync(join(dir, 'c', 'cut.png'), png.subarray(0, png.length - 20));
      const e = await rejection((await imageFolder(dir)).image(0));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain('cut.png').and.contain('PNG');
    });

    it("onBadImage: 'skip' leaves bad images out and counts them", async () => {
      const ds = await imageFolder(badFolder('skip', truncated()));
      expect(ds.size).to.equal(12);
      const loader = await createLoader(ds, { batchSize: 4, train: false, size: 32, crop: 32, mean: 'none', onBadImage: 'skip' });
      const batches = await collect(loader);
      expect(batches.map((b) => b.shape[0])).to.deep.equal([3, 4, 4]);
      expect(batches.flatMap((b) => Array.from(b.indices))).to.not.include(0);  // bad.jpg sorts first
      expect(loader.stats().skipped).to.equal(1);
      await loader.close();
      const stats = await computeStats(ds, { size: 32, onBadImage: 'skip' });
      expect(stats.images).to.equal(11);
      const cached = await cacheDataset(ds, join(root, 'skip.cache'), { size: 32, onBadImage: 'skip' });
      const fromCache = await createLoader(cached, { batchSize: 4, train: false, mean: 'none', onBadImage: 'skip' });
      expect((await collect(fromCache)).map((b) => b.shape[0])).to.deep.equal([3, 4, 4]);
      await fromCache.close();
    });

    it('a missing image file: IO_ERROR naming it', async () => {
      const dir = badFolder('missing', null, 3);
      const ds = await imageFolder(dir);
      rmSync(join(dir, 'c', 'good01.jpg'));
      const loader = await createLoader(ds, { batchSize: 3, train: false, size: 16, mean: 'none' });
      const e = await rejection(collect(loader));
      expect(e.code).to.equal('IO_ERROR');
      expect(e.message).to.contain('good01.jpg');
      await loader.close();
    });

    it('an empty class folder or a missing root: typed errors naming the folder', async () => {
      const dir = badFolder('empty', null, 2);
      mkdirSync(join(dir, 'nothing'));
      writeFileSync(join(dir, 'nothing', 'readme.txt'), 'no images here');
      const e = await rejection(imageFolder(dir));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain(join('empty', 'nothing')).and.contain('no images');
      const gone = await rejection(imageFolder(join(root, 'does-not-exist')));
      expect(gone.code).to.equal('IO_ERROR');
    });

    it('a wrong IDX magic or a truncated IDX file: BAD_FILE naming the file', async () => {
      const dir = join(root, 'idx');
      mkdirSync(dir);
      const header = (magic: number, ...dims: number[]) => {
        const b = Buffer.alloc(4 + 4 * dims.length);
        b.writeUInt32BE(magic, 0);
        dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
        return b;
      };
      const labels = Buffer.concat([header(0x801, 2), Buffer.from([1, 2])]);
      writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(labels));
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header(0x802, 2, 2, 2), Buffer.alloc(8)])));
      let e = await rejection(fashionMnist({ dir }));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain('train-images-idx3-ubyte.gz').and.contain('wrong IDX magic 0x00000802');
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header(0x803, 2, 2, 2), Buffer.alloc(5)])));
      e = await rejection(fashionMnist({ dir }));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain('train-images-idx3-ubyte.gz').and.contain('truncated');
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header(0x803, 2, 2, 2), Buffer.alloc(8, 7)])));
      const ok = await fashionMnist({ dir });
      expect(ok.size).to.equal(2);
      expect(Array.from((await ok.image(1)).pixels)).to.deep.equal([7, 7, 7, 7]);
      // A gzip stream cut short (incompressible pixels, so the cut loses pixel data).
      const noise = Buffer.from(Array.from({ length: 2 * 50 * 50 }, (_, i) => (i * 7919) % 251));
      const gz = gzipSync(Buffer.concat([header(0x803, 2, 50, 50), noise]));
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gz.subarray(0, gz.length >> 1));
      e = await rejection(fashionMnist({ dir }));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain('train-images-idx3-ubyte.gz');
    });

    it('a truncated or foreign cache file: BAD_FILE naming it', async () => {
      const dir = join(root, 'cachebad');
      makeFolder(dir, ['a'], 2, 20, 20);
      const file = join(root, 'bad.cache');
      await cacheDataset(await imageFolder(dir), file, { size: 16 });
      const bytes = readFileSync(file);
      writeFileSync(file, bytes.subarray(0, bytes.length - 100));
      let e = await rejection(openCache(file));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain('bad.cache').and.contain('truncated');
      writeFileSync(file, 'something else entirely, long enough to hold a header'.repeat(100));
      e = await rejection(openCache(file));
      expect(e.message).to.contain('not an image cache');
    });

    it('a short or foreign CIFAR-10 file: BAD_FILE naming it; a good one loads', async () => {
      const dir = join(root, 'cifar');
      mkdirSync(dir);
      const record = (label: number, value: number) => {
        const r = Buffer.alloc(3073);
        r[0] = label;
        r.fill(value, 1, 1025);             // R plane
        r.fill(value + 1, 1025, 2049);      // G plane
        r.fill(value + 2, 2049, 3073);      // B plane
        return r;
      };
      writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat([record(3, 10), record(9, 20)]));
      const test = await cifar10({ dir, split: 'test' });
      expect(Array.from(test.labels)).to.deep.equal([3, 9]);
      expect(test.classNames[3]).to.equal('cat');
      expect(Array.from((await test.image(1)).pixels.slice(0, 6))).to.deep.equal([20, 21, 22, 20, 21, 22]);
      writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat([record(3, 10), record(9, 20)]).subarray(0, 5000));
      let e = await rejection(cifar10({ dir, split: 'test' }));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain('test_batch.bin').and.contain('5000 bytes');
      writeFileSync(join(dir, 'test_batch.bin'), record(12, 0));
      e = await rejection(cifar10({ dir, split: 'test' }));
      expect(e.message).to.contain('label 12');
      e = await rejection(cifar10({ dir, split: 'train' }));
      expect(e.code).to.equal('IO_ERROR');
      expect(e.message).to.contain('data_batch_1.bin');
    });
  });
});
