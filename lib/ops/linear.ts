import { native } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { activationArg, expectShape, optionalFloatArg, sameDType, sameDevice, wrap, wrapOptional } from './check.js';

// The output shape [N, out] from the core's meta function (a RangeError naming x or w when the
// shapes do not fit together).
function outputShape(x: Tensor, w: Tensor): [number, number] {
  const xt = activationArg(x, 'x');
  const wt = activationArg(w, 'w', 2);
  sameDType([xt, 'x'], [wt, 'w']);
  const xs = xt.shape, ws = wt.shape;
  return native.linearShape(xs, ws) as [number, number];
}

/** The output shape of linear for input shape `x` and weight shape `w` ([out, in]), from the core. */
export function linearShape(x: readonly number[], w: readonly number[]): number[] {
  return native.linearShape(x, w);
}

/** Fully connected layer: y [N, out] = x [N, in] · wᵀ + b, with w [out, in] (x may be [N, C, H, W]). */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const [, out] = outputShape(x, w);
  const bt = optionalFloatArg(b, 'b');
  sameDevice([x.native, 'x'], [w.native, 'w'], [bt, 'b']);
  if (bt) expectShape(bt, 'b', [out]);
  return wrap(native.linear(x.native, w.native, bt));
}

export interface LinearGrads { dx: Tensor | null; dw: Tensor; db: Tensor | null }

export function linearBackward(dy: Tensor, x: Tensor, w: Tensor, options: { inputGrad?: boolean; bias?: boolean } = {}): LinearGrads {
  const [n, out] = outputShape(x, w);
  const dyt = activationArg(dy, 'dy');
  sameDType([x.native, 'x'], [dyt, 'dy']);
  sameDevice([x.native, 'x'], [w.native, 'w'], [dyt, 'dy']);
  expectShape(dyt, 'dy', [n, out]);
  const g = native.linearBackward(dyt, x.native, w.native, { wantDx: options.inputGrad ?? true, wantDb: options.bias ?? true });
  return { dx: wrapOptional(g.dx), dw: wrap(g.dw), db: wrapOptional(g.db) };
}
