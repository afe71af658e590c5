import type { Tensor } from '../tensor.js';
import { shapeString } from '../validate.js';
import { Module } from './module.js';

/** [N, C, H, W] → [N, C·H·W] in NCHW (channel-major) order, as a view. */
export class Flatten extends Module {
  private inputShape: readonly number[] | null = null;

  override outputShape(shape: readonly number[]): number[] {
    if (shape.length < 2) throw new RangeError(`Flatten expects [N, ...], got ${shapeString(shape)}`);
    return [shape[0]!, shape.slice(1).reduce((a, b) => a * b, 1)];
  }

  forward(x: Tensor): Tensor {
    this.inputShape = x.shape;
    return x.reshape(this.outputShape(this.inputShape));
  }

  backward(dy: Tensor): Tensor | null {
    const shape = this.inputShape ?? this.noForward();
    return this.inputGrad ? dy.reshape(shape) : null;
  }
}
