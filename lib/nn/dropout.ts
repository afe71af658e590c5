// Inverted dropout: in training each unit is zeroed with probability p and the kept ones are scaled
// by 1/(1-p); at test time it is the identity. For p = 0.5 that is equivalent to the paper's
// "multiply the outputs by 0.5 at test time" (§4.2), with nothing to remember at test time.
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { keep } from '../tidy.js';
import { finite, seed as seedArg } from '../validate.js';
import { Module, inDType } from './module.js';
import { deriveSeed } from './seed.js';

export class Dropout extends Module {
  readonly p: number;
  /** The seed of the next mask; `reseed` sets it, each training forward advances it. */
  seed: number;
  private mask: Tensor | null = null;

  constructor(p = 0.5, seed = 0) {
    super();
    this.p = finite(p, 'p', 0, 0.999999);
    this.seed = seedArg(seed);
  }

  override reseed(seed: number): void {
    this.seed = seedArg(seed);
  }

  override outputShape(shape: readonly number[]): number[] {
    return [...shape];
  }

  forward(x: Tensor): Tensor {
    this.releaseOwn();
    if (!this.training || this.p === 0) return x.reshape(x.shape);
    // A rank's rows of a global batch draw the mask elements those rows get in the whole batch.
    const offset = this.rowOffset === 0 ? 0 : this.rowOffset * (x.size / x.shape[0]!);
    // Dropout is float32 only: bfloat16 activations (mixed precision) are widened, exactly.
    const xf = inDType(x, 'float32');
    const { y, mask } = ops.dropout(xf, { p: this.p, seed: this.seed, offset });
    xf.dispose();
    this.seed = deriveSeed(this.seed, 1);
    this.mask = keep(mask);
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.training) this.noForward();
    let dx: Tensor | null = null;
    if (this.inputGrad && this.mask) {
      const dyf = inDType(dy, 'float32');  // the mask is float32 (see forward)
      dx = ops.dropoutBackward(dyf, this.mask);
      dyf.dispose();
    } else if (this.inputGrad) dx = dy.reshape(dy.shape);
    this.releaseOwn();
    return dx;
  }

  protected override releaseOwn(): void {
    this.mask?.dispose();
    this.mask = null;
  }
}
