// Augmentation on the device: a loader with augmentOn: 'device' hands out prepared 8-bit images
// and crop parameters, and batchToDevice() crops them with ops.cropImages into exactly the floats
// the host pipeline makes (random crops, flips, PCA colour, both means, grey, centre and ten
// crops), on every device. Then the op's argument errors, and training and evaluation that give
// the same numbers either way.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { native } from '../lib/binding.js';
import {
  arrayDataset, batchToDevice, computeStats, createLoader, encodeImage, imageFolder, type Batch, type Dataset, type DatasetStats, type LoaderOptions,
} from '../lib/data/index.js';
import { AlexNetError, Tensor, disposeAll, ops, setDeterministic, type DeviceName } from '../lib/index.js';
import { alexnet } from '../lib/models/index.js';
import { Trainer, evaluate } from '../lib/train/index.js';
import { testDevices } from './helpers/devices.js';
import { rng } from './helpers/random.js';

// Rectangular 18x22 images: the loader resizes them to the prepared square first (both paths).
function randomDataset(count: number, channels: 1 | 3, seed: number): Dataset {
  const r = rng(seed);
  const px = Uint8Array.from({ length: count * 18 * 22 * channels }, () => Math.floor(r() * 256));
  return arrayDataset(px, Int32Array.from({ length: count }, (_, i) => i % 4), [count, 18, 22, channels]);
}

