import { native, type UnaryOp } from '../binding.js';
import type { Tensor } from '../tensor.js';
import { finite, integer, seed as seedArg } from '../validate.js';
import { activationArg, activationLike, expectShape, floatArg, floatLike, sameDevice, wrap } from './check.js';

// The unary elementwise ops of the op table: y = f(x), and dx from dy and the forward output y.
// ReLU also takes bfloat16 and float16 (the op table's dtypes column).
const BF16_UNARY: readonly UnaryOp[] = ['relu'];
function unaryArg(op: UnaryOp, value: unknown, name: string) {
  return BF16_UNARY.includes(op) ? activationArg(value, name) : floatArg(value, name);
}

function unary(op: UnaryOp, x: Tensor): Tensor {
  return wrap(native[op](unaryArg(op, x, 'x')));
}

function unaryBackward(op: UnaryOp, dy: Tensor, y: Tensor): Tensor {
  const yt = unaryArg(op, y, 'y');
  const dyt = BF16_UNARY.includes(op) ? activationLike(dy, 'dy', [yt, 'y']) : floatLike(dy, 'dy', [yt, 'y']);
  return wrap(native[`${op}Backward`](dyt, yt));
}

export const relu = (x: Tensor): Tensor => unary('relu', x);
/** dx = dy where the forward output y > 0, else 0. */
export const reluBackward = (dy: Tensor, y: Tensor): Tensor => unaryBackward('relu', dy, y);

export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** dx = dy * (1 - y^2) from the forward output y = tanh(x). */
export const tanhBackward = (dy: Tensor, y: Tensor): Tensor => unaryBackward('tanh', dy, y);

export interface DropoutOptions {
  /** Probability of dropping a unit; the paper's 0.5. */
  p?: number;
  /** The mask is a pure function of (seed, offset + element index): the same on every device. */
  seed: number;
  /**
   * Where in a longer draw this tensor's mask starts (default 0): rows [r, r + n) of a batch drawn
   * alone with offset r × (elements per row) get the mask those rows get in the whole batch.
   */
  offset?: number;
  /**
   * Counters between the starts of consecutive rows (of the last dimension); 0, the default, is the
   * row's own length. Columns [c, c + n) of rows W wide drawn alone with offset c and rowStride W
   * get the mask those columns get in the whole tensor (a model-parallel rank's features).
   */
  rowStride?: number;
}

/**
 * Inverted dropout: kept units are scaled by 1/(1-p) during training and nothing is done at test
 * time, which is equivalent to the paper's "multiply the outputs by 0.5 at test time" for p = 0.5.
 * Returns the output (in x's dtype: float32, bfloat16 or float16, a 16-bit one rounded once from
 * the float32 product) and the float32 mask (0 or 1/(1-p) per element) for the backward pass.
 */
export function dropout(x: Tensor, options: DropoutOptions): { y: Tensor; mask: Tensor } {
  const xt = activationArg(x, 'x');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be { p, seed }');
  const p = finite(options.p ?? 0.5, 'p', 0, 0.999999);
  const s = seedArg(options.seed);
  const offset = integer(options.offset ?? 0, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const rowStride = integer(options.rowStride ?? 0, 'rowStride', 0, Number.MAX_SAFE_INTEGER);
  const r = native.dropout(xt, { p, seed: s, offset, rowStride });
  return { y: wrap(r.y), mask: wrap(r.mask) };
}

/** dx = dy * mask, in dy's dtype (the mask is float32 whatever the activations are). */
export function dropoutBackward(dy: Tensor, mask: Tensor): Tensor {
  const mt = floatArg(mask, 'mask');
  const dt = activationArg(dy, 'dy');
  sameDevice([mt, 'mask'], [dt, 'dy']);
  expectShape(dt, 'dy', mt.shape);
  return wrap(native.dropoutBackward(dt, mt));
}
