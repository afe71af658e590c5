// The input crop on the device: raw 8-bit images and per-row crop parameters into network input.
import { native, type NativeTensor } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { finiteFloat32, pair, shapeEquals, shapeString } from '../validate.js';
import { floatArg, sameDevice, tensorArg, wrap } from './check.js';

export interface CropImagesOptions {
  /** Output [height, width], or one number for a square. */
  crop: number | [number, number];
  /** Multiplies every pixel before the mean is subtracted; default 1 (pixels 0..255). */
  scale?: number;
  /**
   * Subtracted after scaling, in output units: float32 [C] (per channel) or [C, H, W] (the mean
   * image, indexed at the source pixel: subtracted before cropping, as in the paper).
   */
  mean?: Tensor | null;
}

/**
 * Network input from raw 8-bit images, on their device (paper §4.1): a crop, an optional
 * horizontal flip, scaling, mean subtraction and a colour offset per row.
 *
 * `images` is uint8 [N, H, W, C] (C 1 to 4); `params` is float32 [N · crops, 3 + C], one row per
 * output row (row r crops image ⌊r / crops⌋): crop top, crop left, flip (0 or 1), then the colour
 * offset of each channel. The result is float32 [N · crops, C, h, w] with
 * `out = (scale · pixel − mean) + offset`, rounded in float after each operation: the same bits
 * as the data loader's host crop. The windows live on the device and are not checked here: one
 * that is not whole pixels inside its image fails the op on the CPU (an AlexNetError when the
 * result is read) and gives a row of NaN on CUDA.
 */
export function cropImages(images: Tensor, params: Tensor, options: CropImagesOptions): Tensor {
  const it = tensorArg(images, 'images');
  if (it.dtype !== 'uint8') throw new TypeError(`images must be uint8 [N, H, W, C], got ${it.dtype}`);
  if (it.shape.length !== 4) throw new RangeError(`images must have rank 4 ([N, H, W, C]), got shape ${shapeString(it.shape)}`);
  const [n, h, w, c] = it.shape as [number, number, number, number];
  if (c > 4) throw new RangeError(`images must have 1 to 4 channels (the last dimension), got shape ${shapeString(it.shape)}`);
  const pt = floatArg(params, 'params', 2);
  const rows = pt.shape[0]!;
  if (pt.shape[1] !== 3 + c || rows % n !== 0)
    throw new RangeError(`params must have shape [N * crops, 3 + C] = [${n} * crops, ${3 + c}] for images ${shapeString(it.shape)}, ` +
      `got ${shapeString(pt.shape)}`);
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object with crop');
  const [outH, outW] = pair(options.crop, 'crop', 1);
  if (outH > h || outW > w) throw new RangeError(`crop ${outH}x${outW} is larger than the images ${h}x${w} of images ${shapeString(it.shape)}`);
  const scale = finiteFloat32(options.scale ?? 1, 'scale');
  let mt: NativeTensor | null = null;
  if (options.mean !== undefined && options.mean !== null) {
    mt = floatArg(options.mean, 'mean');
    if (!shapeEquals(mt.shape, [c]) && !shapeEquals(mt.shape, [c, h, w]))
      throw new RangeError(`mean must have shape [C] = [${c}] or [C, H, W] = [${c}, ${h}, ${w}], got ${shapeString(mt.shape)}`);
  }
  sameDevice([it, 'images'], [pt, 'params'], [mt, 'mean']);
  return wrap(native.cropImages(it, pt, mt, { outH, outW, scale }));
}
