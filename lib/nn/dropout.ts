// Inverted dropout: in training each unit is zeroed with probability p and the kept ones are scaled
// by 1/(1-p); at test time it is the identity. For p = 0.5 that is equivalent to the paper's
// "multiply the outputs by 0.5 at test time" (§4.2), with nothing to remember at test time.
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { keep } from '../tidy.js';
import { finite, integer, seed as seedArg, shapeString } from '../validate.js';
import { Module } from './module.js';
import { deriveSeed } from './seed.js';

export class Dropout extends Module {
  readonly p: number;
  /** The seed of the next mask; `reseed` sets it, each training forward advances it. */
  seed: number;
  private mask: Tensor | null = null;
  /** Model parallelism: the input's columns are [start, start + its width) of rows `width` wide. */
  private columns: { start: number; width: number } | null = null;

  constructor(p = 0.5, seed = 0) {
    super();
    this.p = finite(p, 'p', 0, 0.999999);
    this.seed = seedArg(seed);
  }

  override reseed(seed: number): void {
    this.seed = seedArg(seed);
  }

  /**
   * Model parallelism: this layer's input holds the columns [start, start + n) of a layer `width`
   * wide (a rank's share of the features), so its mask is drawn as those columns of the whole
   * layer's mask. null: the input is the whole width.
   */
  setColumns(columns: { start: number; width: number } | null): void {
    if (columns !== null) {
      integer(columns.width, 'columns.width', 1);
      integer(columns.start, 'columns.start', 0, columns.width - 1);
    }
    this.columns = columns && { start: columns.start, width: columns.width };
  }

  override outputShape(shape: readonly number[]): number[] {
    return [...shape];
  }

  forward(x: Tensor): Tensor {
    this.releaseOwn();
    if (!this.training || this.p === 0) return x.reshape(x.shape);
    // A rank's rows of a global batch draw the mask elements those rows get in the whole batch.
    // A model-parallel rank's columns draw the mask elements of those columns of the whole layer.
    const width = this.columns?.width ?? x.size / x.shape[0]!;
    if (this.columns && (x.shape.length !== 2 || this.columns.start + x.shape[1]! > width))
      throw new RangeError(`Dropout: input ${shapeString(x.shape)} is not columns ${this.columns.start}.. of rows ${width} wide`);
    const offset = this.rowOffset * width + (this.columns?.start ?? 0);
    // In x's dtype (16-bit activations stay 16-bit, as under autocast); the mask is float32.
    const { y, mask } = ops.dropout(x, { p: this.p, seed: this.seed, offset, rowStride: this.columns ? width : 0 });
    this.seed = deriveSeed(this.seed, 1);
    this.mask = keep(mask);
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.training) this.noForward();
    let dx: Tensor | null = null;
    if (this.inputGrad && this.mask) {
      dx = ops.dropoutBackward(dy, this.mask);
    } else if (this.inputGrad) dx = dy.reshape(dy.shape);
    this.releaseOwn();
    return dx;
  }

  protected override releaseOwn(): void {
    this.mask?.dispose();
    this.mask = null;
  }
}
