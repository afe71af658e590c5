import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { OutputGradActivation } from './pointwise.js';

/** tanh(x) (the saturating non-linearity of the paper's Figure 1); backward needs only the output. */
export class Tanh extends OutputGradActivation {
  protected apply(x: Tensor): Tensor {
    return ops.tanh(x);
  }

  protected gradient(dy: Tensor, y: Tensor): Tensor {
    return ops.tanhBackward(dy, y);
  }
}
