// A trainable tensor and the gradient the last backward pass left for it.
// Parameter tensors and gradients live as long as the parameter: exempt from tidy() scopes.
import type { DeviceName } from '../device_name.js';
import type { Tensor } from '../tensor.js';
import { keep } from '../tidy.js';

export class Parameter {
  /** The current value. Replaced (not written into) by loadStateDict. */
  value: Tensor;
  /** dL/d(value) from the last backward pass, or null before the first one. */
  grad: Tensor | null = null;
  /**
   * Called when a backward pass has set a new gradient (its computation queued, perhaps not yet
   * run): data parallelism starts reducing a bucket of gradients as soon as all of them are queued.
   */
  onGrad: ((parameter: Parameter) => void) | null = null;

  constructor(value: Tensor) {
    this.value = keep(value);
  }

  get shape(): readonly number[] { return this.value.shape; }
  get device(): DeviceName { return this.value.device; }

  /** Takes ownership of `grad`, disposing the previous gradient. */
  setGrad(grad: Tensor | null): void {
    if (this.grad && this.grad !== grad) this.grad.dispose();
    this.grad = grad && keep(grad);
    if (this.grad && this.onGrad) this.onGrad(this);
  }

  /** Takes ownership of `value`, disposing the previous value. */
  setValue(value: Tensor): void {
    if (this.value !== value) this.value.dispose();
    this.value = keep(value);
  }

  dispose(): void {
    this.value.dispose();
    this.setGrad(null);
  }
}
