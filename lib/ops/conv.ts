import { native } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { MAX_DIMENSION, pair, positiveInteger } from '../validate.js';
import { expectShape, floatArg, optionalFloatArg, sameDevice, wrap, wrapOptional } from './check.js';

export interface Conv2dOptions {
  /** One number or [h, w]; default 1. */
  stride?: number | [number, number];
  /** Zero padding on each side, one number or [h, w]; default 0. The padded size may not exceed 2^31 - 1. */
  padding?: number | [number, number];
  /** Channel groups (2 for AlexNet's conv2, conv4, conv5 on one device); default 1. */
  groups?: number;
}

interface Resolved { sh: number; sw: number; ph: number; pw: number; groups: number; outShape: number[] }

function resolve(x: Tensor, w: Tensor, options: Conv2dOptions): Resolved {
  const xs = floatArg(x, 'x', 4).shape;
  const ws = floatArg(w, 'w', 4).shape;
  const [sh, sw] = pair(options.stride ?? 1, 'stride', 1);
  const [ph, pw] = pair(options.padding ?? 0, 'padding', 0);
  const groups = positiveInteger(options.groups ?? 1, 'groups');
  const [n, c, h, wd] = xs as [number, number, number, number];
  const [o, ci, kh, kw] = ws as [number, number, number, number];
  if (c % groups !== 0 || o % groups !== 0)
    throw new RangeError(`groups (${groups}) must divide the input channels (${c}) and the output channels (${o})`);
  if (ci !== c / groups)
    throw new RangeError(`w must have shape [O, C / groups, KH, KW] = [${o}, ${c / groups}, KH, KW] for x [${xs.join(', ')}] and groups ${groups}, got [${ws.join(', ')}]`);
  if (h + 2 * ph > MAX_DIMENSION || wd + 2 * pw > MAX_DIMENSION)
    throw new RangeError(`padding ${Array.isArray(options.padding) ? `${ph}x${pw}` : ph} makes the padded input ${h + 2 * ph}x${wd + 2 * pw}, more than ${MAX_DIMENSION}`);
  if (kh > h + 2 * ph || kw > wd + 2 * pw)
    throw new RangeError(`kernel ${kh}x${kw} is larger than the padded input ${h + 2 * ph}x${wd + 2 * pw}`);
  const outShape = [n, o, Math.floor((h + 2 * ph - kh) / sh) + 1, Math.floor((wd + 2 * pw - kw) / sw) + 1];
  return { sh, sw, ph, pw, groups, outShape };
}

/** 2-D convolution (cross-correlation) of x [N, C, H, W] with w [O, C / groups, KH, KW], plus bias [O]. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const r = resolve(x, w, options);
  const bt = optionalFloatArg(b, 'b');
  sameDevice([x.native, 'x'], [w.native, 'w'], [bt, 'b']);
  if (bt) expectShape(bt, 'b', [r.outShape[1]!]);
  return wrap(native.conv2d(x.native, w.native, bt, r.sh, r.sw, r.ph, r.pw, r.groups));
}

export interface Conv2dGrads { dx: Tensor | null; dw: Tensor; db: Tensor | null }

/** Gradients of conv2d given dy = dL/dy. `dx` can be skipped (first layer); `db` with `bias: false`. */
export function conv2dBackward(dy: Tensor, x: Tensor, w: Tensor, options: Conv2dOptions & { inputGrad?: boolean; bias?: boolean } = {}): Conv2dGrads {
  const r = resolve(x, w, options);
  const dyt = floatArg(dy, 'dy');
  sameDevice([x.native, 'x'], [w.native, 'w'], [dyt, 'dy']);
  expectShape(dyt, 'dy', r.outShape);
  const g = native.conv2dBackward(dyt, x.native, w.native, r.sh, r.sw, r.ph, r.pw, r.groups,
    options.inputGrad ?? true, options.bias ?? true);
  return { dx: wrapOptional(g.dx), dw: wrap(g.dw), db: wrapOptional(g.db) };
}
