// A BatchLoader over images already in memory: for tests, small data sets and examples.
import type { Batch, BatchGeometry, BatchLoader, LoaderStats } from '../data/types.js';
import { describe, integer, positiveInteger, seed as seedArg } from '../validate.js';
import { epochPermutation } from './shuffle.js';

export interface ArrayLoaderOptions {
  /** Row-major [N, C, H, W] float32, already preprocessed. */
  images: Float32Array;
  labels: Int32Array;
  imageShape: [number, number, number];
  batchSize: number;
  numClasses?: number;
  classNames?: string[];
  /** A new order every epoch, from (seed, epoch). Default true. */
  shuffle?: boolean;
  seed?: number;
  /** Drop the last, smaller batch. Default false. */
  dropLast?: boolean;
}

// The geometry's fields are declared once, in BatchGeometry, and set in the constructor.
export interface ArrayLoader extends BatchGeometry {}
export class ArrayLoader implements BatchLoader {
  private readonly images: Float32Array;
  private readonly labels: Int32Array;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private produced = { batches: 0, images: 0 };
  private readonly started = performance.now();

  constructor(options: ArrayLoaderOptions) {
    const { images, labels, imageShape } = options;
    if (!(images instanceof Float32Array)) throw new TypeError(`images must be a Float32Array, got ${describe(images)}`);
    if (!(labels instanceof Int32Array)) throw new TypeError(`labels must be an Int32Array, got ${describe(labels)}`);
    if (!Array.isArray(imageShape) || imageShape.length !== 3) throw new TypeError(`imageShape must be [C, H, W], got ${describe(imageShape)}`);
    imageShape.forEach((d, i) => positiveInteger(d, `imageShape[${i}]`));
    const per = imageShape[0] * imageShape[1] * imageShape[2];
    if (images.length !== labels.length * per)
      throw new RangeError(`images has ${images.length} values but ${labels.length} labels of [${imageShape.join(', ')}] need ${labels.length * per}`);
    const batchSize = positiveInteger(options.batchSize, 'batchSize');
    this.images = images;
    this.labels = labels;
    const maxLabel = labels.reduce((m, v) => Math.max(m, v), 0);
    const numClasses = integer(options.numClasses ?? maxLabel + 1, 'numClasses', 1);
    this.shuffle = options.shuffle ?? true;
    this.seed = seedArg(options.seed ?? 0);
    const n = labels.length;
    const batchesPerEpoch = options.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
    const geometry: BatchGeometry = {
      batchSize, batchesPerEpoch, imagesPerEpoch: options.dropLast ? batchesPerEpoch * batchSize : n,
      imageShape: [...imageShape], numClasses,
      classNames: options.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
    };
    Object.assign(this, geometry);
  }

  async *epoch(epoch: number, options: { startBatch?: number } = {}): AsyncIterable<Batch> {
    integer(epoch, 'epoch', 0);
    const start = integer(options.startBatch ?? 0, 'startBatch', 0, this.batchesPerEpoch);
    const n = this.labels.length;
    const order = this.shuffle ? epochPermutation(n, this.seed, epoch) : Int32Array.from({ length: n }, (_, i) => i);
    const [c, h, w] = this.imageShape;
    const per = c * h * w;
    for (let b = start; b < this.batchesPerEpoch; b++) {
      const indices = order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize));
      const images = new Float32Array(indices.length * per);
      const labels = new Int32Array(indices.length);
      indices.forEach((idx, i) => {
        images.set(this.images.subarray(idx * per, (idx + 1) * per), i * per);
        labels[i] = this.labels[idx]!;
      });
      this.produced.batches++;
      this.produced.images += indices.length;
      yield { images, labels, shape: [indices.length, c, h, w], crops: 1, indices: Int32Array.from(indices) };
    }
  }

  stats(): LoaderStats {
    const seconds = (performance.now() - this.started) / 1000;
    return { imagesPerSecond: this.produced.images / Math.max(seconds, 1e-9), waitMs: 0, ...this.produced, skipped: 0 };
  }

  close(): void {}
}
