import { native, type NativeOptions } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { pair } from '../validate.js';
import { activationArg, expectShape, sameDType, sameDevice, wrap } from './check.js';

/** Max pooling without padding. The paper's overlapping pooling is kernel 3, stride 2 (the defaults). */
export interface MaxPool2dOptions { kernel?: number | [number, number]; stride?: number | [number, number] }

// Option normalisation here; the window check and the output size come from the core's meta
// function (a RangeError when the window does not fit).
function nativeOptions(options: MaxPool2dOptions): NativeOptions<'maxPool2d'> {
  const [kernelH, kernelW] = pair(options.kernel ?? 3, 'kernel', 1);
  const [strideH, strideW] = pair(options.stride ?? 2, 'stride', 1);
  return { kernelH, kernelW, strideH, strideW };
}

/** The output shape of maxPool2d for an input of shape `x`, from the core. */
export function maxPool2dShape(x: readonly number[], options: MaxPool2dOptions = {}): number[] {
  return native.maxPool2dShape(x, nativeOptions(options));
}

function resolve(x: Tensor, options: MaxPool2dOptions): { options: NativeOptions<'maxPool2d'>; out: number[] } {
  const shape = activationArg(x, 'x', 4).shape;
  const resolved = nativeOptions(options);
  return { options: resolved, out: native.maxPool2dShape(shape, resolved) };
}

export function maxPool2d(x: Tensor, options: MaxPool2dOptions = {}): Tensor {
  const r = resolve(x, options);
  return wrap(native.maxPool2d(x.native, r.options));
}

/** Routes dy to the maximum of each window (summed where windows overlap). */
export function maxPool2dBackward(dy: Tensor, x: Tensor, y: Tensor, options: MaxPool2dOptions = {}): Tensor {
  const r = resolve(x, options);
  const dyt = activationArg(dy, 'dy');
  const yt = activationArg(y, 'y');
  sameDevice([x.native, 'x'], [dyt, 'dy'], [yt, 'y']);
  sameDType([x.native, 'x'], [dyt, 'dy'], [yt, 'y']);
  expectShape(dyt, 'dy', r.out);
  expectShape(yt, 'y', r.out);
  return wrap(native.maxPool2dBackward(dyt, x.native, yt, r.options));
}
