import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { Module, retain } from './module.js';

/** max(0, x); backward needs only the output. */
export class ReLU extends Module {
  private output: Tensor | null = null;

  override outputShape(shape: readonly number[]): number[] {
    return [...shape];
  }

  forward(x: Tensor): Tensor {
    const y = ops.relu(x);
    this.releaseOwn();
    if (this.training) this.output = retain(y);
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const y = this.output ?? this.noForward();
    const dx = this.inputGrad ? ops.reluBackward(dy, y) : null;
    this.releaseOwn();
    return dx;
  }

  protected override releaseOwn(): void {
    this.output?.dispose();
    this.output = null;
  }
}
