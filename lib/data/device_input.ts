// The network input on a device, from either kind of batch: host floats are uploaded as they are;
// raw batches (a loader with augmentOn: 'device') upload their 8-bit images and crop rows and are
// cropped there by ops.cropImages, which gives the floats the host would have made, bit for bit.
import { cropImages } from '../ops/crop.js';
import { disposeAll, Tensor, type DeviceName } from '../tensor.js';
import type { Batch } from './types.js';

/** The scale and mean of a loader's device crop; the mean goes to each device once. */
export class DeviceInput {
  /** out = (scale · pixel − mean) + colour offset. */
  readonly scale: number;
  /** [C] or [C, size, size] in output units, or null (nothing subtracted). */
  readonly mean: Float32Array | null;
  readonly meanShape: readonly number[];
  private readonly uploaded = new Map<DeviceName, Tensor>();
  private closed = false;

  constructor(scale: number, mean: Float32Array | null, meanShape: readonly number[]) {
    this.scale = scale;
    this.mean = mean;
    this.meanShape = meanShape;
  }

  /** The mean as a tensor on `device`, uploaded on first use and kept until dispose(); null without a mean. */
  meanOn(device: DeviceName): Tensor | null {
    if (this.mean === null) return null;
    if (this.closed) throw new Error('the loader of this batch is closed: its mean is no longer on the device');
    let t = this.uploaded.get(device);
    if (!t) {
      t = Tensor.fromArray(this.mean, this.meanShape, device);
      this.uploaded.set(device, t);
    }
    return t;
  }

  /** Frees the uploaded means (the loader does this when it closes). */
  dispose(): void {
    this.closed = true;
    disposeAll([...this.uploaded.values()]);
    this.uploaded.clear();
  }
}

/**
 * The network input of `batch` on `device`: [N, C, H, W] float32 as `batch.shape` says. The caller
 * owns the tensor. Host batches are uploaded; raw batches are cropped on the device (their
 * temporary upload is freed once the crop has run).
 */
export function batchToDevice(batch: Batch, device: DeviceName): Tensor {
  if (!batch.raw) return Tensor.fromArray(batch.images, batch.shape, device);
  const { pixels, pixelShape, params, input } = batch.raw;
  const [rows, c, h, w] = batch.shape;
  const images = Tensor.fromArray(pixels, pixelShape, device);
  const rowParams = Tensor.fromArray(params, [rows, 3 + c], device);
  try {
    return cropImages(images, rowParams, { crop: [h, w], scale: input.scale, mean: input.meanOn(device) });
  } finally {
    // Queued work keeps the storage alive until the crop has run.
    disposeAll(images, rowParams);
  }
}
