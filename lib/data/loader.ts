// The loader: configures the native batch pipeline from typed options and hands its batches out
// epoch by epoch (the BatchLoader contract of ./types.ts).
//
// Per image (paper section 2 and 4.1): resize so the shorter side is `size`, keep the centred
// size x size square, then out = pixelScale * pixel - mean + colourOffset over a crop:
// - training: a random crop, a random horizontal flip, and the PCA offset P [a1 l1, a2 l2, a3 l3]^T
//   with a ~ N(0, std^2) drawn for every image each time it is used (lambda itself, as the paper);
// - evaluation: the centre crop, or ten crops (corners, centre, and the same flipped).
// Every draw is a function of (seed, epoch, position in the epoch), so batches do not depend on
// the number of workers, and an epoch resumes exactly at any batch. With augmentOn: 'device' the
// native threads stop after preparing the images: batches carry the 8-bit images and the crop of
// every row (the same draws), and batchToDevice() crops them on the device into the same floats.
import { performance } from 'node:perf_hooks';

import { describe, finite, integer, pair, seed as seedValue } from '../validate.js';
import { cacheDataset } from './cache.js';
import { Dataset } from './dataset.js';
import { DeviceInput } from './device_input.js';
import { dataBinding, defaultWorkers, MAX_WORKERS, type NativePipeline, type NativePipelineConfig } from './native.js';
import { colourPca } from './pca.js';
import { computeStats, type DatasetStats } from './stats.js';
import type { Batch, BatchGeometry, BatchLoader, LoaderStats } from './types.js';

export interface PcaOptions {
  /** Standard deviation of the alphas; the paper's 0.1. */
  std?: number;
  /**
   * The pixel scale the eigenvalues are measured in, 1/255 by default (pixels in [0, 1], oracle
   * case h2). The offset is then converted to the output's scale. At the 0..255 scale (1, oracle
   * h1) the paper's formula with lambda gives offsets of hundreds of pixel units.
   */
  pixelScale?: number;
}

export interface LoaderOptions {
  batchSize: number;
  /**
   * Training (default): shuffled, random crops and flips, PCA colour noise (3 channels), last
   * partial batch dropped. Evaluation: in order, centre crop (or ten crops), every image.
   */
  train?: boolean;
  /** Every random draw derives from (seed, epoch, position): same batches for any worker count. */
  seed?: number;
  /** Native threads, 1 to 256; default os.availableParallelism() (at most 256). */
  workers?: number;
  /** Batches prepared ahead of the one being waited for; default 2. */
  prefetch?: number;
  /** The prepared square: shorter side resized to this, centre crop; default dataset.defaultSize. */
  size?: number;
  /** Network input [h, w] (or one number): default 224 when size is 256, else size. */
  crop?: number | [number, number];
  /** Default dataset.channels (grey data sets: 1; pass 3 to repeat grey into RGB). */
  channels?: 1 | 3;
  /** Evaluation only: the four corner and the centre crops and their flips, 10 rows per image. */
  tenCrop?: boolean;
  /** Random horizontal flips; default train. */
  flip?: boolean;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Subtract the training set's mean image (default, as the paper), per-channel mean, or nothing. */
  mean?: 'pixel' | 'channel' | 'none';
  /** The training set's statistics; computed from `dataset` for a training loader when omitted. */
  stats?: DatasetStats;
  /** Where a training loader caches the statistics it computes (see computeStats). */
  statsFile?: string;
  /** PCA colour augmentation; default { std: 0.1 } when training with 3 channels, else off. */
  pca?: false | PcaOptions;
  /** Output = pixelScale * pixel - mean (+ colour offset); default 1 (pixels 0..255, as the paper). */
  pixelScale?: number;
  /** A bad image fails its batch ('error', default) or is left out and counted ('skip'). */
  onBadImage?: 'error' | 'skip';
  /** A packed cache file of the prepared images (built on first use; see cacheDataset). */
  cache?: string;
  /**
   * Where the crop, flip, scaling, mean and colour offset happen: on the host in the native
   * threads ('host', default: batches of floats), or on the device the batch goes to ('device':
   * batches of 8-bit images and crop parameters, `batch.raw`, for batchToDevice()). The result is
   * the same to the bit; 'device' moves a third of the bytes at the paper's sizes (a thirtieth
   * with ten crops) and leaves the host threads only decoding and resizing.
   */
  augmentOn?: 'host' | 'device';
  /**
   * Data parallelism: produce only share `index` of `count` of every batch (rows
   * [n·index/count, n·(index+1)/count) of a batch of n), with the draws those images get in the
   * unsharded loader. `batchSize` stays the whole (global) batch. A ProcessGroup ({ rank, size })
   * can be passed as it is. Default: the whole batch.
   */
  shard?: { index: number; count: number } | { rank: number; size: number };
}

