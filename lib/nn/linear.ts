// Fully connected layer: y = x·Wᵀ + b with W [out, in].
import type { DeviceName } from '../device_name.js';
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { positiveInteger, shapeString } from '../validate.js';
import { WeightedLayer, type WeightGrads } from './weighted.js';

/** The output shape of a fully connected layer for an input of `shape`; RangeError when it does not fit. */
export function linearOutputShape(shape: readonly number[], layer: { readonly inFeatures: number; readonly outFeatures: number }): number[] {
  const features = shape.slice(1).reduce((a, b) => a * b, 1);
  if (shape.length < 2 || features !== layer.inFeatures)
    throw new RangeError(`Linear expects [N, ${layer.inFeatures}], got ${shapeString(shape)}`);
  return [shape[0]!, layer.outFeatures];
}

export class Linear extends WeightedLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;

  /** Parameters start at zero; the model initialises them. */
  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean; device?: DeviceName } = {}) {
    positiveInteger(inFeatures, 'inFeatures');
    positiveInteger(outFeatures, 'outFeatures');
    super([outFeatures, inFeatures], outFeatures, options.bias !== false, options.device ?? 'cpu');
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
  }

  override outputShape(shape: readonly number[]): number[] {
    return linearOutputShape(shape, this);
  }

  protected apply(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
    return ops.linear(x, w, b);
  }

  protected applyBackward(dy: Tensor, x: Tensor, w: Tensor, want: { inputGrad: boolean; bias: boolean }): WeightGrads {
    return ops.linearBackward(dy, x, w, want);
  }
}
