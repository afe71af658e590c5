// Max pooling. The paper's overlapping pooling is window 3, stride 2 (§3.4); window 2, stride 2 is
// the non-overlapping pooling it compares against.
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { pair, shapeString } from '../validate.js';
import { Module } from './module.js';
import { SavedTensors } from './saved.js';

export class MaxPool2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  private readonly saved = new SavedTensors<{ x: Tensor; y: Tensor }>();

  constructor(kernel: number | [number, number] = 3, stride: number | [number, number] = 2) {
    super();
    this.kernel = pair(kernel, 'kernel', 1);
    this.stride = pair(stride, 'stride', 1);
  }

  override outputShape(shape: readonly number[]): number[] {
    if (shape.length !== 4) throw new RangeError(`MaxPool2d expects [N, C, H, W], got ${shapeString(shape)}`);
    return ops.maxPool2dShape(shape, { kernel: this.kernel, stride: this.stride });
  }

  forward(x: Tensor): Tensor {
    const y = ops.maxPool2d(x, { kernel: this.kernel, stride: this.stride });
    this.saved.hold(this.training, { x, y });
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const s = this.saved.get() ?? this.noForward();
    return this.inputGradient(dy, s.x, (dyIn) => ops.maxPool2dBackward(dyIn, s.x, s.y, { kernel: this.kernel, stride: this.stride }));
  }

  protected override releaseOwn(): void {
    this.saved.release();
  }
}
