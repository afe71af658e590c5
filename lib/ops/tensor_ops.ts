// Small tensor utilities: fill, scale, add, channel slicing for the two-column model.
import { native } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { describe, finiteFloat32, float32, integer, seed as seedArg, shapeString } from '../validate.js';
import { expectShape, floatArg, floatLike, sameDevice, tensorArg, wrap } from './check.js';

/**
 * Sets every element of t to `value`, stored as float32. NaN and ±Infinity are stored as they are
 * (deliberate special values); a finite value beyond float32's range (1e300) is a RangeError rather
 * than a silent Infinity.
 */
export function fill(t: Tensor, value: number): void {
  native.fill(floatArg(t, 'tensor'), { value: float32(value, 'value') });
}

export interface NormalOptions {
  mean?: number;
  std?: number;
  seed: number;
  /**
   * The first element's index in the seed's stream (default 0): t gets the values that elements
   * [offset, offset + t.size) of a longer tensor drawn with the same seed get.
   */
  offset?: number;
}

/** Fills t in place from N(mean, std²), identically on every device for the same seed. */
export function normal(t: Tensor, options: NormalOptions): void {
  const tt = floatArg(t, 'tensor');
  native.normal(tt, {
    mean: finiteFloat32(options.mean ?? 0, 'mean'),
    std: finiteFloat32(options.std ?? 1, 'std', 0),
    seed: seedArg(options.seed),
    offset: integer(options.offset ?? 0, 'offset', 0, Number.MAX_SAFE_INTEGER),
  });
}

/** y += alpha · x, in place. */
export function axpy(alpha: number, x: Tensor, y: Tensor): void {
  const xt = floatArg(x, 'x');
  const yt = floatArg(y, 'y');
  sameDevice([yt, 'y'], [xt, 'x']);
  expectShape(xt, 'x', yt.shape);
  native.axpy(xt, yt, { alpha: finiteFloat32(alpha, 'alpha') });
}

/** alpha · x, with alpha a finite float32 (a RangeError beyond float32's range). */
export function scale(x: Tensor, alpha: number): Tensor {
  return wrap(native.scale(floatArg(x, 'x'), { alpha: finiteFloat32(alpha, 'alpha') }));
}

export function add(a: Tensor, b: Tensor): Tensor {
  const at = floatArg(a, 'a');
  return wrap(native.add(at, floatLike(b, 'b', [at, 'a'])));
}

export function clone(x: Tensor): Tensor {
  return wrap(native.clone(tensorArg(x, 'x')));
}

/** Channels [start, start + count) of x [N, C, ...]. */
export function sliceChannels(x: Tensor, start: number, count: number): Tensor {
  const xt = tensorArg(x, 'x');
  if (xt.shape.length < 2) throw new RangeError(`x must have shape [N, C, ...], got ${shapeString(xt.shape)}`);
  integer(start, 'start', 0, xt.shape[1]! - 1);
  integer(count, 'count', 1, xt.shape[1]! - start);
  return wrap(native.sliceChannels(xt, { start, count }));
}

/** Concatenation along the channel dimension of tensors [N, Ci, ...] on one device. */
export function concatChannels(parts: Tensor[]): Tensor {
  if (!Array.isArray(parts) || parts.length === 0) throw new TypeError(`parts must be a non-empty array of tensors, got ${describe(parts)}`);
  const ts = parts.map((p, i) => tensorArg(p, `parts[${i}]`));
  const first = ts[0]!;
  ts.forEach((t, i) => {
    sameDevice([first, 'parts[0]'], [t, `parts[${i}]`]);
    if (t.shape.length !== first.shape.length || t.shape[0] !== first.shape[0] || !t.shape.slice(2).every((d, j) => d === first.shape[j + 2]))
      throw new RangeError(`parts[${i}] ${shapeString(t.shape)} does not match parts[0] ${shapeString(first.shape)} outside the channel dimension`);
  });
  return wrap(native.concatChannels(ts));
}
