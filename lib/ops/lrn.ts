import { native, type NativeOptions } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { dimension, finiteFloat32 } from '../validate.js';
import { activationArg, activationLike, wrap } from './check.js';

/**
 * Cross-channel local response normalisation (paper §3.3):
 * `b[c] = a[c] / (k + alpha * Σ a[j]²)^beta`, the sum over the `size` channels centred on c,
 * clipped at the edges. `alpha` is the paper's alpha exactly as in that formula — NOT divided by
 * `size`. cuDNN, oneDNN, Caffe and Krizhevsky's cuda-convnet divide their alpha by `size`
 * internally (we pass alpha·size to them); a Caffe configuration with alpha = 1e-4 and size 5
 * equals alpha = 2e-5 here. The paper's values are the defaults: size 5, alpha 1e-4, beta 0.75, k 2.
 */
export interface LrnOptions { size?: number; alpha?: number; beta?: number; k?: number }

function resolve(options: LrnOptions): NativeOptions<'localResponseNorm'> {
  const size = dimension(options.size ?? 5, 'size');
  if (size % 2 === 0) throw new RangeError(`size must be odd (a window centred on each channel), got ${size}`);
  const alpha = finiteFloat32(options.alpha ?? 1e-4, 'alpha', 0);
  const beta = finiteFloat32(options.beta ?? 0.75, 'beta', 1e-6);
  const k = finiteFloat32(options.k ?? 2, 'k', 1e-5);
  return { size, alpha, beta, k };
}

export function localResponseNorm(x: Tensor, options: LrnOptions = {}): Tensor {
  const o = resolve(options);
  return wrap(native.localResponseNorm(activationArg(x, 'x', 4), o));
}

/** dL/dx of LRN from dy, the input x and the forward output y. */
export function localResponseNormBackward(dy: Tensor, x: Tensor, y: Tensor, options: LrnOptions = {}): Tensor {
  const o = resolve(options);
  const xt = activationArg(x, 'x', 4);
  return wrap(native.localResponseNormBackward(activationLike(dy, 'dy', [xt, 'x']), xt, activationLike(y, 'y', [xt, 'x']), o));
}