/** The random choices for one image (see native/data/include/alexnet/data/sampling.hpp). */
export interface AugmentationDraws {
  /** Top-left corner of the crop in the prepared size x size image. */
  cropY: number;
  cropX: number;
  flip: boolean;
  /** The PCA colour alphas, one per channel (0 when PCA is off). */
  alpha: number[];
}

// The geometry's fields are declared once, in BatchGeometry, and set in the constructor.
export interface DataLoader extends BatchGeometry {}
export class DataLoader implements BatchLoader {
  /** The data set batches come from (the cache when options.cache was given). */
  readonly dataset: Dataset;
  /** The statistics used for mean subtraction and PCA, or null when neither is on. */
  readonly datasetStats: DatasetStats | null;
  /** Crops per image: 10 with tenCrop, else 1. */
  readonly crops: number;
  /** Where batches are cropped and normalised (options.augmentOn). */
  readonly augmentOn: 'host' | 'device';
  /** Which share of every batch this loader produces (options.shard); { index: 0, count: 1 } for all of it. */
  readonly shard: { index: number; count: number };
  private readonly pipeline: NativePipeline;
  private readonly size: number;
  private readonly input: DeviceInput | null;
  private waitMs = 0;
  private delivered = 0;
  private closed = false;

  /** @internal Use createLoader(). */
  constructor(dataset: Dataset, pipeline: NativePipeline, config: NativePipelineConfig, stats: DatasetStats | null) {
    this.dataset = dataset;
    this.pipeline = pipeline;
    this.datasetStats = stats;
    const geometry: BatchGeometry = {
      batchSize: config.batchSize, batchesPerEpoch: pipeline.batchesPerEpoch, imagesPerEpoch: pipeline.imagesPerEpoch,
      imageShape: [config.channels, config.cropHeight, config.cropWidth], numClasses: dataset.numClasses, classNames: dataset.classNames,
    };
    Object.assign(this, geometry);
    this.crops = config.crop === 'ten' ? 10 : 1;
    this.size = config.size;
    this.augmentOn = config.output === 'raw' ? 'device' : 'host';
    this.shard = { index: config.shardIndex, count: config.shardCount };
    this.input = config.output === 'raw'
      ? new DeviceInput(config.scale, config.meanData,
        config.mean === 'pixel' ? [config.channels, config.size, config.size] : [config.channels])
      : null;
  }

  epoch(epoch: number, options: { startBatch?: number } = {}): AsyncIterable<Batch> {
    integer(epoch, 'epoch', 0, Number.MAX_SAFE_INTEGER);
    const startBatch = integer(options.startBatch ?? 0, 'options.startBatch', 0, this.batchesPerEpoch);
    if (this.closed) throw new Error('the loader is closed');
    return { [Symbol.asyncIterator]: () => this.batches(epoch, startBatch) };
  }

