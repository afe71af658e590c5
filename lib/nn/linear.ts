// Fully connected layer: y = x·Wᵀ + b with W [out, in].
import type { DeviceName } from '../device_name.js';
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { positiveInteger, shapeString } from '../validate.js';
import { Module, inDType, retain } from './module.js';
import { keep } from '../tidy.js';
import { Parameter } from './parameter.js';

/** The output shape of a fully connected layer for an input of `shape`; RangeError when it does not fit. */
export function linearOutputShape(shape: readonly number[], layer: { readonly inFeatures: number; readonly outFeatures: number }): number[] {
  const features = shape.slice(1).reduce((a, b) => a * b, 1);
  if (shape.length < 2 || features !== layer.inFeatures)
    throw new RangeError(`Linear expects [N, ${layer.inFeatures}], got ${shapeString(shape)}`);
  return [shape[0]!, layer.outFeatures];
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  private input: Tensor | null = null;
  private weightCopy: Tensor | null = null;  // the bfloat16 weights of the last forward (precision 'bf16')

  /** Parameters start at zero; the model initialises them. */
  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean; device?: DeviceName } = {}) {
    super();
    this.inFeatures = positiveInteger(inFeatures, 'inFeatures');
    this.outFeatures = positiveInteger(outFeatures, 'outFeatures');
    const device = options.device ?? 'cpu';
    this.weight = new Parameter(Tensor.zeros([outFeatures, inFeatures], device));
    this.bias = options.bias === false ? null : new Parameter(Tensor.zeros([outFeatures], device));
  }

  override ownParameters(): [string, Parameter][] {
    return this.bias ? [['weight', this.weight], ['bias', this.bias]] : [['weight', this.weight]];
  }

  override outputShape(shape: readonly number[]): number[] {
    return linearOutputShape(shape, this);
  }

  forward(x: Tensor): Tensor {
    this.releaseOwn();
    if (this.precision === 'fp32') {
      const y = ops.linear(x, this.weight.value, this.bias?.value ?? null);
      if (this.training) this.input = retain(x);
      return y;
    }
    const xh = inDType(x, 'bfloat16'), wh = this.weight.value.to('bfloat16');
    const y = ops.linear(xh, wh, this.bias?.value ?? null);
    if (this.training) {
      this.input = keep(xh);
      this.weightCopy = keep(wh);
    } else {
      xh.dispose();
      wh.dispose();
    }
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const x = this.input ?? this.noForward();
    const dyIn = inDType(dy, x.dtype as 'float32' | 'bfloat16');
    try {
      const g = ops.linearBackward(dyIn, x, this.weightCopy ?? this.weight.value, { inputGrad: this.inputGrad, bias: this.bias !== null });
      this.weight.setGrad(g.dw);
      this.bias?.setGrad(g.db);
      return g.dx;
    } finally {
      dyIn.dispose();
      this.releaseOwn();
    }
  }

  protected override releaseOwn(): void {
    this.input?.dispose();
    this.weightCopy?.dispose();
    this.input = null;
    this.weightCopy = null;
  }
}
