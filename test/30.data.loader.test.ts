// The loader: reproducible by seed whatever the worker count, shuffling per epoch, exact resume,
// partial batches, statistics, closing, and argument checks naming the parameter.
import { expect } from 'chai';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { arrayDataset, createLoader, type Batch, type DataLoader, type Dataset } from '../lib/data/index.js';
import { rng } from './helpers/random.js';

function randomDataset(count: number, seed: number): Dataset {
  const r = rng(seed);
  const px = Uint8Array.from({ length: count * 20 * 20 * 3 }, () => Math.floor(r() * 256));
  return arrayDataset(px, Int32Array.from({ length: count }, (_, i) => i % 10), [count, 20, 20, 3]);
}

async function collect(loader: DataLoader, epoch: number, startBatch = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch, { startBatch })) out.push(b);
  return out;
}

function sameBatches(a: Batch[], b: Batch[]): boolean {
  return a.length === b.length && a.every((x, i) =>
    Buffer.from(x.images.buffer, x.images.byteOffset, x.images.byteLength)
      .equals(Buffer.from(b[i].images.buffer, b[i].images.byteOffset, b[i].images.byteLength)) &&
    x.labels.join() === b[i].labels.join() && x.indices.join() === b[i].indices.join());
}

describe('data: loader', () => {
  const ds = randomDataset(150, 5);
  // Resize 20 -> 24, random 20x20 crops, flips, PCA, mean image: every random draw is exercised.
  const options = { batchSize: 16, seed: 42, size: 24, crop: 20 } as const;

  it('gives identical batches for the same seed with 1, 2 or 3 workers and any prefetch', async () => {
    const runs: Batch[][][] = [];
    for (const [workers, prefetch] of [[1, 0], [2, 2], [3, 5]]) {
      const loader = await createLoader(ds, { ...options, workers, prefetch });
      runs.push([await collect(loader, 0), await collect(loader, 1)]);
      await loader.close();
    }
    expect(runs[0][0]).to.have.length(9);  // 150 / 16, last partial batch dropped
    for (const run of runs.slice(1)) {
      expect(sameBatches(run[0], runs[0][0])).to.equal(true);
      expect(sameBatches(run[1], runs[0][1])).to.equal(true);
    }
    expect(sameBatches(runs[0][0], runs[0][1])).to.equal(false);  // another epoch, other draws
    const other = await createLoader(ds, { ...options, seed: 43 });
    expect(sameBatches(await collect(other, 0), runs[0][0])).to.equal(false);
    await other.close();
  });

  it('shuffles each epoch into a permutation, with matching labels', async () => {
    const loader = await createLoader(ds, { ...options, batchSize: 10, workers: 2 });
    const orders: number[][] = [];
    for (const epoch of [0, 1]) {
      const batches = await collect(loader, epoch);
      const seen = batches.flatMap((b) => Array.from(b.indices));
      expect([...seen].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 150 }, (_, i) => i));
      expect(seen).to.deep.equal(Array.from(loader.order(epoch)));
      for (const b of batches) b.indices.forEach((index, k) => expect(b.labels[k]).to.equal(ds.labels[index]));
      orders.push(seen);
    }
    expect(orders[0]).to.not.deep.equal(orders[1]);
    expect(orders[0]).to.not.deep.equal(Array.from({ length: 150 }, (_, i) => i));
    await loader.close();
  });

  it('resumes an epoch exactly at startBatch', async () => {
    const loader = await createLoader(ds, { ...options, workers: 2 });
    const full = await collect(loader, 4);
    const resumed = await collect(loader, 4, 5);
    expect(resumed).to.have.length(full.length - 5);
    expect(sameBatches(resumed, full.slice(5))).to.equal(true);
    expect(await collect(loader, 4, loader.batchesPerEpoch)).to.have.length(0);
    await loader.close();
  });

  it('evaluation keeps every image: the last batch is partial', async () => {
    const loader = await createLoader(ds, { batchSize: 16, train: false, size: 24, crop: 20, mean: 'none' });
    expect(loader.batchesPerEpoch).to.equal(10);
    expect(loader.imagesPerEpoch).to.equal(150);
    const batches = await collect(loader, 0);
    expect(batches.map((b) => b.shape[0])).to.deep.equal([16, 16, 16, 16, 16, 16, 16, 16, 16, 6]);
    expect(batches[9].images).to.have.length(6 * 3 * 20 * 20);
    expect(loader.imageShape).to.deep.equal([3, 20, 20]);
    expect(loader.numClasses).to.equal(10);
    await loader.close();
  });

  it('reports images, batches, images/s and the time the consumer waited', async () => {
    const loader = await createLoader(ds, { ...options, workers: 2 });
    await collect(loader, 0);
    const s = loader.stats();
    expect(s.batches).to.equal(9);
    expect(s.images).to.be.at.least(9 * 16);
    expect(s.imagesPerSecond).to.be.greaterThan(0);
    expect(s.waitMs).to.be.at.least(0);
    expect(s.skipped).to.equal(0);
    await loader.close();
  });

  it('an iteration superseded by a new epoch fails loudly; close ends everything', async () => {
    const loader = await createLoader(ds, { ...options, workers: 1 });
    const first = loader.epoch(0)[Symbol.asyncIterator]();
    expect((await first.next()).done).to.equal(false);
    const second = loader.epoch(1)[Symbol.asyncIterator]();
    expect((await second.next()).done).to.equal(false);
    let error: unknown;
    try {
      await first.next();
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/epoch 0 was abandoned/);
    const pending = second.next();
    await loader.close();
    await pending;  // settles (a batch or the end), does not hang
    expect(() => loader.epoch(2)).to.throw(/closed/);
  });

  it('does not block the event loop while producing', async () => {
    const loader = await createLoader(randomDataset(600, 9), { batchSize: 32, size: 64, crop: 56, workers: 2 });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    await collect(loader, 0);
    delay.disable();
    expect(delay.max / 1e6).to.be.below(100);
    await loader.close();
  });

  it('checks its arguments, naming them', async () => {
    const rejects = async (o: object, type: ErrorConstructor, message: RegExp) => {
      let error: unknown;
      try {
        await createLoader(ds, o as never);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(o)).to.be.instanceOf(type);
      expect((error as Error).message).to.match(message);
    };
    await rejects({ batchSize: 0 }, RangeError, /options\.batchSize must be in \[1, 1048576\], got 0/);
    await rejects({ batchSize: 1.5 }, TypeError, /options\.batchSize must be an integer, got 1\.5/);
    await rejects({ batchSize: 4, crop: 30 }, RangeError, /options\.crop \[30, 30\] must fit in options\.size 20/);
    await rejects({ batchSize: 4, workers: 0 }, RangeError, /options\.workers/);
    await rejects({ batchSize: 4, train: false }, TypeError, /options\.stats is required/);
    await rejects({ batchSize: 4, train: true, tenCrop: true }, TypeError, /options\.tenCrop is for evaluation/);
    await rejects({ batchSize: 4, mean: 'median' }, TypeError, /options\.mean must be/);
    await rejects({ batchSize: 4, onBadImage: 'ignore' }, TypeError, /options\.onBadImage must be/);
    await rejects({ batchSize: 4, pca: { std: -1 } }, RangeError, /options\.pca\.std/);
    await rejects({ batchSize: 4, channels: 2 }, RangeError, /options\.channels must be 1 or 3/);
    const loader = await createLoader(ds, { batchSize: 4 });
    expect(() => loader.epoch(-1)).to.throw(RangeError, /epoch must be in \[0, \d+\], got -1/);
    expect(() => loader.epoch(0, { startBatch: 1000 })).to.throw(RangeError, /options\.startBatch must be in \[0, 37\]/);
    await loader.close();
  });
});
