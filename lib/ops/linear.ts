import { native } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { shapeString } from '../validate.js';
import { expectShape, floatArg, optionalFloatArg, sameDevice, wrap, wrapOptional } from './check.js';

function features(x: Tensor, w: Tensor): [number, number, number] {
  const xs = floatArg(x, 'x').shape;
  const ws = floatArg(w, 'w', 2).shape;
  if (xs.length < 2) throw new RangeError(`x must have shape [N, in] (or [N, C, H, W], flattened), got ${shapeString(xs)}`);
  const n = xs[0]!;
  const inF = xs.slice(1).reduce((a, b) => a * b, 1);
  if (ws[1] !== inF)
    throw new RangeError(`w must have shape [out, ${inF}] to match x ${shapeString(xs)}, got ${shapeString(ws)}`);
  return [n, inF, ws[0]!];
}

/** Fully connected layer: y [N, out] = x [N, in] · wᵀ + b, with w [out, in] (x may be [N, C, H, W]). */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const [, , out] = features(x, w);
  const bt = optionalFloatArg(b, 'b');
  sameDevice([x.native, 'x'], [w.native, 'w'], [bt, 'b']);
  if (bt) expectShape(bt, 'b', [out]);
  return wrap(native.linear(x.native, w.native, bt));
}

export interface LinearGrads { dx: Tensor | null; dw: Tensor; db: Tensor | null }

export function linearBackward(dy: Tensor, x: Tensor, w: Tensor, options: { inputGrad?: boolean; bias?: boolean } = {}): LinearGrads {
  const [n, , out] = features(x, w);
  const dyt = floatArg(dy, 'dy');
  sameDevice([x.native, 'x'], [w.native, 'w'], [dyt, 'dy']);
  expectShape(dyt, 'dy', [n, out]);
  const g = native.linearBackward(dyt, x.native, w.native, options.inputGrad ?? true, options.bias ?? true);
  return { dx: wrapOptional(g.dx), dw: wrap(g.dw), db: wrapOptional(g.db) };
}
