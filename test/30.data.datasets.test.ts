// The embedded default data set: Fashion-MNIST from Debian's dataset-fashion-mnist.
import { expect } from 'chai';
import { existsSync } from 'node:fs';

import { FASHION_MNIST_DIR, computeStats, createLoader, fashionMnist } from '../lib/data/index.js';

const installed = existsSync(FASHION_MNIST_DIR);
// Without the data set the suite shows as pending, and its title says why.
(installed ? describe : describe.skip)(`data: Fashion-MNIST${installed ? '' :
  ` (skipped: ${FASHION_MNIST_DIR} is missing; apt-get install dataset-fashion-mnist)`}`, function () {
  it('loads 60000 training and 10000 test images, 28x28 grey, labels 0..9', async () => {
    const [train, test] = await Promise.all([fashionMnist(), fashionMnist({ split: 'test' })]);
    expect(train.size).to.equal(60000);
    expect(test.size).to.equal(10000);
    expect(train.imageSize).to.deep.equal([28, 28]);
    expect(train.channels).to.equal(1);
    expect(train.classNames).to.have.length(10);
    for (const ds of [train, test]) {
      const counts = new Array(10).fill(0);
      for (const l of ds.labels) counts[l]++;
      // Both splits are balanced: 6000 / 1000 images per class.
      expect(counts).to.deep.equal(new Array(10).fill(ds.size / 10));
    }
    const img = await train.image(0);
    expect(img.pixels).to.have.length(784);
    expect(img.pixels.some((v) => v > 0)).to.equal(true);
  });

  it('trains from it with three channels and evaluates the test split with the training statistics', async () => {
    const train = await fashionMnist({ channels: 3 });
    const stats = await computeStats(train);
    // The well-known mean of Fashion-MNIST: 0.2860 of full scale.
    expect(stats.channelMean[0] / 255).to.be.closeTo(0.286, 0.001);
    const loader = await createLoader(train, { batchSize: 256, size: 32, crop: 28, seed: 1, stats: await computeStats(train, { size: 32 }) });
    let batches = 0;
    for await (const b of loader.epoch(0)) {
      expect(b.shape).to.deep.equal([256, 3, 28, 28]);
      if (++batches === 20) break;
    }
    await loader.close();
    const test = await fashionMnist({ split: 'test', channels: 3 });
    const evalLoader = await createLoader(test, { batchSize: 1000, train: false, stats });
    let images = 0;
    for await (const b of evalLoader.epoch(0)) images += b.labels.length;
    expect(images).to.equal(10000);
    await evalLoader.close();
  });
});
