// 2-D convolution with optional channel groups (AlexNet's conv2, conv4, conv5 use 2: the two
// columns of the paper's two-GPU network, on one device).
import type { DeviceName } from '../device_name.js';
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { pair, positiveInteger, shapeString } from '../validate.js';
import { Module, inDType } from './module.js';
import { SavedTensors } from './saved.js';
import { Parameter } from './parameter.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  groups?: number;
  bias?: boolean;
  device?: DeviceName;
}

/** What decides a convolution's output shape (a Conv2d has these fields). */
export interface Conv2dGeometry {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly groups?: number;
}

/** The output shape of a convolution with `g` for an input of `shape` (the core's rule); RangeError when it does not fit. */
export function conv2dOutputShape(shape: readonly number[], g: Conv2dGeometry): number[] {
  if (shape.length !== 4 || shape[1] !== g.inChannels)
    throw new RangeError(`Conv2d expects [N, ${g.inChannels}, H, W], got ${shapeString(shape)}`);
  const groups = g.groups ?? 1;
  return ops.conv2dShape(shape, [g.outChannels, g.inChannels / groups, ...g.kernel],
    { stride: [...g.stride], padding: [...g.padding], groups });
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly groups: number;
  private readonly saved = new SavedTensors<{ x: Tensor; w?: Tensor }>()  // w: the bfloat16 weights (precision 'bf16');

  /** Parameters start at zero; the model initialises them (see models/init.ts). */
  constructor(inChannels: number, outChannels: number, kernel: number | [number, number], options: Conv2dOptions = {}) {
    super();
    this.inChannels = positiveInteger(inChannels, 'inChannels');
    this.outChannels = positiveInteger(outChannels, 'outChannels');
    this.kernel = pair(kernel, 'kernel', 1);
    this.stride = pair(options.stride ?? 1, 'stride', 1);
    this.padding = pair(options.padding ?? 0, 'padding', 0);
    this.groups = positiveInteger(options.groups ?? 1, 'groups');
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0)
      throw new RangeError(`groups (${this.groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    const device = options.device ?? 'cpu';
    this.weight = new Parameter(Tensor.zeros([outChannels, inChannels / this.groups, ...this.kernel], device));
    this.bias = options.bias === false ? null : new Parameter(Tensor.zeros([outChannels], device));
  }

  private get opts(): ops.Conv2dOptions {
    return { stride: this.stride, padding: this.padding, groups: this.groups };
  }

  override ownParameters(): [string, Parameter][] {
    return this.bias ? [['weight', this.weight], ['bias', this.bias]] : [['weight', this.weight]];
  }

  override outputShape(shape: readonly number[]): number[] {
    return conv2dOutputShape(shape, this);
  }

  forward(x: Tensor): Tensor {
    if (this.precision === 'fp32') {
      const y = ops.conv2d(x, this.weight.value, this.bias?.value ?? null, this.opts);
      this.saved.hold(this.training, { x });
      return y;
    }
    // Mixed precision: bfloat16 input and a bfloat16 copy of the float32 weights, made here.
    const xh = inDType(x, 'bfloat16'), wh = this.weight.value.to('bfloat16');
    const y = ops.conv2d(xh, wh, this.bias?.value ?? null, this.opts);
    this.saved.hold(this.training, { x: xh, w: wh });
    xh.dispose();
    wh.dispose();
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const { x, w } = this.saved.get() ?? this.noForward();
    const dyIn = inDType(dy, x.dtype as 'float32' | 'bfloat16');  // dy as x (a view when it is)
    try {
      const g = ops.conv2dBackward(dyIn, x, w ?? this.weight.value, { ...this.opts, inputGrad: this.inputGrad, bias: this.bias !== null });
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
