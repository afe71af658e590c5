// Fully connected layer: y = x·Wᵀ + b with W [out, in].
import type { DeviceName } from '../device_name.js';
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { positiveInteger, shapeString } from '../validate.js';
import { Module, inDType } from './module.js';
import { SavedTensors } from './saved.js';
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
  private readonly saved = new SavedTensors<{ x: Tensor; w?: Tensor }>()  // w: the bfloat16 weights (precision 'bf16');

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
    if (this.precision === 'fp32') {
      const y = ops.linear(x, this.weight.value, this.bias?.value ?? null);
      this.saved.hold(this.training, { x });
      return y;
    }
    // Mixed precision: bfloat16 input and a bfloat16 copy of the float32 weights, made here.
    const xh = inDType(x, 'bfloat16'), wh = this.weight.value.to('bfloat16');
    const y = ops.linear(xh, wh, this.bias?.value ?? null);
    this.saved.hold(this.training, { x: xh, w: wh });
    xh.dispose();
    wh.dispose();
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const { x, w } = this.saved.get() ?? this.noForward();
    const dyIn = inDType(dy, x.dtype as 'float32' | 'bfloat16');  // dy as x (a view when it is)
    try {
      const g = ops.linearBackward(dyIn, x, w ?? this.weight.value, { inputGrad: this.inputGrad, bias: this.bias !== null });
      this.weight.setGrad(g.dw);
      this.bias?.setGrad(g.db);
      return g.dx;
    } finally {
      dyIn.dispose();
      this.releaseOwn();
    }
  }

  protected override releaseOwn(): void {
    this.saved.release();
  }
}
