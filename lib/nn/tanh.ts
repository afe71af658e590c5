import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { Module, retain } from './module.js';

/** tanh(x) (the saturating non-linearity of the paper's Figure 1); backward needs only the output. */
export class Tanh extends Module {
  private output: Tensor | null = null;

  override outputShape(shape: readonly number[]): number[] {
    return [...shape];
  }

  forward(x: Tensor): Tensor {
    const y = ops.tanh(x);
    this.releaseOwn();
    if (this.training) this.output = retain(y);
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const y = this.output ?? this.noForward();
    const dx = this.inputGrad ? ops.tanhBackward(dy, y) : null;
    this.releaseOwn();
    return dx;
  }

  protected override releaseOwn(): void {
    this.output?.dispose();
    this.output = null;
  }
}
