// Dynamic loss scaling, as PyTorch's GradScaler does it: the loss gradient is multiplied by a
// scale before the backward pass, so that small gradients survive a narrow format; before the
// update the parameter gradients are multiplied by 1 / scale and checked for infinities and NaN.
// A step with a non-finite gradient is skipped (weights and momentum untouched) and the scale
// backed off; after `growthInterval` clean steps in a row it grows. The scale is a power of two by
// default, so scaling and unscaling are exact (barring overflow and underflow) and a clean step
// computes the update it would have computed unscaled.
import type { Parameter } from '../nn/parameter.js';
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { describe, finite, positiveInteger } from '../validate.js';

export interface LossScalerOptions {
  /** The first scale (default 2^16). */
  initScale?: number;
  /** The scale is multiplied by this after `growthInterval` clean steps in a row (default 2). */
  growthFactor?: number;
  /** ... and by this after a step with a non-finite gradient (default 0.5). */
  backoffFactor?: number;
  /** Default 2000. */
  growthInterval?: number;
  /** false: a fixed scale that neither grows nor backs off (steps with non-finite gradients are still skipped). */
  dynamic?: boolean;
}

/** What a checkpoint keeps of a LossScaler (in its training state, as JSON). */
export interface LossScalerState {
  scale: number;
  /** Clean steps since the scale last changed. */
  growthTracker: number;
  /** Steps skipped in total. */
  skippedSteps: number;
  dynamic: boolean;
}

// The scale stays where 1 / scale is a normal float32 and the scaled loss gradient stays finite.
const MAX_SCALE = 2 ** 126;
const MIN_SCALE = 2 ** -126;

export class LossScaler {
  scale: number;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly dynamic: boolean;
  private growthTracker = 0;
  /** Steps skipped so far (in total, across resumes). */
  skippedSteps = 0;

  constructor(options: LossScalerOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    this.scale = finite(options.initScale ?? 2 ** 16, 'initScale', MIN_SCALE, MAX_SCALE);
    this.growthFactor = finite(options.growthFactor ?? 2, 'growthFactor', 1);
    this.backoffFactor = finite(options.backoffFactor ?? 0.5, 'backoffFactor', 0);
    if (this.backoffFactor <= 0 || this.backoffFactor >= 1) throw new RangeError(`backoffFactor must be in (0, 1), got ${this.backoffFactor}`);
    this.growthInterval = positiveInteger(options.growthInterval ?? 2000, 'growthInterval');
    if (options.dynamic !== undefined && typeof options.dynamic !== 'boolean') throw new TypeError(`dynamic must be a boolean, got ${describe(options.dynamic)}`);
    this.dynamic = options.dynamic ?? true;
  }

  /** The loss gradient times the scale (a new tensor), to start the backward pass from. */
  scaleGradient(dloss: Tensor): Tensor {
    return ops.scale(dloss, this.scale);
  }

  /**
   * Divides the gradients of `params` by the scale in place; returns the device-side found-inf
   * flags, one per device holding gradients (a model in two columns has two). Read them together,
   * once, and pass whether all are 0 to `update`.
   */
  unscale(params: readonly Parameter[]): Tensor[] {
    const byDevice = new Map<string, Tensor[]>();
    for (const p of params)
      if (p.grad) byDevice.set(p.grad.device, [...(byDevice.get(p.grad.device) ?? []), p.grad]);
    return [...byDevice.values()].map((grads) => ops.unscaleGradients(grads, this.scale));
  }

  /**
   * After a step: `finite` false counts it as skipped and backs the scale off; true counts a clean
   * step and grows the scale after growthInterval of them. Returns whether to apply the update.
   */
  update(finiteGradients: boolean): boolean {
    if (!finiteGradients) {
      this.skippedSteps++;
      this.growthTracker = 0;
      if (this.dynamic) this.scale = Math.max(this.scale * this.backoffFactor, MIN_SCALE);
      return false;
    }
    if (this.dynamic && ++this.growthTracker >= this.growthInterval) {
      this.growthTracker = 0;
      this.scale = Math.min(this.scale * this.growthFactor, MAX_SCALE);
    }
    return true;
  }

  state(): LossScalerState {
    return { scale: this.scale, growthTracker: this.growthTracker, skippedSteps: this.skippedSteps, dynamic: this.dynamic };
  }

  load(state: LossScalerState): void {
    if (typeof state !== 'object' || state === null) throw new TypeError(`loss-scale state must be an object, got ${describe(state)}`);
    const scale = finite(state.scale, 'lossScale.scale', MIN_SCALE, MAX_SCALE);
    const tracker = finite(state.growthTracker, 'lossScale.growthTracker', 0);
    const skipped = finite(state.skippedSteps, 'lossScale.skippedSteps', 0);
    if (!Number.isInteger(tracker) || !Number.isInteger(skipped)) throw new RangeError('lossScale.growthTracker and skippedSteps must be integers');
    this.scale = scale;
    this.growthTracker = tracker;
    this.skippedSteps = skipped;
  }
}

/**
 * How a run scales its loss: 'dynamic' (a LossScaler with the defaults), a number (a fixed scale),
 * 'none', or LossScalerOptions (dynamic with those).
 */
export type LossScaleConfig = 'dynamic' | 'none' | number | LossScalerOptions;

/** The LossScaler for `config`, or null for 'none'. */
export function makeLossScaler(config: LossScaleConfig): LossScaler | null {
  if (config === 'none') return null;
  if (config === 'dynamic') return new LossScaler();
  if (typeof config === 'number') return new LossScaler({ initScale: finite(config, 'lossScale', MIN_SCALE, MAX_SCALE), dynamic: false });
  if (typeof config === 'object' && config !== null) return new LossScaler(config);
  throw new TypeError(`lossScale must be 'dynamic', 'none', a number or an options object, got ${describe(config)}`);
}
