import { native } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { finiteFloat32 } from '../validate.js';
import { expectShape, floatArg, sameDevice } from './check.js';

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