  private async *batches(epoch: number, startBatch: number): AsyncGenerator<Batch> {
    if (this.closed) throw new Error('the loader is closed');
    const generation = this.pipeline.start(epoch, startBatch);
    const [c, h, w] = this.imageShape;
    for (;;) {
      const t0 = performance.now();
      const b = await this.pipeline.next(generation);
      this.waitMs += performance.now() - t0;
      if (b === null) return;
      if (b === 'stale') throw new Error(`epoch ${epoch} was abandoned: loader.epoch() was iterated again before it finished`);
      if (b.count === 0) continue;  // every image of this batch was skipped
      this.delivered++;
      const shape: [number, number, number, number] = [b.count * b.crops, c, h, w];
      if (this.input && b.pixels && b.params) {
        const raw = { pixels: b.pixels, pixelShape: [b.count, this.size, this.size, c] as [number, number, number, number], params: b.params, input: this.input };
        yield { images: EMPTY, labels: b.labels, shape, crops: b.crops, indices: b.indices, raw };
      } else {
        yield { images: b.images!, labels: b.labels, shape, crops: b.crops, indices: b.indices };
      }
    }
  }

  stats(): LoaderStats {
    const s = this.pipeline.stats();
    return {
      imagesPerSecond: s.busySeconds > 0 ? s.images / s.busySeconds : 0,
      waitMs: this.waitMs,
      batches: this.delivered,
      images: s.images,
      skipped: s.skipped,
    };
  }

  /** The random draws for the image at `position` of `epoch` (crop corner, flip, PCA alphas). */
  augmentation(epoch: number, position: number): AugmentationDraws {
    return this.pipeline.draws(integer(epoch, 'epoch', 0), integer(position, 'position', 0, this.imagesPerEpoch - 1));
  }

  /** The dataset indices in the order `epoch` visits them. */
  order(epoch: number): Int32Array {
    return this.pipeline.order(integer(epoch, 'epoch', 0));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.input?.dispose();
    await this.pipeline.close();
  }
}