async function collect(loader: { epoch(e: number): AsyncIterable<Batch> }, epoch: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Every batch of `epochs` from both loaders: the device crop equals the host floats bit for bit. */
async function expectSameInput(ds: Dataset, options: LoaderOptions, device: DeviceName, epochs = [0]): Promise<Batch[]> {
  const host = await createLoader(ds, { ...options, augmentOn: 'host' });
  const dev = await createLoader(ds, { ...options, augmentOn: 'device' });
  expect(host.augmentOn).to.equal('host');
  expect(dev.augmentOn).to.equal('device');
  const raw: Batch[] = [];
  try {
    for (const epoch of epochs) {
      const [a, b] = [await collect(host, epoch), await collect(dev, epoch)];
      expect(a.length).to.be.greaterThan(0);
      expect(b).to.have.length(a.length);
      for (let i = 0; i < a.length; i++) {
        const [h, d] = [a[i]!, b[i]!];
        expect(h.raw).to.equal(undefined);
        expect(d.raw, 'a device loader gives raw batches').to.not.equal(undefined);
        expect(d.images).to.have.length(0);
        expect(d.shape).to.deep.equal(h.shape);
        expect(d.crops).to.equal(h.crops);
        expect(Array.from(d.labels)).to.deep.equal(Array.from(h.labels));
        expect(Array.from(d.indices)).to.deep.equal(Array.from(h.indices));
        const [rows, c] = d.shape;
        const size = options.size!;
        expect(d.raw!.pixelShape).to.deep.equal([rows / d.crops, size, size, c]);
        expect(d.raw!.pixels).to.have.length((rows / d.crops) * size * size * c);
        expect(d.raw!.params).to.have.length(rows * (3 + c));
        const x = batchToDevice(d, device);
        try {
          expect(x.shape).to.deep.equal(h.shape);
          expect(bytes((await x.toArray()) as Float32Array).equals(bytes(h.images)), `epoch ${epoch} batch ${i} differs`).to.equal(true);
        } finally {
          x.dispose();
        }
        // A host batch goes through the same function unchanged.
        const y = batchToDevice(h, device);
        expect(bytes((await y.toArray()) as Float32Array).equals(bytes(h.images))).to.equal(true);
        y.dispose();
        raw.push(d);
      }
    }
  } finally {
    await host.close();
    await dev.close();
  }
  return raw;
}

/** Crop rows of all batches: [top, left, flip, offset...]. */
function paramRows(batches: Batch[], channels: number): number[][] {
  return batches.flatMap((b) => {
    const p = b.raw!.params;
    return Array.from({ length: p.length / (3 + channels) }, (_, r) => Array.from(p.subarray(r * (3 + channels), (r + 1) * (3 + channels))));
  });
}

for (const device of testDevices()) {
  describe(`data: augmentation on the device (${device})`, () => {
    const rgb = randomDataset(40, 3, 7);
    const grey = randomDataset(30, 1, 8);
    let rgbStats: DatasetStats;
    let greyStats: DatasetStats;
    before(async () => {
      rgbStats = await computeStats(rgb, { size: 20, workers: 2 });
      greyStats = await computeStats(grey, { size: 20, workers: 2 });
    });

    it('training: random crops, flips, PCA colour and the mean image, two epochs, equal the host batches bit for bit', async () => {
      const raw = await expectSameInput(rgb, {
        batchSize: 8, seed: 3, workers: 2, size: 20, crop: 16, stats: rgbStats, mean: 'pixel', pixelScale: 1 / 255, pca: { std: 0.1 },
      }, device, [0, 1]);
      const rows = paramRows(raw, 3);
      expect(new Set(rows.map((r) => r[0])).size, 'crop tops vary').to.be.greaterThan(2);
      expect(new Set(rows.map((r) => r[1])).size, 'crop lefts vary').to.be.greaterThan(2);
      expect(new Set(rows.map((r) => r[2]))).to.deep.equal(new Set([0, 1]));
      expect(rows.every((r) => r[3] !== 0 && r[4] !== 0 && r[5] !== 0), 'colour offsets are on').to.equal(true);
    });

    it('training with the per-channel mean at pixel scale 1', async () => {
      await expectSameInput(rgb, { batchSize: 16, seed: 5, workers: 1, size: 20, crop: [14, 17], stats: rgbStats, mean: 'channel' }, device);
    });

    it('grey images (one channel), with and without a mean', async () => {
      const raw = await expectSameInput(grey, { batchSize: 10, seed: 9, workers: 2, size: 20, crop: 15, stats: greyStats, mean: 'pixel' }, device);
      expect(raw[0]!.raw!.params).to.have.length(10 * 4);
      await expectSameInput(grey, { batchSize: 10, seed: 9, workers: 2, size: 20, crop: 15, mean: 'none' }, device);
    });

    it('evaluation: the centre crop, every image, a partial last batch', async () => {
      const raw = await expectSameInput(rgb, { batchSize: 16, train: false, workers: 2, size: 20, crop: 16, stats: rgbStats }, device);
      expect(raw.map((b) => b.labels.length)).to.deep.equal([16, 16, 8]);
      expect(paramRows(raw, 3).every((r) => r.join() === '2,2,0,0,0,0')).to.equal(true);
    });

    it('evaluation: ten crops, ten parameter rows per image', async () => {
      const raw = await expectSameInput(rgb, {
        batchSize: 6, train: false, tenCrop: true, workers: 2, size: 20, crop: 16, stats: rgbStats, pixelScale: 1 / 255,
      }, device);
      expect(raw[0]!.shape[0]).to.equal(60);
      expect(paramRows(raw, 3).slice(0, 10).map((r) => r.slice(0, 3))).to.deep.equal([
        [0, 0, 0], [0, 4, 0], [4, 0, 0], [4, 4, 0], [2, 2, 0], [0, 0, 1], [0, 4, 1], [4, 0, 1], [4, 4, 1], [2, 2, 1],
      ]);
    });

    it('a skipped bad image is moved out of raw batches as out of float ones', async () => {
      // bad.jpg sorts first: the other images of its batch move down one place.
      const dir = join(mkdtempSync(join(tmpdir(), 'alexnet-raw-skip-')), 'c');
      mkdirSync(dir);
      const r = rng(12);
      for (let i = 0; i < 9; i++) {
        const px = Uint8Array.from({ length: 30 * 26 * 3 }, () => Math.floor(r() * 256));
        writeFileSync(join(dir, `good${i}.jpg`), encodeImage(px, 30, 26, 3, { quality: 90 }));
      }
      writeFileSync(join(dir, 'bad.jpg'), Buffer.from('not a JPEG'));
      const ds = await imageFolder(join(dir, '..'));
      const raw = await expectSameInput(ds, {
        batchSize: 4, seed: 2, workers: 2, size: 20, crop: 16, mean: 'none', shuffle: false, onBadImage: 'skip',
      }, device);
      expect(raw.map((b) => b.labels.length)).to.deep.equal([3, 4]);
    });

    it('cropImages: bad arguments name the parameter', () => {
      const images = Tensor.fromArray(new Uint8Array(2 * 16 * 16 * 3), [2, 16, 16, 3], device);
      const params = Tensor.fromArray(new Float32Array(2 * 6), [2, 6], device);
      const floats = Tensor.zeros([2, 16, 16, 3], device);
      const wrongRows = Tensor.zeros([3, 6], device);
      const mean = Tensor.zeros([3, 16, 15], device);
      try {
        expect(() => ops.cropImages(floats, params, { crop: 8 })).to.throw(TypeError, /images must be uint8 \[N, H, W, C\], got float32/);
        expect(() => ops.cropImages(images, wrongRows, { crop: 8 }))
          .to.throw(RangeError, /params must have shape \[N \* crops, 3 \+ C\] = \[2 \* crops, 6\] for images \[2, 16, 16, 3\], got \[3, 6\]/);
        expect(() => ops.cropImages(images, params, { crop: [8, 20] })).to.throw(RangeError, /crop 8x20 is larger than the images 16x16/);
        expect(() => ops.cropImages(images, params, { crop: 8, mean })).to.throw(RangeError, /mean must have shape \[C\] = \[3\] or \[C, H, W\] = \[3, 16, 16\], got \[3, 16, 15\]/);
        expect(() => ops.cropImages(images, params, { crop: 8, scale: Number.NaN })).to.throw(TypeError, /scale must be a finite number, got NaN/);
        // The core checks again, for callers of the C++ API (its argument errors arrive as TypeError).
        expect(() => native.cropImages(floats.native, params.native, null, { outH: 8, outW: 8, scale: 1 })).to.throw(TypeError, /images must be uint8 \[N, H, W, C\], got float32/);
        expect(() => native.cropImages(images.native, wrongRows.native, null, { outH: 8, outW: 8, scale: 1 })).to.throw(TypeError, /params must have shape \[N \* crops, 3 \+ C\]/);
        expect(() => native.cropImages(images.native, params.native, null, { outH: 17, outW: 8, scale: 1 })).to.throw(TypeError, /crop 17x8 is larger than the images 16x16/);
      } finally {
        disposeAll(images, params, floats, wrongRows, mean);
      }
    });

    it('cropImages: a window outside its image fails on the CPU and gives a NaN row on CUDA', async () => {
      const images = Tensor.fromArray(Uint8Array.from({ length: 2 * 8 * 8 }, (_, i) => i % 251), [2, 8, 8, 1], device);
      const params = Tensor.fromArray(new Float32Array([1, 1, 0, 0, 3, 0, 0, 0]), [2, 4], device);  // row 1: top 3 + 6 > 8
      const out = ops.cropImages(images, params, { crop: 6 });
      try {
        if (device.startsWith('cpu')) {
          const error = await out.toArray().then(() => null, (e: unknown) => e);
          expect(error).to.be.instanceOf(AlexNetError);
          expect((error as AlexNetError).code).to.equal('INVALID_ARGUMENT');
          expect((error as AlexNetError).message).to.match(/params row 1 \(top 3\.0+, left 0\.0+, flip 0\.0+\) is not a 6x6 window inside the 8x8 image/);
        } else {
          const values = (await out.toArray()) as Float32Array;
          expect(values.subarray(0, 36).every((v) => Number.isFinite(v))).to.equal(true);
          expect(values.subarray(36).every((v) => Number.isNaN(v))).to.equal(true);
        }
      } finally {
        disposeAll(images, params, out);
      }
    });

    it('training one epoch and evaluating (centre and ten crops) give the same numbers either way', async () => {
      const ds = randomDataset(48, 3, 11);
      const stats = await computeStats(ds, { size: 36, workers: 2 });
      const run = async (augmentOn: 'host' | 'device') => {
        const common = { size: 36, crop: 32, stats, workers: 2, pixelScale: 1 / 255, augmentOn } as const;
        const train = await createLoader(ds, { ...common, batchSize: 8, seed: 4 });
        const val = await createLoader(ds, { ...common, batchSize: 16, train: false });
        const tenCrop = await createLoader(ds, { ...common, batchSize: 16, train: false, tenCrop: true });
        const model = alexnet({ numClasses: 4, inChannels: 3, inputSize: 32, width: 1 / 8, conv1Stride: 1, init: 'he', seed: 2, device });
        try {
          const fit = await new Trainer({ model, train, val, epochs: 1, seed: 4, lr: 0.01, progress: 'none' }).fit();
          const ten = await evaluate(model, tenCrop);
          const weights = (await model.stateDict()['conv1.weight']!.toArray()) as Float32Array;
          return { fit: fit.epochs[0]!, ten, weights };
        } finally {
          model.dispose();
          for (const l of [train, val, tenCrop]) await l.close();
        }
      };
      // Bit for bit needs the same summation order in both runs (on CUDA, deterministic algorithms).
      setDeterministic(device, true);
      let host: Awaited<ReturnType<typeof run>>, dev: Awaited<ReturnType<typeof run>>;
      try {
        host = await run('host');
        dev = await run('device');
      } finally {
        setDeterministic(device, false);
      }
      expect(Number.isFinite(host.fit.trainLoss)).to.equal(true);
      expect(dev.fit.trainLoss).to.equal(host.fit.trainLoss);
      expect(dev.fit.val!.loss).to.equal(host.fit.val!.loss);
      expect(dev.fit.val!.top1Error).to.equal(host.fit.val!.top1Error);
      expect(dev.ten.crops).to.equal(10);
      expect(dev.ten.loss).to.equal(host.ten.loss);
      expect(dev.ten.top1Error).to.equal(host.ten.top1Error);
      expect(bytes(dev.weights).equals(bytes(host.weights))).to.equal(true);
    });
  });
}

describe('data: augmentOn option', () => {
  it('rejects other values, naming the option', async () => {
    const ds = randomDataset(4, 3, 1);
    await createLoader(ds, { batchSize: 2, mean: 'none', augmentOn: 'gpu' as 'device' }).then(
      () => expect.fail('no error'),
      (e: unknown) => {
        expect(e).to.be.instanceOf(TypeError);
        expect((e as Error).message).to.equal('options.augmentOn must be "host" or "device", got "gpu"');
      });
  });
});
