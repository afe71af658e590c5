// The contract between the input pipeline (lib/data) and its consumers (the trainer, evaluation).
import type { DeviceInput } from './device_input.js';

/**
 * One batch in host memory, preprocessed (resized, cropped, mean-subtracted, augmented) — or, from
 * a loader with augmentOn: 'device', prepared but not yet cropped (`raw`). batchToDevice() turns
 * either kind into the network input on a device.
 */
export interface Batch {
  /** Row-major [N, C, H, W] float32. With ten-crop evaluation N = images × 10. Empty when `raw` is set. */
  images: Float32Array;
  /** One label per image (int32); with ten-crop, one per original image (length N / crops). */
  labels: Int32Array;
  shape: [number, number, number, number];
  /** Crops per image: 1, or 10 for ten-crop evaluation (rows i*10 .. i*10+9 belong to image i). */
  crops: number;
  /** Dataset indices of the images in this batch (for predictions and debugging). */
  indices: Int32Array;
  /** Set instead of `images` when the device crops: `shape` is still the network input's. */
  raw?: RawBatch;
}

/** The images of a batch before the crop, and how to crop them (ops.cropImages). */
export interface RawBatch {
  /** The prepared images, row-major [images, size, size, C] uint8 (NHWC). */
  pixels: Uint8Array;
  /** [images, size, size, C]. */
  pixelShape: [number, number, number, number];
  /** One row per network input row, [N, 3 + C] float32: crop top, left, flip (0/1), colour offset per channel. */
  params: Float32Array;
  /** The scale and mean the crop applies, the same for every batch of a loader. */
  input: DeviceInput;
}

export interface LoaderStats {
  /** Images produced per second over the loader's life, measured at the producer. */
  imagesPerSecond: number;
  /** Total milliseconds the consumer spent waiting for a batch that was not ready. */
  waitMs: number;
  batches: number;
  images: number;
  /** Images skipped because they could not be decoded (onBadImage: 'skip'). */
  skipped: number;
}

/** What every batch of a loader has in common, and how many there are. */
export interface BatchGeometry {
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  readonly imagesPerEpoch: number;
  /** [C, H, W] of every image in a batch. */
  readonly imageShape: [number, number, number];
  readonly numClasses: number;
  readonly classNames: readonly string[];
}

/** A source of batches, epoch by epoch, deterministic for a given (seed, epoch). */
export interface BatchLoader extends BatchGeometry {
  /**
   * Data parallelism: which share of every batch this loader produces (rows
   * [n·index/count, n·(index+1)/count) of a batch of n; `batchSize` is the whole batch). Absent or
   * { index: 0, count: 1 }: all of it.
   */
  readonly shard?: { readonly index: number; readonly count: number };
  /**
   * The batches of one epoch, in order. `startBatch` skips the first batches (for resuming an
   * interrupted epoch exactly): the batches that follow are the same as in an uninterrupted run.
   */
  epoch(epoch: number, options?: { startBatch?: number }): AsyncIterable<Batch>;
  stats(): LoaderStats;
  /** Stops worker threads and frees buffers. */
  close(): Promise<void> | void;
}
