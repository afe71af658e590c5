import type { FloatDType, Tensor } from '../tensor.js';
import { Module, inDType, retain } from './module.js';

/**
 * An element-wise activation whose gradient needs only its output (ReLU, tanh): keeps y from a
 * training forward for backward, and nothing else.
 */
export abstract class OutputGradActivation extends Module {
  private output: Tensor | null = null;

  protected abstract apply(x: Tensor): Tensor;
  protected abstract gradient(dy: Tensor, y: Tensor): Tensor;

  override outputShape(shape: readonly number[]): number[] {
    return [...shape];
  }

  forward(x: Tensor): Tensor {
    const y = this.apply(x);
    this.releaseOwn();
    if (this.training) this.output = retain(y);
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const y = this.output ?? this.noForward();
    if (!this.inputGrad) {
      this.releaseOwn();
      return null;
    }
    const dyIn = inDType(dy, y.dtype as FloatDType);  // mixed precision: dy as y
    try {
      return this.gradient(dyIn, y);
    } finally {
      dyIn.dispose();
      this.releaseOwn();
    }
  }

  protected override releaseOwn(): void {
    this.output?.dispose();
    this.output = null;
  }
}
