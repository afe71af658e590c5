// What a layer keeps from forward for its backward pass: held only in training mode, one set at a
// time (a new forward replaces the last), and released after backward, on eval() and on dispose().
import type { Tensor } from '../tensor.js';
import { retain } from './module.js';

export class SavedTensors<T extends Record<string, Tensor>> {
  private held: T | null = null;

  /** Releases what was held, then holds views of `tensors` when `training` (the caller keeps its own). */
  hold(training: boolean, tensors: T): void {
    this.release();
    if (!training) return;
    const views: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(tensors)) views[name] = retain(t);
    this.held = views as T;
  }

  /** What forward held, or null when there was no training-mode forward since the last release. */
  get(): T | null {
    return this.held;
  }

  release(): void {
    if (this.held) for (const t of Object.values(this.held)) t.dispose();
    this.held = null;
  }
}
