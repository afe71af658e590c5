import { native } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { describe, finite, finiteFloat32 } from '../validate.js';
import { expectShape, floatArg, sameDevice, wrap } from './check.js';

export interface SgdOptions {
  /** ε, the learning rate (the paper starts at 0.01). */
  lr: number;
  /** The paper's 0.9. */
  momentum?: number;
  /** The paper's 0.0005, applied to every parameter as `- weightDecay · lr · w`. */
  weightDecay?: number;
}

/**
 * The paper's update rule, in place (§5): `v ← momentum·v − weightDecay·lr·w − lr·∂L/∂w`,
 * `w ← w + v`. Unlike PyTorch's SGD, the learning rate sits inside the velocity, so a learning-rate
 * change does not rescale the momentum already accumulated.
 */
export function sgdStep(param: Tensor, velocity: Tensor, grad: Tensor, options: SgdOptions): void {
  const p = floatArg(param, 'param');
  const v = floatArg(velocity, 'velocity');
  const g = floatArg(grad, 'grad');
  sameDevice([p, 'param'], [v, 'velocity'], [g, 'grad']);
  expectShape(v, 'velocity', p.shape);
  expectShape(g, 'grad', p.shape);
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be { lr, momentum, weightDecay }');
  const lr = finiteFloat32(options.lr, 'lr', 0);
  const momentum = finiteFloat32(options.momentum ?? 0.9, 'momentum', 0, 1);
  const weightDecay = finiteFloat32(options.weightDecay ?? 5e-4, 'weightDecay', 0);
  native.sgdStep(p, v, g, { lr, momentum, weightDecay });
}

/**
 * Dynamic loss scaling's unscale: multiplies every gradient by 1 / `scale` in place and returns a
 * float32 [1] tensor on their device holding 1 if any result is infinite or NaN, else 0. The flag
 * stays on the device until read, so a step costs one read however many gradients it has. One job
 * for the whole list (one backend call per gradient): `grads` are float32, on one device, none
 * listed twice; `scale` is a positive number whose reciprocal is a normal float32.
 */
export function unscaleGradients(grads: Tensor[], scale: number): Tensor {
  if (!Array.isArray(grads) || grads.length === 0) throw new TypeError(`grads must be a non-empty array of tensors, got ${describe(grads)}`);
  const ts = grads.map((g, i) => floatArg(g, `grads[${i}]`));
  sameDevice([ts[0]!, 'grads[0]'], ...ts.map((t, i): [typeof t, string] => [t, `grads[${i}]`]));
  const inverse = 1 / finite(scale, 'scale', 0);
  if (!(inverse >= FLOAT32_MIN_NORMAL && inverse <= FLOAT32_MAX))
    throw new RangeError(`scale must be in [${1 / FLOAT32_MAX}, 2^126] so that 1 / scale is a normal float32, got ${scale}`);
  return wrap(native.unscaleGradients(ts, { alpha: inverse }));
}

const FLOAT32_MIN_NORMAL = 2 ** -126;
const FLOAT32_MAX = 3.4028234663852886e38;
