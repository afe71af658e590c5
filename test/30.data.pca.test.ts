// PCA colour augmentation against oracle cases h1 (pixels 0..255) and h2 (the same / 255): the
// covariance (/(M-1)), eigen conventions (descending, column vectors, sign), the offset formula
// (lambda, not sqrt(lambda)), the native statistics pass and the offset the pipeline applies.
import { expect } from 'chai';

import {
  arrayDataset, colourOffset, colourPca, computeStats, createLoader, pixelCovariance, type Batch,
} from '../lib/data/index.js';
import { referenceSets, relativeError } from './helpers/references.js';

const cases = ['h1_pca_color_0_255', 'h2_pca_color_0_1'] as const;

// Oracle images are NCHW [4, 3, 8, 8]; datasets want [N, H, W, C] bytes.
function toBytesNHWC(images: Float64Array, scale: number): Uint8Array {
  const out = new Uint8Array(4 * 8 * 8 * 3);
  for (let n = 0; n < 4; n++)
    for (let c = 0; c < 3; c++)
      for (let q = 0; q < 64; q++) out[(n * 64 + q) * 3 + c] = Math.round(images[(n * 3 + c) * 64 + q] * scale);
  return out;
}

for (const refs of referenceSets()) describe(`data: PCA colour augmentation (${refs.label} h1/h2)`, () => {
  const readOracleCase = (name: string) => refs.read(name);
  for (const name of cases) {
    it(`${name}: covariance, eigenvalues, eigenvectors and offsets`, () => {
      const h = readOracleCase(name);
      const images = h.get('images').data as Float64Array;
      const { mean, covariance } = pixelCovariance(images, [4, 3, 8, 8]);
      expect(relativeError(mean, h.get('mean_rgb').data)).to.be.below(1e-12);
      expect(relativeError(covariance, h.get('cov').data)).to.be.below(1e-12);
      const pca = colourPca(h.get('cov').data);
      expect(relativeError(pca.eigenvalues, h.get('eigvals').data)).to.be.below(1e-10);
      expect(relativeError(pca.eigenvectors, h.get('eigvecs').data)).to.be.below(1e-10);
      const alphas = h.get('alphas').data;
      const offsets = h.get('offset').data, sqrtOffsets = h.get('offset_sqrt_lambda_variant').data;
      const out = h.get('out').data;
      for (let n = 0; n < 4; n++) {
        const a = alphas.slice(n * 3, n * 3 + 3);
        const offset = colourOffset(pca, a);
        expect(relativeError(offset, offsets.slice(n * 3, n * 3 + 3))).to.be.below(1e-10);
        expect(relativeError(colourOffset(pca, a, { sqrtLambda: true }), sqrtOffsets.slice(n * 3, n * 3 + 3))).to.be.below(1e-10);
        for (let c = 0; c < 3; c++)
          for (let q = 0; q < 64; q++) {
            const i = (n * 3 + c) * 64 + q;
            expect(images[i] + offset[c]).to.be.closeTo(out[i], 1e-9 * Math.max(1, Math.abs(out[i])));
          }
      }
    });
  }

  it('the native statistics pass reproduces the oracle mean and covariance exactly', async () => {
    const h1 = readOracleCase('h1_pca_color_0_255');
    const ds = arrayDataset(toBytesNHWC(h1.get('images').data as Float64Array, 1), new Int32Array(4), [4, 8, 8, 3]);
    const stats = await computeStats(ds, { workers: 3 });
    expect(stats.pixels).to.equal(256);
    expect(relativeError(stats.channelMean, h1.get('mean_rgb').data)).to.be.below(1e-14);
    expect(relativeError(stats.covariance, h1.get('cov').data)).to.be.below(1e-14);
    // One worker or three: the sums are integers, so the results are identical.
    const single = await computeStats(ds, { workers: 1 });
    expect(Array.from(single.covariance)).to.deep.equal(Array.from(stats.covariance));
  });

  // Output scale, PCA scale, oracle case whose eigen decomposition applies, and the factor that
  // converts that case's offset to the output scale.
  const settings = [
    { pixelScale: 1, pcaScale: 1, eigen: 'h1_pca_color_0_255', factor: 1 },
    { pixelScale: 1 / 255, pcaScale: 1 / 255, eigen: 'h2_pca_color_0_1', factor: 1 },
    { pixelScale: 1, pcaScale: undefined, eigen: 'h2_pca_color_0_1', factor: 255 },  // the default
  ];
  for (const s of settings) {
    it(`the pipeline adds P [a1 l1, a2 l2, a3 l3] (output scale ${s.pixelScale === 1 ? 1 : '1/255'}, ` +
       `PCA scale ${s.pcaScale === 1 ? 1 : '1/255'})`, async () => {
      const h1 = readOracleCase('h1_pca_color_0_255');
      const images = h1.get('images').data as Float64Array;
      const ds = arrayDataset(toBytesNHWC(images, 1), new Int32Array(4), [4, 8, 8, 3]);
      const loader = await createLoader(ds, {
        batchSize: 4, seed: 11, shuffle: false, flip: false, mean: 'none', pixelScale: s.pixelScale,
        pca: { std: 0.1, pixelScale: s.pcaScale },
      });
      const batches: Batch[] = [];
      for await (const b of loader.epoch(0)) batches.push(b);
      const b = batches[0];
      expect(b.shape).to.deep.equal([4, 3, 8, 8]);
      const eigen = readOracleCase(s.eigen);
      const pca = { eigenvalues: eigen.get('eigvals').data as Float64Array, eigenvectors: eigen.get('eigvecs').data as Float64Array };
      const want = new Float64Array(4 * 3 * 64), got = Float64Array.from(b.images);
      for (let n = 0; n < 4; n++) {
        const alpha = loader.augmentation(0, n).alpha;
        expect(alpha).to.have.length(3);
        const offset = colourOffset(pca, alpha);
        for (let c = 0; c < 3; c++)
          for (let q = 0; q < 64; q++) {
            const i = (n * 3 + c) * 64 + q;
            want[i] = images[i] * s.pixelScale + offset[c] * s.factor;
          }
      }
      // float32 pixels and offsets: ~1e-7 relative to the largest value.
      expect(relativeError(got, want)).to.be.below(2e-6);
      // The offsets are not negligible: the check above would fail without them.
      const plain = Float64Array.from(images, (v) => v * s.pixelScale);
      expect(relativeError(plain, want)).to.be.above(1e-4);
      await loader.close();
    });
  }

  it('draws alpha ~ N(0, 0.1^2), fresh for every position and epoch', async () => {
    const ds = arrayDataset(new Uint8Array(2 * 2 * 2 * 3).map((_, i) => i * 10), new Int32Array(2), [2, 2, 2, 3]);
    const loader = await createLoader(ds, { batchSize: 1, mean: 'none', stats: await computeStats(ds) });
    const values: number[] = [];
    for (let epoch = 0; epoch < 1500; epoch++)
      for (let p = 0; p < 2; p++) values.push(...loader.augmentation(epoch, p).alpha);
    const mean = values.reduce((a, b) => a + b) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
    expect(Math.abs(mean)).to.be.below(0.01);
    expect(std).to.be.closeTo(0.1, 0.005);
    expect(loader.augmentation(0, 0).alpha).to.not.deep.equal(loader.augmentation(1, 0).alpha);
    expect(loader.augmentation(0, 0).alpha).to.not.deep.equal(loader.augmentation(0, 1).alpha);
    await loader.close();
  });
});
