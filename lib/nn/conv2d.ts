// 2-D convolution with optional channel groups (AlexNet's conv2, conv4, conv5 use 2: the two
// columns of the paper's two-GPU network, on one device).
import type { DeviceName } from '../device_name.js';
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { pair, positiveInteger, shapeString } from '../validate.js';
import { WeightedLayer, type WeightGrads } from './weighted.js';

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

export class Conv2d extends WeightedLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly groups: number;

  /** Parameters start at zero; the model initialises them (see models/init.ts). */
  constructor(inChannels: number, outChannels: number, kernel: number | [number, number], options: Conv2dOptions = {}) {
    // Every argument is checked before the parameters are made, so a bad one leaves nothing behind.
    positiveInteger(inChannels, 'inChannels');
    positiveInteger(outChannels, 'outChannels');
    const k = pair(kernel, 'kernel', 1);
    const stride = pair(options.stride ?? 1, 'stride', 1);
    const padding = pair(options.padding ?? 0, 'padding', 0);
    const groups = positiveInteger(options.groups ?? 1, 'groups');
    if (inChannels % groups !== 0 || outChannels % groups !== 0)
      throw new RangeError(`groups (${groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    super([outChannels, inChannels / groups, ...k], outChannels, options.bias !== false, options.device ?? 'cpu');
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernel = k;
    this.stride = stride;
    this.padding = padding;
    this.groups = groups;
  }

  private get opts(): ops.Conv2dOptions {
    return { stride: this.stride, padding: this.padding, groups: this.groups };
  }

  override outputShape(shape: readonly number[]): number[] {
    return conv2dOutputShape(shape, this);
  }

  protected apply(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
    return ops.conv2d(x, w, b, this.opts);
  }

  protected applyBackward(dy: Tensor, x: Tensor, w: Tensor, want: { inputGrad: boolean; bias: boolean }): WeightGrads {
    return ops.conv2dBackward(dy, x, w, { ...this.opts, ...want });
  }
}
