import { native, type NativeOptions } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { pair, positiveInteger } from '../validate.js';
import { activationArg, expectShape, optionalFloatArg, sameDType, sameDevice, wrap, wrapOptional } from './check.js';

export interface Conv2dOptions {
  /** One number or [h, w]; default 1. */
  stride?: number | [number, number];
  /** Zero padding on each side, one number or [h, w]; default 0. The padded size may not exceed 2^31 - 1. */
  padding?: number | [number, number];
  /** Channel groups (2 for AlexNet's conv2, conv4, conv5 on one device); default 1. */
  groups?: number;
}

interface Resolved { options: NativeOptions<'conv2d'>; outShape: number[] }

// Option normalisation here; the shape checks and the output size come from the core's meta
// function (a RangeError naming x, w, groups, padding or kernel when they do not fit together).
function nativeOptions(options: Conv2dOptions): NativeOptions<'conv2d'> {
  const [strideH, strideW] = pair(options.stride ?? 1, 'stride', 1);
  const [padH, padW] = pair(options.padding ?? 0, 'padding', 0);
  const groups = positiveInteger(options.groups ?? 1, 'groups');
  return { strideH, strideW, padH, padW, groups };
}

/** The output shape of conv2d for input shape `x` and weight shape `w`, from the core. */
export function conv2dShape(x: readonly number[], w: readonly number[], options: Conv2dOptions = {}): number[] {
  return native.conv2dShape(x, w, nativeOptions(options));
}

function resolve(x: Tensor, w: Tensor, options: Conv2dOptions): Resolved {
  const xt = activationArg(x, 'x', 4);
  const wt = activationArg(w, 'w', 4);
  sameDType([xt, 'x'], [wt, 'w']);
  const xs = xt.shape, ws = wt.shape;
  const resolved = nativeOptions(options);
  return { options: resolved, outShape: native.conv2dShape(xs, ws, resolved) };
}

/** 2-D convolution (cross-correlation) of x [N, C, H, W] with w [O, C / groups, KH, KW], plus bias [O]. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const r = resolve(x, w, options);
  const bt = optionalFloatArg(b, 'b');
  sameDevice([x.native, 'x'], [w.native, 'w'], [bt, 'b']);
  if (bt) expectShape(bt, 'b', [r.outShape[1]!]);
  return wrap(native.conv2d(x.native, w.native, bt, r.options));
}

export interface Conv2dGrads { dx: Tensor | null; dw: Tensor; db: Tensor | null }

/** Gradients of conv2d given dy = dL/dy. `dx` can be skipped (first layer); `db` with `bias: false`. */
export function conv2dBackward(dy: Tensor, x: Tensor, w: Tensor, options: Conv2dOptions & { inputGrad?: boolean; bias?: boolean } = {}): Conv2dGrads {
  const r = resolve(x, w, options);
  const dyt = activationArg(dy, 'dy');
  sameDType([x.native, 'x'], [dyt, 'dy']);
  sameDevice([x.native, 'x'], [w.native, 'w'], [dyt, 'dy']);
  expectShape(dyt, 'dy', r.outShape);
  const g = native.conv2dBackward(dyt, x.native, w.native,
    { ...r.options, wantDx: options.inputGrad ?? true, wantDb: options.bias ?? true });
  return { dx: wrapOptional(g.dx), dw: wrap(g.dw), db: wrapOptional(g.db) };
}
