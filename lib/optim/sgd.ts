// SGD with the paper's update rule (§5), one fused op per parameter:
//   v ← momentum·v − weightDecay·lr·w − lr·∂L/∂w,   w ← w + v
// The learning rate sits inside the velocity, so changing it does not rescale the momentum already
// accumulated (PyTorch's SGD differs there).
import { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { keep } from '../tidy.js';
import { describe, finite, shapeString } from '../validate.js';

export interface SgdOptions {
  /** ε, 0.01 in the paper. */
  lr?: number;
  /** 0.9 in the paper. */
  momentum?: number;
  /** 0.0005 in the paper, on every parameter (biases too). */
  weightDecay?: number;
}

/** Prefix of the velocity entries in a checkpoint: `momentum.conv1.weight`. */
export const MOMENTUM_PREFIX = 'momentum.';

export class SGD {
  lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly params: [string, Parameter][];
  private readonly velocity = new Map<string, Tensor>();

  constructor(params: Module | [string, Parameter][], options: SgdOptions = {}) {
    this.params = params instanceof Module ? params.namedParameters() : params;
    if (!Array.isArray(this.params)) throw new TypeError(`params must be a Module or [name, Parameter] pairs, got ${describe(params)}`);
    this.lr = finite(options.lr ?? 0.01, 'lr', 0);
    this.momentum = finite(options.momentum ?? 0.9, 'momentum', 0, 1);
    this.weightDecay = finite(options.weightDecay ?? 5e-4, 'weightDecay', 0);
    for (const [name, p] of this.params) this.velocity.set(name, keep(Tensor.zeros(p.shape, p.device)));
  }

  /** Applies the update to every parameter that has a gradient. Queued on the device; returns at once. */
  step(): void {
    for (const [name, p] of this.params) {
      if (!p.grad) continue;
      ops.sgdStep(p.value, this.velocity.get(name)!, p.grad, { lr: this.lr, momentum: this.momentum, weightDecay: this.weightDecay });
    }
  }

  /** The velocities, named `momentum.<parameter>` (the live tensors, not copies). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries([...this.velocity].map(([n, v]) => [MOMENTUM_PREFIX + n, v]));
  }

  /** Copies velocities from `state` (entries other than `momentum.*` are ignored). */
  loadStateDict(state: Record<string, Tensor>): void {
    for (const [name, p] of this.params) {
      const v = state[MOMENTUM_PREFIX + name];
      if (!(v instanceof Tensor)) throw new RangeError(`state is missing ${MOMENTUM_PREFIX}${name}`);
      if (shapeString(v.shape) !== shapeString(p.shape))
        throw new RangeError(`state['${MOMENTUM_PREFIX}${name}'] has shape ${shapeString(v.shape)} but the parameter has ${shapeString(p.shape)}`);
    }
    // Copy everything before disposing anything: `state` may hold this optimiser's own velocities.
    const copies = this.params.map(([name, p]) => [name, keep(state[MOMENTUM_PREFIX + name]!.to(p.device))] as const);
    for (const [name, copy] of copies) {
      this.velocity.get(name)!.dispose();
      this.velocity.set(name, copy);
    }
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
