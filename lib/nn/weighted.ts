// What a convolution and a fully connected layer share: a weight and an optional bias, an output
// op(x, w, b), and a backward pass from the input it kept. In mixed precision ('bf16', 'fp16') the
// input and a bfloat16 or float16 copy of the float32 weights, made at each forward, are what the
// op computes on; the gradients of the weights stay float32.
import type { DeviceName } from '../device_name.js';
import type { FloatDType, Tensor } from '../tensor.js';
import { Tensor as TensorClass } from '../tensor.js';
import { Module, computeDType, inDType } from './module.js';
import { Parameter } from './parameter.js';
import { SavedTensors } from './saved.js';

export interface WeightGrads {
  dx: Tensor | null;
  dw: Tensor;
  db: Tensor | null;
}

export abstract class WeightedLayer extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  // w: the 16-bit weights the forward used (precision 'bf16' or 'fp16').
  private readonly saved = new SavedTensors<{ x: Tensor; w?: Tensor }>();

  /** Parameters start at zero; the model initialises them (see models/init.ts). */
  protected constructor(weightShape: readonly number[], outputs: number, bias: boolean, device: DeviceName) {
    super();
    this.weight = new Parameter(TensorClass.zeros(weightShape, device));
    this.bias = bias ? new Parameter(TensorClass.zeros([outputs], device)) : null;
  }

  /** The layer's op on (x, w, b). */
  protected abstract apply(x: Tensor, w: Tensor, b: Tensor | null): Tensor;
  /** Its gradients from dy and the forward's x and w. */
  protected abstract applyBackward(dy: Tensor, x: Tensor, w: Tensor, want: { inputGrad: boolean; bias: boolean }): WeightGrads;

  override ownParameters(): [string, Parameter][] {
    return this.bias ? [['weight', this.weight], ['bias', this.bias]] : [['weight', this.weight]];
  }

  forward(x: Tensor): Tensor {
    if (this.precision === 'fp32') {
      const y = this.apply(x, this.weight.value, this.bias?.value ?? null);
      this.saved.hold(this.training, { x });
      return y;
    }
    const dtype = computeDType(this.precision);
    const xh = inDType(x, dtype), wh = this.weight.value.to(dtype);
    const y = this.apply(xh, wh, this.bias?.value ?? null);
    this.saved.hold(this.training, { x: xh, w: wh });
    xh.dispose();
    wh.dispose();
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const { x, w } = this.saved.get() ?? this.noForward();
    const dyIn = inDType(dy, x.dtype as FloatDType);  // dy as x (a view when it is)
    try {
      const g = this.applyBackward(dyIn, x, w ?? this.weight.value, { inputGrad: this.inputGrad, bias: this.bias !== null });
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
