import { native } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { pair } from '../validate.js';
import { expectShape, floatArg, sameDevice, wrap } from './check.js';

/** Max pooling without padding. The paper's overlapping pooling is kernel 3, stride 2 (the defaults). */
export interface MaxPool2dOptions { kernel?: number | [number, number]; stride?: number | [number, number] }

function resolve(x: Tensor, options: MaxPool2dOptions): { k: [number, number]; s: [number, number]; out: number[] } {
  const shape = floatArg(x, 'x', 4).shape;
  const k = pair(options.kernel ?? 3, 'kernel', 1);
  const s = pair(options.stride ?? 2, 'stride', 1);
  const [n, c, h, w] = shape as [number, number, number, number];
  if (k[0] > h || k[1] > w)
    throw new RangeError(`kernel ${k[0]}x${k[1]} is larger than the input ${h}x${w} of x [${shape.join(', ')}]`);
  return { k, s, out: [n, c, Math.floor((h - k[0]) / s[0]) + 1, Math.floor((w - k[1]) / s[1]) + 1] };
}

export function maxPool2d(x: Tensor, options: MaxPool2dOptions = {}): Tensor {
  const r = resolve(x, options);
  return wrap(native.maxPool2d(x.native, r.k[0], r.k[1], r.s[0], r.s[1]));
}

/** Routes dy to the maximum of each window (summed where windows overlap). */
export function maxPool2dBackward(dy: Tensor, x: Tensor, y: Tensor, options: MaxPool2dOptions = {}): Tensor {
  const r = resolve(x, options);
  const dyt = floatArg(dy, 'dy');
  const yt = floatArg(y, 'y');
  sameDevice([x.native, 'x'], [dyt, 'dy'], [yt, 'y']);
  expectShape(dyt, 'dy', r.out);
  expectShape(yt, 'y', r.out);
  return wrap(native.maxPool2dBackward(dyt, x.native, yt, r.k[0], r.k[1], r.s[0], r.s[1]));
}
