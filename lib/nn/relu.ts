import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { OutputGradActivation } from './pointwise.js';

/** max(0, x); backward needs only the output. */
export class ReLU extends OutputGradActivation {
  protected apply(x: Tensor): Tensor {
    return ops.relu(x);
  }

  protected gradient(dy: Tensor, y: Tensor): Tensor {
    return ops.reluBackward(dy, y);
  }
}
