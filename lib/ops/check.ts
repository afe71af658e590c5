// Tensor-argument checks for the ops.
import type { NativeTensor } from '../binding.js';
import { Tensor } from '../tensor.js';
import { describe, shapeEquals, shapeString } from '../validate.js';

export function tensorArg(value: unknown, name: string): NativeTensor {
  if (!(value instanceof Tensor)) throw new TypeError(`${name} must be a Tensor, got ${describe(value)}`);
  return value.live(name);
}

// float16 tensors pass the dtype checks here on purpose: the native binding decides, in one place,
// where float16 may be computed with (the op table's float16 ops on devices with float16 kernels)
// and refuses it elsewhere with an AlexNetError FLOAT16_UNSUPPORTED naming the op (which these
// helpers do not know). The helpers that compare dtypes leave float16 to it (and to the core) too.
export function floatArg(value: unknown, name: string, rank?: number): NativeTensor {
  const t = tensorArg(value, name);
  if (t.dtype !== 'float32' && t.dtype !== 'float16') throw new TypeError(`${name} must be float32, got ${t.dtype}`);
  if (rank !== undefined && t.shape.length !== rank)
    throw new RangeError(`${name} must have rank ${rank}, got shape ${shapeString(t.shape)}`);
  return t;
}

/**
 * An activation of the mixed-precision ops (conv2d, localResponseNorm, maxPool2d, linear, relu and
 * their backwards): float32, bfloat16 or float16 (float16 computes only on devices with float16
 * kernels: the binding refuses it elsewhere, see above).
 */
export function activationArg(value: unknown, name: string, rank?: number): NativeTensor {
  const t = tensorArg(value, name);
  if (t.dtype !== 'float32' && t.dtype !== 'bfloat16' && t.dtype !== 'float16') throw new TypeError(`${name} must be float32, bfloat16 or float16, got ${t.dtype}`);
  if (rank !== undefined && t.shape.length !== rank)
    throw new RangeError(`${name} must have rank ${rank}, got shape ${shapeString(t.shape)}`);
  return t;
}

/** The tensors of one op's activations share a dtype: a TypeError naming the odd one and the cast. */
export function sameDType(first: [NativeTensor, string], ...others: [NativeTensor, string][]): void {
  for (const [t, name] of others)
    if (t.dtype !== first[0].dtype && t.dtype !== 'float16' && first[0].dtype !== 'float16')
      throw new TypeError(`${name} is ${t.dtype} but ${first[1]} is ${first[0].dtype}; convert it with .to('${first[0].dtype}')`);
}

export function optionalFloatArg(value: unknown, name: string): NativeTensor | null {
  return value === null || value === undefined ? null : floatArg(value, name);
}

export function sameDevice(first: [NativeTensor, string], ...others: [NativeTensor | null, string][]): void {
  for (const [t, name] of others)
    if (t && t.device !== first[0].device)
      throw new TypeError(`${name} is on ${t.device} but ${first[1]} is on ${first[0].device}; move it with .to('${first[0].device}')`);
}

export function expectShape(t: NativeTensor, name: string, expected: readonly number[]): void {
  if (!shapeEquals(t.shape, expected))
    throw new RangeError(`${name} must have shape ${shapeString(expected)}, got ${shapeString(t.shape)}`);
}

/** A float32 tensor on `ref`'s device with its shape (a gradient beside its forward tensor). */
export function floatLike(value: unknown, name: string, ref: [NativeTensor, string]): NativeTensor {
  const t = floatArg(value, name);
  sameDevice(ref, [t, name]);
  expectShape(t, name, ref[0].shape);
  return t;
}

/**
 * An activation (float32, bfloat16 or float16, see activationArg) on `ref`'s device with its shape and
 * dtype (a gradient or output beside its forward tensor).
 */
export function activationLike(value: unknown, name: string, ref: [NativeTensor, string]): NativeTensor {
  const t = activationArg(value, name);
  sameDevice(ref, [t, name]);
  sameDType(ref, [t, name]);
  expectShape(t, name, ref[0].shape);
  return t;
}

export const wrap = Tensor.wrap;
export function wrapOptional(t: NativeTensor | null): Tensor | null {
  return t ? Tensor.wrap(t) : null;
}