export async function createLoader(dataset: Dataset, options: LoaderOptions): Promise<DataLoader> {
  if (!(dataset instanceof Dataset)) throw new TypeError(`dataset must be a Dataset, got ${describe(dataset)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
  const train = bool(options.train ?? true, 'options.train');
  const batchSize = integer(options.batchSize, 'options.batchSize', 1, 1 << 20);
  const seed = seedValue(options.seed ?? 0, 'options.seed');
  const workers = integer(options.workers ?? defaultWorkers(), 'options.workers', 1, MAX_WORKERS);
  const prefetch = integer(options.prefetch ?? 2, 'options.prefetch', 0, 1024);
  const channels = options.channels ?? dataset.channels;
  if (channels !== 1 && channels !== 3) throw new RangeError(`options.channels must be 1 or 3, got ${describe(channels)}`);
  const onBadImage = options.onBadImage ?? 'error';
  if (onBadImage !== 'error' && onBadImage !== 'skip')
    throw new TypeError(`options.onBadImage must be "error" or "skip", got ${describe(onBadImage)}`);
  const size = integer(options.size ?? dataset.defaultSize, 'options.size', 1, 65536);
  const [cropHeight, cropWidth] = pair(options.crop ?? (size === 256 ? 224 : size), 'options.crop', 1);
  if (cropHeight > size || cropWidth > size)
    throw new RangeError(`options.crop [${cropHeight}, ${cropWidth}] must fit in options.size ${size}`);
  const tenCrop = bool(options.tenCrop ?? false, 'options.tenCrop');
  if (tenCrop && train) throw new TypeError('options.tenCrop is for evaluation: set train: false');
  const flip = bool(options.flip ?? train, 'options.flip');
  const shuffle = bool(options.shuffle ?? train, 'options.shuffle');
  const dropLast = bool(options.dropLast ?? train, 'options.dropLast');
  const mean = options.mean ?? 'pixel';
  if (mean !== 'pixel' && mean !== 'channel' && mean !== 'none')
    throw new TypeError(`options.mean must be "pixel", "channel" or "none", got ${describe(mean)}`);
  const pixelScale = finite(options.pixelScale ?? 1, 'options.pixelScale', Number.MIN_VALUE);
  const pca = pcaSettings(options.pca, train && channels === 3 && !tenCrop);
  const augmentOn = options.augmentOn ?? 'host';
  if (augmentOn !== 'host' && augmentOn !== 'device')
    throw new TypeError(`options.augmentOn must be "host" or "device", got ${describe(augmentOn)}`);

  const shard = shardOption(options.shard);

  const source = options.cache === undefined ? dataset
    : await cacheDataset(dataset, options.cache, { size, channels, workers, onBadImage });
  let stats: DatasetStats | null = null;
  if (mean !== 'none' || pca) {
    if (options.stats !== undefined) stats = options.stats;
    else if (train) stats = await computeStats(source, { size, channels, workers, file: options.statsFile, onBadImage });
    else throw new TypeError("options.stats is required for an evaluation loader: pass the training set's statistics " +
      "(computeStats(trainSet) or trainLoader.datasetStats), or set mean: 'none'");
    checkStats(stats, size, channels, mean);
  }

  const config: NativePipelineConfig = {
    batchSize, workers, prefetch, size, channels, cropHeight, cropWidth,
    crop: tenCrop ? 'ten' : train ? 'random' : 'centre',
    randomFlip: flip && !tenCrop, shuffle, dropLast, skipBad: onBadImage === 'skip', scale: pixelScale, mean,
    meanData: stats === null || mean === 'none' ? null
      : Float32Array.from(mean === 'pixel' ? stats.meanImage : stats.channelMean, (v) => v * pixelScale),
    pcaStd: 0, eigvec: null, eigval: null, seed, output: augmentOn === 'device' ? 'raw' : 'float',
    shardIndex: shard.index, shardCount: shard.count,
  };
  if (pca && stats) {
    // Eigenvalues measured at pca.pixelScale, the offset converted to the output's scale.
    const s = pca.pixelScale;
    const { eigenvalues, eigenvectors } = colourPca(stats.covariance.map((v) => v * s * s), channels);
    config.pcaStd = pca.std;
    config.eigvec = eigenvectors;
    config.eigval = eigenvalues.map((l) => (l * pixelScale) / s);
  }
  const pipeline = new (dataBinding().DataPipeline)(source.source, config);
  return new DataLoader(source, pipeline, config, stats);
}

const EMPTY = new Float32Array(0);

function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

function shardOption(value: LoaderOptions['shard']): { index: number; count: number } {
  if (value === undefined) return { index: 0, count: 1 };
  if (value === null || typeof value !== 'object')
    throw new TypeError(`options.shard must be { index, count } or a process group, got ${describe(value)}`);
  const [index, count] = 'rank' in value ? [value.rank, value.size] : [value.index, value.count];
  const n = integer(count, 'options.shard.count', 1, 1 << 20);
  return { index: integer(index, 'options.shard.index', 0, n - 1), count: n };
}

function pcaSettings(value: LoaderOptions['pca'], byDefault: boolean): { std: number; pixelScale: number } | null {
  if (value === false || (value === undefined && !byDefault)) return null;
  if (value !== undefined && (value === null || typeof value !== 'object'))
    throw new TypeError(`options.pca must be false or { std, pixelScale }, got ${describe(value)}`);
  const std = finite(value?.std ?? 0.1, 'options.pca.std', 0);
  const pixelScale = finite(value?.pixelScale ?? 1 / 255, 'options.pca.pixelScale', Number.MIN_VALUE);
  return std === 0 ? null : { std, pixelScale };
}

function checkStats(stats: DatasetStats, size: number, channels: number, mean: string): void {
  if (!stats || !(stats.covariance instanceof Float64Array) || !(stats.meanImage instanceof Float64Array))
    throw new TypeError(`options.stats must come from computeStats(), got ${describe(stats)}`);
  if (stats.channels !== channels)
    throw new RangeError(`options.stats has ${stats.channels} channels but the loader produces ${channels}`);
  if (mean === 'pixel' && stats.size !== size)
    throw new RangeError(`options.stats was computed at size ${stats.size} but the loader prepares size ${size} ` +
      "(the mean image must match; compute the statistics at this size or use mean: 'channel')");
}
