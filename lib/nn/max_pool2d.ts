// Max pooling. The paper's overlapping pooling is window 3, stride 2 (§3.4); window 2, stride 2 is
// the non-overlapping pooling it compares against.
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { pair, shapeString } from '../validate.js';
import { Module, retain } from './module.js';

export class MaxPool2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  private saved: { x: Tensor; y: Tensor } | null = null;

  constructor(kernel: number | [number, number] = 3, stride: number | [number, number] = 2) {
    super();
    this.kernel = pair(kernel, 'kernel', 1);
    this.stride = pair(stride, 'stride', 1);
  }

  override outputShape(shape: readonly number[]): number[] {
    const [n, c, h, w] = shape as [number, number, number, number];
    if (shape.length !== 4) throw new RangeError(`MaxPool2d expects [N, C, H, W], got ${shapeString(shape)}`);
    if (this.kernel[0] > h || this.kernel[1] > w)
      throw new RangeError(`pooling window ${this.kernel.join('x')} is larger than the input ${h}x${w}`);
    return [n, c, Math.floor((h - this.kernel[0]) / this.stride[0]) + 1, Math.floor((w - this.kernel[1]) / this.stride[1]) + 1];
  }

  forward(x: Tensor): Tensor {
    const y = ops.maxPool2d(x, { kernel: this.kernel, stride: this.stride });
    this.releaseOwn();
    if (this.training) this.saved = { x: retain(x), y: retain(y) };
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const s = this.saved ?? this.noForward();
    const dx = this.inputGrad ? ops.maxPool2dBackward(dy, s.x, s.y, { kernel: this.kernel, stride: this.stride }) : null;
    this.releaseOwn();
    return dx;
  }

  protected override releaseOwn(): void {
    this.saved?.x.dispose();
    this.saved?.y.dispose();
    this.saved = null;
  }
}
